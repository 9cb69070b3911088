"""`monitor backtest`: what a rule pack would have matched in the stored items, per rule and per
day, so a user can tune a rule's noise before enabling it. Pure: items in, a report out.

Counts are matches, not Slack messages: several outlets covering one story count once each here,
where the live monitor would post one alert and thread the rest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from monitor.matching import RuleSet
from monitor.model import Item
from monitor.textsafety import for_terminal
from monitor.wording import plural

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
            days[match.rule_id][day].append(Hit(item.title, item.feed, item.shown_link))
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
    for rule in _by_activity(report):
        kind = ", ".join([rule.priority] + ["digest only"] * rule.digest_only + ["disabled"] * (not rule.enabled))
        counted = plural(rule.total, "match", "matches") if rule.digest_only else plural(rule.total, "alert")
        lines.append(f"{rule.rule_id}  {rule.name}  [{kind}]: {counted} on {plural(len(rule.days), 'day')}")
        for day, hits in rule.days.items():
            for number, hit in enumerate(hits[:titles_per_day]):
                prefix = f"  {day.isoformat()}  {len(hits):>3}" if number == 0 else " " * 19
                lines.append(for_terminal(f"{prefix}  {_cut(hit.title)} ({hit.feed})"))
            if len(hits) > titles_per_day:
                lines.append(" " * 19 + f"  … and {len(hits) - titles_per_day} more")
    lines.append(
        f"{plural(report.items, 'item')} since {report.since:%Y-%m-%d %H:%M %Z}: "
        f"{report.matched_items} matched a rule, "
        f"{report.alerting_items} would alert, {report.matched_items - report.alerting_items} digest only"
    )
    return lines


def as_json(report: Backtest) -> dict[str, Any]:
    """The report for scripts (`monitor backtest --json`), every hit included; its keys are stable
    (docs/commands.md). Rules in the order of the text report: most matches first."""
    return {
        "since": report.since.astimezone(UTC).isoformat(),
        "items": report.items,
        "matched_items": report.matched_items,
        "alerting_items": report.alerting_items,
        "rules": [
            {
                "id": rule.rule_id,
                "name": rule.name,
                "priority": rule.priority,
                "digest_only": rule.digest_only,
                "enabled": rule.enabled,
                "total": rule.total,
                "days": [
                    {
                        "date": day.isoformat(),
                        "count": len(hits),
                        "items": [{"title": h.title, "feed": h.feed, "url": h.url} for h in hits],
                    }
                    for day, hits in rule.days.items()
                ],
            }
            for rule in _by_activity(report)
        ],
    }


def _by_activity(report: Backtest) -> list[RuleResult]:
    return sorted(report.rules, key=lambda r: (-r.total, r.rule_id))


def _cut(title: str) -> str:
    return title if len(title) <= TITLE_WIDTH else title[: TITLE_WIDTH - 1] + "…"
