"""Load and validate ``rules/*.toml`` (rule packs) and ``rules/entities.toml`` (companies).

A pack holds ``[[rule]]`` tables, one ``[define]`` table of named query fragments and
``[vocabulary.LANG]`` tables that add one language's words to those names (see rules/README.md).

Every problem in every file is collected and raised at once as :class:`RuleErrors`, each one
located as ``file:line`` (and ``column`` inside a query). ``tomllib`` gives values but no
positions, so a small index of the raw text maps each ``[[rule]]`` table and each key to its line.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.errors import RuleError, RuleErrors
from monitor.matching.amounts import DEFAULT_RATES_USD
from monitor.matching.engine import RuleSet
from monitor.matching.entities import Companies, Company
from monitor.matching.query import Node, Or, Parsed, QuerySyntaxError, parse
from monitor.matching.text import fold
from monitor.model import PRIORITIES, Priority

ENTITIES_FILE = "entities.toml"
MAX_TOTAL_TERMS = 100_000  # terms in all rules of all packs, @names written out (query.MAX_TERMS: one query)

# Every key a [[rule]] table may hold: (accepted types, default, one line of help). The rule
# reference in rules/README.md documents each of these; a test keeps the two in step.
RULE_FIELDS: dict[str, tuple[tuple[type, ...], Any, str]] = {
    "id": ((str,), None, "unique identifier, letters, digits, '-', '_' and '.' (required)"),
    "name": ((str,), None, "human-readable name shown in alerts (default: the id)"),
    "query": ((str,), None, "the query, in the query language (required)"),
    "priority": ((str,), "normal", "high, normal or low"),
    "channel": ((str,), None, "Slack channel for this rule's alerts (default: the configured one)"),
    "min_amount_usd": ((int, float), 0, "only match when the largest deal amount is at least this (USD)"),
    "companies_any": ((list,), (), "only match when at least one of these companies is mentioned"),
    "companies_all": ((list,), (), "only match when all of these companies are mentioned"),
    "company_tags_any": ((list,), (), "only match when a company with one of these tags is mentioned"),
    "digest_only": ((bool,), False, "true: no immediate alert, the match goes to the daily digest"),
    "enabled": ((bool,), True, "false: the rule is loaded and checked but never matches"),
}
COMPANY_FIELDS: dict[str, tuple[tuple[type, ...], Any, str]] = {
    "name": ((str,), None, "canonical name shown in explanations (required)"),
    "aliases": ((list,), (), "other names and product names that mean this company"),
    "tags": ((list,), (), "labels rules can select with company_tags_any, e.g. world-model"),
    "ambiguous": ((list,), (), "names that are also ordinary words: they count only with context"),
    "context": ((list,), (), "its products, people and field words: anywhere in an item, they vouch"),
    "exclude": ((list,), (), "words that, near an ambiguous name, mean something else (airport)"),
    "shared_context": ((bool,), True, "false: only the company's own context vouches for it"),
}
SHARED_FIELDS: dict[str, tuple[tuple[type, ...], Any, str]] = {
    "context": ((list,), (), "words that make any ambiguous name a company when near it"),
}
_TYPE_NAMES = {str: "a string", int: "a number", float: "a number", bool: "true or false", list: "a list"}
_BROKEN = Parsed(Or(()), 0, 0)  # stands in for a [define] fragment that did not parse; the load fails anyway
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_LANG = re.compile(r"[a-z]{2,3}")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_KEY = re.compile(r"""\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*=""")
_OPENS_MULTILINE = re.compile(r"=\s*('''|\"\"\")\s*$")
_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)")
_LONG_NUMBER = re.compile(r"[0-9_]{4301}")


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    name: str
    query: str
    priority: Priority
    channel: str | None
    min_amount_usd: float
    companies_any: tuple[str, ...]  # canonical names
    companies_all: tuple[str, ...]
    company_tags_any: tuple[str, ...]
    digest_only: bool
    enabled: bool
    file: str
    line: int | None
    tree: Node = field(repr=False, compare=False)
    terms: int = field(default=0, repr=False, compare=False)  # @names written out, as the limits count


@dataclass(frozen=True, slots=True)
class _Table:
    """One ``[[name]]`` table: its keys and values, and the line of its header and of each key."""

    values: dict[str, Any]
    line: int | None
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int | None:
        return self.key_lines.get(key, self.line)


def _table_lines(raw: str, header: str) -> list[tuple[int, dict[str, int]]]:
    """Header line and key lines of each table whose header line matches ``header``, in file order."""
    header_line = re.compile(rf"\s*{header}\s*(#.*)?$")
    tables: list[tuple[int, dict[str, int]]] = []
    current: dict[str, int] | None = None
    in_multiline = False
    for number, line in enumerate(raw.splitlines(), start=1):
        starts_inside = in_multiline
        in_multiline ^= (line.count('"""') + line.count("'''")) % 2 == 1
        if starts_inside:
            continue
        if header_line.match(line):
            current = {}
            tables.append((number, current))
        elif line.lstrip().startswith("["):
            current = None
        elif current is not None and (key := _KEY.match(line)):
            current.setdefault(key.group(1).strip("\"'"), number)
    return tables


class _File:
    """One TOML file being validated; ``problem`` records a located error and carries on."""

    def __init__(self, path: Path, problems: list[RuleError]) -> None:
        self.path = path
        self.problems = problems
        self.raw = ""
        self.data: dict[str, Any] = {}
        try:
            self.raw = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            self.problem(None, f"cannot read the file: {e}")
            return
        try:
            self.data = tomllib.loads(self.raw)
        except tomllib.TOMLDecodeError as e:
            at = _TOML_AT.search(str(e))
            message = _TOML_AT.sub("", str(e))
            self.problem(int(at.group(1)) if at else None, f"invalid TOML: {message}", int(at.group(2)) if at else None)
        except ValueError:  # from int(): Python refuses to read more than 4,300 digits
            digits = _LONG_NUMBER.search(self.raw)
            line = self.raw.count("\n", 0, digits.start()) + 1 if digits else None
            self.problem(line, "invalid TOML: a number has more than 4300 digits")
        except RecursionError:
            self.problem(None, "invalid TOML: arrays or tables are nested too deeply")
        self.lines = self.raw.splitlines()

    def problem(self, line: int | None, message: str, column: int | None = None) -> None:
        self.problems.append(RuleError(self.path, line, message, column=column))

    def check_top_level(self, allowed: tuple[str, ...], expected: str) -> None:
        for key in self.data:
            if key not in allowed:
                self.problem(None, f"unknown top-level key '{key}': expected only {expected}")

    def table(self, name: str, values: Any = None) -> _Table:
        """The single ``[name]`` table (empty when absent); ``name`` may be dotted (vocabulary.fr)."""
        values = self.data.get(name, {}) if values is None else values
        if not isinstance(values, dict):
            self.problem(None, f"expected '{name}' to be a [{name}] table")
            values = {}
        header = r"\s*\.\s*".join(re.escape(part) for part in name.split("."))
        positions = _table_lines(self.raw, rf"\[\s*{header}\s*\]")
        line, key_lines = positions[0] if positions else (None, {})
        return _Table(values, line, key_lines)

    def vocabularies(self) -> list[tuple[str, _Table]]:
        """The ``[vocabulary.LANG]`` tables, in file order, with valid language codes."""
        tables = self.data.get("vocabulary", {})
        if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
            self.problem(None, "expected 'vocabulary' to be [vocabulary.LANG] tables, e.g. [vocabulary.fr]")
            return []
        found = []
        for lang, values in tables.items():
            table = self.table(f"vocabulary.{lang}", values)
            if _LANG.fullmatch(lang):
                found.append((lang, table))
            else:
                self.problem(table.line, f"vocabulary.{lang}: expected a language code of 2 or 3 lower-case letters")
        return found

    def tables(self, name: str, fields: Mapping[str, object]) -> list[_Table]:
        """The ``[[name]]`` tables of the file, each key checked against ``fields``."""
        entries = self.data.get(name, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            self.problem(None, f"expected '{name}' to be [[{name}]] tables")
            return []
        positions = _table_lines(self.raw, rf"\[\[\s*{re.escape(name)}\s*\]\]")
        tables = []
        for index, values in enumerate(entries):
            line, key_lines = positions[index] if index < len(positions) else (None, {})
            table = _Table(values, line, key_lines)
            for key in values:
                if key not in fields:
                    close = difflib.get_close_matches(key, list(fields), n=1)
                    hint = f" (did you mean '{close[0]}'?)" if close else ""
                    self.problem(
                        table.line_of(key),
                        f"{name}: unknown key '{key}'{hint}; expected one of " + ", ".join(fields),
                    )
            tables.append(table)
        return tables

    def query(
        self, text: str, line: int | None, what: str, definitions: Mapping[str, Parsed], lang: str | None = None
    ) -> Parsed | None:
        """Parse ``text`` (the string at ``line``), reporting a syntax error at its line and column."""
        try:
            return parse(text, definitions, lang)
        except QuerySyntaxError as e:
            if line is not None and _OPENS_MULTILINE.search(self.lines[line - 1]):
                line += 1  # TOML drops the newline right after an opening ''' or """
            before = text[: e.offset]
            line = None if line is None else line + before.count("\n")
            column = e.offset - (before.rfind("\n") + 1) + 1
            self.problem(line, f"{what}: {e.message}", column=column)
            return None

    def value(self, table: _Table, key: str, spec: tuple[tuple[type, ...], Any, str], what: str) -> Any:
        """The key's value if it has the right type, else its default (after reporting)."""
        types, default, _ = spec
        if key not in table.values:
            return default
        value = table.values[key]
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            expected = " or ".join(dict.fromkeys(_TYPE_NAMES[t] for t in types))
            self.problem(table.line_of(key), f"{what}: {key}: expected {expected}, found {value!r}")
            return default
        if isinstance(value, list):
            if not all(isinstance(v, str) and v.strip() for v in value):
                self.problem(table.line_of(key), f"{what}: {key}: expected a list of non-empty strings")
                return default
            return tuple(value)
        return value


def _load_companies(file: _File) -> Companies:
    companies = []
    owners: dict[str, str] = {}
    file.check_top_level(("shared", "company"), "one [shared] table and [[company]] tables")
    shared = file.table("shared")
    for key in shared.values:
        if key not in SHARED_FIELDS:
            file.problem(shared.line_of(key), f"shared: unknown key '{key}'; expected " + ", ".join(SHARED_FIELDS))
    shared_context = file.value(shared, "context", SHARED_FIELDS["context"], "shared")
    for table in file.tables("company", COMPANY_FIELDS):
        name = file.value(table, "name", COMPANY_FIELDS["name"], "company")
        if not name:
            file.problem(table.line, "company: name: expected a non-empty string (the canonical name)")
            continue
        what = f"company '{name}'"
        get = {key: file.value(table, key, spec, what) for key, spec in COMPANY_FIELDS.items() if key != "name"}
        for key, alias in [("name", name), *(("aliases", a) for a in get["aliases"]),
                           *(("ambiguous", a) for a in get["ambiguous"])]:  # fmt: skip
            owner = owners.setdefault(fold(alias), name)
            if owner != name:
                file.problem(table.line_of(key), f"{what}: '{alias}' already names company '{owner}'")
        for alias in get["aliases"]:
            if fold(alias) in {fold(a) for a in get["ambiguous"]}:
                file.problem(
                    table.line_of("ambiguous"),
                    f"{what}: '{alias}' is both an alias and ambiguous; keep it in ambiguous only",
                )
        if not get["ambiguous"]:
            for key in ("context", "exclude"):
                if get[key]:
                    file.problem(table.line_of(key), f"{what}: {key}: only applies to ambiguous names; list some")
        elif not get["context"] and not (get["shared_context"] and shared_context):
            file.problem(
                table.line_of("ambiguous"),
                f"{what}: ambiguous: no context could vouch for these names; add context words",
            )
        companies.append(Company(name, **get))
    return Companies(tuple(companies), shared_context)


def _definitions(file: _File, known: dict[str, Parsed]) -> None:
    """Add the file's named fragments to ``known``: ``@name`` is the ``[define]`` fragment OR'ed
    with every ``[vocabulary.LANG]`` fragment of that name. A name's fragments are read in the
    order of ``[define]``, each able to use the names before it; names that only vocabularies
    define are read first."""
    define = file.table("define")
    vocabularies = file.vocabularies()
    only_in_vocabularies = [n for _, table in vocabularies for n in table.values if n not in define.values]
    for name in dict.fromkeys([*only_in_vocabularies, *define.values]):
        sources: list[tuple[str | None, _Table]] = [(None, define)] if name in define.values else []
        sources += [(lang, table) for lang, table in vocabularies if name in table.values]
        parts: list[Parsed] = []
        for lang, table in sources:
            what = f"vocabulary.{lang}: {name}" if lang else f"define: {name}"
            text = table.values[name]
            if not _NAME.fullmatch(name):
                file.problem(table.line_of(name), f"{what}: expected a name of letters, digits, '_' and '-'")
            elif name in known:
                file.problem(table.line_of(name), f"{what}: already defined; names are shared by all packs")
            elif not isinstance(text, str):
                file.problem(table.line_of(name), f"{what}: expected a query string, found {text!r}")
            else:
                parts.append(file.query(text, table.line_of(name), what, known, lang) or _BROKEN)
        if parts:
            known[name] = _either(parts, known)


def _either(parts: list[Parsed], known: Mapping[str, Parsed]) -> Parsed:
    """One name's fragments as one: any of them. A broken fragment, or one using a broken name, is
    reported once; its placeholder keeps the rules and the fragments using it quiet (a chain of
    fragments past a limit would otherwise fail again and again)."""
    if any(part is _BROKEN or any(known[used] is _BROKEN for used in part.uses) for part in parts):
        return _BROKEN
    if len(parts) == 1:
        return parts[0]
    return Parsed(
        Or(tuple(part.tree for part in parts)),
        sum(part.terms for part in parts),
        max(part.depth for part in parts),
        frozenset().union(*(part.uses for part in parts)),
    )


def _rule(
    file: _File, table: _Table, companies: Companies, definitions: Mapping[str, Parsed], seen: dict[str, str]
) -> Rule | None:
    rule_id = file.value(table, "id", RULE_FIELDS["id"], "rule")
    if rule_id is None:
        file.problem(table.line, "rule: id: missing; every rule needs a unique id")
    elif not _ID.fullmatch(rule_id):
        file.problem(table.line_of("id"), f"rule: id: expected letters, digits, '-', '_' or '.', found {rule_id!r}")
    elif rule_id in seen:
        file.problem(table.line_of("id"), f"rule '{rule_id}': id: duplicate; first defined at {seen[rule_id]}")
    else:
        seen[rule_id] = f"{file.path}:{table.line_of('id')}"
    what = f"rule '{rule_id}'" if rule_id else "rule"
    count = len(file.problems)
    text = file.value(table, "query", RULE_FIELDS["query"], what)
    if text is None:
        file.problem(table.line, f"{what}: query: missing; every rule needs a query")
    parsed = None if text is None else file.query(text, table.line_of("query"), f"{what}: query", definitions)
    get = {key: file.value(table, key, spec, what) for key, spec in RULE_FIELDS.items() if key != "query"}
    if get["priority"] not in PRIORITIES:
        expected = ", ".join(PRIORITIES)
        file.problem(
            table.line_of("priority"),
            f"{what}: priority: expected one of {expected}, found {get['priority']!r}",
        )
    min_amount_usd = _usd(get["min_amount_usd"])
    if not 0 <= min_amount_usd < math.inf:  # nan fails too
        file.problem(
            table.line_of("min_amount_usd"),
            f"{what}: min_amount_usd: expected 0 or more, a finite number of US dollars, found {min_amount_usd:g}",
        )
    if get["channel"] is not None and not get["channel"].strip():
        file.problem(table.line_of("channel"), f"{what}: channel: expected a channel name, e.g. #alerts")
    resolved = {}
    for key in ("companies_any", "companies_all"):
        names = []
        for name in get[key]:
            company = companies.resolve(name)
            if company is None:
                file.problem(
                    table.line_of(key),
                    f"{what}: {key}: unknown company '{name}'; add it to {ENTITIES_FILE} or fix the spelling",
                )
            else:
                names.append(company.name)
        resolved[key] = tuple(dict.fromkeys(names))
    known_tags = {tag for company in companies.companies for tag in company.tags}
    for tag in get["company_tags_any"]:
        if tag not in known_tags:
            file.problem(
                table.line_of("company_tags_any"),
                f"{what}: company_tags_any: no company in {ENTITIES_FILE} has the tag '{tag}'",
            )
    if len(file.problems) > count or parsed is None or rule_id is None:
        return None
    return Rule(
        id=rule_id,
        name=get["name"] or rule_id,
        query=table.values["query"],
        priority=get["priority"],
        channel=get["channel"],
        min_amount_usd=min_amount_usd,
        companies_any=resolved["companies_any"],
        companies_all=resolved["companies_all"],
        company_tags_any=get["company_tags_any"],
        digest_only=get["digest_only"],
        enabled=get["enabled"],
        file=str(file.path),
        line=table.line,
        tree=parsed.tree,
        terms=parsed.terms,
    )


def _usd(value: float) -> float:
    """``value`` as a float; an int too large for one is infinite (and refused as such)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf


def load_rules(path: Path | str, rates: Mapping[str, float] | None = None) -> RuleSet:
    """Load every rule pack in the directory ``path`` (or the one file ``path``).

    ``entities.toml`` beside the packs is the company list, not a pack. ``rates`` (currency code →
    USD per unit) are merged over :data:`DEFAULT_RATES_USD`. Raises :class:`RuleErrors` listing
    every problem found.
    """
    path = Path(path)
    problems: list[RuleError] = []
    if path.is_dir():
        packs = sorted(p for p in path.glob("*.toml") if p.name != ENTITIES_FILE)
        entities = path / ENTITIES_FILE
    else:
        packs = [path] if path.exists() else []
        entities = path.parent / ENTITIES_FILE
    if not packs:
        problems.append(RuleError(path, None, "no rule packs found: expected a directory of *.toml files or one"))
    companies = _load_companies(_File(entities, problems)) if entities.exists() else Companies()
    files = [_File(pack, problems) for pack in packs]
    definitions: dict[str, Parsed] = {}
    for file in files:
        file.check_top_level(("rule", "define", "vocabulary"), "[[rule]] tables, [define] and [vocabulary.LANG]")
        _definitions(file, definitions)
    seen: dict[str, str] = {}
    rules: list[Rule] = []
    terms = 0
    for file in files:
        for table in file.tables("rule", RULE_FIELDS):
            if rule := _rule(file, table, companies, definitions, seen):
                rules.append(rule)
                terms += rule.terms
                if terms - rule.terms <= MAX_TOTAL_TERMS < terms:  # reported once, at the rule that passes it
                    file.problem(
                        table.line_of("query"),
                        f"rule '{rule.id}': query: expected at most {MAX_TOTAL_TERMS} terms in all rules of all "
                        f"packs together (an @name counts its terms at every use), found {terms} by this rule",
                    )
    if problems:
        raise RuleErrors(sorted(problems, key=lambda p: (p.file, p.line or 0)))
    merged = {**DEFAULT_RATES_USD, **{code.upper(): float(rate) for code, rate in (rates or {}).items()}}
    return RuleSet(tuple(rules), companies, merged)
