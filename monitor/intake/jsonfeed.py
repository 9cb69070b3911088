"""JSON Feed (jsonfeed.org, versions 1 and 1.1) -> ParsedFeed, with the meaning feedparser gives
RSS and Atom: ``id`` is the GUID (a number is read as its text, as the spec asks), ``url`` the link
(``external_url`` when there is no ``url``), relative URLs resolved against the feed's URL,
``content_html`` or else ``content_text`` the content, ``summary`` or else the content the summary,
``date_published`` or else ``date_modified`` the date. Plain-text fields are HTML-escaped, as the
rest of intake reads summary and content as HTML. Authors are not kept: no entry keeps them.

A document is taken for JSON when it starts with ``{`` or its content type says JSON; it is a
JSON Feed only with a ``"version": "https://jsonfeed.org/version/1..."`` key and an ``items`` list.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import urljoin

from monitor.intake.xmlfeed import parse_date
from monitor.model import Entry, ParsedFeed

JSON_TYPES = ("application/feed+json", "application/json")
VERSIONS = ("https://jsonfeed.org/version/1", "http://jsonfeed.org/version/1")  # 1 and 1.1
_SPACE = b" \t\r\n\xef\xbb\xbf"  # and a UTF-8 byte-order mark


def looks_like(body: bytes, content_type: str) -> bool:
    """Whether to read ``body`` as JSON: it opens an object, or it is said to be JSON and is not XML."""
    start = body[:64].lstrip(_SPACE)[:1]
    media = content_type.split(";", 1)[0].strip().lower()
    return start == b"{" or (media in JSON_TYPES and start != b"<")


def parse(body: bytes, base_url: str) -> ParsedFeed | str:
    """The feed, or why it is not a JSON Feed (a message for the user)."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        return f"not a feed: the JSON cannot be read ({type(e).__name__}: {e})"
    if not isinstance(document, dict) or not str(document.get("version", "")).startswith(VERSIONS):
        return 'not a feed: JSON, but not a JSON Feed (no "version": "https://jsonfeed.org/version/1.1")'
    items = document.get("items")
    if not isinstance(items, list):
        return 'not a feed: a JSON Feed needs an "items" list'
    entries = tuple(_entry(item, base_url) for item in items if isinstance(item, dict))
    return ParsedFeed(title=_string(document.get("title")), entries=entries)


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _entry(item: dict[str, Any], base_url: str) -> Entry:
    raw_id = item.get("id")
    guid = str(raw_id).strip() if isinstance(raw_id, str | int | float) and not isinstance(raw_id, bool) else ""
    link = _string(item.get("url")).strip() or _string(item.get("external_url")).strip()
    content = _string(item.get("content_html")) or html.escape(_string(item.get("content_text")), quote=False)
    summary = html.escape(_string(item.get("summary")), quote=False)
    return Entry(
        guid=guid or None,
        link=urljoin(base_url, link) if link else None,
        title=_string(item.get("title")),
        summary_html=summary or content,  # as feedparser does for RSS and Atom
        content_html=content,
        published=parse_date(_string(item.get("date_published")) or _string(item.get("date_modified"))),
    )
