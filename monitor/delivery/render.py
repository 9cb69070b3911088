"""Alerts -> Slack messages (Block Kit + plain-text fallback + message metadata). Pure.

All feed-provided text is escaped for Slack (only ``&``, ``<`` and ``>``, as Slack documents), so a
feed can never produce ``<!channel>``, a user mention or a disguised ``<url|label>`` link; control,
bidi, zero-width and unpaired surrogate characters are dropped (``textsafety.clean``); every mrkdwn text object is
``verbatim`` so Slack does not turn a plain ``@here`` or ``#channel`` into a mention or link; only
http(s) URLs are linked; texts are cut to Slack's limits after escaping, never inside an entity or
a link.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from monitor.model import PRIORITIES, Alert, Amount, Deal, Item, Match
from monitor.textsafety import clean

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


def escape(text: str) -> str:
    return clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,4}$")


def truncate(escaped: str, limit: int) -> str:
    """Cut escaped mrkdwn to ``limit`` characters without splitting an ``&amp;``-style entity or a
    ``<url|label>`` link (escaped feed text has no ``<``, so every ``<`` opens one of our links)."""
    if len(escaped) <= limit:
        return escaped
    cut = _PARTIAL_ENTITY.sub("", escaped[: limit - 1])
    if cut.rfind("<") > cut.rfind(">"):
        cut = cut[: cut.rfind("<")]
    return cut + "…"


def mrkdwn(text: str, limit: int) -> dict[str, Any]:
    """A mrkdwn text object Slack takes as written: no automatic mentions, channel or URL links."""
    return {"type": "mrkdwn", "text": truncate(text, limit), "verbatim": True}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text, SECTION_LIMIT)}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(text, CONTEXT_LIMIT)]}


def plain(text: str, limit: int) -> str:
    """Plain text (header blocks): no escaping needed, just the length limit."""
    text = clean(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe_url(url: object) -> str | None:
    """The URL if it is http(s), made safe to put inside ``<url|label>``; else None."""
    if not isinstance(url, str) or not re.match(r"^https?://[^\s]+$", url, re.IGNORECASE):
        return None
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~-._").replace("|", "%7C")


LABEL_LIMIT = 300  # a link label (a title) long enough to read, short enough to fit a line


def link(url: object, label: str, limit: int = LABEL_LIMIT) -> str:
    """A Slack link to an http(s) URL, or the escaped label alone; the label is cut to ``limit``."""
    target = safe_url(url)
    label = truncate(escape(label), limit)
    if not target:
        return label
    return f"<{escape(target)}|{label.replace('|', '¦')}>"


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


def deal_lines(payload: Mapping[str, Any]) -> list[str]:
    """The deal card as plain text: the principal deal, then those mentioned in passing (each once)."""
    lines = []
    if payload.get("deal"):
        lines.append(Deal.from_dict(payload["deal"]).line())
    if others := payload.get("other_deals"):
        lines.append("Also mentioned: " + "; ".join(Deal.from_dict(d).short() for d in others))
    return lines


def why_lines(payload: Mapping[str, Any]) -> list[str]:
    """The explanation, one escaped mrkdwn line per fact; with a deal card, the card stands for the
    amounts, round and companies (which would list every one in the text)."""
    lines = []
    rules = payload.get("rules") or []
    if rules:
        lines.append("*Rule:* " + escape(", ".join(f"{r['name']} ({r['priority']})" for r in rules)))
    if terms := payload.get("terms"):
        languages = payload.get("languages") or []
        lines.append("*Matched:* " + escape(", ".join(terms) + (f" ({', '.join(languages)})" if languages else "")))
    if card := deal_lines(payload):
        return [*lines, "*Deal:* " + escape(card[0]), *(escape(line) for line in card[1:])]
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
    blocks: list[dict[str, Any]] = [section(headline), context(meta)]
    why = why_lines(p)
    if why:
        blocks.append(section("\n".join(why)))
    for hit in (p.get("hits") or [])[:3]:
        blocks.append(context(f"_{escape(str(hit['field']))}:_ {escape(str(hit['snippet']))}"))
    text = truncate(f"{escape(title)} ({escape(outlet)})" + (" — " + "; ".join(why) if why else ""), TEXT_LIMIT)
    rule = (p.get("rules") or [{}])[0].get("id", alert.rule_id)
    metadata = {
        "event_type": "monitor_alert",
        "event_payload": {
            "rule": rule,
            "story_id": alert.story_id,
            "url": p.get("url") or "",
            "deal": p.get("deal"),
            "other_deals": p.get("other_deals") or [],
        },
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
        blocks=[section(line)],
        metadata={
            "event_type": "monitor_alert",
            "event_payload": {"rule": alert.rule_id, "story_id": alert.story_id, "url": p.get("url") or ""},
        },
        thread_ts=thread_ts,
    )


def summary_message(alerts: Sequence[Alert], channel: str | None) -> SlackMessage:
    """Several alerts for one channel as one message: a header, one line per alert, a note."""
    lines = []
    for alert in alerts:
        p = alert.payload
        rules = ", ".join(str(r.get("name")) for r in p.get("rules") or [])
        tail = " · ".join(escape(x) for x in (str(p.get("feed") or ""), rules) if x)
        mark = PRIORITY_MARK.get(alert.priority, "")
        title = link(p.get("url"), str(p.get("title") or "(untitled)"))
        lines.append(f"{mark} {title}" + (f" — {tail}" if tail else ""))
    count = len(alerts)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": plain(f"{count} new alerts", HEADER_LIMIT)}},
        *(section(line) for line in lines[: MAX_BLOCKS - 2]),
        context(f"{count} alerts for this channel arrived at once, so they come as one message."),
    ]
    titles = "; ".join(escape(str(a.payload.get("title") or "(untitled)")) for a in alerts)
    return SlackMessage(
        channel=channel,
        text=truncate(f"{count} new alerts: {titles}", TEXT_LIMIT),
        blocks=blocks,
        metadata={
            "event_type": "monitor_alert_summary",
            "event_payload": {
                "story_ids": [a.story_id for a in alerts],
                "urls": [a.payload.get("url") or "" for a in alerts],
            },
        },
    )


def distinct_amounts(amounts: Sequence[Amount]) -> list[Amount]:
    """Each sum once, by its most informative mention: "2 billion yuan" in a title and
    "2 billion yuan ($290 million)" in the text are one sum, as are "$290M" and "$290 million"."""
    kept: list[tuple[int, Amount]] = []
    seen: set[object] = set()
    for index, amount in sorted(enumerate(amounts), key=lambda pair: -len(pair[1].text)):
        keys = {(amount.currency, amount.value), round(amount.usd, -6) if amount.usd is not None else None} - {None}
        if seen.isdisjoint(keys):
            kept.append((index, amount))
        seen |= keys
    return [amount for _, amount in sorted(kept, key=lambda pair: pair[0])]


def alert_payload(item: Item, matches: Sequence[Match], story_title: str | None = None) -> dict[str, Any]:
    """Everything a notifier needs to render an alert, frozen into the outbox row. ``story_title``:
    the title of the story a follow-up joins (an alert's story is its own title)."""
    ordered = sorted(matches, key=lambda m: PRIORITIES.index(m.priority))
    amounts: list[Amount] = []
    companies: dict[str, None] = {}
    hits: dict[str, dict[str, str]] = {}  # one snippet per field, so overlapping snippets are not repeated
    terms: dict[str, None] = {}
    round_ = None
    for match in ordered:
        e = match.explanation
        amounts.extend(e.amounts)
        companies.update(dict.fromkeys(e.companies))
        terms.update(dict.fromkeys(e.terms))
        for h in e.hits:
            if not any(h.snippet == shown["snippet"] for shown in hits.values()):
                hits.setdefault(h.field, {"term": h.term, "field": h.field, "snippet": h.snippet})
        round_ = round_ or e.round
    usd = [m.explanation.largest_usd for m in ordered if m.explanation.largest_usd is not None]
    carded = next((m.explanation for m in ordered if m.explanation.deal), None)
    return {
        "title": item.title,
        "story_title": story_title or item.title,
        "url": item.shown_link,  # as published, minus tracking parameters: never the canonical form
        "feed": item.feed,
        "published": item.published.isoformat(),
        "rules": [{"id": m.rule_id, "name": m.rule_name, "priority": m.priority} for m in ordered],
        "terms": list(terms),
        "hits": list(hits.values())[:10],
        "amounts": [a.text for a in distinct_amounts(amounts)],
        "largest_usd": max(usd) if usd else None,
        "round": round_,
        "companies": list(companies),
        "languages": list(dict.fromkeys(lang for m in ordered for lang in m.explanation.languages)),
        "deal": carded.deal.as_dict() if carded and carded.deal else None,
        "other_deals": [d.as_dict() for d in carded.other_deals] if carded else [],
    }
