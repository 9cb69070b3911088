"""Who invested, in the words of a deal report, for ``deal.py``. Pure.

Leads follow "led by", "mené par", "liderada por", "angeführt von", "guidato da", "codirigida por"
or come before "led the round", "guida il round", "领投", "が主導", "주도", "-led" ("the
SoftBank-led Series C"), "al frente"; other investors follow "with participation from",
"alongside", "including" or come before "also took part", "跟投", "등이 참여".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from monitor.matching.deal_names import NAME, WINDOW, list_before, names
from monitor.matching.deal_text import Sentence

_LED_OBJECT = re.compile(r"\s+(?:the|this|le|la|les|el|il|den|die|das)\b", re.IGNORECASE)
_RUN_BY = re.compile(
    r"(?:company|startup|start-up|firm|société|entreprise|empresa|compañía|società|azienda|unternehmen)\s*,\s*$",
    re.IGNORECASE,
)
_WITH_LEADING = re.compile(
    r"\b(?:[Ww]ith|had|has|have)\s+([A-Z].{0,60}?)\s+(?:leading|as\s+(?:the\s+)?lead(?:\s+investors?)?)\b"
)
_FUHRT_AN = re.compile(
    r"\bführt\s+(?:(?:der|die|das)\s+\w+\s+)?([A-Z].{0,60}?)\s+an\b"
)  # führt der Investor Creandum an
_VON_ANGEFUHRT = re.compile(r"\bvon\s+([A-Z].{1,80}?)\s+(?:angeführt|geführt)(?:en|e)?\b")
_HYPHEN_LED = re.compile(rf"((?:{NAME}))-(?:led|co-led|Led)\b")
_AL_FRENTE = re.compile(r"\b(?:con|com)\s+(.{2,80}?)\s+(?:al|à|a)\s+frente\b")


def about_money(sentence: Sentence) -> bool:
    return bool(sentence.amounts or sentence.cue("noun")) or sentence.round is not None


def investor_lists(sentence: Sentence, about_money: bool) -> Iterable[tuple[int, bool, list[str]]]:
    """Where a sentence names investors, whether they lead, and who they are. "led by" counts only
    in or right after a sentence about money ("La società, guidata da Daniele Pucci" names its
    chief executive)."""
    text = sentence.text
    for start, end, _ in sentence.cue("led_by"):
        if about_money and not _RUN_BY.search(text, 0, start):  # "La società, guidata da Daniele Pucci, …"
            yield start, True, names(text[end : end + WINDOW])
    for start, _, _ in sentence.cue("led_before"):  # "Orvell was the lead investor", "Orvell a mené le tour"
        yield start, True, list_before(text[max(0, start - WINDOW) : start])
    if "lead" in text:  # "with Orvell leading the round", "had Orvell as lead investor"
        for m in _WITH_LEADING.finditer(text):
            yield m.start(), True, names(m.group(1))
    for start, _, _ in sentence.cue("cjk_led"):
        yield start, True, list_before(text[max(0, start - WINDOW) : start])
    for start, end, _ in sentence.cue("led"):  # "Alibaba led the round"; "led a round in X" is an event
        if _LED_OBJECT.match(text, end):
            yield start, True, list_before(text[max(0, start - WINDOW) : start])
    if "führt" in text:
        for m in _FUHRT_AN.finditer(text):
            yield m.start(), True, names(m.group(1))
        for m in _VON_ANGEFUHRT.finditer(text):  # "in einer von General Atlantic angeführten Runde"
            yield m.start(), True, names(m.group(1))
    if "-led" in text or "-Led" in text:  # "the SoftBank-led Series C"
        for m in _HYPHEN_LED.finditer(text):
            yield m.start(), True, names(m.group(1))
    if "frente" in text:  # "con Uber y Khosla al frente", "com a CATL à frente"
        for m in _AL_FRENTE.finditer(text):
            yield m.start(), True, names(m.group(1))
    for start, end, word in sentence.cue("with"):
        found = names(text[end : end + WINDOW])
        if len(word) > 4 or len(found) > 1:  # not "with Baidu", but "from Alibaba and Baidu"
            yield start, False, found
    for start, _, _ in sentence.cue("took_part"):
        yield start, False, list_before(text[max(0, start - WINDOW) : start])
