"""Benchmark: the rule engine against a naive loop, on generated rules and items.

    python bench/rules.py [--rules 1000] [--items 20000] [--naive-items 1000] [--seed 7] [--no-default-pack]

Generates rule packs (AND, OR, NOT, phrases, prefixes, NEAR, field scopes) from a vocabulary of
50,000 made-up words, and items of 130 words: 85% from 500 common words that no rule uses (as
function words dominate English), 15% (--rare-share) from the rule vocabulary; a tenth of the
items also mention money. The engine (one Aho-Corasick pass, then candidate rules only)
runs over every item; the naive loop (every rule's terms as their own compiled regexes, every
rule tried on every item) runs over the first --naive-items items and is extrapolated. Both must
agree on which generated rules match those items. The default pack (rules/*.toml with its
vocabularies and rules/entities.toml) is loaded beside the generated rules, as a deployment
would have it, unless --no-default-pack. The same engine then runs five times over the labelled
news of tests/data/quality (real stories in nine languages, most of them world-model news that
matches and carries a deal card): a rate for real text beside the generated one. Prints one table.
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quality import DATA, SPLITS, as_item, load

from monitor.matching import RuleSet, load_rules
from monitor.matching.query import And, Near, Node, Not, Or, Term
from monitor.model import Item

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULT_PACK = Path(__file__).resolve().parent.parent / "rules"
SHAPES = (
    "{a} AND {b}",
    "{a} OR {b} OR {c}",
    '"{a} {b}" OR {c}',
    "({a} OR {b}) AND NOT {c}",
    "{p}* AND {b}",
    "{a} NEAR/5 {b}",
    "title:{a} OR summary:({b} AND {c})",
    "{a} {b} NOT content:{c}",
)


def vocabulary(rng: random.Random, size: int) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice("bcdfghjklmnprstvwz") + rng.choice("aeiou") for _ in range(rng.randint(2, 4))))
    return sorted(words)


def write_rules(directory: Path, rng: random.Random, words: list[str], count: int, default_pack: bool) -> None:
    if default_pack:
        for pack in DEFAULT_PACK.glob("*.toml"):
            shutil.copy(pack, directory / pack.name)
    lines = []
    for number in range(count):
        a, b, c = rng.sample(words, 3)
        query = SHAPES[number % len(SHAPES)].format(a=a, b=b, c=c, p=a[:4])
        lines += ["[[rule]]", f'id = "r{number}"', f"query = '{query}'", ""]
    (directory / "generated.toml").write_text("\n".join(lines), encoding="utf-8")


def make_items(rng: random.Random, common: list[str], rare: list[str], share: float, count: int) -> list[Item]:
    """Items of 10 + 40 + 80 words: mostly common words, ``share`` of them from the rule vocabulary."""

    def text(n: int) -> str:
        tokens = [rng.choice(rare) if rng.random() < share else rng.choice(common) for _ in range(n)]
        return " ".join(tokens).capitalize() + "."

    items = []
    for number in range(count):
        summary = text(40)
        if number % 10 == 0:
            summary += f" The company raised ${rng.randint(5, 900)} million in a Series B."
        items.append(Item("Generated", None, None, text(10), summary, text(80), NOW, NOW, f"fp{number}"))
    return items


# --- the naive loop -----------------------------------------------------------------------------


def _pattern(term: Term) -> re.Pattern[str]:
    words = "|".join(re.escape(form).replace(r"\ ", r"[\s-]+") for form in term.forms)
    tail = r"\w*" if term.prefix else r"\b"
    return re.compile(rf"\b(?:{words}){tail}", re.IGNORECASE)


def naive_rule(node: Node) -> Callable[[Item], bool]:
    """One rule as regexes over the raw fields, the way a simple bot would write it."""
    if isinstance(node, Term):
        pattern, fields = _pattern(node), node.fields
        return lambda item: any(pattern.search(item.text_of(f)) for f in fields)
    if isinstance(node, Near):
        left = "|".join(_pattern(t).pattern for t in node.left)
        right = "|".join(_pattern(t).pattern for t in node.right)
        gap = rf"\W+(?:\w+\W+){{0,{node.distance}}}"
        pattern = re.compile(rf"(?:{left}){gap}(?:{right})|(?:{right}){gap}(?:{left})", re.IGNORECASE)
        fields = node.left[0].fields
        return lambda item: any(pattern.search(item.text_of(f)) for f in fields)
    if isinstance(node, Not):
        inner = naive_rule(node.operand)
        return lambda item: not inner(item)
    parts = [naive_rule(operand) for operand in node.operands]
    if isinstance(node, And):
        return lambda item: all(part(item) for part in parts)
    assert isinstance(node, Or)
    return lambda item: any(part(item) for part in parts)


# --- the run ------------------------------------------------------------------------------------


def timed(function: Callable[[], object]) -> tuple[float, object]:
    """CPU seconds of this process (the machine may be busy with other work) and the result."""
    start = time.process_time()
    result = function()
    return time.process_time() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--naive-items", type=int, default=1000)
    parser.add_argument("--rare-share", type=float, default=0.15, help="share of words from the rule vocabulary")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-default-pack", action="store_true", help="only the generated rules")
    args = parser.parse_args()
    default_pack = not args.no_default_pack

    rng = random.Random(args.seed)
    vocab = vocabulary(rng, 50500)
    rng.shuffle(vocab)
    common, words = vocab[:500], vocab[500:]  # like English: a few words make most of the text
    items = make_items(rng, common, words, args.rare_share, args.items)
    with tempfile.TemporaryDirectory() as tmp:
        write_rules(Path(tmp), rng, words, args.rules, default_pack)
        load_seconds, ruleset = timed(lambda: load_rules(tmp))
    assert isinstance(ruleset, RuleSet)
    chars = sum(len(i.title) + len(i.summary) + len(i.content) for i in items)

    engine_seconds, results = timed(lambda: [ruleset.evaluate(item) for item in items])
    news = [
        as_item(record)
        for split in SPLITS
        if (DATA / f"{split}.jsonl").exists()
        for record in load(DATA / f"{split}.jsonl")
    ]
    news_seconds, news_results = timed(lambda: [ruleset.evaluate(item) for _ in range(5) for item in news])
    matches = sum(len(r) for r in results)  # type: ignore[union-attr]
    companies = ruleset.companies
    company_seconds, _ = timed(lambda: [companies.find(i.title, i.summary, i.content) for i in items])

    generated = [rule for rule in ruleset.rules if rule.file.endswith("generated.toml")]
    naive_rules = [(rule.id, naive_rule(rule.tree)) for rule in generated]
    subset = items[: args.naive_items]
    naive_seconds, naive_results = timed(lambda: [{i for i, test in naive_rules if test(it)} for it in subset])
    generated_ids = {rule.id for rule in generated}
    engine_ids = [{m.rule_id for m in r} & generated_ids for r in results[: len(subset)]]  # type: ignore[index]
    disagreements = sum(a != b for a, b in zip(engine_ids, naive_results, strict=True))  # type: ignore[arg-type]

    tracemalloc.start()
    with tempfile.TemporaryDirectory() as tmp:
        write_rules(Path(tmp), random.Random(args.seed), words, args.rules, default_pack)
        traced = load_rules(tmp)
    for item in items[:2000]:
        traced.evaluate(item)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    engine_rate = len(items) / engine_seconds
    naive_rate = len(subset) / naive_seconds
    pack = f" + the default pack ({len(ruleset.rules) - len(generated)} rules, its vocabularies and companies)"
    print(
        f"rules engine benchmark: {args.rules} rules{pack if default_pack else ''}, {len(items)} items "
        f"({chars / len(items):.0f} chars each), {matches} matches ({matches / len(items):.2f} per item), "
        f"Python {sys.version.split()[0]}, one core"
    )
    print(f"{'':34}{'items/s':>12}{'CPU time':>12}")
    print(f"{'engine (Aho-Corasick + candidates)':34}{engine_rate:>12,.0f}{engine_seconds:>11.2f}s")
    extrapolated = len(items) / naive_rate
    print(
        f"{'naive (regex per term, every rule)':34}{naive_rate:>12,.0f}{naive_seconds:>11.2f}s"
        f"  measured on {len(subset)} items; {extrapolated:.0f}s extrapolated to {len(items)}"
    )
    print(f"{'ratio engine / naive':34}{engine_rate / naive_rate:>11,.0f}x")
    if news:
        matched = sum(bool(r) for r in news_results) / len(news_results)  # type: ignore[union-attr]
        size = sum(len(i.title) + len(i.summary) + len(i.content) for i in news) / len(news)
        print(
            f"{'engine on labelled news':34}{5 * len(news) / news_seconds:>12,.0f}{news_seconds:>11.2f}s"
            f"  {len(news)} items of tests/data/quality five times ({size:.0f} chars each, {matched:.0%} matched)"
        )
    print(f"{'company list alone, every item':34}{len(items) / company_seconds:>12,.0f}{company_seconds:>11.2f}s")
    print(f"{'loading and compiling the rules':34}{'':>12}{load_seconds:>11.2f}s")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"peak memory: {peak / 2**20:.1f} MiB traced (load + compile + 2,000 evaluations), "
        f"{rss:.0f} MiB max RSS for the whole run"
    )
    print(f"engine and naive agree on the generated rules for {len(subset) - disagreements}/{len(subset)} items")
    if disagreements:
        raise SystemExit("the engine and the naive loop disagree")


if __name__ == "__main__":
    main()
