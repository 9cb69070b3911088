"""Evaluation: conditions, explanations, ordering, candidate selection and format_match."""

from __future__ import annotations

import random
import time
from pathlib import Path

from monitor.matching import RuleSet, format_match, load_rules
from monitor.matching.entities import Companies, Company

TITLE = 'Alibaba Invests $290M in "World Model" AI'
SUMMARY = (
    "Alibaba Cloud led a 2 billion yuan ($290 million) Series B investment in ShengShu AI, the maker of the "
    "Vidu video tool. The stock, trading around $128, has a price target of $182."
)


def test_explanation_has_terms_snippets_amounts_round_and_companies(one_rule, item):
    (match,) = one_rule('"world model" AND invest*', priority="high", channel="#deals").evaluate(item(TITLE, SUMMARY))
    assert (match.rule_id, match.rule_name, match.priority, match.channel) == ("r", "r", "high", "#deals")
    e = match.explanation
    assert [(h.term, h.field) for h in e.hits] == [('"world model"', "title"), ("invest*", "title"),
                                                   ("invest*", "summary")]  # fmt: skip
    assert e.hits[0].snippet == TITLE
    assert [a.text for a in e.amounts] == ["$290M", "2 billion yuan ($290 million)"]  # not $128 or $182
    assert e.largest_usd == 290e6
    assert e.round == "Series B"
    assert e.companies == ("Alibaba", "ShengShu")


def test_snippet_is_about_120_chars_around_the_hit_in_the_original_text(one_rule, item):
    content = "Lorem ipsum dolor sit amet. " * 20 + "The WORLD—MODEL race heats up. " + "Sed do eiusmod. " * 20
    (match,) = one_rule('"world model"').evaluate(item("t", "", content))
    snippet = match.explanation.hits[0].snippet
    assert "WORLD—MODEL" in snippet and snippet.startswith("…") and snippet.endswith("…")
    assert 100 <= len(snippet) <= 130


def test_snippet_maps_folded_offsets_back_through_length_changes(one_rule, item):
    content = "Die Straße ist lang. " * 3 + "ﬁnancing for a WORLD MODEL lab"
    (match,) = one_rule('"world model"').evaluate(item("t", "", content))
    assert match.explanation.hits[0].snippet.endswith("ﬁnancing for a WORLD MODEL lab")


def test_min_amount_uses_the_largest_deal_not_valuations(one_rule, item):
    ruleset = one_rule("robot*", min_amount_usd=100_000_000)
    assert ruleset.evaluate(item("Robotics startup raises $150 million"))
    assert not ruleset.evaluate(item("Robotics startup raises $20 million at a $1 billion valuation"))
    assert not ruleset.evaluate(item("Robotics startup raises money"))


def test_min_amount_below_a_million_lowers_the_floor(one_rule, item):
    ruleset = one_rule("robot*", min_amount_usd=200_000)
    (match,) = ruleset.evaluate(item("Robotics startup gets a $250,000 grant"))
    assert match.explanation.amounts[0].value == 250_000


def test_company_conditions(one_rule, item):
    any_rule = one_rule("funding", companies_any=["Kling", "PixVerse"])
    assert any_rule.evaluate(item("Kuaishou funding"))
    assert not any_rule.evaluate(item("Baidu funding"))
    all_rule = one_rule("funding", companies_all=["Alibaba", "ShengShu"])
    assert all_rule.evaluate(item("Aliyun funding for 生数科技"))
    assert not all_rule.evaluate(item("Aliyun funding for PixVerse"))
    tag_rule = one_rule("funding", company_tags_any=["robotics"])
    assert tag_rule.evaluate(item("Skild AI funding"))
    assert not tag_rule.evaluate(item("OpenAI funding"))


def test_disabled_rules_never_match(one_rule, item):
    assert one_rule("robot", enabled=False).evaluate(item("robot")) == ()


def test_matches_come_high_priority_first_then_file_order(write_pack, rules_dir, item):
    write_pack("""
        [[rule]]
        id = "low"
        query = "robot"
        priority = "low"
        [[rule]]
        id = "n1"
        query = "robot"
        [[rule]]
        id = "high"
        query = "robot"
        priority = "high"
        digest_only = true
        [[rule]]
        id = "n2"
        query = "robot"
    """)
    matches = load_rules(rules_dir).evaluate(item("robot"))
    assert [m.rule_id for m in matches] == ["high", "n1", "n2", "low"]
    assert matches[0].digest_only is True


def test_only_rules_whose_terms_occur_are_evaluated(write_pack, rules_dir, item):
    write_pack("""
        [[rule]]
        id = "robots"
        query = "robot AND NOT toy"
        [[rule]]
        id = "not-only"
        query = "NOT toy"
        [[rule]]
        id = "drones"
        query = "drone OR (quadcopter AND NOT toy)"
    """)
    ruleset = load_rules(rules_dir)
    assert ruleset._always == (1,)
    assert {ruleset._compiled[n].rule.id for ns in ruleset._by_term.values() for n in ns} == {
        "robots",
        "drones",
    }
    assert [m.rule_id for m in ruleset.evaluate(item("robot news"))] == ["robots", "not-only"]
    assert [m.rule_id for m in ruleset.evaluate(item("toy robot"))] == []


def test_near_hit_is_explained_with_both_sides(one_rule, item):
    (match,) = one_rule('"world model" NEAR/5 funding').evaluate(item("New funding for a world model startup"))
    (hit,) = match.explanation.hits
    assert hit.term == '"world model" NEAR/5 funding' and hit.field == "title"


def test_negated_terms_are_not_evidence(one_rule, item):
    (match,) = one_rule("robot NOT toy").evaluate(item("robot"))
    assert [h.term for h in match.explanation.hits] == ["robot"]


def test_format_match(one_rule, item):
    (match,) = one_rule("invest*", priority="high", channel="#deals", digest_only=True).evaluate(item(TITLE, SUMMARY))
    assert format_match(match).splitlines() == [
        "[high] r: r -> #deals (digest only)",
        f"  term      invest* in title: {TITLE}",
        "  term      invest* in summary: …Cloud led a 2 billion yuan ($290 million) Series B investment in "
        "ShengShu AI, the maker of the Vidu video tool.…",
        "  deal      ShengShu AI raised 2 billion yuan ($290 million) · Series B · led by Alibaba Cloud",
        "  amounts   $290M [largest]; 2 billion yuan ($290 million) = $290M",
        "  round     Series B",
        "  companies Alibaba, ShengShu",
    ]


def test_companies_find_and_resolve():
    companies = Companies((Company("ShengShu", ("ShengShu AI", "生数科技", "Vidu"), ("world-model",)),
                           Company("Alibaba", ("Alibaba Cloud",))))  # fmt: skip
    assert companies.find("阿里云领投生数科技", "Alibaba Cloud backs VIDU") == ("ShengShu", "Alibaba")
    assert companies.find("Vidukin and ShengShuAI") == ()  # whole words for Latin aliases
    assert companies.resolve("shengshu ai").name == "ShengShu"  # type: ignore[union-attr]
    assert companies.resolve("Nobody") is None
    assert companies.tagged("world-model") == {"ShengShu"}


def test_a_name_inside_a_longer_alias_is_not_a_mention():
    companies = Companies((Company("Baidu"), Company("Baidu Ventures")))
    assert companies.find("Baidu Ventures led it") == ("Baidu Ventures",)
    assert companies.find("Baidu and Baidu Ventures") == ("Baidu", "Baidu Ventures")


def test_near_finds_the_closest_pair_among_many(one_rule, item):
    ruleset = one_rule("robot NEAR/2 funding")
    far = "robot " + "filler " * 10 + "funding " + "filler " * 10
    assert not ruleset.evaluate(item("t", "", far * 3))
    (match,) = ruleset.evaluate(item("t", "", far * 3 + "funding for a robot"))
    assert match.explanation.hits[0].snippet.endswith("funding for a robot")


def test_near_stays_linear_on_hostile_text(one_rule, item):
    text = "robot " * 5000 + "filler " * 50 + "funding " * 5000
    ruleset = one_rule("robot NEAR/3 funding")
    started = time.process_time()
    assert not ruleset.evaluate(item("t", "", text))
    assert time.process_time() - started < 2  # a pairwise check would take minutes


ODD = [
    "İ",
    "ß",
    "ﬁ",
    "e\u0301",
    "—",
    "-",
    "\t",
    "\n",
    "\u00a0",
    "\u3000",
    "生数",
    "\uff21\uff29",
    "$",
    "€",
    "¥",
    "(",
    ")",
    '"',
]
WORDS = [
    "world",
    "model",
    "robot",
    "funding",
    "Series",
    "B",
    "2",
    "billion",
    "yuan",
    "$290M",
    "Vidu",
    "AI",
    "video",
]


def test_random_unicode_never_breaks_evaluation(item):
    """Odd characters next to real terms: no exception, and every snippet quotes something."""
    ruleset = load_rules(Path(__file__).resolve().parent.parent / "rules")
    rng = random.Random(3)
    for _ in range(300):
        text = "".join(rng.choice([*ODD, *(w + " " for w in WORDS)]) for _ in range(rng.randint(0, 60)))
        for match in ruleset.evaluate(item(text[:40], text, text[::-1])):
            assert all(hit.snippet.strip() for hit in match.explanation.hits)


def test_content_repeating_the_summary_is_quoted_once(one_rule, item):
    (match,) = one_rule("robot").evaluate(item("News", "A robot startup.", "A robot startup."))
    assert [(h.term, h.field) for h in match.explanation.hits] == [("robot", "summary")]


def test_format_match_labels_valuations_and_unknown_rates(write_pack, rules_dir, item):
    write_pack('[[rule]]\nid = "r"\nquery = "robot"\n')
    text = "Robot maker raises $20 million at a $1 billion valuation and 3 billion yen, plus €9m."
    (match,) = load_rules(rules_dir).evaluate(item(text))
    assert format_match(match).splitlines()[2] == (
        "  amounts   $20 million [largest]; $1 billion [valuation]; 3 billion yen = $19.8M; €9m = $10.35M"
    )
    dollars_only = RuleSet(load_rules(rules_dir).rules, rates={"USD": 1.0})
    (match,) = dollars_only.evaluate(item("Robot maker gets €9m"))
    assert format_match(match).splitlines()[2] == "  amounts   €9m (no rate for EUR)"
