"""The funding round or deal type a news text reports, in nine languages. Pure.

``find_round`` names the first one mentioned: ``Series B`` (also Serie B, série B, シリーズB,
시리즈B, B轮, with ``+`` or a digit: ``Series A+``, ``Series C1``), ``pre-Series A`` (Pre-A轮,
프리A), ``pre-seed``, ``seed`` (amorçage, ronda semilla, 种子轮, シード, 시드), ``angel`` (天使轮),
``strategic investment``, ``acquisition`` (acquires, übernimmt, rachète, adquiere, acquisisce,
收购, 買収, 인수), ``IPO`` (Börsengang, introduction en Bourse, salida a bolsa, 上市辅导, 新規上場,
기업공개) and ``debt`` (venture debt, Darlehen, préstamo, 贷款).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from monitor.matching.patterns import PatternIndex
from monitor.matching.text import FoldedText, fold, fold_text

_NOT_AFTER_LATIN = r"(?<![A-Za-z0-9])"  # CJK may stand right before a round name: 完成A轮
_ROUNDS = re.compile(
    r"(?P<acquisition>\b(?:acquires|acquired|acquiring|to acquire|acquisition of|acquisition by"
    r"|agree[sd]? to buy|takeover of|buyout of|übernimmt|übernommen|übernahme|erwirbt|rachète|racheté"
    r"|rachat d[e'\u2019]|acquiert|acquisition d[e'\u2019]|adquiere|adquirió|adquisición de|adquire|adquiriu"
    r"|aquisição d[aeo]|acquisisce|acquisizione d[ie])\b|收购|并购|入主|買収|인수)"
    rf"|(?P<series>{_NOT_AFTER_LATIN}(?:[Pp]re-)?(?:[Ss]eries|[Ss]erie|[Ss]érie)[\s-](?P<letter>[A-H])"
    r"(?P<plus>\+{1,2}|\d)?(?![\w+])"
    r"|(?:シリーズ|시리즈)\s?(?P<letter3>[A-H])(?P<plus3>\+{1,2})?)"
    rf"|(?P<letter_round>{_NOT_AFTER_LATIN}(?:[Pp]re-?|프리\s?)?(?P<letter2>[A-E])(?P<plus2>\+{{1,2}}|\d)?"
    r"(?:[\s-][Rr]ound\b|轮|輪)|프리\s?(?P<letter4>[A-E])(?P<plus4>\+{1,2})?(?![A-Za-z]))"
    r"|(?P<preseed>\bpre-?seed\b|\bpré-?(?:seed|amorçage)\b|プレシード|프리\s?시드)"
    r"|(?P<seed>\bseed[\s-](?:round|funding|financing|investment|stage|extension|capital|runde|finanzierung)\b"
    r"|(?:million|\d[mk]|bn|billion)\s+seed\b|\bamorçage\b|\b(?:ronda|rodada|round|aporte|capital)\s"
    r"(?:de\s)?(?:capital\s)?(?:seed|semilla|semente)\b|种子轮|シード(?:ラウンド)?|시드\s?(?:투자|라운드))"
    r"|(?P<angel>\bangel[\s-](?:round|funding|investment|financing)\b|天使\+*轮|エンジェルラウンド|엔젤\s?투자)"
    r"|(?P<strategic>\bstrategic (?:investment|round|funding|financing|stake)\b|战略投资|战略融资|戦略的?(?:出資|投資)"
    r"|業務資本提携|전략적?\s?투자|\binvestissement stratégique\b|\binversión estratégica\b"
    r"|\binvestimento (?:estratégico|strategico)\b|\bstrategische (?:investition|beteiligung)\b)"
    r"|(?P<ipo>\bIPO\b|\binitial public offering\b|\bbörsengang\b|\b(?:introduction|entrée) en bourse\b"
    r"|\bsalida a bolsa\b|\bOPV\b|\babertura de capital\b|\bquotazione in borsa\b|上市辅导|港股上市|科创板上市"
    r"|\bsalir a bolsa\b"
    r"|\b(?:estreia|estreou|estreno|debut[ae]?)\s+(?:na|en|em|in|à|a)\s+(?:la\s+)?(?:bolsa|bourse|borsa)\b"
    r"|\babr(?:e|iu)\s+(?:o\s+)?capital\b|\b(?:go|goes|going|went)\s+public\b"
    r"|\b(?:market|trading|stock|exchange|Hong\s+Kong|Nasdaq|NYSE|Shanghai|Shenzhen|STAR\s+Market)\s+debut\b"
    r"|\bdebut(?:s|ed)?\s+on\s+the\s+(?:\w+\s+){0,2}(?:exchange|market|Nasdaq|NYSE)\b|\bBörsendebüt\b"
    r"|赴港上市|在香港上市|港交所上市|登陆港交所|上市首日|上場を果たし|上場した|증시에\s?상장|상장\s?첫날"
    r"|挂牌上市|新規上場|株式上場|上場(?:申請|を申請)|기업공개|상장\s?(?:예비심사|추진|절차|신청))"
    r"|(?P<debt>\bventure debt\b|\bdebt financing\b|\bcredit facility\b|\bdarlehen\b|\bprêt de\b"
    r"|\bpréstamo\b|\bempréstimo\b|\bprestito\b|贷款|대출)",
    re.IGNORECASE,
)
_LABELS = {"preseed": "pre-seed", "strategic": "strategic investment", "ipo": "IPO"}


def _is_round(m: re.Match[str]) -> bool:
    letter = m["letter"] or m["letter2"] or m["letter3"] or m["letter4"]
    return letter is None or letter.isupper()  # IGNORECASE lets "series a" in; round letters are upper case


# A word one of which every _ROUNDS alternative contains. The pattern is tried only around them, as
# it is slow to try at every position of a long text; one Aho-Corasick pass finds them. Where
# _ROUNDS has them, Latin anchor words begin a word, so they are prefix patterns ("around",
# "republic", "bipolar" hold none); "preseed" and "préamorçage" are the two words that end in one.
_ANCHOR_WORDS = (
    "acqui", "buy", "takeover", "series", "serie", "série", "round", "seed", "amorçage", "semilla", "semente",
    "angel", "strateg", "stratég", "estratég", "ipo", "public", "börsengang", "bourse", "bolsa", "borsa", "opv",
    "abertura", "übern", "erwirbt", "rach", "adqui", "aquisi", "debt", "credit", "darlehen", "prêt", "préstamo",
    "empréstimo", "prestito", "preseed", "préseed", "préamorçage", "salir", "estre", "debut", "abre", "abriu",
    "börsendebüt",
    "轮", "輪", "天使", "种子", "战略", "戦略", "業務資本", "上市", "上場", "收购", "并购", "入主", "買収", "贷款",
    "エンジェル", "シリーズ", "シード",
    "엔젤", "전략", "기업공개", "상장", "인수", "시리즈", "시드", "프리", "대출", "증시", "赴港", "港交所", "登陆",
)  # fmt: skip
ANCHOR = "round anchor"  # the key of ANCHOR_ENTRIES, for an index that holds them among others
ANCHOR_ENTRIES = tuple((fold(word), ANCHOR, True) for word in _ANCHOR_WORDS)
_ANCHORS = PatternIndex(ANCHOR_ENTRIES)

_LEAD_IN = 12  # how far before its anchor a mention may start: "agreed to buy", "1.5 billion seed", "完成A+轮"


def anchor_starts(text: FoldedText, hits: Iterable[tuple[object, int, int]]) -> list[int]:
    """Where in ``text.source`` the anchor words among the folded ``hits`` start, in order."""
    return sorted(text.source_span(start, end)[0] for key, start, end in hits if key == ANCHOR)


def round_match(text: str, anchors: Sequence[int] | None = None) -> re.Match[str] | None:
    """The first round or deal-type mention in ``text``, if any. ``anchors``: the
    :func:`anchor_starts` of ``text`` (NFC), when a larger scan has found them already."""
    if anchors is None:
        folded = fold_text(text)
        text, anchors = folded.source, anchor_starts(folded, _ANCHORS.scan(folded.text))
    first = None
    for at in anchors:
        if first is not None and at - _LEAD_IN > first.start():
            break  # any later mention starts after the first one found
        for start in range(max(0, at - _LEAD_IN), at + 1):  # anchored tries: far cheaper than a search
            m = _ROUNDS.match(text, start)
            if m and at < m.end() and _is_round(m) and (first is None or m.start() < first.start()):
                first = m
                break
    return first


def round_name(m: re.Match[str]) -> str:
    """The round a :func:`round_match` names: "Series B", "pre-Series A", "seed", "acquisition", ..."""
    kind = m.lastgroup
    if kind in ("series", "letter_round"):
        letter = m["letter"] or m["letter2"] or m["letter3"] or m["letter4"]
        plus = m["plus"] or m["plus2"] or m["plus3"] or m["plus4"] or ""
        pre = "pre-" if m.group().lower().startswith(("pre", "프리")) else ""
        return f"{pre}Series {letter}{plus}"
    assert kind is not None  # every alternative of _ROUNDS is a named group
    return _LABELS.get(kind, kind)


def find_round(text: str) -> str | None:
    """The funding round or deal type mentioned first: "Series B", "seed", "acquisition", ..."""
    m = round_match(text)
    return None if m is None else round_name(m)
