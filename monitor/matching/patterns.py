"""Many folded patterns found in one pass: a pyahocorasick automaton plus word-boundary checks.

pyahocorasick knows nothing of words, so each hit is checked in Python: the characters either side
must not be letters or digits of a spaced script (see ``text.is_word_char``). A pattern whose edge
is a CJK character needs no boundary on that side; a prefix pattern (``invest*``) needs none on its
right.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import ahocorasick

from monitor.matching.text import is_unspaced, is_word_char


class PatternIndex:
    """Folded forms mapped to keys; :meth:`scan` lists ``(key, start, end)`` for each whole-word hit."""

    def __init__(self, entries: Iterable[tuple[str, Hashable, bool]]) -> None:
        """``entries`` are ``(folded form, key, is_prefix)``; many keys may share a form."""
        table: dict[str, tuple[list[Hashable], list[Hashable]]] = {}
        for form, key, prefix in entries:
            exact, prefixed = table.setdefault(form, ([], []))
            bucket = prefixed if prefix else exact
            if key not in bucket:
                bucket.append(key)
        self._automaton: ahocorasick.Automaton | None = None
        if table:
            automaton = ahocorasick.Automaton()
            for form, (exact, prefixed) in table.items():
                value = (
                    len(form),
                    is_word_char(form[0]),
                    is_word_char(form[-1]),
                    tuple(exact),
                    tuple(prefixed),
                )
                automaton.add_word(form, value)
            automaton.make_automaton()
            self._automaton = automaton

    def scan(self, text: str) -> list[tuple[Hashable, int, int]]:
        """Every whole-word hit in ``text``, in order of where it ends."""
        if self._automaton is None:
            return []
        hits = []
        size = len(text)
        # is_word_char inlined: this loop runs for every raw hit, most of them inside longer words.
        for last, (length, check_left, check_right, exact, prefixed) in self._automaton.iter(text):
            start = last - length + 1
            if check_left and start > 0:
                before = text[start - 1]
                if before.isalnum() and (before.isascii() or not is_unspaced(before)):
                    continue
            for key in prefixed:
                hits.append((key, start, last + 1))
            if exact:
                if check_right and last + 1 < size:
                    after = text[last + 1]
                    if after.isalnum() and (after.isascii() or not is_unspaced(after)):
                        continue
                for key in exact:
                    hits.append((key, start, last + 1))
        return hits
