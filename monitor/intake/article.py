"""Items from a local file for `monitor rules test`: a feed file, or one article (text or HTML)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from monitor.intake import normalise
from monitor.intake.parse import parse
from monitor.model import Entry, Fetched, FetchFailed, Item

_HEADING = re.compile(r"<(h1|title)\b[^>]*>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL)


def items_from_bytes(data: bytes, name: str, now: datetime) -> tuple[Item, ...]:
    """A feed file gives its entries; anything else is one article whose first line is the title."""
    head = data[:2048].lstrip().lower()
    if head.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf")):
        fetched = Fetched(name, name, 200, {"content-type": "application/xml"}, data, timedelta(0))
        parsed = parse(fetched)
        if not isinstance(parsed, FetchFailed) and parsed.entries:
            return normalise.items(parsed, parsed.title or name, now)
    text = data.decode("utf-8", errors="replace")
    if heading := _HEADING.search(text):
        title, body = normalise.html_to_text(heading.group(2)), normalise.html_to_text(text[heading.end() :])
    else:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        title, body = (lines[0] if lines else ""), " ".join(lines[1:])
    entry = Entry(guid=None, link=None, title=title, summary_html=body, content_html="", published=None)
    return (normalise.item(entry, name, now),)
