"""The rule engine: RuleSet x Item -> Matches, each with its Explanation. Pure.

How a rule matches an item
--------------------------
1. **Folding.** The title, summary and content (and the feed name, for ``feed:`` terms) and every
   query term are folded the same way: Unicode NFKC, ``casefold()``, dashes read as spaces,
   whitespace runs as one space. Matching is therefore case-insensitive in every script
   (``STRASSE`` finds ``straße``), and ``world-model`` finds ``world model``.
2. **Whole words.** A term matches where its folded form occurs and the character just before it
   and the one just after it are not letters or digits. "Letters and digits" is Unicode-aware
   (``café`` is not found inside ``cafétéria``), except that CJK, kana, Hangul and Thai
   characters never count as a word neighbour and a term made of them needs no boundary
   (``生数科技`` is found inside a Chinese sentence). ``invest*`` needs a boundary on the left
   only, so it finds invest, investor, investment. A phrase is its words, in order, separated
   only by spaces or dashes in the text.
3. **Singular and plural.** The last word of a term or phrase also matches its other number by
   simple English rules: ``model`` finds models, ``"world models"`` finds world model,
   ``company`` finds companies. Words ending in -ss, -us, -is or -ics, and news, series,
   species, means, headquarters, data and media, are left alone. Prefix terms are never inflected.
4. **Fields.** A term without a field searches the title, the summary and the content. ``title:x``
   searches only the title; ``feed:x`` only the feed's name. A field before parentheses applies to
   every term inside: ``title:(raise* OR funding)``.
5. **Operators**, tightest first: ``NOT``, ``NEAR/N``, ``AND`` (also implied between adjacent
   operands: ``world model funding`` is ``world AND model AND funding``), ``OR``. Parentheses group.
   The item is one document: ``title:a AND b`` holds when a is in the title and b is anywhere in
   title, summary or content; the two need not share a field.
6. **NEAR.** ``x NEAR/N y`` holds when x and y occur in the same field, in either order, with at
   most N words between them. Each side is a term, a phrase or ``(a OR b ...)`` of them, all
   searching the same fields.
7. **NOT and fields.** ``NOT x`` holds when x occurs in none of x's fields: ``NOT x`` rejects an
   item with x anywhere in title, summary or content; ``NOT title:x`` only one with x in the title.
8. **Conditions** after the query, all of which must hold: ``companies_any`` (one of them
   mentioned), ``companies_all`` (all of them), ``company_tags_any`` (a company with one of the
   tags), ``min_amount_usd`` (the largest *deal* amount in USD; valuations, market caps and
   revenue never count, and an item with no deal amount fails).
9. **Order and cost.** Disabled rules never match. One Aho-Corasick pass per field finds every
   term of every rule; only rules with a positive term found (not under NOT), plus rules that can
   match with no term at all (``NOT x``), are evaluated, and an OR looks its terms up among the
   item's hits rather than trying them one by one. Amounts, round and companies are worked out
   once per item, only when a rule needs them; the deal card (``deal.py``) once per matching item
   that mentions an amount or a round. Matches come back high priority first, then in file order.
10. **Languages.** A term written in a ``[vocabulary.LANG]`` table matches like any other, in any
   text; its hits carry the language, so explanations say which language matched.
11. **Limits.** A ``[define]`` fragment is compiled once and shared, but evaluated at every use,
    so a query is limited as if its fragments were written out: ``query.MAX_TERMS`` terms and
    ``query.MAX_DEPTH`` levels per query, ``rulepack.MAX_TOTAL_TERMS`` terms in all rules. That
    bounds both the compiled size and the work per item (measured in ``bench/rule_limits.py``).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from monitor.matching.amounts import DEAL_FLOOR_USD, DEFAULT_RATES_USD, find_amounts
from monitor.matching.deal import extract_deals
from monitor.matching.entities import Companies
from monitor.matching.patterns import PatternIndex
from monitor.matching.query import FIELDS, And, Near, Node, Not, Or, Term, atoms
from monitor.matching.rounds import ANCHOR as ROUND_ANCHOR
from monitor.matching.rounds import ANCHOR_ENTRIES as ROUND_ANCHORS
from monitor.matching.rounds import anchor_starts, find_round, round_match, round_name
from monitor.matching.text import FoldedText, fold_text
from monitor.model import PRIORITIES, Amount, Deal, Explanation, Item, Match, TermHit, TextField

if TYPE_CHECKING:
    from monitor.matching.rulepack import Rule

_WORD = re.compile(r"\w+")
_BODY: tuple[TextField, ...] = ("title", "summary", "content")  # where amounts, rounds and companies are
_Hits = dict[int, list[tuple[TextField, int, int]]]


class _Scan:
    """One item as the rules see it: folded fields and term hits, the rest worked out on demand."""

    def __init__(self, item: Item, index: PatternIndex, fields: tuple[TextField, ...], ruleset: RuleSet) -> None:
        self.item = item
        self.ruleset = ruleset
        self.texts: dict[TextField, FoldedText] = {}
        self.hits: _Hits = {}
        self.fields_of: dict[int, set[TextField]] = {}  # where each term occurs
        # Hits of the company list's names and words, and of the round anchors, when the index holds them
        self.company_hits: dict[TextField, list[tuple[Hashable, int, int]]] = {name: [] for name in fields}
        self.round_hits: dict[TextField, list[tuple[Hashable, int, int]]] = {name: [] for name in fields}
        for name in fields:
            self.texts[name] = fold_text(item.text_of(name))
        for name, found in zip(fields, index.scan_each([text.text for text in self.texts.values()]), strict=True):
            for key, start, end in found:
                if isinstance(key, int):  # a term
                    self.hits.setdefault(key, []).append((name, start, end))
                    self.fields_of.setdefault(key, set()).add(name)
                elif key is ROUND_ANCHOR:
                    self.round_hits[name].append((key, start, end))
                else:
                    self.company_hits[name].append((key, start, end))

    def spans(self, term_id: int, name: TextField) -> list[tuple[int, int]]:
        return [(start, end) for f, start, end in self.hits.get(term_id, ()) if f == name]

    @cached_property
    def _word_starts(self) -> dict[TextField, list[int]]:
        return {name: [m.start() for m in _WORD.finditer(text.text)] for name, text in self.texts.items()}

    def word_span(self, name: TextField, span: tuple[int, int]) -> tuple[int, int]:
        """The indexes of the first and last words of a character span of a field."""
        starts = self._word_starts[name]
        return bisect.bisect_right(starts, span[0]) - 1, bisect.bisect_right(starts, span[1] - 1) - 1

    @cached_property
    def _body(self) -> str:
        return "\n".join(self.item.text_of(name) for name in _BODY)

    @cached_property
    def companies(self) -> tuple[str, ...]:
        companies = self.ruleset.companies
        if self.ruleset.scans_body:
            return companies.named([self.texts[f] for f in _BODY], [self.company_hits[f] for f in _BODY])
        return companies.find_folded(
            *[self.texts[f] if f in self.texts else fold_text(self.item.text_of(f)) for f in _BODY]
        )

    @cached_property
    def amounts(self) -> tuple[Amount, ...]:
        found = find_amounts(self._body, self.ruleset.rates, self.ruleset.amount_floor_usd)
        return tuple(dict.fromkeys(found))  # content often repeats the summary

    @cached_property
    def round(self) -> str | None:
        if not self.ruleset.scans_body:
            return find_round(self._body)
        for name in _BODY:  # the first mention, field by field
            text = self.texts[name]
            if m := round_match(text.source, anchor_starts(text, self.round_hits[name])):
                return round_name(m)
        return None

    @cached_property
    def deals(self) -> tuple[Deal | None, tuple[Deal, ...]]:
        """The deal card: worked out for a matching item that mentions money or a round."""
        if not self.amounts and self.round is None:
            return None, ()
        item, ruleset = self.item, self.ruleset
        return extract_deals(
            item.title, item.summary, item.content, ruleset.rates, ruleset.amount_floor_usd, ruleset.companies
        )


_Test = Callable[[_Scan], bool]


class _NoHits:
    """Stands in for an item in which no term occurs (see RuleSet.__post_init__)."""

    hits: _Hits = {}  # noqa: RUF012 - never written
    fields_of: dict[int, set[TextField]] = {}  # noqa: RUF012 - never written


_NO_HITS = _NoHits()


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    rule: Rule
    holds: _Test  # the query


class _Compiler:
    """Query trees as nested closures, so evaluation does no dispatching on node types.

    Closures are kept per node (definitions share nodes between rules), both to compile each
    once and so that explanations can ask which branch of an OR held.
    """

    def __init__(self, term_ids: Mapping[tuple[tuple[str, ...], bool], int]) -> None:
        self.term_ids = term_ids
        self.tests: dict[int, _Test] = {}

    def __call__(self, node: Node) -> _Test:
        test = self.tests.get(id(node))
        if test is None:
            test = self.tests[id(node)] = self._build(node)
        return test

    def _build(self, node: Node) -> _Test:
        if isinstance(node, Term):
            term_id, fields = self.term_ids[(node.forms, node.prefix)], frozenset(node.fields)
            return lambda scan: not fields.isdisjoint(scan.fields_of.get(term_id, ()))
        if isinstance(node, Near):
            left, right = _side_ids(node.left, self.term_ids), _side_ids(node.right, self.term_ids)

            def near_holds(scan: _Scan) -> bool:
                hits = scan.hits
                if hits.keys().isdisjoint(left) or hits.keys().isdisjoint(right):
                    return False  # the common case: checked before any span is looked at
                return _near_span(node, scan, self.term_ids) is not None

            return near_holds
        if isinstance(node, Not):
            operand = self(node.operand)
            return lambda scan: not operand(scan)
        if isinstance(node, And):
            parts = tuple(self(operand) for operand in node.operands)

            def all_hold(scan: _Scan) -> bool:
                for part in parts:  # noqa: SIM110 - 2.5x faster than all() over a generator
                    if not part(scan):
                        return False
                return True

            return all_hold
        return self._any(node)

    def _any(self, node: Or) -> _Test:
        """An OR: its terms (through nested ORs, as fragments with vocabularies make them) looked up
        by the item's hits, so the cost follows the hits and not the hundreds of terms of @field."""
        by_fields: dict[frozenset[TextField], set[int]] = {}
        others = []
        for leaf in _or_leaves(node):
            if isinstance(leaf, Term):
                by_fields.setdefault(frozenset(leaf.fields), set()).add(self.term_ids[(leaf.forms, leaf.prefix)])
            else:
                others.append(self(leaf))
        groups = tuple((fields, frozenset(ids)) for fields, ids in by_fields.items())
        parts = tuple(others)

        def any_holds(scan: _Scan) -> bool:
            fields_of = scan.fields_of
            for fields, ids in groups:
                for term_id in ids.intersection(fields_of):
                    if not fields.isdisjoint(fields_of[term_id]):
                        return True
            for part in parts:  # noqa: SIM110 - 2.5x faster than any() over a generator
                if part(scan):
                    return True
            return False

        return any_holds

    def witnesses(self, node: Node, scan: _Scan) -> Iterator[Term | Near]:
        """The terms that make a holding ``node`` hold: all of an AND, the first true branch of an OR."""
        if isinstance(node, Term | Near):
            yield node
        elif isinstance(node, And):
            for operand in node.operands:
                yield from self.witnesses(operand, scan)
        elif isinstance(node, Or):
            for operand in node.operands:
                if self(operand)(scan):
                    yield from self.witnesses(operand, scan)
                    break


@dataclass(frozen=True, eq=False)  # compiled state: compared and hashed by identity
class RuleSet:
    """Validated rules ready to evaluate; build it with :func:`monitor.matching.load_rules`."""

    rules: tuple[Rule, ...]
    companies: Companies = field(default_factory=Companies)
    rates: Mapping[str, float] = field(default_factory=lambda: DEFAULT_RATES_USD)
    amount_floor_usd: float = field(init=False)  # amounts below this are not deal sizes
    _term_ids: Mapping[tuple[tuple[str, ...], bool], int] = field(init=False, repr=False, compare=False)
    _compiled: tuple[_CompiledRule, ...] = field(init=False, repr=False, compare=False)
    _compiler: _Compiler = field(init=False, repr=False, compare=False)
    _by_term: Mapping[int, tuple[int, ...]] = field(init=False, repr=False, compare=False)
    _always: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _fields: tuple[TextField, ...] = field(init=False, repr=False, compare=False)
    _index: PatternIndex = field(init=False, repr=False, compare=False)
    scans_body: bool = field(init=False, repr=False, compare=False)  # _index holds companies and round anchors

    def __post_init__(self) -> None:
        term_ids: dict[tuple[tuple[str, ...], bool], int] = {}
        for rule in self.rules:
            for term in _terms(rule.tree):
                term_ids.setdefault((term.forms, term.prefix), len(term_ids))
        by_term: dict[int, list[int]] = {}
        compiled, always = [], []
        compiler = _Compiler(term_ids)
        for number, rule in enumerate(r for r in self.rules if r.enabled):
            holds = compiler(rule.tree)
            compiled.append(_CompiledRule(rule, holds))
            for term in _terms(rule.tree, positive_only=True):
                by_term.setdefault(term_ids[(term.forms, term.prefix)], []).append(number)
            # Without any positive term a query is at its most permissive when no term occurs at all
            # (every remaining term sits under NOT), so one probe on an empty item settles it.
            if holds(_NO_HITS):  # type: ignore[arg-type]
                always.append(number)
        fields = tuple(f for f in FIELDS if any(f in term.fields for r in self.rules for term in _terms(r.tree)))
        entries: list[tuple[str, Hashable, bool]] = [
            (form, term_id, prefix) for (forms, prefix), term_id in term_ids.items() for form in forms
        ]
        # Where the rules read every field of the body, the company list and the round anchors join the
        # terms: one pass over an item finds them all (most items that match need all three).
        scans_body = set(_BODY) <= set(fields)
        if scans_body:
            entries += (*self.companies.entries, *ROUND_ANCHORS)
        index = PatternIndex(entries)
        floors = [r.min_amount_usd for r in self.rules if r.min_amount_usd > 0]
        object.__setattr__(self, "_term_ids", term_ids)
        object.__setattr__(self, "_compiled", tuple(compiled))
        object.__setattr__(self, "_compiler", compiler)
        object.__setattr__(self, "_by_term", {t: tuple(dict.fromkeys(rs)) for t, rs in by_term.items()})
        object.__setattr__(self, "_always", tuple(always))
        object.__setattr__(self, "_fields", fields)
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "scans_body", scans_body)
        object.__setattr__(self, "amount_floor_usd", min([DEAL_FLOOR_USD, *floors]))

    def evaluate(self, item: Item) -> tuple[Match, ...]:
        """Every enabled rule that matches ``item``, high priority first, each with its explanation."""
        scan = _Scan(item, self._index, self._fields, self)
        candidates = set(self._always)
        by_term = self._by_term
        for term_id in scan.hits:
            candidates.update(by_term.get(term_id, ()))
        matches = []
        for number in sorted(candidates):
            compiled = self._compiled[number]
            if compiled.holds(scan) and _conditions_hold(compiled.rule, scan):
                matches.append(_match(compiled, scan))
        return tuple(sorted(matches, key=lambda m: PRIORITIES.index(m.priority)))


def _or_leaves(node: Or) -> Iterator[Node]:
    """The operands of an OR, nested ORs opened."""
    for operand in node.operands:
        if isinstance(operand, Or):
            yield from _or_leaves(operand)
        else:
            yield operand


def _terms(node: Node, positive_only: bool = False) -> Iterator[Term]:
    """The terms of a query, NEAR clauses opened; ``positive_only``: not those under NOT."""
    for atom, positive in atoms(node):
        if positive or not positive_only:
            yield from (*atom.left, *atom.right) if isinstance(atom, Near) else (atom,)


def _side_ids(terms: tuple[Term, ...], term_ids: Mapping) -> frozenset[int]:
    return frozenset(term_ids[(t.forms, t.prefix)] for t in terms)


def _near_span(node: Near, scan: _Scan, term_ids: Mapping) -> tuple[TextField, int, int] | None:
    """The first field and span where the two sides of ``node`` are close enough, if any."""
    left_ids = [term_ids[(t.forms, t.prefix)] for t in node.left]
    right_ids = [term_ids[(t.forms, t.prefix)] for t in node.right]
    if not any(i in scan.hits for i in left_ids) or not any(i in scan.hits for i in right_ids):
        return None
    for name in node.left[0].fields:
        lefts = [span for i in left_ids for span in scan.spans(i, name)]
        rights = [span for i in right_ids for span in scan.spans(i, name)]
        if lefts and rights:
            for first, second in ((lefts, rights), (rights, lefts)):
                pair = _closest_after(scan, name, first, second, node.distance)
                if pair is not None:
                    return name, min(pair[0][0], pair[1][0]), max(pair[0][1], pair[1][1])
    return None


def _closest_after(
    scan: _Scan, name: TextField, firsts: list[tuple[int, int]], seconds: list[tuple[int, int]], distance: int
) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """A span of ``firsts`` and one of ``seconds`` starting no earlier, at most ``distance`` words
    apart. Linear after sorting, so a long text full of both terms stays cheap."""
    words = sorted((scan.word_span(name, span), span) for span in firsts)
    best_end, best, index = -1, None, 0  # the first-span ending last among those started so far
    for (start, _), span in sorted((scan.word_span(name, span), span) for span in seconds):
        while index < len(words) and words[index][0][0] <= start:
            if words[index][0][1] > best_end:
                best_end, best = words[index][0][1], words[index][1]
            index += 1
        if best is not None and start - best_end - 1 <= distance:
            return best, span
    return None


def _conditions_hold(rule: Rule, scan: _Scan) -> bool:
    """The amount first: finding amounts costs about a tenth of finding companies."""
    if rule.min_amount_usd > 0:
        largest = Explanation(amounts=scan.amounts).largest_usd
        if largest is None or largest < rule.min_amount_usd:
            return False
    if rule.companies_any and not set(rule.companies_any) & set(scan.companies):
        return False
    if rule.companies_all and not set(rule.companies_all) <= set(scan.companies):
        return False
    if rule.company_tags_any:
        tagged = scan.ruleset.companies.tagged
        if not any(name in tagged(tag) for tag in rule.company_tags_any for name in scan.companies):
            return False
    return True


def _evidence(compiled: _CompiledRule, scan: _Scan) -> Iterator[TermHit]:
    for atom in scan.ruleset._compiler.witnesses(compiled.rule.tree, scan):
        if isinstance(atom, Near):
            span = _near_span(atom, scan, scan.ruleset._term_ids)
            assert span is not None
            name, start, end = span
            yield TermHit(atom.text, name, scan.texts[name].snippet(start, end), atom.lang)
            continue
        quoted = set()
        for name in atom.fields:
            spans = scan.spans(scan.ruleset._term_ids[(atom.forms, atom.prefix)], name)
            if spans:
                snippet = scan.texts[name].snippet(*spans[0])
                if snippet not in quoted:  # feeds often repeat the summary as the content
                    quoted.add(snippet)
                    yield TermHit(atom.text, name, snippet, atom.lang)


def _match(compiled: _CompiledRule, scan: _Scan) -> Match:
    rule = compiled.rule
    deal, other_deals = scan.deals
    explanation = Explanation(
        hits=tuple(dict.fromkeys(_evidence(compiled, scan))),
        amounts=scan.amounts,
        companies=scan.companies,
        round=scan.round,
        deal=deal,
        other_deals=other_deals,
    )
    return Match(rule.id, rule.name, rule.priority, rule.channel, rule.digest_only, explanation)
