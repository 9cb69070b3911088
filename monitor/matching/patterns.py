"""Many folded patterns found in one pass: a pyahocorasick automaton plus word-boundary checks.

pyahocorasick knows nothing of words, so each hit is checked in Python: the characters either side
must not be letters or digits of a spaced script (see ``text.is_word_char``). A pattern whose edge
is a CJK character needs no boundary on that side; a prefix pattern (``invest*``) needs none on its
right.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator

import ahocorasick

from monitor.matching.text import is_word_char


class PatternIndex:
    """Folded forms mapped to keys; :meth:`scan` yields ``(key, start, end)`` for each whole-word hit."""

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

    def scan(self, text: str) -> Iterator[tuple[Hashable, int, int]]:
        if self._automaton is None:
            return
        size = len(text)
        for last, (length, check_left, check_right, exact, prefixed) in self._automaton.iter(text):
            start = last - length + 1
            if check_left and start > 0 and is_word_char(text[start - 1]):
                continue
            for key in prefixed:
                yield key, start, last + 1
            if exact and not (check_right and last + 1 < size and is_word_char(text[last + 1])):
                for key in exact:
                    yield key, start, last + 1
