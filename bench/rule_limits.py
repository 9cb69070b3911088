"""Benchmark: what a rule pack at the limits costs, and how fast packs past them are refused.

    python bench/rule_limits.py [--repeat 20]

The limits (query.MAX_TERMS and MAX_DEPTH per query, rulepack.MAX_TOTAL_TERMS for all packs)
bound the work of loading rules and of evaluating an item. Each row loads a generated pack
(beside the project's company list) and evaluates one item in which every term of the pack
occurs (the worst case: every rule is a candidate, every term is evidence), or none does. The
extra cost of a rule is its row's time minus the baseline's (the same item, a two-term rule).
Then the hostile packs of issue 15 are loaded: each must be refused, quickly. CPU seconds.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.errors import RuleErrors
from monitor.matching import RuleSet, load_rules
from monitor.matching.query import MAX_DEPTH, MAX_TERMS
from monitor.matching.rulepack import MAX_TOTAL_TERMS
from monitor.model import Item

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ENTITIES = Path(__file__).resolve().parent.parent / "rules" / "entities.toml"
WORDS = [f"w{n:04d}x" for n in range(MAX_TERMS)]


def rule(number: int, query: str) -> str:
    return f"[[rule]]\nid = \"r{number}\"\nquery = '''{query}'''\n"


def doubling(levels: int) -> str:
    """``dN = (@dN-1 OR @dN-1)``: 2**levels terms written out."""
    lines = ["[define]", "d0 = 'w0000x'", *(f"d{n} = '(@d{n - 1} OR @d{n - 1})'" for n in range(1, levels + 1))]
    return "\n".join(lines) + "\n" + rule(0, f"@d{levels}")


def cpu(function: Callable[[], object], repeat: int = 1) -> tuple[float, object]:
    start = time.process_time()
    for _ in range(repeat):
        result = function()
    return (time.process_time() - start) / repeat, result


def load(pack: str) -> Callable[[], RuleSet | RuleErrors]:
    """A loader of ``pack`` written to a fresh rules folder; it returns the refusal instead of raising."""
    folder = Path(tempfile.mkdtemp())
    shutil.copy(ENTITIES, folder / "entities.toml")
    (folder / "pack.toml").write_text(pack, encoding="utf-8")

    def run() -> RuleSet | RuleErrors:
        try:
            return load_rules(folder)
        except RuleErrors as e:
            return e

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="evaluations per row")
    args = parser.parse_args()

    text = " ".join(WORDS)
    every = Item("Feed", None, None, f"News {WORDS[0]}", text[:1000], text, NOW, NOW, "fp")
    none = Item("Feed", None, None, "News", "plain words " * 40, "plain words " * 400, NOW, NOW, "fp")
    per_rule = 50
    packs = [
        ("baseline: one rule of 2 terms", rule(0, f"{WORDS[0]} AND {WORDS[1]}"), every),
        (f"one rule of {MAX_TERMS} terms ANDed", rule(0, " AND ".join(WORDS)), every),
        (f"one rule of {MAX_TERMS} terms ORed", rule(0, " OR ".join(WORDS)), every),
        (
            f"one rule of {MAX_TERMS // 2} NEAR/5 pairs ORed",
            rule(0, " OR ".join(f"{WORDS[n]} NEAR/5 {WORDS[n + 1]}" for n in range(0, MAX_TERMS, 2))),
            every,
        ),
        (
            f"one rule {MAX_DEPTH} levels deep",
            rule(0, "(" * (MAX_DEPTH - 1) + f"NOT a {WORDS[0]}" + ")" * (MAX_DEPTH - 1)),
            every,
        ),
        ("one rule: a fragment shared down to 512 terms", doubling(9), every),
        (
            f"{MAX_TOTAL_TERMS // MAX_TERMS} rules of {MAX_TERMS} terms (all packs' limit)",
            "".join(rule(n, " AND ".join(WORDS)) for n in range(MAX_TOTAL_TERMS // MAX_TERMS)),
            every,
        ),
        (
            f"{MAX_TOTAL_TERMS // per_rule} rules of {per_rule} terms (all packs' limit)",
            "".join(
                rule(n, " OR ".join(WORDS[(n + k) % MAX_TERMS] for k in range(per_rule)))
                for n in range(MAX_TOTAL_TERMS // per_rule)
            ),
            every,
        ),
        ("  the same, an item with none of the terms", "", none),
    ]
    print(
        f"rule pack limits: MAX_TERMS {MAX_TERMS}, MAX_DEPTH {MAX_DEPTH}, MAX_TOTAL_TERMS {MAX_TOTAL_TERMS}; "
        f"Python {sys.version.split()[0]}, one core, CPU time"
    )
    print(f"{'pack at the limits':52}{'load':>10}{'per item':>12}{'matches':>9}")
    ruleset: RuleSet | RuleErrors | None = None
    for name, pack, item in packs:
        load_seconds = 0.0
        if pack:
            load_seconds, ruleset = cpu(load(pack))  # type: ignore[assignment]
        assert isinstance(ruleset, RuleSet), ruleset
        loaded = ruleset
        each, matches = cpu(lambda: loaded.evaluate(item), args.repeat)  # noqa: B023 - called right here
        shown = f"{load_seconds * 1000:8.0f}ms" if pack else ""
        print(f"{name:52}{shown:>10}{each * 1000:>10.2f}ms{len(matches):>9}")  # type: ignore[arg-type]

    hostile = [
        ("a 33-level doubling define chain", doubling(33)),
        ("250 nested parentheses", rule(0, "(" * 250 + "robot" + ")" * 250)),
        ("5,000 NOTs", rule(0, "NOT " * 5000 + "robot")),
        (
            "3,000 chained defines",
            "[define]\ne0 = 'robot'\n"
            + "".join(f"e{n} = 'x AND @e{n - 1}'\n" for n in range(1, 3000))
            + rule(0, "@e2999"),
        ),
        ("10,000 ANDed terms", rule(0, " AND ".join(["robot"] * 10_000))),
    ]
    print(f"\n{'hostile pack (issue 15)':52}{'refused in':>10}  first problem")
    for name, pack in hostile:
        seconds, refused = cpu(load(pack))
        assert isinstance(refused, RuleErrors), f"{name}: not refused"
        problem = str(refused.problems[0]).split(": ", 1)[1]
        print(f"{name:52}{seconds * 1000:8.0f}ms  {problem[:90]}")


if __name__ == "__main__":
    main()
