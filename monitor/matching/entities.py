"""Companies: canonical names with aliases and tags, read from ``rules/entities.toml``. Pure.

Names
-----
An item mentions a company when its name or an alias occurs as whole words in the folded text
(title, summary, content), and not only inside a longer name ("Baidu Ventures" is not a mention
of "Baidu"); CJK aliases (生数科技) need no word boundary. Product names that only one company
makes (Vidu, Seedance) are aliases of that company.

Ambiguous names
---------------
A name that is also an ordinary word ("Runway", "Figure", "Genesis", 可灵) is listed under the
company's ``ambiguous`` names. One occurrence of it counts as the company only when all of these
hold:

1. **Capital.** If the listed name's first letter is a capital, so is the text's: "cash runway"
   and "figure skating" never count, "Runway" and "RUNWAY" may.
2. **No exclusion.** None of the company's ``exclude`` words occurs in the occurrence's window
   ("Honda" near "Odyssey", "airport" near "Runway"); an exclude word may contain the name
   ("cash runway", "Genesis GV80").
3. **Context.** One of the company's own ``context`` words (its products, people, field) occurs
   anywhere in the item; or one of the shared context words (AI, robot, video model, 人工智能...)
   occurs in the window, unless the company sets ``shared_context = false`` (for names that are
   words of the field itself, like Humanoid). A context word overlapping the occurrence itself
   ("AI" in "Generalist AI") does not count.

The **window** of an occurrence is the rest of its sentence up to :data:`WINDOW` words on either
side (at most that many words between the two). Words are counted as NEAR counts them, runs of
letters and digits, so a run of Chinese or Japanese characters is one word; a sentence ends at
``.``, ``!`` or ``?`` followed by a space (but not after a single letter, as in "U.S.", or after
Inc, Corp, Ltd, Co, Mr, Ms, Dr, St, Vs, Jr), and at the CJK full stop, exclamation and question
marks. Title, summary and content are separate texts: a window never crosses from one to
another. Context and exclude words match like query terms, singular and plural alike (``robot``
finds robots; an acronym such as ``AWS`` matches as written).

All names, context and exclude words are found by one automaton pass per text; the window is
worked out only for texts where an ambiguous name occurs.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import cast

from monitor.matching.patterns import PatternIndex
from monitor.matching.text import FoldedText, fold, fold_text, inflections

WINDOW = 8  # words between an ambiguous name and a context or exclude word, at most

_WORD = re.compile(r"\w+")
# A full stop after a single letter (U.S., e.g.) or a common abbreviation ends no sentence.
_ABBREVIATIONS = ("inc", "corp", "ltd", "co", "mr", "ms", "dr", "st", "vs", "jr")
_SENTENCE_END = re.compile(
    r"(?<!\b\w)" + "".join(rf"(?<!\b{word})" for word in _ABBREVIATIONS) + r"[.!?](?=\s|$)"
    r"|[\u3002\uff01\uff1f]"  # and the CJK full stop, exclamation and question marks
)

# Automaton keys: what a folded form is, and for which company (its index in Companies.companies).
_NAME, _AMBIGUOUS, _CONTEXT, _EXCLUDE, _SHARED = range(5)  # names first: kind <= _AMBIGUOUS
_Key = tuple[int, ...]  # (kind,), (kind, company) or (_AMBIGUOUS, company, capital first)
_Hit = tuple[_Key, int, int]


@dataclass(frozen=True, slots=True)
class Company:
    name: str  # canonical, as shown in explanations
    aliases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # e.g. "world-model", "investor": usable in rules as company_tags_any
    ambiguous: tuple[str, ...] = ()  # names that are also ordinary words: they need context
    context: tuple[str, ...] = ()  # its products, people, field words: anywhere in an item, they vouch
    exclude: tuple[str, ...] = ()  # words that, in the window, mean an ambiguous name is something else
    shared_context: bool = True  # False: only ``context`` vouches for the ambiguous names


def _capital_first(text: str) -> bool:
    """True when the first cased letter of ``text`` is a capital ("Runway", "1X"; not "runway", "可灵")."""
    first = next((ch for ch in text if ch.lower() != ch.upper()), "")
    return first.isupper()


class _Windows:
    """Sentences and words of one folded text, to tell whether two spans are near each other."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def _ends(self) -> list[int]:
        return [m.start() for m in _SENTENCE_END.finditer(self.text)]

    @cached_property
    def _words(self) -> list[int]:
        return [m.start() for m in _WORD.finditer(self.text)]

    def _word(self, position: int) -> int:
        return bisect.bisect_right(self._words, position) - 1

    def near(self, span: tuple[int, int], other: tuple[int, int]) -> bool:
        """``other`` is in the same sentence as ``span`` with at most WINDOW words between them."""
        if bisect.bisect_left(self._ends, span[0]) != bisect.bisect_left(self._ends, other[0]):
            return False
        first, last = self._word(span[0]), self._word(span[1] - 1)
        other_first, other_last = self._word(other[0]), self._word(other[1] - 1)
        return max(other_first - last, first - other_last) - 1 <= WINDOW


@dataclass(frozen=True, slots=True)
class Companies:
    """The company list, the shared context words and the automaton over all their forms."""

    companies: tuple[Company, ...] = ()
    shared_context: tuple[str, ...] = ()  # words that make an ambiguous name a company when near it
    entries: tuple[tuple[str, Hashable, bool], ...] = field(init=False, repr=False, compare=False)
    _index: PatternIndex = field(init=False, repr=False, compare=False)
    _by_name: dict[str, Company] = field(init=False, repr=False, compare=False)
    _by_tag: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, Company] = {}
        entries: list[tuple[str, Hashable, bool]] = []
        for number, company in enumerate(self.companies):
            gated = {fold(name) for name in company.ambiguous}
            for name in (company.name, *company.aliases):
                by_name.setdefault(fold(name), company)
                if fold(name) not in gated:
                    entries.append((fold(name), (_NAME, number), False))
            for name in company.ambiguous:
                by_name.setdefault(fold(name), company)
                entries.append((fold(name), (_AMBIGUOUS, number, _capital_first(name)), False))
            entries += _word_entries(company.context, (_CONTEXT, number))
            entries += _word_entries(company.exclude, (_EXCLUDE, number))
        entries += _word_entries(self.shared_context, (_SHARED,))
        by_tag: dict[str, set[str]] = {}
        for company in self.companies:
            for tag in company.tags:
                by_tag.setdefault(tag, set()).add(company.name)
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_by_tag", {tag: frozenset(names) for tag, names in by_tag.items()})
        object.__setattr__(self, "entries", tuple(entries))
        object.__setattr__(self, "_index", PatternIndex(entries))

    def resolve(self, name: str) -> Company | None:
        """The company a rule means by ``name`` (canonical name or any alias, any case)."""
        return self._by_name.get(fold(name))

    def find(self, *texts: str) -> tuple[str, ...]:
        """Canonical names of the companies mentioned in ``texts`` (one item), in order of first mention."""
        return self.find_folded(*(fold_text(text) for text in texts))

    def find_folded(self, *texts: FoldedText) -> tuple[str, ...]:
        """:meth:`find` for texts already folded with ``text.fold_text``."""
        return self.named(texts, self._index.scan_each([text.text for text in texts]))

    def named(
        self, texts: Sequence[FoldedText], scanned: Sequence[Sequence[tuple[Hashable, int, int]]]
    ) -> tuple[str, ...]:
        """:meth:`find_folded` given each text's hits of :attr:`entries` (an index holding them
        among other patterns, as the rule engine's does, saves a pass over the item)."""
        scans = list(zip(texts, cast("list[list[_Hit]]", scanned), strict=True))
        vouched: set[int] | None = None  # companies whose own context occurs in the item, once needed
        found: dict[str, None] = {}
        for text, hits in scans:
            windows = None
            for key, start, end in _outermost_names(hits):
                if key[0] == _AMBIGUOUS:
                    if vouched is None:
                        vouched = {
                            other[1] for _, all_hits in scans for other, _, _ in all_hits if other[0] == _CONTEXT
                        }
                    windows = windows or _Windows(text.text)
                    if not self._counts(key, (start, end), text, hits, windows, vouched):
                        continue
                found.setdefault(self.companies[key[1]].name, None)
        return tuple(found)

    def _counts(
        self,
        key: _Key,
        span: tuple[int, int],
        text: FoldedText,
        hits: list[_Hit],
        windows: _Windows,
        vouched: set[int],
    ) -> bool:
        """Whether one occurrence of an ambiguous name is the company (see the module docstring)."""
        _, number, capital = key
        if capital and not _capital_first(text.source[slice(*text.source_span(*span))]):
            return False
        for other, start, end in hits:
            if other == (_EXCLUDE, number) and windows.near(span, (start, end)):
                return False
        if number in vouched:
            return True
        if not self.companies[number].shared_context:
            return False
        return any(
            other == (_SHARED,) and (end <= span[0] or start >= span[1]) and windows.near(span, (start, end))
            for other, start, end in hits
        )

    def within(self, text: str) -> list[tuple[Company, int, int]]:
        """The companies whose names occur in a short ``text`` (a name a deal report gives, or a
        title), with where in ``text`` they are, in order; not inside a longer name. An ambiguous
        name counts when written as listed ("Runway", not "runway"): a caller that asks already
        knows it stands where a company's name does."""
        folded = fold_text(text)
        found: list[tuple[Company, int, int]] = []
        for key, start, end in _outermost_names(cast("list[_Hit]", self._index.scan(folded.text))):
            source_start, source_end = folded.source_span(start, end)
            if key[0] == _AMBIGUOUS and key[2] and not _capital_first(text[source_start:source_end]):
                continue
            found.append((self.companies[key[1]], source_start, source_end))
        return sorted(found, key=lambda hit: hit[1])

    def tagged(self, tag: str) -> frozenset[str]:
        return self._by_tag.get(tag, frozenset())


def _inside_longer(spans: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """The spans that lie inside another, longer one: "Baidu" in "Baidu Ventures" is no mention."""
    inside, reach = set(), -1
    for start, end in sorted(spans, key=lambda span: (span[0], -span[1])):
        if end <= reach:  # an earlier span starts no later and ends no sooner, and is not this one
            inside.add((start, end))
        reach = max(reach, end)
    return inside


def _outermost_names(hits: Sequence[_Hit]) -> list[_Hit]:
    """The hits that are company names (plain or ambiguous), less those inside a longer one."""
    names = [(key, start, end) for key, start, end in hits if key[0] <= _AMBIGUOUS]
    inside = _inside_longer({(start, end) for _, start, end in names}) if len(names) > 1 else set()
    return [hit for hit in names if (hit[1], hit[2]) not in inside]


def _word_entries(words: Iterable[str], key: Hashable) -> list[tuple[str, Hashable, bool]]:
    """Automaton entries for context or exclude words, in their singular and plural forms
    (not for acronyms: "AWS" is not the plural of "aw")."""
    return [
        (form, key, False)
        for word in words
        for form in ((fold(word),) if word.split()[-1].isupper() else inflections(fold(word)))
    ]
