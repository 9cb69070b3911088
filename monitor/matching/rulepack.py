"""Load and validate ``rules/*.toml`` (rule packs) and ``rules/entities.toml`` (companies).

A pack holds ``[[rule]]`` tables, one ``[define]`` table of named query fragments and
``[vocabulary.LANG]`` tables that add one language's words to those names (see rules/README.md).

Every problem in every file is collected and raised at once as :class:`RuleErrors`, each one
located as ``file:line`` (and ``column`` inside a query). ``tomllib`` gives values but no
positions, so a small index of the raw text maps each ``[[rule]]`` table and each key to its line.
"""

from __future__ import annotations

import difflib
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
from monitor.matching.query import Node, Or, QuerySyntaxError, parse
from monitor.matching.text import fold
from monitor.model import PRIORITIES, Priority

ENTITIES_FILE = "entities.toml"

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
}
_TYPE_NAMES = {str: "a string", int: "a number", float: "a number", bool: "true or false", list: "a list"}
_BROKEN = Or(())  # stands in for a [define] fragment that did not parse; the load fails anyway
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_LANG = re.compile(r"[a-z]{2,3}")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_KEY = re.compile(r"""\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*=""")
_OPENS_MULTILINE = re.compile(r"=\s*('''|\"\"\")\s*$")
_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)")


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
        self, text: str, line: int | None, what: str, definitions: Mapping[str, Node], lang: str | None = None
    ) -> Node | None:
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
    file.check_top_level(("company",), "[[company]] tables")
    for table in file.tables("company", COMPANY_FIELDS):
        name = file.value(table, "name", COMPANY_FIELDS["name"], "company")
        if not name:
            file.problem(table.line, "company: name: expected a non-empty string (the canonical name)")
            continue
        what = f"company '{name}'"
        aliases = file.value(table, "aliases", COMPANY_FIELDS["aliases"], what)
        tags = file.value(table, "tags", COMPANY_FIELDS["tags"], what)
        for alias in (name, *aliases):
            owner = owners.setdefault(fold(alias), name)
            if owner != name:
                file.problem(
                    table.line_of("aliases" if alias != name else "name"),
                    f"{what}: '{alias}' already names company '{owner}'",
                )
        companies.append(Company(name, aliases, tags))
    return Companies(tuple(companies))


def _definitions(file: _File, known: dict[str, Node]) -> None:
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
        parts = []
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
                # A broken fragment is reported once; its placeholder keeps the rules using it quiet.
                parts.append(file.query(text, table.line_of(name), what, known, lang) or _BROKEN)
        if parts:
            known[name] = parts[0] if len(parts) == 1 else Or(tuple(parts))


def _rule(
    file: _File, table: _Table, companies: Companies, definitions: Mapping[str, Node], seen: dict[str, str]
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
    tree = None if text is None else file.query(text, table.line_of("query"), f"{what}: query", definitions)
    get = {key: file.value(table, key, spec, what) for key, spec in RULE_FIELDS.items() if key != "query"}
    if get["priority"] not in PRIORITIES:
        expected = ", ".join(PRIORITIES)
        file.problem(
            table.line_of("priority"),
            f"{what}: priority: expected one of {expected}, found {get['priority']!r}",
        )
    if get["min_amount_usd"] < 0:
        file.problem(table.line_of("min_amount_usd"), f"{what}: min_amount_usd: expected 0 or more")
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
    if len(file.problems) > count or tree is None or rule_id is None:
        return None
    return Rule(
        id=rule_id,
        name=get["name"] or rule_id,
        query=table.values["query"],
        priority=get["priority"],
        channel=get["channel"],
        min_amount_usd=float(get["min_amount_usd"]),
        companies_any=resolved["companies_any"],
        companies_all=resolved["companies_all"],
        company_tags_any=get["company_tags_any"],
        digest_only=get["digest_only"],
        enabled=get["enabled"],
        file=str(file.path),
        line=table.line,
        tree=tree,
    )


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
    definitions: dict[str, Node] = {}
    for file in files:
        file.check_top_level(("rule", "define", "vocabulary"), "[[rule]] tables, [define] and [vocabulary.LANG]")
        _definitions(file, definitions)
    seen: dict[str, str] = {}
    rules = []
    for file in files:
        for table in file.tables("rule", RULE_FIELDS):
            if rule := _rule(file, table, companies, definitions, seen):
                rules.append(rule)
    if problems:
        raise RuleErrors(sorted(problems, key=lambda p: (p.file, p.line or 0)))
    merged = {**DEFAULT_RATES_USD, **{code.upper(): float(rate) for code, rate in (rates or {}).items()}}
    return RuleSet(tuple(rules), companies, merged)
