"""Companies: canonical names with aliases and tags, read from ``rules/entities.toml``. Pure.

An item mentions a company when any alias (or the name itself) occurs as whole words in its
folded text, and not only inside a longer alias ("Baidu Ventures" is not a mention of "Baidu");
CJK aliases (生数科技) need no word boundary. Product names that only one company
makes (Vidu, Kling, Seedance) are aliases of that company.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.matching.patterns import PatternIndex
from monitor.matching.text import fold, fold_text


@dataclass(frozen=True, slots=True)
class Company:
    name: str  # canonical, as shown in explanations
    aliases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # e.g. "world-model", "investor": usable in rules as company_tags_any


@dataclass(frozen=True, slots=True)
class Companies:
    """The company list and its alias automaton."""

    companies: tuple[Company, ...] = ()
    _index: PatternIndex = field(init=False, repr=False, compare=False)
    _by_name: dict[str, Company] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = {}
        for company in self.companies:
            for name in (company.name, *company.aliases):
                by_name.setdefault(fold(name), company)
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_index", PatternIndex((form, c.name, False) for form, c in by_name.items()))

    def resolve(self, name: str) -> Company | None:
        """The company a rule means by ``name`` (canonical name or any alias, any case)."""
        return self._by_name.get(fold(name))

    def find(self, *texts: str) -> tuple[str, ...]:
        """Canonical names of the companies mentioned in ``texts``, in order of first mention."""
        return self.find_folded(*(fold_text(text).text for text in texts))

    def find_folded(self, *folded: str) -> tuple[str, ...]:
        """:meth:`find` for texts already folded with ``text.fold_text``."""
        found: dict[str, None] = {}
        for text in folded:
            hits = self._index.scan(text)
            for name, start, end in hits:
                # "Baidu Ventures" is not also a mention of "Baidu".
                inside = any(s <= start and end <= e and (s, e) != (start, end) for _, s, e in hits)
                if not inside:
                    found.setdefault(name, None)  # type: ignore[arg-type]
        return tuple(found)

    def tagged(self, tag: str) -> frozenset[str]:
        return frozenset(c.name for c in self.companies if tag in c.tags)
