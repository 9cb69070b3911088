"""Rule packs built to hang or crash the monitor (issue 15, item 3 and the rule part of item 7):
each is refused with a located error, `monitor check`, `poll` and `rules test` exit 2 without a
traceback, and a running daemon keeps its rules, stays responsive and stops on SIGTERM."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest
from conftest import monitor_command, monitor_env, write_config

from monitor import config, shell
from monitor.daemon.reload import Reloader
from monitor.errors import RuleErrors
from monitor.matching import load_rules
from monitor.matching.query import MAX_DEPTH, MAX_TERMS, parse
from monitor.matching.rulepack import MAX_TOTAL_TERMS

LIMIT_TERMS = f"expected at most {MAX_TERMS} terms in one query (an @name counts its terms at every use)"
LIMIT_DEPTH = f"expected at most {MAX_DEPTH} levels of '(', NOT and @name inside one another"
NOT_FINITE = "min_amount_usd: expected 0 or more, a finite number of US dollars, found"


def rule(query: str, extra: str = "") -> str:
    return f"[[rule]]\nid = \"r\"\nquery = '{query}'\n{extra}"


def doubling_chain(levels: int = 33) -> str:
    """``dN = (@dN-1 OR @dN-1)``: 2**levels terms written out (the parser shares, evaluation would not)."""
    lines = ["[define]", "d0 = 'robot'", *(f"d{n} = '(@d{n - 1} OR @d{n - 1})'" for n in range(1, levels + 1))]
    return "\n".join(lines) + "\n" + rule(f"@d{levels}")


def define_chain(length: int = 3000) -> str:
    """``eN = x AND @eN-1``: one level deeper per definition."""
    lines = ["[define]", "e0 = 'robot'", *(f"e{n} = 'x AND @e{n - 1}'" for n in range(1, length))]
    return "\n".join(lines) + "\n" + rule(f"@e{length - 1}")


# name -> (pack, the problem reported: "LINE: message" after the file's path)
HOSTILE = {
    "a 33-level doubling define chain": (doubling_chain(), f"15: column 10: define: d13: {LIMIT_TERMS}, found 8192"),
    "250 nested parentheses": (rule("(" * 250 + "robot" + ")" * 250), f"3: column 65: rule 'r': query: {LIMIT_DEPTH}"),
    "5,000 NOTs": (rule("NOT " * 5000 + "robot"), f"3: column 257: rule 'r': query: {LIMIT_DEPTH}"),
    "3,000 chained defines": (define_chain(), f"67: column 7: define: e65: {LIMIT_DEPTH}, found 65 here (@e64 nests"),
    "10,000 ANDed terms": (
        rule(" AND ".join(["robot"] * 10_000)),
        f"3: column {MAX_TERMS * 10 + 1}: rule 'r': query: {LIMIT_TERMS}",
    ),
    "a NEAR distance of 5,000 digits": (
        rule("robot NEAR/" + "9" * 5000 + " drone"),
        "3: column 7: rule 'r': query: expected a NEAR distance from 1 to 100, found a number of 5000 digits",
    ),
    "min_amount_usd = nan": (rule("robot", "min_amount_usd = nan\n"), f"4: rule 'r': {NOT_FINITE} nan"),
    "min_amount_usd = inf": (rule("robot", "min_amount_usd = inf\n"), f"4: rule 'r': {NOT_FINITE} inf"),
    "min_amount_usd = -1": (rule("robot", "min_amount_usd = -1\n"), f"4: rule 'r': {NOT_FINITE} -1"),
    "min_amount_usd too large for a float": (
        rule("robot", f"min_amount_usd = {'9' * 400}\n"),
        f"4: rule 'r': {NOT_FINITE} inf",
    ),
}
# TOML that made tomllib itself raise something other than its TOMLDecodeError.
HOSTILE_TOML = {
    "an integer of 5,000 digits": (
        rule("robot", f"x = {'9' * 5000}\n"),
        "4: invalid TOML: a number has more than 4300 digits",
    ),
    "arrays nested 5,000 deep": (
        rule("robot", "x = " + "[" * 5000 + "]" * 5000 + "\n"),
        " invalid TOML: arrays or tables are nested too deeply",  # tomllib does not say where
    ),
}


def problems(rules: Path) -> list[str]:
    with pytest.raises(RuleErrors) as caught:
        load_rules(rules)
    return [str(p) for p in caught.value.problems]


@pytest.mark.timeout(60)  # today's code spends minutes on the doubling chain
@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_pack_is_refused_with_one_located_problem(name, write_pack, rules_dir):
    text, expected = HOSTILE[name]
    path = write_pack(text)
    (problem,) = problems(rules_dir)
    assert problem.startswith(f"{path}:{expected}"), problem


@pytest.mark.parametrize("name", HOSTILE_TOML)
def test_toml_past_the_limits_of_python_is_a_problem_not_a_crash(name, write_pack, rules_dir):
    text, expected = HOSTILE_TOML[name]
    path = write_pack(text)
    assert problems(rules_dir) == [f"{path}:{expected}"]


def test_a_query_at_the_limits_loads_and_one_past_them_does_not(write_pack, rules_dir):
    at_limit = {
        "terms": " ".join(f"w{n}" for n in range(MAX_TERMS)),
        "depth": "(" * (MAX_DEPTH - 1) + "NOT robot" + ")" * (MAX_DEPTH - 1),
        "depth with an @name": "(" * (MAX_DEPTH - 2) + "@deep" + ")" * (MAX_DEPTH - 2),  # the @name is a level
    }
    define = "[define]\ndeep = 'NOT robot'\n"
    for query in at_limit.values():
        write_pack(define + rule(query))
        assert load_rules(rules_dir).rules[0].terms == query.count(" ") + 1 - query.count("NOT")
    past = {
        "terms": at_limit["terms"] + " w",
        "depth": "(" + at_limit["depth"] + ")",
        "depth with an @name": "(" + at_limit["depth with an @name"] + ")",
    }
    for query in past.values():
        write_pack(define + rule(query))
        (problem,) = problems(rules_dir)
        assert LIMIT_TERMS in problem or LIMIT_DEPTH in problem


def test_all_packs_together_have_a_term_limit(write_pack, rules_dir):
    big = " OR ".join(f"w{n}" for n in range(MAX_TERMS))
    rules = "".join(f"[[rule]]\nid = \"r{n}\"\nquery = '@big'\n" for n in range(MAX_TOTAL_TERMS // MAX_TERMS))
    write_pack(f"[define]\nbig = '{big}'\n")
    write_pack(rules, name="b.toml")
    assert len(load_rules(rules_dir).rules) == MAX_TOTAL_TERMS // MAX_TERMS
    path = write_pack('[[rule]]\nid = "last"\nquery = "robot"\n', name="c.toml")
    assert problems(rules_dir) == [
        f"{path}:3: rule 'last': query: expected at most {MAX_TOTAL_TERMS} terms in all rules of all packs together "
        f"(an @name counts its terms at every use), found {MAX_TOTAL_TERMS + 1} by this rule"
    ]


def test_shared_fragments_still_match_and_explain(write_pack, rules_dir, item):
    """Under the limit, a fragment used twice at every level is shared, and matches as written out."""
    write_pack(doubling_chain(8) + '[[rule]]\nid = "t"\nquery = "title:@d8"\n')
    ruleset = load_rules(rules_dir)
    assert [r.terms for r in ruleset.rules] == [256, 256]
    matches = ruleset.evaluate(item("Robot news", "a robot"))
    assert [m.rule_id for m in matches] == ["r", "t"]
    assert {(h.term, h.field) for h in matches[1].explanation.hits} == {("robot", "title")}
    assert [m.rule_id for m in ruleset.evaluate(item("News", "a robot"))] == ["r"]


def test_a_chain_of_nots_is_one_not_or_none(one_rule, item):
    assert parse("NOT NOT robot").tree == parse("        robot").tree
    assert parse("NOT NOT NOT robot").tree == parse("        NOT robot").tree
    (match,) = one_rule("NOT NOT robot").evaluate(item("Robot news"))
    assert [h.term for h in match.explanation.hits] == ["robot"]


@pytest.mark.parametrize("command", [["check"], ["poll"], ["rules", "test", "article.txt"]])
def test_commands_exit_2_with_the_located_problem(command, tmp_path, rules_dir):
    (rules_dir / "pack.toml").write_text(doubling_chain(), encoding="utf-8")
    (tmp_path / "article.txt").write_text("Robot news\nA robot.\n", encoding="utf-8")
    path = write_config(tmp_path, {"A": "http://127.0.0.1:9/a.xml"}, rules=rules_dir)
    done = subprocess.run(
        monitor_command(*command, "--config", str(path)),
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env=monitor_env(),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"{rules_dir / 'pack.toml'}:{HOSTILE['a 33-level doubling define chain'][1]}")
    assert "Traceback" not in done.stderr


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", [*HOSTILE, *HOSTILE_TOML])
def test_a_reload_of_a_hostile_pack_keeps_the_rules_and_says_where(name, tmp_path, rules_dir, caplog):
    good = rules_dir / "pack.toml"
    good.write_text('[[rule]]\nid = "good"\nquery = "robot"\n', encoding="utf-8")
    rt = shell.open_runtime(config.load(write_config(tmp_path, {"A": "http://127.0.0.1:9/a.xml"}, rules=rules_dir)))
    live = shell.Live(rt)
    try:
        reloader, rules = Reloader(live), live.current.rules
        hostile = rules_dir / "hostile.toml"
        hostile.write_text({**HOSTILE, **HOSTILE_TOML}[name][0].replace('id = "r"', 'id = "bad"'), encoding="utf-8")
        with caplog.at_level(logging.ERROR, "monitor.reload"):
            assert reloader.reload_if_changed() is False
        assert live.current.rules is rules
        messages = [r.getMessage() for r in caplog.records]
        assert messages[0].startswith(f"reload rejected: {hostile}:"), messages
        assert messages[-1] == "kept the previous config and rules"
    finally:
        rt.close()


def test_the_daemon_rejects_a_hostile_pack_reloads_the_fixed_one_and_stops_on_sigterm(
    tmp_path, rules_dir, start_monitor
):
    (rules_dir / "pack.toml").write_text('[[rule]]\nid = "good"\nquery = "robot"\n', encoding="utf-8")
    monitor = start_monitor(write_config(tmp_path, {"A": "http://127.0.0.1:9/a.xml"}, rules=rules_dir))
    monitor.wait_log("started feeds=1")

    hostile = rules_dir / "hostile.toml"
    hostile.write_text(doubling_chain(), encoding="utf-8")  # the watch job picks it up
    monitor.wait_log("status=kept")
    assert f"reload rejected: {hostile}:{HOSTILE['a 33-level doubling define chain'][1]}" in monitor.stderr
    assert "kept the previous config and rules" in monitor.stderr

    hostile.write_text('[[rule]]\nid = "fixed"\nquery = "drone"\n', encoding="utf-8")
    monitor.wait_log("rules=2")
    assert monitor.stop(timeout=5) == 0
    assert "Traceback" not in monitor.stderr
