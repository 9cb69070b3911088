"""Many folded patterns found in one pass: pyahocorasick automata plus word boundaries.

pyahocorasick knows nothing of words. Two automata share the work:

- **Words.** A pattern that starts and ends with a letter or digit of a spaced script (``robot``,
  ``"world model"``, ``v jepa``) is stored with a space on each side (a prefix pattern, ``invest*``,
  on its left only) and searched in a copy of the text where every other character (punctuation,
  CJK, symbols) is a space. A hit is then a whole-word hit by construction: no hit inside a longer
  word is ever reported, so none has to be checked in Python. The copy has the text's length, so
  positions carry over.
- **The rest.** Patterns with a CJK character (``世界模型``, ``フィジカルai``) or a non-word edge are
  searched in the text itself, each hit checked in Python: the characters either side must not be
  letters or digits of a spaced script (``text.is_word_char``); a CJK edge needs no boundary; a
  prefix pattern needs none on its right. This automaton runs only on text that is not all ASCII,
  unless one of its patterns is ASCII.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Sequence
from itertools import accumulate

import ahocorasick

from monitor.matching.text import UNSPACED_RANGES, is_unspaced, is_word_char

# Characters that are not word characters become spaces in the word-boundary copy.
_ASCII_NON_WORD = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})
_UNSPACED = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in UNSPACED_RANGES)
_NON_WORD = re.compile(f"[^\\w ]|_|[{_UNSPACED}]")


def _is_plain_word(form: str) -> bool:
    """Whether ``form`` can go to the word automaton: spaced-script word characters at both ends
    and nothing unspaced inside."""
    return is_word_char(form[0]) and is_word_char(form[-1]) and not any(is_unspaced(ch) for ch in form)


def _boundary_copy(text: str) -> str:
    """``text`` with every character that is neither a space nor a spaced-script letter or digit
    turned into a space, padded with one space each side (same positions, shifted by one)."""
    if text.isascii():
        return f" {text.translate(_ASCII_NON_WORD)} "
    return f" {_NON_WORD.sub(' ', text)} "


class PatternIndex:
    """Folded forms mapped to keys; :meth:`scan` lists ``(key, start, end)`` for each whole-word hit."""

    def __init__(self, entries: Iterable[tuple[str, Hashable, bool]]) -> None:
        """``entries`` are ``(folded form, key, is_prefix)``; many keys may share a form."""
        words: dict[tuple[str, bool], list[Hashable]] = {}  # (form, is_prefix) -> keys
        table: dict[str, tuple[list[Hashable], list[Hashable]]] = {}
        for form, key, prefix in entries:
            if _is_plain_word(form):
                bucket = words.setdefault((form, prefix), [])
            else:
                exact, prefixed = table.setdefault(form, ([], []))
                bucket = prefixed if prefix else exact
            if key not in bucket:
                bucket.append(key)
        self._words: ahocorasick.Automaton | None = None
        if words:
            self._words = ahocorasick.Automaton()
            for (form, prefix), keys in words.items():
                # Stored as " form " (exact) or " form" (prefix); ``shift`` is how far the form's end
                # lies from the hit's last character in the padded copy, in the text's positions.
                spaced = _boundary_copy(form)  # " l ia " for l'ia: the text's copy has spaces there too
                stored, shift = (spaced[:-1], 0) if prefix else (spaced, 1)
                self._words.add_word(stored, (len(form), shift, tuple(keys)))
            self._words.make_automaton()
        self._rest: ahocorasick.Automaton | None = None
        self._rest_has_ascii = any(form.isascii() for form in table)
        if table:
            automaton = ahocorasick.Automaton()
            for form, (exact, prefixed) in table.items():
                value = (len(form), is_word_char(form[0]), is_word_char(form[-1]), tuple(exact), tuple(prefixed))
                automaton.add_word(form, value)
            automaton.make_automaton()
            self._rest = automaton

    def scan(self, text: str) -> list[tuple[Hashable, int, int]]:
        """Every whole-word hit in ``text``, in order of where it ends."""
        return self.scan_each((text,))[0]

    def scan_each(self, texts: Sequence[str]) -> list[list[tuple[Hashable, int, int]]]:
        """:meth:`scan` of each text (an item's fields), with one pass of the word automaton over
        them all: the texts' copies are joined with NULs, which no pattern holds."""
        found: list[list[tuple[Hashable, int, int]]] = [[] for _ in texts]
        if self._words is not None:
            copies = [_boundary_copy(text) for text in texts]
            limits = list(accumulate(len(copy) + 1 for copy in copies))  # where each copy's NUL ends
            number, offset, hits = 0, 0, found[0]
            # ``last`` indexes the joined copies; within a padded copy it is one ahead of the text: a
            # prefix form ends at text position ``last``, an exact one (followed by its closing space)
            # at ``last - 1``.
            for last, (length, shift, keys) in self._words.iter("\x00".join(copies)):
                while last >= limits[number]:  # hits come in order of their end, so texts in order
                    offset, number = limits[number], number + 1
                    hits = found[number]
                end = last - offset - shift
                for key in keys:
                    hits.append((key, end - length, end))
        if self._rest is not None:
            for text, hits in zip(texts, found, strict=True):
                if self._rest_has_ascii or not text.isascii():
                    rest = list(self._scan_rest(text))
                    if rest:  # each automaton reports in end order: only a mix needs sorting
                        hits.extend(rest)
                        hits.sort(key=lambda hit: hit[2])
        return found

    def _scan_rest(self, text: str) -> Iterable[tuple[Hashable, int, int]]:
        assert self._rest is not None
        size = len(text)
        # is_word_char inlined: this loop runs for every raw hit, most of them inside longer words.
        for last, (length, check_left, check_right, exact, prefixed) in self._rest.iter(text):
            start = last - length + 1
            if check_left and start > 0:
                before = text[start - 1]
                if before.isalnum() and (before.isascii() or not is_unspaced(before)):
                    continue
            for key in prefixed:
                yield (key, start, last + 1)
            if exact:
                if check_right and last + 1 < size:
                    after = text[last + 1]
                    if after.isalnum() and (after.isascii() or not is_unspaced(after)):
                        continue
                for key in exact:
                    yield (key, start, last + 1)
