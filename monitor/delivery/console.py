"""Alerts on standard output, for when no Slack is configured (and for --dry-run)."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TextIO

from monitor.model import Alert, Delivered, DeliveryResult
from monitor.textsafety import for_terminal


def alert_text(alert: Alert) -> str:
    """A plain-text rendering of an alert for a terminal: title, outlet, link and the why (control
    characters in feed text shown as escapes)."""
    p = alert.payload
    if alert.kind == "follow_up":
        return for_terminal(f"  ↳ also reported by {p.get('feed')}: {p.get('title')}\n    {p.get('url') or ''}")
    lines = [f"[{alert.priority.upper()}] {p.get('title')}", f"  {p.get('feed')} · {p.get('published', '')}"]
    if p.get("url"):
        lines.append(f"  {p['url']}")
    rules = ", ".join(f"{r['name']} ({r['id']})" for r in p.get("rules") or [])
    if rules:
        lines.append(f"  rule: {rules}")
    if p.get("terms"):
        lines.append("  matched: " + ", ".join(p["terms"]))
    if p.get("amounts"):
        lines.append("  amounts: " + "; ".join(p["amounts"]))
    if p.get("round"):
        lines.append(f"  round: {p['round']}")
    if p.get("companies"):
        lines.append("  companies: " + ", ".join(p["companies"]))
    return for_terminal("\n".join(lines))


class ConsoleNotifier:
    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, alert: Alert, thread: tuple[str, str] | None, now: datetime) -> DeliveryResult:
        stream = self.stream or sys.stdout
        print(alert_text(alert), file=stream, flush=True)
        return Delivered(remote_id=f"console-{alert.id}")
