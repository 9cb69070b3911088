"""Alerts -> Slack messages (Block Kit + plain-text fallback + message metadata). Pure.

All feed-provided text is escaped for Slack (only ``&``, ``<`` and ``>``, as Slack documents), so a
feed can never produce ``<!channel>``, a user mention or a disguised ``<url|label>`` link; only
http(s) URLs are linked; texts are cut to Slack's limits after escaping, never inside an entity.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from monitor.model import PRIORITIES, Alert, Amount, Item, Match

SECTION_LIMIT = 3000
HEADER_LIMIT = 150
CONTEXT_LIMIT = 2000
MAX_BLOCKS = 50
TEXT_LIMIT = 4000  # keep the fallback text short: it is the notification preview
PRIORITY_MARK = {"high": ":rotating_light:", "normal": ":newspaper:", "low": ":small_blue_diamond:"}


@dataclass(frozen=True, slots=True)
class SlackMessage:
    channel: str | None
    text: str
    blocks: list[dict[str, Any]]
    metadata: dict[str, Any] | None = None
    thread_ts: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,4}$")


def truncate(escaped: str, limit: int) -> str:
    """Cut escaped mrkdwn to ``limit`` characters without splitting an ``&amp;``-style entity."""
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    cut = _PARTIAL_ENTITY.sub("", cut)
    return cut + "…"


def plain(text: str, limit: int) -> str:
    """Plain text (header blocks): no escaping needed, just the length limit."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe_url(url: object) -> str | None:
    """The URL if it is http(s), made safe to put inside ``<url|label>``; else None."""
    if not isinstance(url, str) or not re.match(r"^https?://[^\s]+$", url, re.IGNORECASE):
        return None
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~-._").replace("|", "%7C")


def link(url: object, label: str) -> str:
    """A Slack link to an http(s) URL, or the escaped label alone."""
    target = safe_url(url)
    if not target:
        return escape(label)
    label = escape(label).replace("|", "¦")
    return f"<{escape(target)}|{label}>"


def _when(value: object) -> str:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M UTC")
        except ValueError:
            return ""
    return ""


def _money(usd: object) -> str:
    if not isinstance(usd, int | float):
        return ""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if usd >= size:
            return f"${usd / size:.3g}{suffix}"
    return f"${usd:,.0f}"


def why_lines(payload: Mapping[str, Any]) -> list[str]:
    """The explanation, one escaped mrkdwn line per fact."""
    lines = []
    rules = payload.get("rules") or []
    if rules:
        lines.append("*Rule:* " + escape(", ".join(f"{r['name']} ({r['priority']})" for r in rules)))
    if terms := payload.get("terms"):
        lines.append("*Matched:* " + escape(", ".join(terms)))
    if amounts := payload.get("amounts"):
        largest = _money(payload.get("largest_usd"))
        text = "; ".join(amounts) + (f" (largest ≈ {largest})" if largest else "")
        lines.append("*Amount:* " + escape(text))
    if payload.get("round"):
        lines.append("*Round:* " + escape(str(payload["round"])))
    if companies := payload.get("companies"):
        lines.append("*Companies:* " + escape(", ".join(companies)))
    return lines


def alert_message(alert: Alert, channel: str | None) -> SlackMessage:
    p = alert.payload
    title = str(p.get("title") or "(untitled)")
    outlet = str(p.get("feed") or "")
    mark = PRIORITY_MARK.get(alert.priority, "")
    headline = f"{mark} *{link(p.get('url'), title)}*"
    meta = " · ".join(x for x in (escape(outlet), _when(p.get("published")), f"{alert.priority} priority") if x)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": truncate(headline, SECTION_LIMIT)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(meta, CONTEXT_LIMIT)}]},
    ]
    why = why_lines(p)
    if why:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": truncate("\n".join(why), SECTION_LIMIT)}})
    for hit in (p.get("hits") or [])[:3]:
        snippet = f"_{escape(hit['field'])}:_ {escape(hit['snippet'])}"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(snippet, CONTEXT_LIMIT)}]})
    text = truncate(f"{escape(title)} ({escape(outlet)})" + (" — " + "; ".join(why) if why else ""), TEXT_LIMIT)
    rule = (p.get("rules") or [{}])[0].get("id", alert.rule_id)
    metadata = {
        "event_type": "monitor_alert",
        "event_payload": {"rule": rule, "story_id": alert.story_id, "url": p.get("url") or ""},
    }
    return SlackMessage(channel=channel, text=text, blocks=blocks[:MAX_BLOCKS], metadata=metadata)


def follow_up_message(alert: Alert, channel: str | None, thread_ts: str | None) -> SlackMessage:
    p = alert.payload
    title = str(p.get("title") or "(untitled)")
    outlet = str(p.get("feed") or "another outlet")
    line = f"Also reported by {escape(outlet)}: {link(p.get('url'), title)}"
    return SlackMessage(
        channel=channel,
        text=truncate(f"Also reported by {escape(outlet)}: {escape(title)}", TEXT_LIMIT),
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": truncate(line, SECTION_LIMIT)}}],
        metadata={
            "event_type": "monitor_alert",
            "event_payload": {"rule": alert.rule_id, "story_id": alert.story_id, "url": p.get("url") or ""},
        },
        thread_ts=thread_ts,
    )


def alert_payload(item: Item, matches: Sequence[Match]) -> dict[str, Any]:
    """Everything a notifier needs to render an alert, frozen into the outbox row."""
    ordered = sorted(matches, key=lambda m: PRIORITIES.index(m.priority))
    amounts: dict[tuple[str, float], Amount] = {}  # one per sum: the mention that says the most
    companies: dict[str, None] = {}
    hits: dict[tuple[str, str], dict[str, str]] = {}  # a summary repeated as content is shown once
    terms: dict[str, None] = {}
    round_ = None
    for match in ordered:
        e = match.explanation
        for amount in e.amounts:
            known = amounts.get((amount.currency, amount.value))
            if known is None or len(amount.text) > len(known.text):
                amounts[(amount.currency, amount.value)] = amount
        companies.update(dict.fromkeys(e.companies))
        terms.update(dict.fromkeys(e.terms))
        for h in e.hits:
            hits.setdefault((h.term, h.snippet), {"term": h.term, "field": h.field, "snippet": h.snippet})
        round_ = round_ or e.round
    usd = [m.explanation.largest_usd for m in ordered if m.explanation.largest_usd is not None]
    return {
        "title": item.title,
        "url": item.url,
        "feed": item.feed,
        "published": item.published.isoformat(),
        "rules": [{"id": m.rule_id, "name": m.rule_name, "priority": m.priority} for m in ordered],
        "terms": list(terms),
        "hits": list(hits.values())[:10],
        "amounts": [a.text for a in amounts.values()],
        "largest_usd": max(usd) if usd else None,
        "round": round_,
        "companies": list(companies),
    }
