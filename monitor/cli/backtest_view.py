"""`monitor backtest`: what a rule pack would have matched in the stored items, per rule and per
day, so a user can tune a rule's noise before enabling it. Pure: items in, a report out.

Counts are matches, not Slack messages: several outlets covering one story count once each here,
where the live monitor would post one alert and thread the rest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from monitor.matching import RuleSet
from monitor.model import Item
from monitor.textsafety import for_terminal

TITLE_WIDTH = 90


@dataclass(frozen=True, slots=True)
class Hit:
    title: str
    feed: str
    url: str | None


@dataclass(frozen=True)
class RuleResult:
    rule_id: str
    name: str
    priority: str
    digest_only: bool
    enabled: bool
    days: dict[date, list[Hit]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(len(hits) for hits in self.days.values())


@dataclass(frozen=True)
class Backtest:
    since: datetime
    items: int
    matched_items: int
    alerting_items: int
    rules: tuple[RuleResult, ...]


def run(ruleset: RuleSet, items: Iterable[Item], since: datetime, zone: tzinfo) -> Backtest:
    """Evaluate every item; days are the local dates (in ``zone``) the items were first seen."""
    days: dict[str, dict[date, list[Hit]]] = defaultdict(lambda: defaultdict(list))
    count = matched = alerting = 0
    for item in items:
        count += 1
        matches = ruleset.evaluate(item)
        matched += bool(matches)
        alerting += any(not m.digest_only for m in matches)
        day = item.first_seen.astimezone(zone).date()
        for match in matches:
            days[match.rule_id][day].append(Hit(item.title, item.feed, item.url))
    results = tuple(
        RuleResult(
            rule.id, rule.name, rule.priority, rule.digest_only, rule.enabled, dict(sorted(days[rule.id].items()))
        )
        for rule in ruleset.rules
    )
    return Backtest(since, count, matched, alerting, results)


def render(report: Backtest, titles_per_day: int = 5) -> list[str]:
    """Plain lines: each rule with its total, then each day with its count and the titles."""
    lines = []
    for rule in sorted(report.rules, key=lambda r: (-r.total, r.rule_id)):
        kind = ", ".join([rule.priority] + ["digest only"] * rule.digest_only + ["disabled"] * (not rule.enabled))
        verb = "matches" if rule.digest_only else "alerts"
        days = f"{len(rule.days)} day" + ("s" if len(rule.days) != 1 else "")
        lines.append(f"{rule.rule_id}  {rule.name}  [{kind}]: {rule.total} {verb} on {days}")
        for day, hits in rule.days.items():
            for number, hit in enumerate(hits[:titles_per_day]):
                prefix = f"  {day.isoformat()}  {len(hits):>3}" if number == 0 else " " * 19
                lines.append(for_terminal(f"{prefix}  {_cut(hit.title)} ({hit.feed})"))
            if len(hits) > titles_per_day:
                lines.append(" " * 19 + f"  … and {len(hits) - titles_per_day} more")
    lines.append(
        f"{report.items} items since {report.since:%Y-%m-%d %H:%M %Z}: {report.matched_items} matched a rule, "
        f"{report.alerting_items} would alert, {report.matched_items - report.alerting_items} digest only"
    )
    return lines


def _cut(title: str) -> str:
    return title if len(title) <= TITLE_WIDTH else title[: TITLE_WIDTH - 1] + "…"
