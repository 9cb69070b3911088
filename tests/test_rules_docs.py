"""rules/README.md is the rule reference: it must cover every field, and its examples must run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitor.matching import format_match, load_rules
from monitor.matching.rulepack import COMPANY_FIELDS, RULE_FIELDS

RULES = Path(__file__).resolve().parent.parent / "rules"
README = (RULES / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, flags=re.DOTALL)


@pytest.mark.parametrize("key", [*RULE_FIELDS, *COMPANY_FIELDS])
def test_every_field_has_a_row(key):
    assert f"| `{key}` |" in README


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
