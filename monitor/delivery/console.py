"""Alerts on standard output, for when no Slack is configured (and for --dry-run)."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TextIO

from monitor.delivery.render import deal_lines
from monitor.model import Alert, Delivered, DeliveryResult


def alert_text(alert: Alert) -> str:
    """A plain-text rendering of an alert: title, outlet, link and the why."""
    p = alert.payload
    if alert.kind == "follow_up":
        return f"  ↳ also reported by {p.get('feed')}: {p.get('title')}\n    {p.get('url') or ''}"
    lines = [f"[{alert.priority.upper()}] {p.get('title')}", f"  {p.get('feed')} · {p.get('published', '')}"]
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
    return "\n".join(lines)


class ConsoleNotifier:
    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, alert: Alert, thread: tuple[str, str] | None, now: datetime) -> DeliveryResult:
        stream = self.stream or sys.stdout
        print(alert_text(alert), file=stream, flush=True)
        return Delivered(remote_id=f"console-{alert.id}")
