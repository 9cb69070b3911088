"""docs/rules.md is the rule reference: every rule and company field has its own row in its own
section, every piece of query syntax a row in the query table, and its examples run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT
from doctext import sections

from monitor.matching import format_match, load_rules
from monitor.matching.query import FIELDS, MAX_DEPTH, MAX_NEAR, MAX_TERMS
from monitor.matching.rulepack import COMPANY_FIELDS, MAX_TOTAL_TERMS, RULE_FIELDS

RULES = ROOT / "rules"
REFERENCE = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
SECTIONS = sections(REFERENCE)
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", REFERENCE, flags=re.DOTALL)
# Every piece of the grammar in monitor/matching/query.py's docstring
SYNTAX = ["AND", "OR", "NOT", "NEAR/", "(", "*", '"', "@", *(f"{field}:" for field in FIELDS)]


def first_column(section: str) -> list[str]:
    return [line.split("|")[1] for line in SECTIONS[section].splitlines() if line.startswith("| `")]


@pytest.mark.parametrize(
    ("section", "key"),
    [("Rule fields", key) for key in RULE_FIELDS] + [("Companies: `entities.toml`", key) for key in COMPANY_FIELDS],
)
def test_every_field_has_a_row_in_its_section(section, key):
    assert f" `{key}` " in first_column(section), f"docs/rules.md '## {section}' has no row for `{key}`"


@pytest.mark.parametrize("syntax", SYNTAX)
def test_every_query_syntax_has_a_row(syntax):
    assert any(syntax in cell for cell in first_column("Query language")), f"no row shows {syntax}"


@pytest.mark.parametrize("limit", [MAX_TERMS, MAX_DEPTH, MAX_TOTAL_TERMS, MAX_NEAR])
def test_every_limit_has_a_row_with_its_value_and_message(limit):
    rows = [line.split(" | ") for line in SECTIONS["Limits"].splitlines() if line.startswith("| ")]
    assert any(f"{limit:,}" in at_most and re.search(rf"\b{limit}\b", message) for _, at_most, message in rows)


@pytest.mark.parametrize("block", [b for kind, b in BLOCKS if kind == "toml" and "[[rule]]" in b])
def test_toml_examples_load(block, rules_dir):
    (rules_dir / "example.toml").write_text(block, encoding="utf-8")
    assert load_rules(rules_dir).rules


def test_company_example_loads(rules_dir):
    (block,) = [b for kind, b in BLOCKS if kind == "toml" and "[[company]]" in b]
    (rules_dir / "entities.toml").write_text(block, encoding="utf-8")
    (rules_dir / "pack.toml").write_text('[[rule]]\nid = "a"\nquery = "x"\ncompanies_any = ["生数科技"]\n')
    assert load_rules(rules_dir).rules[0].companies_any == ("ShengShu",)


def test_explanation_example_is_what_format_match_prints(item):
    (block,) = [b for kind, b in BLOCKS if kind == "text"]
    article = (Path(__file__).parent / "data" / "articles" / "alibaba_shengshu.txt").read_text(encoding="utf-8")
    title, summary, content = article.split("\n", 2)
    first = load_rules(RULES).evaluate(item(title, summary, content))[0]
    assert format_match(first) == block.rstrip("\n")
