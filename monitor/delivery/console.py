"""Alerts on standard output, for when no Slack is configured (and for --dry-run).

Alerts print one after another, so a follow-up names its story ("story #12: its title") rather
than relying on its place, and times are local (``[monitor] timezone``), as in the digest.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, tzinfo
from typing import TextIO

from monitor.delivery.render import deal_lines
from monitor.model import Alert, Delivered, DeliveryResult
from monitor.textsafety import for_terminal


def alert_text(alert: Alert, zone: tzinfo = UTC) -> str:
    """A plain-text rendering of an alert for a terminal: title, outlet, local time, story, link
    and the why (control characters in feed text shown as escapes). A follow-up names its story."""
    p = alert.payload
    if alert.kind == "follow_up":
        line = f"  ↳ also reported by {p.get('feed')}: {p.get('title')}{_story(alert)}"
        return for_terminal(f"{line}\n    {p.get('url') or ''}")
    meta = [str(p.get("feed")), _local(p.get("published"), zone)]
    if alert.story_id:
        meta.append(f"story #{alert.story_id}")
    lines = [f"[{alert.priority.upper()}] {p.get('title')}", "  " + " · ".join(x for x in meta if x)]
    if p.get("url"):
        lines.append(f"  {p['url']}")
    rules = ", ".join(f"{r['name']} ({r['id']})" for r in p.get("rules") or [])
    if rules:
        lines.append(f"  rule: {rules}")
    if p.get("terms"):
        languages = p.get("languages")
        named = f" ({', '.join(languages)})" if isinstance(languages, list) and languages else ""
        lines.append("  matched: " + ", ".join(p["terms"]) + named)
    if card := deal_lines(p):  # the card stands for the amounts, round and companies
        lines.append(f"  deal: {card[0]}")
        lines.extend(f"  {line[0].lower()}{line[1:]}" for line in card[1:])
        return "\n".join(lines)
    if p.get("amounts"):
        lines.append("  amounts: " + "; ".join(p["amounts"]))
    if p.get("round"):
        lines.append(f"  round: {p['round']}")
    if p.get("companies"):
        lines.append("  companies: " + ", ".join(p["companies"]))
    return for_terminal("\n".join(lines))


def _story(alert: Alert) -> str:
    """The story a follow-up joins, as " (story #12: its title)"; empty in a preview (no story)."""
    if not alert.story_id:
        return ""
    title = alert.payload.get("story_title")  # rows queued before it was recorded have none
    return f" (story #{alert.story_id}: {title})" if title else f" (story #{alert.story_id})"


def _local(published: object, zone: tzinfo) -> str:
    """An ISO time as a reader's local time: "2026-11-22 10:00 CET"."""
    try:
        return datetime.fromisoformat(str(published)).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
    except ValueError:
        return ""


class ConsoleNotifier:
    name = "console"

    def __init__(self, stream: TextIO | None = None, zone: tzinfo = UTC) -> None:
        self.stream = stream
        self.zone = zone

    def send(self, alert: Alert, thread: tuple[str, str] | None, now: datetime) -> DeliveryResult:
        stream = self.stream or sys.stdout
        print(alert_text(alert, self.zone), file=stream, flush=True)
        return Delivered(remote_id=f"console-{alert.id}")
