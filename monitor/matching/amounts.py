"""Money mentions and funding rounds in news text. Pure functions, no I/O.

An amount is a currency (symbol, ISO code or word) with a number and an optional scale:
``$290M``, ``US$1.2bn``, ``RMB 2 billion``, ``1.5 trillion won``, ``50 million dollars``, ``20亿元``,
``two billion yuan``, ``half a billion dollars``.
A second amount in brackets or after "or about" restates the first in another currency, so
``2 billion yuan ($290 million)`` is ONE amount (2e9 CNY) whose USD value is the stated $290M,
not a conversion. ``¥`` is read as yuan (write ``JP¥`` or ``yen`` for yen).

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

from monitor.model import Amount

# Approximate mid-market rates (USD per unit); override with load_rules(..., rates=...).
DEFAULT_RATES_USD: Mapping[str, float] = MappingProxyType(
    {
        "USD": 1.0,
        "CNY": 0.14,
        "EUR": 1.08,
        "GBP": 1.27,
        "JPY": 0.0067,
        "KRW": 0.00073,
        "HKD": 0.128,
        "TWD": 0.031,
        "SGD": 0.74,
        "INR": 0.012,
        "CAD": 0.73,
        "AUD": 0.66,
        "CHF": 1.13,
        "ILS": 0.27,
    }
)
DEAL_FLOOR_USD = 1_000_000.0

_PREFIX_CURRENCIES = {
    "$": "USD", "us$": "USD", "u.s.$": "USD", "usd": "USD",
    "€": "EUR", "eur": "EUR", "£": "GBP", "gbp": "GBP",
    "¥": "CNY", "cn¥": "CNY", "rmb": "CNY", "cny": "CNY", "jp¥": "JPY", "jpy": "JPY",
    "₩": "KRW", "krw": "KRW", "₹": "INR", "inr": "INR", "rs.": "INR",
    "hk$": "HKD", "hkd": "HKD", "nt$": "TWD", "twd": "TWD", "s$": "SGD", "sgd": "SGD",
    "c$": "CAD", "ca$": "CAD", "cad": "CAD", "a$": "AUD", "au$": "AUD", "aud": "AUD",
    "chf": "CHF", "₪": "ILS", "ils": "ILS",
}  # fmt: skip
_SUFFIX_CURRENCIES = {
    "dollar": "USD", "us dollar": "USD", "u.s. dollar": "USD", "american dollar": "USD",
    "hong kong dollar": "HKD", "singapore dollar": "SGD", "canadian dollar": "CAD",
    "australian dollar": "AUD", "new taiwan dollar": "TWD",
    "yuan": "CNY", "renminbi": "CNY", "euro": "EUR", "pound": "GBP", "pounds sterling": "GBP",
    "sterling": "GBP", "yen": "JPY", "won": "KRW", "rupee": "INR", "swiss franc": "CHF",
    "shekel": "ILS", "元": "CNY", "人民币": "CNY", "美元": "USD", "欧元": "EUR", "日元": "JPY",
    "韩元": "KRW", "港元": "HKD",
}  # fmt: skip
_SCALES = {
    "k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "mln": 1e6, "mil": 1e6, "million": 1e6,
    "b": 1e9, "bn": 1e9, "billion": 1e9, "t": 1e12, "tn": 1e12, "trillion": 1e12,
    "lakh": 1e5, "crore": 1e7, "万": 1e4, "亿": 1e8,
}  # fmt: skip


def _alternation(words: Iterable[str]) -> str:
    """A regex alternation of ``words``, longest first so that "US$" wins over "$"."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_DIGIT = re.compile(r"\d")
_DIGITS = re.compile(r"\d[\d,.]*")
_BEFORE_ANCHOR, _AFTER_ANCHOR = 16, 48  # room for "half a b" before and "billion Hong Kong dollars" after
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_WORD_SCALE = r"(?:thousand|million|billion|trillion|mln|mn|bn|tn|mil|lakh|crore)s?(?![a-z])"
_SCALE = rf"(?:[\s-]?{_WORD_SCALE}|[kmbt](?![a-z])|\s?[万亿])"
_SUFFIX_WORDS = "|".join(
    re.escape(w) + ("s?" if w.isascii() and w[-1].isalpha() and w != "sterling" else "")
    for w in sorted(_SUFFIX_CURRENCIES, key=len, reverse=True)
)
_SUFFIX_CODES = _alternation(c for c in _PREFIX_CURRENCIES if c.isalpha())
_WORD_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "half a": 0.5,
}  # fmt: skip
_AMOUNT = re.compile(
    rf"(?<![\w$.])(?P<pcur>{_alternation(_PREFIX_CURRENCIES)})\s?(?P<pnum>{_NUM})(?P<pscale>{_SCALE})?"
    rf"|(?<![\w.,$])(?P<snum>{_NUM})(?P<sscale>{_SCALE})?\s?(?P<scur>{_SUFFIX_WORDS}|{_SUFFIX_CODES})"
    r"(?![a-z])"
    rf"|\b(?P<wnum>{_alternation(_WORD_NUMBERS)})\s+(?P<wscale>million|billion|trillion)\s+"
    rf"(?P<wcur>{_SUFFIX_WORDS}|{_SUFFIX_CODES})(?![a-z])",
    re.IGNORECASE,
)
# Between an amount and its restatement in another currency: "(", "(about ", ", or about ".
_RESTATE = re.compile(
    r"\s*(?:\(\s*|,?\s*or\s+)(?:about|around|approximately|approx\.|roughly|some|nearly|almost|~|≈)?\s*\Z",
    re.IGNORECASE,
)
# The words right before an amount that make it something other than a deal ("valued at $4.5B").
_HEDGE = r"(?:about|around|nearly|roughly|over|more than|almost|some|up to|at least|near)?\s*\Z"
_KIND_BEFORE = (
    ("valuation", re.compile(rf"\b(?:valued|valuing \w+|valuation)\s+(?:of|at|to)?\s*{_HEDGE}", re.I)),
    ("market_cap", re.compile(rf"\bmarket (?:cap|capitali[sz]ation|value)\s+(?:of|at|to)?\s*{_HEDGE}", re.I)),
    (
        "revenue",
        re.compile(rf"\b(?:revenues?|sales|ARR)\s+(?:of|at|to|reached|hit|topped)?\s*{_HEDGE}", re.I),
    ),
)
_KIND_AFTER = (
    ("valuation", re.compile(r"\A[\s-]*(?:pre-money |post-money )?valuation", re.IGNORECASE)),
    ("market_cap", re.compile(r"\A\s*market (?:cap|value)", re.IGNORECASE)),
    ("revenue", re.compile(r"\A\s*(?:in|of)\s+(?:annual\s+|yearly\s+)?(?:revenue|sales)", re.IGNORECASE)),
)


def _kind(text: str, start: int, end: int) -> str:
    before, after = text[max(0, start - 45) : start], text[end : end + 30]
    for kind, pattern in _KIND_BEFORE:
        if pattern.search(before):
            return kind
    for kind, pattern in _KIND_AFTER:
        if pattern.search(after):
            return kind
    return "deal"


def _scale(word: str | None) -> float:
    if not word:
        return 1.0
    word = word.strip(" -").lower()
    return _SCALES.get(word, _SCALES.get(word.rstrip("s"), 1.0))


def _currency(written: str) -> str:
    key = written.lower()
    if key in _PREFIX_CURRENCIES:
        return _PREFIX_CURRENCIES[key]
    key = re.sub(r"\s+", " ", key)
    return _SUFFIX_CURRENCIES.get(key) or _SUFFIX_CURRENCIES[key[:-1]]


def _anchors(text: str) -> list[int]:
    """Where amounts can be: every run of digits, and every "-illion" (for "two billion yuan")."""
    anchors = [m.start() for m in _DIGITS.finditer(text)]
    lowered = text.lower()
    at = lowered.find("illion")
    while at >= 0:
        anchors.append(at)
        at = lowered.find("illion", at + 1)
    return anchors


def _parse(m: re.Match[str]) -> tuple[float, str]:
    """The value (in units of the currency) and the currency as written of an _AMOUNT match."""
    if m.group("pcur") is not None:
        return float(m.group("pnum").replace(",", "")) * _scale(m.group("pscale")), m.group("pcur")
    if m.group("snum") is not None:
        return float(m.group("snum").replace(",", "")) * _scale(m.group("sscale")), m.group("scur")
    number = _WORD_NUMBERS[re.sub(r"\s+", " ", m.group("wnum").lower())]
    return number * _scale(m.group("wscale")), m.group("wcur")


def _raw_amounts(text: str, rates: Mapping[str, float]) -> list[tuple[int, int, Amount]]:
    """Every amount, tried only around anchors: the pattern is slow to try at every position."""
    found: dict[tuple[int, int], Amount] = {}
    for anchor in _anchors(text):
        lo, hi = max(0, anchor - _BEFORE_ANCHOR), min(len(text), anchor + _AFTER_ANCHOR)
        for m in _AMOUNT.finditer(text, lo, hi):
            if not m.start() <= anchor < m.end() or m.span() in found:
                continue
            value, written = _parse(m)
            currency = _currency(written)
            rate = rates.get(currency)
            found[m.span()] = Amount(m.group().strip(), value, currency, value * rate if rate is not None else None)
    return [(start, end, amount) for (start, end), amount in sorted(found.items())]


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


def find_amounts(
    text: str, rates: Mapping[str, float] = DEFAULT_RATES_USD, min_usd: float = DEAL_FLOOR_USD
) -> tuple[Amount, ...]:
    """Every money mention worth at least ``min_usd`` (by value when no rate is known), in order."""
    if not _DIGIT.search(text) and "illion" not in text.lower():
        return ()
    text = unicodedata.normalize("NFKC", text)
    amounts = []
    for start, end, amount in _merge_restatements(text, _raw_amounts(text, rates)):
        size = amount.usd if amount.usd is not None else amount.value
        if size >= min_usd:
            amounts.append(replace(amount, kind=_kind(text, start, end)))
    return tuple(amounts)


_ROUNDS = re.compile(
    r"(?P<acquisition>\b(?:acquires|acquired|acquiring|to acquire|acquisition of|acquisition by"
    r"|agree[sd]? to buy|takeover of|buyout of)\b)"
    r"|(?P<series>\b(?:[Pp]re-)?[Ss]eries[\s-](?P<letter>[A-H])(?P<plus>\+{1,2}|\d)?(?![\w+]))"
    r"|(?P<letter_round>\b(?:[Pp]re-)?(?P<letter2>[A-E])(?P<plus2>\+{1,2})?[\s-][Rr]ound\b)"
    r"|(?P<preseed>\bpre-?seed\b)"
    r"|(?P<seed>\bseed[\s-](?:round|funding|financing|investment|stage|extension|capital)\b"
    r"|(?:million|\d[mk]|bn|billion)\s+seed\b)"
    r"|(?P<angel>\bangel[\s-](?:round|funding|investment|financing)\b)"
    r"|(?P<strategic>\bstrategic (?:investment|round|funding|financing|stake)\b)"
    r"|(?P<ipo>\bIPO\b|\binitial public offering\b)",
    re.IGNORECASE,
)


# Words one of which every _ROUNDS match contains, at the start of a word. The pattern is tried
# only around them: it is slow to try at every position of a long text.
_ROUND_ANCHORS = (
    "acqui", "buy", "takeover", "series", "round", "seed", "preseed", "angel", "strategic", "ipo", "public",
)  # fmt: skip


def _anchor_positions(text: str) -> list[int]:
    lowered = text.lower()
    if len(lowered) != len(text):  # a few non-ASCII capitals lower-case to two characters
        lowered = "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in text)
    positions = []
    for anchor in _ROUND_ANCHORS:
        at = lowered.find(anchor)
        while at >= 0:
            if at == 0 or not lowered[at - 1].isalnum():
                positions.append(at)
            at = lowered.find(anchor, at + 1)
    return sorted(positions)


def _first_round(text: str) -> re.Match[str] | None:
    first = None
    for at in _anchor_positions(text):
        if first is not None and at - 25 > first.start():
            break  # any later match starts after the first one
        for m in _ROUNDS.finditer(text, max(0, at - 25), min(len(text), at + 40)):
            covers = m.start() <= at < m.end()
            if covers and _is_round(m) and (first is None or m.start() < first.start()):
                first = m
    return first


def _is_round(m: re.Match[str]) -> bool:
    letter = m.group("letter") or m.group("letter2")
    return letter is None or letter.isupper()  # IGNORECASE lets "series a" in; round letters are upper case


def find_round(text: str) -> str | None:
    """The funding round or deal type mentioned first: "Series B", "seed", "acquisition", ..."""
    m = _first_round(text)
    if m is None:
        return None
    kind = m.lastgroup
    if kind in ("series", "letter_round"):
        letter = m.group("letter") or m.group("letter2")
        plus = m.group("plus") or m.group("plus2") or ""
        pre = "pre-" if m.group().lower().startswith("pre") else ""
        return f"{pre}Series {letter}{plus}"
    return {"preseed": "pre-seed", "strategic": "strategic investment", "ipo": "IPO"}.get(kind, kind)  # type: ignore[arg-type]
