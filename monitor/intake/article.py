"""Items from a local file for `monitor rules test`: a feed file, or one article (text or HTML)."""

from __future__ import annotations

import codecs
import re
from datetime import datetime, timedelta

from monitor.intake import normalise
from monitor.intake.parse import parse
from monitor.model import Entry, Fetched, FetchFailed, Item
from monitor.textsafety import clean

# An article's <h1> is its headline; <title> often carries the site's name too.
_HEADINGS = tuple(
    re.compile(rf"<({tag})\b[^>]*>(.*?)</{tag}\s*>", re.IGNORECASE | re.DOTALL) for tag in ("h1", "title")
)


# UTF-32 first: its little-endian BOM starts with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (codecs.BOM_UTF8, "utf-8-sig"),
)


def _decode(data: bytes) -> str:
    """Text of an article file: the encoding its byte-order mark names, else UTF-8."""
    codec = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    return data.decode(codec, errors="replace").replace("\x00", "")


def items_from_bytes(data: bytes, name: str, now: datetime) -> tuple[Item, ...]:
    """A feed file gives its entries; anything else is one article whose first line (or <h1>, or
    <title>) is the title."""
    # feedparser sniffs encodings (UTF-16/32 with or without a BOM) better than a prefix check could
    parsed = parse(Fetched(name, name, 200, {"content-type": "application/xml"}, data, timedelta(0)))
    if not isinstance(parsed, FetchFailed) and parsed.entries:
        return normalise.items(parsed, clean(parsed.title) or name, now)
    text = _decode(data)
    if heading := next(filter(None, (pattern.search(text) for pattern in _HEADINGS)), None):
        title, body = normalise.html_to_text(heading.group(2)), normalise.html_to_text(text[heading.end() :])
    else:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        title, body = (lines[0] if lines else ""), " ".join(lines[1:])
    entry = Entry(guid=None, link=None, title=title, summary_html=body, content_html="", published=None)
    return (normalise.item(entry, name, now),)
