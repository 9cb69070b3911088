"""Quality: the default rule pack on labelled news items (alerts, priorities, languages, deal cards).

    python bench/quality.py [--split tune|holdout|holdout2|holdout3|all] [--rules DIR]

Reads tests/data/quality/<split>.jsonl (one item a line: id, lang, label, outlet, date, title,
summary, optional body, optional deal), evaluates every item with the rules in DIR (default: the
repository's rules/, with entities.toml) as the monitor would see it (title, summary, content =
body or else summary), and prints: precision and recall of alerting; recall per positive label and
false-positive rate per negative label; recall per language; how often an alert has the expected
priority (deal -> high, news -> normal); the deal card's accuracy per field on the items labelled
with their deal; then every miss by id. A split whose file is missing is skipped with a note.
tests/test_default_pack.py scores the tuning split with these same functions.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.matching import RuleSet, load_rules
from monitor.model import PRIORITIES, Deal, Item

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "quality"
SPLITS = ("tune", "holdout", "holdout2", "holdout3")
EXPECTED = {"deal": "high", "news": "normal", "money_other": None, "hard_negative": None}
NOW = datetime(2026, 1, 1, tzinfo=UTC)
CARD_FIELDS = ("company", "amount_usd", "currency", "round", "lead_investors", "status")


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def as_item(record: dict) -> Item:
    """The item as a feed would give it: the body as content, or the summary when there is none."""
    title, summary, body = record["title"], record["summary"], record.get("body") or record["summary"]
    return Item(record.get("outlet") or "", None, None, title, summary, body, NOW, NOW, record["id"])


@dataclass(frozen=True, slots=True)
class Outcome:
    record: dict
    priority: str | None  # the priority the pack alerts with; None: no alert
    deal: Deal | None  # the principal deal of the alert's top match

    @property
    def expected(self) -> str | None:
        return EXPECTED[self.record["label"]]


def evaluate(ruleset: RuleSet, records: Iterable[dict]) -> list[Outcome]:
    outcomes = []
    for record in records:
        matches = [m for m in ruleset.evaluate(as_item(record)) if not m.digest_only]
        top = min(matches, key=lambda m: PRIORITIES.index(m.priority), default=None)
        outcomes.append(Outcome(record, top and top.priority, top and top.explanation.deal))
    return outcomes


# --- the deal card, field by field ---------------------------------------------------------------


def _name(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def _same_company(expected: str | None, got: str | None) -> bool:
    """Equal once case and punctuation are gone, or one name starting the other (ShengShu, ShengShu AI;
    1X, 1X Technologies), or most of it (Skild AI in "the Skild AI")."""
    if not expected or not got:
        return expected == got
    short, long = sorted((_name(expected), _name(got)), key=len)
    return bool(short) and short in long and (long.startswith(short) or len(short) >= 0.6 * len(long))


def _round_key(value: str | None) -> str:
    """Series A+, pre-Series A and Series A1 are Series A; "strategic investment" is strategic."""
    key = (value or "unknown").casefold().removeprefix("pre-series").strip()
    key = re.sub(r"^series ([a-h])[+\d]*$", r"\1", key)
    return {"strategic investment": "strategic"}.get(key, key.removeprefix("series "))


def _close(expected: float | None, got: float | None) -> bool:
    if expected is None or got is None:
        return expected == got
    return abs(got - expected) <= 0.02 * expected


def _same_names(expected: Sequence[str], got: Sequence[str]) -> bool:
    """The same investors, each name matched as company names are (深创投 and 深创投集团)."""
    return len(expected) == len(got) and all(any(_same_company(e, g) for g in got) for e in expected)


_CHECKS: dict[str, Callable[[dict, Deal], bool]] = {
    "company": lambda want, got: _same_company(want.get("company"), got.company),
    "amount_usd": lambda want, got: _close(want.get("amount_usd"), got.amount_usd),
    "currency": lambda want, got: want.get("currency") == got.currency,
    "round": lambda want, got: _round_key(want.get("round")) == _round_key(got.round),
    "lead_investors": lambda want, got: _same_names(want.get("lead_investors", []), got.lead_investors),
    "status": lambda want, got: want.get("status", "closed") == got.status,
}


def card_errors(outcome: Outcome) -> dict[str, tuple[object, object]]:
    """Field -> (expected, got) for each card field the pack got wrong (all of them without a card)."""
    want = outcome.record["deal"]
    got = outcome.deal
    errors = {}
    for name in CARD_FIELDS:
        if got is None or not _CHECKS[name](want, got):
            errors[name] = (want.get(name), getattr(got, name, None))
    return errors


# --- scores ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scores:
    items: int
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        alerted = self.true_positives + self.false_positives
        return self.true_positives / alerted if alerted else 1.0

    @property
    def recall(self) -> float:
        positives = self.true_positives + self.false_negatives
        return self.true_positives / positives if positives else 1.0

    def line(self) -> str:
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        return (
            f"{self.items} items: precision {self.precision:.3f} ({tp}/{tp + fp}), "
            f"recall {self.recall:.3f} ({tp}/{tp + fn})"
        )


def scores(outcomes: Sequence[Outcome]) -> Scores:
    tp = sum(1 for o in outcomes if o.expected and o.priority)
    fp = sum(1 for o in outcomes if not o.expected and o.priority)
    fn = sum(1 for o in outcomes if o.expected and not o.priority)
    return Scores(len(outcomes), tp, fp, fn)


def _rate(part: int, whole: int) -> str:
    return f"{part / whole:.3f} ({part}/{whole})" if whole else "-"


def report(outcomes: Sequence[Outcome]) -> list[str]:
    """The tables and the list of misses, as printed."""
    lines = [f"alerting: {scores(outcomes).line()}", "", f"{'by label':24}{'items':>7}  rate"]
    for label in EXPECTED:
        of_label = [o for o in outcomes if o.record["label"] == label]
        alerted = sum(1 for o in of_label if o.priority)
        what = "recall" if EXPECTED[label] else "false-positive rate"
        lines.append(f"  {label + ' ' + what:22}{len(of_label):>7}  {_rate(alerted, len(of_label))}")
    lines += ["", f"{'by language':24}{'items':>7}  recall{'':14}false positives"]
    for lang in sorted({o.record["lang"] for o in outcomes}):
        of_lang = [o for o in outcomes if o.record["lang"] == lang]
        positives = [o for o in of_lang if o.expected]
        negatives = [o for o in of_lang if not o.expected]
        found = sum(1 for o in positives if o.priority)
        wrong = sum(1 for o in negatives if o.priority)
        lines.append(f"  {lang:22}{len(of_lang):>7}  {_rate(found, len(positives)):20}{_rate(wrong, len(negatives))}")
    alerted = [o for o in outcomes if o.expected and o.priority]
    right = sum(1 for o in alerted if o.priority == o.expected)
    lines += ["", f"priority as labelled (deal high, news normal): {_rate(right, len(alerted))} of the alerted"]
    carded = [o for o in outcomes if o.record.get("deal")]
    errors = {o.record["id"]: card_errors(o) for o in carded}
    lines += ["", f"deal card on the {len(carded)} items labelled with their deal:"]
    for name in CARD_FIELDS:
        correct = sum(1 for e in errors.values() if name not in e)
        lines.append(f"  {name:22}{_rate(correct, len(carded))}")
    lines += ["", "misses:"]
    for title, chosen in (
        ("no alert", [o for o in outcomes if o.expected and not o.priority]),
        ("false alert", [o for o in outcomes if not o.expected and o.priority]),
        ("other priority", [o for o in alerted if o.priority != o.expected]),
    ):
        for o in chosen:
            r = o.record
            lines.append(f"  {title:15}{r['id']} [{r['lang']} {r['label']}] {r['title'][:90]}")
    for item_id, wrong in errors.items():
        if wrong:
            detail = "; ".join(f"{name}: want {want!r}, got {got!r}" for name, (want, got) in wrong.items())
            lines.append(f"  {'card':15}{item_id} {detail}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=(*SPLITS, "all"), default="tune")
    parser.add_argument("--rules", type=Path, default=ROOT / "rules", help="rule directory (default: rules/)")
    args = parser.parse_args()
    ruleset = load_rules(args.rules)
    for split in SPLITS if args.split == "all" else (args.split,):
        path = DATA / f"{split}.jsonl"
        if not path.exists():
            print(f"{split}: {path.relative_to(ROOT)} not found; skipped\n")
            continue
        outcomes = evaluate(ruleset, load(path))
        print(f"== {split}: {path.relative_to(ROOT)} with the rules in {args.rules}")
        print("\n".join(report(outcomes)), end="\n\n")


if __name__ == "__main__":
    main()
