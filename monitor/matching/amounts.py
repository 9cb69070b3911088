"""Money mentions in news text, in nine languages. Pure functions, no I/O.

An amount is a currency (symbol, ISO code or word) with a number and an optional scale, in the
forms these languages write them (the word lists are in ``money_words.py``):
``$290M``, ``US$1.2bn``, ``two billion yuan``, ``120 Mio. Euro``, ``1,5 Mrd. Euro``,
``600 millions d'euros``, ``100 M€``, ``US$ 1.000 millones``, ``mil millones de dólares``,
``R$ 3,3 bilhões``, ``1,9 mil milhões de dólares``, ``70 milioni di euro``, ``20亿元``,
``53億7500万ドル``, ``9억 3500만 달러``, ``1조4천억원``.

- **Decimal commas.** Where a number's separator could be either ("1,500", "1.000"), the
  language decides: with a German, French, Spanish, Portuguese or Italian scale or currency word
  ("Mrd.", "milliards", "millones", "bilhões", "miliardi", "de dólares") the comma is the decimal
  point and the dot groups thousands ("1,5 Mrd." is 1.5 billion, "1.000 millones" one billion);
  otherwise, as in English, "$1,500 million" is 1.5 billion. "1,5" and "162,6" are decimals
  anywhere; "1.000.000" groups thousands anywhere.
- **¥** is yen in a Japanese text (kana, 円, "yen", Japan, Tokyo) and yuan otherwise; ``JP¥``,
  ``CN¥``, 円, 元, yen and yuan say so themselves.
- **Restatements.** A second amount in brackets or after "or about" restates the first in another
  currency, so ``2 billion yuan ($290 million)``, ``10억 달러(약 1조4천억원)`` and ``935 millones de
  dólares (casi 800 millones de euros)`` are each ONE amount with the first currency, whose USD
  value is the stated dollar figure when there is one.

Amounts are labelled ``deal``, ``valuation``, ``market_cap`` or ``revenue`` from the words around
them; only deals count as the largest amount. Amounts under ``min_usd`` (1 million by default) are
dropped: they are share prices and price targets ("trading around $128"), not deal sizes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import replace
from types import MappingProxyType

from monitor.matching.money_words import (
    CJK_CURRENCIES,
    CJK_MULTIPLIERS,
    CJK_UNITS,
    CONNECTORS,
    DECIMAL_COMMA_SCALES,
    ENGLISH_SCALES,
    HEDGES,
    KIND_LINKS,
    KIND_WORDS_AFTER,
    KIND_WORDS_BEFORE,
    MIL,
    PREFIX_CURRENCIES,
    RESTATEMENT_HEDGES,
    SUFFIX_CURRENCIES,
    WORD_NUMBERS,
    alternation,
)
from monitor.model import Amount

# Approximate mid-market rates of 2025-2026 (USD per unit); override with load_rules(..., rates=...).
DEFAULT_RATES_USD: Mapping[str, float] = MappingProxyType(
    {
        "USD": 1.0,
        "CNY": 0.139,
        "EUR": 1.15,
        "GBP": 1.33,
        "JPY": 0.0066,
        "KRW": 0.00071,
        "HKD": 0.128,
        "TWD": 0.031,
        "SGD": 0.74,
        "INR": 0.0116,
        "CAD": 0.73,
        "AUD": 0.66,
        "NZD": 0.6,
        "CHF": 1.22,
        "ILS": 0.27,
        "BRL": 0.18,
        "MXN": 0.055,
    }
)
DEAL_FLOOR_USD = 1_000_000.0

_LATIN_WORD_CHAR = re.compile("[A-Za-z0-9À-ÖØ-öø-ÿ]")
_LETTER_AFTER = r"(?![A-Za-zÀ-ÖØ-öø-ÿ])"  # not followed by a Latin letter ("million" but "millionを")
_NUM = r"\d{1,3}(?:[,.\u00a0\u202f]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
_SCALE_WORDS = {**ENGLISH_SCALES, **DECIMAL_COMMA_SCALES, MIL: 0.0}  # "mil": by language, see _scale
_LONG_SCALES = alternation(w for w in _SCALE_WORDS if len(w) > 1)
# "$60m", "€50M", "$2B" (a letter right after the number), "100 M€" (a space, then a symbol),
# "120 Mio. Euro", "1,5 Mrd.", "$1.5 bn" and "$50-million" (a word, after a space or dash).
_SCALE = (  # the dot only after abbreviations: "Mio.", not "million." at the end of a sentence
    rf"(?:[\s-]?(?:{_LONG_SCALES}){_LETTER_AFTER}(?:(?<=mio|mrd|tsd|mds|mln|mld|Mio|Mrd|Tsd|Mds)\.)?"
    rf"|[kmbt]{_LETTER_AFTER}|\s[mk](?=\s?[€$£]))"
)
_CONNECTOR = rf"(?:(?:{alternation(CONNECTORS)})\s?)"
_SUFFIX = alternation(SUFFIX_CURRENCIES)
_WORD_SCALE = alternation(w for w in _SCALE_WORDS if len(w) > 3 or w in ("mil milhões", "mil millones"))
_CJK_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_CJK_GROUP = rf"(?:{_CJK_NUM})\s?[{''.join(CJK_MULTIPLIERS)}]?\s?[{''.join(CJK_UNITS)}]"
_AMOUNT = re.compile(
    rf"(?<![A-Za-z0-9$.])(?P<pcur>{alternation(PREFIX_CURRENCIES)})\s?(?P<pnum>{_NUM})(?P<pscale>{_SCALE})?"
    rf"(?:\s{_CONNECTOR}(?:{_SUFFIX}){_LETTER_AFTER})?"  # "US$ 100 millones de dólares"
    rf"|(?<![A-Za-z0-9.,$])(?P<snum>{_NUM})(?P<sscale>{_SCALE})?\s?(?P<conn>{_CONNECTOR})?(?P<scur>{_SUFFIX})"
    rf"{_LETTER_AFTER}"
    rf"|(?<![A-Za-zÀ-ÖØ-öø-ÿ])(?P<wnum>{alternation(WORD_NUMBERS)})\s+(?P<wscale>{_WORD_SCALE}){_LETTER_AFTER}\s+"
    rf"(?P<wconn>{_CONNECTOR})?(?P<wcur>{_SUFFIX}){_LETTER_AFTER}"
    rf"|(?P<cjk>(?:{_CJK_GROUP}\s?)+)(?P<ccur>{alternation(CJK_CURRENCIES)})(?!비디아)",  # 엔비디아 is Nvidia
    re.IGNORECASE,
)
_CJK_GROUPS = re.compile(
    rf"(?P<num>{_CJK_NUM})\s?(?P<mult>[{''.join(CJK_MULTIPLIERS)}]?)\s?(?P<unit>[{''.join(CJK_UNITS)}])"
)
_DIGIT = re.compile(r"\d")
_DIGITS = re.compile(r"\d[\d,.]*")
_SCALE_STEMS = ("mill", "bill", "trill", "milh", "bilh", "milio", "milia")  # in every scale word of WORD_NUMBERS forms
_BEFORE_ANCHOR, _AFTER_ANCHOR = 16, 64  # room for "half a " before and "millones de dólares estadounidenses" after
# A text in a language that writes decimal commas, when the amount itself does not say.
_DECIMAL_COMMA_TEXT = re.compile(
    r"\b(?:der|die|das|und|mit|le|les|des|une|el|los|las|del|il|della|di|do|da|em|uma|para|con)\b", re.IGNORECASE
)
# Currency words only the decimal-comma languages write.
_DECIMAL_COMMA_CURRENCIES = frozenset(
    {"dólar", "dólares", "dólares estadounidenses", "dollaro", "dollari", "dollar", "us-dollar", "euro", "reais",
     "reales", "yenes", "ienes", "yuanes", "iuanes", "wones", "libras", "sterline", "franken", "pfund",
     "dollars américains", "dollars us", "francs suisses", "livres sterling"}
)  # fmt: skip
_JAPANESE = re.compile(r"[\u3040-\u30ff円]|\b(?:yen|japan|japanese|tokyo|osaka|kyoto)\b", re.IGNORECASE)
_CHINESE = re.compile(r"[元人民币]|\b(?:yuan|rmb|renminbi|china|chinese|beijing|shanghai|shenzhen)\b", re.IGNORECASE)


def _kind_pattern(words: tuple[str, ...], before: bool) -> re.Pattern[str]:
    latin = [w for w in words if not _is_cjk(w[0])]
    cjk = [w for w in words if _is_cjk(w[0])]
    keywords = [rf"(?<![^\W\d_])(?:{alternation(latin)}){_LETTER_AFTER}"] + ([alternation(cjk)] if cjk else [])
    keyword = "(?:" + "|".join(keywords) + ")"
    if not before:
        return re.compile(rf"\A[\s-]*(?:{keyword})", re.IGNORECASE)
    links, hedges = alternation(KIND_LINKS), alternation(HEDGES)
    return re.compile(rf"{keyword}\W{{0,2}}\s*(?:(?:{links})\s*)*(?:(?:{hedges})\s*)*\Z", re.IGNORECASE)


def _is_cjk(ch: str) -> bool:
    return "\u2e80" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af"


_KINDS_BEFORE = tuple((kind, _kind_pattern(words, True)) for kind, words in KIND_WORDS_BEFORE.items())
_KINDS_AFTER = tuple((kind, _kind_pattern(words, False)) for kind, words in KIND_WORDS_AFTER.items())
_RESTATE = re.compile(
    rf"\s*(?:\(\s*|,?\s*(?:or|soit|ou|o|oder)\s+)(?:(?:{alternation(RESTATEMENT_HEDGES)})\s*)?\Z", re.IGNORECASE
)


# "the round is worth 70 million": a verb of worth after a deal noun sizes the deal, not the company.
_ROUND_IS_WORTH = re.compile(
    r"\b(?:round|operazione|finanziamento|ronda|operación|rodada|aporte|operação|tour)\s+(?:vale|valeu|valía|vaut)\s*\Z",
    re.IGNORECASE,
)


def _kind(text: str, start: int, end: int) -> str:
    before, after = text[max(0, start - 60) : start], text[end : end + 30]
    if ("val" in before or "vaut" in before) and _ROUND_IS_WORTH.search(before):
        return "deal"
    for kind, pattern in _KINDS_BEFORE:
        if pattern.search(before):
            return kind
    for kind, pattern in _KINDS_AFTER:
        if pattern.search(after):
            return kind
    return "deal"


class _Reading:
    """How to read the amounts of one text: decimal separators and the ¥ sign, decided lazily."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._comma_decimal: bool | None = None
        self._yen: str | None = None

    def comma_decimal(self) -> bool:
        if self._comma_decimal is None:
            self._comma_decimal = len(_DECIMAL_COMMA_TEXT.findall(self.text)) >= 3
        return self._comma_decimal

    def yen(self) -> str:
        """JPY in a Japanese text, CNY otherwise (and when unsure)."""
        if self._yen is None:
            japanese, chinese = len(_JAPANESE.findall(self.text)), len(_CHINESE.findall(self.text))
            self._yen = "JPY" if japanese > chinese else "CNY"
        return self._yen


def _number(written: str, comma_decimal: bool) -> float:
    """ "1,500" and "1.000": thousands or a decimal by the language; "1,5" always a decimal."""
    raw = written.replace("\u00a0", "").replace("\u202f", "")
    if "," in raw and "." in raw:
        point = max(raw.rfind(","), raw.rfind("."))
        return float(re.sub(r"[,.]", "", raw[:point]) + "." + raw[point + 1 :])
    for separator, thousands in ((",", not comma_decimal), (".", comma_decimal)):
        if separator in raw:
            groups = raw.split(separator)
            if len(groups) > 2 or (len(groups[1]) == 3 and thousands):
                return float("".join(groups))
            return float(raw.replace(separator, "."))
    return float(raw)


def _scale(written: str | None, comma_decimal: bool) -> float:
    if not written:
        return 1.0
    word = re.sub(r"\s+", " ", written.strip(" -.").lower())
    if word == MIL:
        return 1e3 if comma_decimal else 1e6
    return _SCALE_WORDS[word]


def _cjk_value(written: str) -> float:
    total = 0.0
    for group in _CJK_GROUPS.finditer(written):
        number = float(group["num"].replace(",", ""))
        total += number * CJK_MULTIPLIERS.get(group["mult"], 1.0) * CJK_UNITS[group["unit"]]
    return total


def _is_decimal_comma_amount(m: re.Match[str], reading: _Reading) -> bool:
    """Whether the amount's own words say "1,5" style; else what the text as a whole says."""
    scale = (m["pscale"] or m["sscale"] or "").strip(" -.").lower()
    if scale in DECIMAL_COMMA_SCALES or m["conn"] or (m["pcur"] or "").lower() == "r$":
        return True
    if (m["scur"] or "").lower() in _DECIMAL_COMMA_CURRENCIES:
        return True
    return False if scale else reading.comma_decimal()


def _parse(m: re.Match[str], reading: _Reading) -> tuple[float, str]:
    """The value (in units of the currency) and the ISO currency of an _AMOUNT match."""
    if m["cjk"] is not None:
        return _cjk_value(m["cjk"]), CJK_CURRENCIES[m["ccur"]]
    if m["wnum"] is not None:
        number = WORD_NUMBERS[re.sub(r"\s+", " ", m["wnum"].lower())]
        return number * _scale(m["wscale"], comma_decimal=True), _currency(m["wcur"], SUFFIX_CURRENCIES, reading)
    comma = _is_decimal_comma_amount(m, reading)
    if m["pcur"] is not None:
        value = _number(m["pnum"], comma) * _scale(m["pscale"], comma)
        return value, _currency(m["pcur"], PREFIX_CURRENCIES, reading)
    return _number(m["snum"], comma) * _scale(m["sscale"], comma), _currency(m["scur"], SUFFIX_CURRENCIES, reading)


def _currency(written: str, table: Mapping[str, str], reading: _Reading) -> str:
    code = table[re.sub(r"\s+", " ", written.lower())]
    return reading.yen() if code == "¥" else code


def _anchors(text: str) -> list[int]:
    """Where amounts can be: every run of digits, and every scale word (for "two billion yuan")."""
    anchors = [m.start() for m in _DIGITS.finditer(text)] if _has_digit(text) else []
    lowered = text.lower()
    if len(lowered) == len(text):  # else (a rare capital that lower-cases to two characters) digits only
        for stem in _SCALE_STEMS:
            at = lowered.find(stem)
            while at >= 0:
                anchors.append(at)
                at = lowered.find(stem, at + 1)
    return anchors


def _starts(text: str, anchor: int) -> Iterable[int]:
    """Where an amount covering ``anchor`` may start: the anchor, or the start of a word or symbol
    shortly before it ("US$ 162,6 millones", "half a billion")."""
    for start in range(max(0, anchor - _BEFORE_ANCHOR), anchor):
        if not text[start].isspace() and (start == 0 or not _LATIN_WORD_CHAR.match(text[start - 1])):
            yield start
    yield anchor


def _raw_amounts(text: str, rates: Mapping[str, float]) -> list[tuple[int, int, Amount]]:
    """Every amount, tried only around anchors: the pattern is slow to try at every position."""
    found: dict[tuple[int, int], Amount] = {}
    reading = _Reading(text)
    for anchor in _anchors(text):
        hi = min(len(text), anchor + _AFTER_ANCHOR)
        for start in _starts(text, anchor):  # anchored tries at word starts: far cheaper than a search
            m = _AMOUNT.match(text, start, hi)
            if m is None or m.end() <= anchor or m.span() in found:
                continue
            if m["scur"] == "$" and not m["sscale"]:
                continue  # "$" after a bare number belongs to the next amount ("in 2024 $5M")
            value, currency = _parse(m, reading)
            rate = rates.get(currency)
            found[m.span()] = Amount(m.group().strip(), value, currency, value * rate if rate is not None else None)
    return _without_overlaps(found)


def _without_overlaps(found: dict[tuple[int, int], Amount]) -> list[tuple[int, int, Amount]]:
    """The longest of overlapping matches ("US$ 5 mil millones", not also "5 mil")."""
    kept: list[tuple[int, int, Amount]] = []
    for (start, end), amount in sorted(found.items(), key=lambda kv: (kv[0][0], -kv[0][1])):
        if kept and start < kept[-1][1]:
            continue
        kept.append((start, end, amount))
    return kept


def _merge_restatements(text: str, found: list[tuple[int, int, Amount]]) -> list[tuple[int, int, Amount]]:
    """Fold "X (about Y)" pairs into one amount: X's value and currency, the USD side's value."""
    merged: list[tuple[int, int, Amount]] = []
    for start, end, amount in found:
        if merged:
            p_start, p_end, previous = merged[-1]
            if previous.currency != amount.currency and _RESTATE.match(text[p_end:start]):
                if text[end : end + 1] == ")":
                    end += 1
                usd = amount.value if amount.currency == "USD" else previous.usd
                usd = previous.value if previous.currency == "USD" else usd
                merged[-1] = (p_start, end, replace(previous, text=text[p_start:end], usd=usd))
                continue
        merged.append((start, end, amount))
    return merged


def _may_hold_scale(lowered: str) -> bool:
    """A quick superset test for the scale stems: "mil" or "bil" is in all of them but "trill"."""
    return "mil" in lowered or "bil" in lowered or "trill" in lowered


def _has_digit(text: str) -> bool:
    """``_DIGIT.search`` for ASCII text by substring tests, which run far quicker than a pattern."""
    if text.isascii():
        return any(digit in text for digit in "0123456789")
    return _DIGIT.search(text) is not None


def amount_spans(
    text: str, rates: Mapping[str, float] = DEFAULT_RATES_USD, min_usd: float = DEAL_FLOOR_USD
) -> list[tuple[int, int, Amount]]:
    """:func:`find_amounts` with where each amount is in ``text``, which must be NFKC-normalised."""
    if not _has_digit(text) and not _may_hold_scale(text.lower()):
        return []  # most texts: no amount to look for
    spans = []
    for start, end, amount in _merge_restatements(text, _raw_amounts(text, rates)):
        size = amount.usd if amount.usd is not None else amount.value
        if size >= min_usd:
            spans.append((start, end, replace(amount, kind=_kind(text, start, end))))
    return spans


def find_amounts(
    text: str, rates: Mapping[str, float] = DEFAULT_RATES_USD, min_usd: float = DEAL_FLOOR_USD
) -> tuple[Amount, ...]:
    """Every money mention worth at least ``min_usd`` (by value when no rate is known), in order."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return tuple(amount for _, _, amount in amount_spans(text, rates, min_usd))
