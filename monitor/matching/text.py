"""Text normalisation and word boundaries shared by queries, companies and the engine.

Patterns and item text are folded the same way: Unicode NFKC, then ``str.casefold()`` (so
``STRASSE`` finds ``straße`` and full-width letters find ASCII ones), every dash becomes a space and
runs of whitespace become one space (so ``world-model`` finds ``world model``). Folding can change
the length of the text, so :func:`fold_text` keeps a map from folded offsets back to the source,
which explanations use to quote the original words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_DASH_TO_SPACE = str.maketrans(dict.fromkeys(_DASHES, " "))
_SPACES = re.compile(r"\s+")

# Scripts written without spaces between words: a match there needs no word boundary, and a
# neighbour from these scripts does not glue a Latin word to its surroundings ("阿里巴巴Alibaba").
UNSPACED_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x2E80, 0x9FFF),  # CJK radicals, kana, CJK unified ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables (particles attach to names)
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # half-width katakana
    (0x20000, 0x3FFFF),  # CJK extensions
)


def is_unspaced(ch: str) -> bool:
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in UNSPACED_RANGES)


def is_word_char(ch: str) -> bool:
    """True for letters and digits of scripts that separate words with spaces."""
    return ch.isalnum() and (ch.isascii() or not is_unspaced(ch))


def fold(text: str) -> str:
    """Fold a pattern: NFKC, casefold, dashes to spaces, whitespace collapsed and stripped."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_DASH_TO_SPACE)
    return _SPACES.sub(" ", folded).strip()


@dataclass(frozen=True, slots=True)
class FoldedText:
    """Item text folded for matching, with a way back to the source for snippets."""

    source: str  # the text as given (NFC-composed when it was not ASCII)
    text: str  # the folded text the patterns run over
    offsets: tuple[int, ...] | None  # source offset of each folded char; None when identical

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The source slice for the folded slice ``[start, end)``."""
        if self.offsets is None:
            return start, end
        src_start = self.offsets[start] if start < len(self.offsets) else len(self.source)
        src_end = self.offsets[end - 1] + 1 if end > 0 else 0
        return src_start, max(src_start, src_end)

    def snippet(self, start: int, end: int, width: int = 120) -> str:
        """About ``width`` characters of source around a folded hit, on one line."""
        src_start, src_end = self.source_span(start, end)
        pad = max(0, (width - (src_end - src_start)) // 2)
        lo, hi = max(0, src_start - pad), min(len(self.source), src_end + pad)
        if lo > 0 and (cut := self.source.find(" ", lo, src_start)) >= 0:
            lo = cut + 1  # start on a whole word
        if hi < len(self.source) and (cut := self.source.rfind(" ", src_end, hi)) >= 0:
            hi = cut  # and end on one
        body = _SPACES.sub(" ", self.source[lo:hi]).strip()
        return ("…" if lo > 0 else "") + body + ("…" if hi < len(self.source) else "")


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    if ch.isspace() or ch in _DASHES:
        return " "
    return unicodedata.normalize("NFKC", ch).casefold()


def fold_text(source: str) -> FoldedText:
    """Fold item text. ASCII text without odd whitespace (the common case) keeps its offsets."""
    if source.isascii():
        lowered = source.lower().replace("-", " ")  # the only ASCII dash
        if "  " not in lowered and lowered.isprintable():  # no tab, newline or other odd space
            return FoldedText(source, lowered, None)
        return _collapsed(source, lowered.translate(_ASCII_SPACES))
    source = unicodedata.normalize("NFC", source)
    table = {ord(ch): _fold_char(ch) for ch in set(source)}
    if all(len(piece) == 1 for piece in table.values()):  # most text: one folded character each
        return _collapsed(source, source.translate(table))
    chars: list[str] = []
    offsets: list[int] = []
    last_space = True  # drops leading whitespace as fold() does
    for index, ch in enumerate(source):
        piece = _fold_char(ch)
        if piece == " ":
            if last_space:
                continue
            last_space = True
        else:
            last_space = False
        chars.append(piece)
        offsets.extend([index] * len(piece))
    return FoldedText(source, "".join(chars), tuple(offsets))


_ASCII_SPACES = str.maketrans(dict.fromkeys("\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f", " "))  # str.isspace() in ASCII
_EXTRA_SPACES = re.compile(r"^ +|(?<= ) +")  # leading spaces, and every space after a space


def _collapsed(source: str, folded: str) -> FoldedText:
    """``folded``, one character for each of ``source``'s, with leading spaces dropped and runs of
    spaces made one, as fold() does; offsets only when that changed anything."""
    pieces: list[str] = []
    offsets: list[int] = []
    kept = 0
    for m in _EXTRA_SPACES.finditer(folded):
        pieces.append(folded[kept : m.start()])
        offsets.extend(range(kept, m.start()))
        kept = m.end()
    if not kept:
        return FoldedText(source, folded, None)
    pieces.append(folded[kept:])
    offsets.extend(range(kept, len(folded)))
    return FoldedText(source, "".join(pieces), tuple(offsets))


_INVARIANT = frozenset({"news", "series", "species", "means", "headquarters", "data", "media"})


def inflections(phrase: str) -> tuple[str, ...]:
    """Singular and plural forms of a folded phrase's last word (simple English rules).

    Only words of three Latin letters or more change; words ending in -ss, -us, -is,
    -ics and a few invariant nouns (news, series, ...) stay as written.
    """
    head, _, last = phrase.rpartition(" ")
    latin = last.isalpha() and all(ord(ch) < 0x250 for ch in last)
    if not latin or len(last) < 3 or last in _INVARIANT:
        return (phrase,)
    if last.endswith(("ss", "us", "is", "ics")):
        return (phrase,)
    if last.endswith("ies") and len(last) > 4:
        singular = last[:-3] + "y"
    elif last.endswith(("sses", "xes", "zes", "ches", "shes")):
        singular = last[:-2]
    elif last.endswith("s"):
        singular = last[:-1]
    else:
        singular = last
    if singular.endswith("y") and singular[-2] not in "aeiou":
        plural = singular[:-1] + "ies"
    elif singular.endswith(("s", "x", "z", "ch", "sh")):
        plural = singular + "es"
    else:
        plural = singular + "s"
    prefix = head + " " if head else ""
    return tuple(dict.fromkeys(prefix + word for word in (last, singular, plural)))
