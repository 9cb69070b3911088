"""The sentences of a deal report, with their amounts and cue words, for ``deal.py``. Pure.

A story's title, summary and content are split into sentences (not after "Mio." or "U.S."), each
NFKC-normalised and read once: its amounts (``amounts.py``) and the cue words of deal reports
(``deal_words.py``), found with one Aho-Corasick pass over the folded sentence.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from monitor.matching.amounts import amount_spans
from monitor.matching.deal_words import (
    ACQUIRE_VERBS,
    ANNOUNCE_VERBS,
    CJK_ACQUIRE,
    CJK_LEAD_IS,
    CJK_LED,
    CJK_RAISE_VERBS,
    DEAL_NOUNS,
    DIRECT_INVEST_VERBS,
    IN_TALKS,
    INVEST_VERBS,
    LED_BEFORE,
    LED_BY,
    PASSIVE_ACQUIRED,
    RAISE_VERBS,
    SPIN_OUT_VERBS,
    WITH_INVESTORS,
)
from monitor.matching.patterns import PatternIndex
from monitor.matching.rounds import ANCHOR, ANCHOR_ENTRIES, anchor_starts, round_match
from monitor.matching.text import fold, fold_text
from monitor.model import Amount

# The cue words of deal reports, found in each sentence with one Aho-Corasick pass (whole words,
# any case; CJK cues need no word boundary): regexes over every word list cost ten times as much.
_TOOK_PART_WORDS = (
    "took part", "also took part", "participated", "also participated", "joined", "also joined", "invested too",
    "chipped in", "participent", "participan", "beteiligten sich", "跟投", "参投", "も出資", "も参加", "등이 참여",
    "이 참여", "가 참여",
)  # fmt: skip
LED_WORDS = (
    "led", "co-led", "leads", "co-leads", "is leading", "headed", "co-headed", "co-mènent", "mène", "lideró", "guidò",
    "guida", "ha guidato",
    "lidera", "liderou",
)  # fmt: skip
_CUE_WORDS: dict[str, Iterable[str]] = {
    "raise": (*RAISE_VERBS, *CJK_RAISE_VERBS),
    "invest": INVEST_VERBS,
    "direct": DIRECT_INVEST_VERBS,
    "spin_out": SPIN_OUT_VERBS,
    "announce": ANNOUNCE_VERBS,
    "acquire": ACQUIRE_VERBS,
    "acquired_by": PASSIVE_ACQUIRED,
    "cjk_acquire": CJK_ACQUIRE,
    "led_by": (*LED_BY, *CJK_LEAD_IS),
    "cjk_led": CJK_LED,
    "led_before": LED_BEFORE,
    "led": LED_WORDS,
    "with": WITH_INVESTORS,
    "took_part": _TOOK_PART_WORDS,
    "in_talks": IN_TALKS,
    "noun": DEAL_NOUNS,
}
_CUES = PatternIndex(  # and the round anchors, so that a sentence's round costs no second pass
    [*((fold(word), (kind, word), False) for kind, words in _CUE_WORDS.items() for word in words), *ANCHOR_ENTRIES]
)
Cue = tuple[int, int, str]  # start and end in the sentence, the cue word as listed

_SENTENCE_END = re.compile(  # before a capital, a digit or CJK: "…유치했다. 이번 투자는"
    r"(?<=[.!?…])[\"'”\u2019)]*\s+(?=[\"'“\u2018(]?[A-ZÀ-Þ0-9¿¡\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af])|(?<=。)|\n+"
)
_ABBREVIATION = re.compile(r"(?:\b(?:Mio|Mrd|Tsd|bzw|ca|Inc|Corp|Ltd|Co|St|Dr|Mr|Mrs|Ms|vs|No|approx|U\.S)|\b[A-Z])\.$")


_PAST = re.compile(
    r"\b(?:previously|earlier|last year|a year ago|(?:in|en|em|nel|im)\s+20\d\d|zuvor|bereits|précédemment"
    r"|auparavant|déjà|anteriormente|in precedenza|già)\b|此前|之前|以前|していた|前回|지난해|이전",
    re.IGNORECASE,
)


_UNKNOWN: Any = object()


@dataclass(slots=True)
class Sentence:
    """One sentence of a story with its amounts and cue words; its round and whether it tells of
    an earlier deal are worked out when first asked for (most sentences are never asked)."""

    text: str  # NFKC
    part: str  # title, summary or content
    amounts: tuple[tuple[int, int, Amount], ...]
    cues: Mapping[str, Sequence[Cue]]
    anchors: list[int]  # where round anchor words start (``rounds.py``)
    _round: re.Match[str] | None = field(default=_UNKNOWN, repr=False)
    _past: bool | None = field(default=None, repr=False)

    def cue(self, kind: str) -> Sequence[Cue]:
        return self.cues.get(kind, ())

    @property
    def round(self) -> re.Match[str] | None:
        """The first round or deal type the sentence names."""
        if self._round is _UNKNOWN:
            self._round = round_match(self.text, self.anchors) if self.anchors else None
        return self._round

    @property
    def past(self) -> bool:
        """Whether it tells of an earlier deal: "previously", "in 2024", "déjà", "此前", "していた"."""
        if self._past is None:
            self._past = bool(_PAST.search(self.text))
        return self._past


def _cues(text: str) -> tuple[dict[str, list[Cue]], list[int]]:
    """The cue words of a sentence (NFKC) by kind, and where its round anchors start."""
    folded = fold_text(text)
    found: dict[str, list[Cue]] = {}
    hits = _CUES.scan(folded.text)
    for key, start, end in hits:
        if key == ANCHOR:
            continue
        kind, word = cast(tuple[str, str], key)
        source_start, source_end = folded.source_span(start, end)
        if text[source_start - 1 : source_start] != "-":  # "Saudi-backed Humain" is no investment verb
            found.setdefault(kind, []).append((source_start, source_end, word))
    for cues in found.values():
        cues.sort()
    return found, anchor_starts(folded, hits)


def sentences(title: str, summary: str, content: str, rates: Mapping[str, float], floor: float) -> list[Sentence]:
    seen: set[str] = set()
    sentences = []
    for part, text in (("title", title), ("summary", summary), ("content", content)):
        for piece in _split(unicodedata.normalize("NFKC", text)):
            if piece and piece not in seen:
                seen.add(piece)
                sentences.append(Sentence(piece, part, tuple(amount_spans(piece, rates, floor)), *_cues(piece)))
    return sentences


def _split(text: str) -> list[str]:
    pieces, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if not _ABBREVIATION.search(text[max(start, m.start() - 8) : m.start()]):  # "Mio." "U.S." end no sentence
            pieces.append(text[start : m.start()].strip())
            start = m.end()
    pieces.append(text[start:].strip())
    return pieces


def key(name: str) -> str:
    return re.sub(r"[\W_]+", "", name.casefold())


def same(a: str, b: str) -> bool:
    ka, kb = key(a), key(b)
    return bool(ka and kb) and (ka in kb or kb in ka)
