"""Fetched bytes + headers -> ParsedFeed: JSON Feed through ``jsonfeed``, plain RSS/Atom through
the fast path (``xmlfeed``), everything else through feedparser, which recovers what it can from
broken feeds (bozo feeds with entries are used; their problem is kept as a warning).

feedparser gets a file object (``io.BytesIO``), never a string or bytes it could take for a path
or URL, and the response headers with lower-case keys so encodings and relative links resolve.
It raises for a whole feed when one entry holds a character reference to what is not a character
(``&#xD800;``, ``&#x110000;``), so those references become U+FFFD before it reads the bytes: one
bad entry then costs only its own odd character. It can still raise on other malformed feeds
despite its ``bozo`` flag, so any exception here becomes that feed's failure, never the cycle's.
Failure messages and warnings quote the server and the feed, so they are cleaned like feed text.
"""

from __future__ import annotations

import calendar
import html
import io
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit
from xml.sax import SAXParseException

from monitor.intake import jsonfeed, xmlfeed
from monitor.model import Entry, Fetched, FetchFailed, ParsedFeed
from monitor.textsafety import clean

if TYPE_CHECKING:
    import feedparser

_ALTERNATE = re.compile(rb"<link[^>]+type=[\"']application/(?:rss\+xml|atom\+xml|feed\+json)[\"'][^>]*>", re.IGNORECASE)
_HREF = re.compile(rb"href=[\"']([^\"']+)[\"']", re.IGNORECASE)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._-]+)[\"']?", re.IGNORECASE)
_DECLARED = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
# Numeric character references long enough to name a surrogate (U+D800-U+DFFF) or a number beyond
# U+10FFFF: the candidates, which _not_a_character then checks.
_LONG_CHARREF = re.compile(rb"&#(?:[xX]0*([0-9a-fA-F]{4,})|0*([0-9]{5,}))")


def parse(fetched: Fetched) -> ParsedFeed | FetchFailed:
    """The feed's entries: through the fast path when the XML is plain, else through feedparser."""
    if not fetched.body.strip():
        return FetchFailed(fetched.url, "not_a_feed", "the server sent an empty body, not a feed")
    if jsonfeed.looks_like(fetched.body, fetched.headers.get("content-type", "")):
        parsed = jsonfeed.parse(fetched.body, fetched.final_url)
        return parsed if isinstance(parsed, ParsedFeed) else _failed(fetched, "not_a_feed", parsed)
    headers = _trust_utf8_document(dict(fetched.headers), fetched.body)
    fast = xmlfeed.parse(fetched.body, headers, fetched.final_url)
    if fast is not None:
        return fast
    headers.setdefault("content-location", fetched.final_url)
    import feedparser  # here: most feeds take the fast path, and importing it costs ~10 ms per process

    body = _LONG_CHARREF.sub(_not_a_character, fetched.body)
    try:
        result = feedparser.parse(io.BytesIO(body), response_headers=headers, sanitize_html=True)
    except Exception as e:  # feedparser raises on some hostile input (issue #599 and friends)
        return _failed(fetched, "parse", f"the feed could not be parsed: {type(e).__name__}: {e}")

    if not result.get("version") and not result.entries:
        return _failed(fetched, "not_a_feed", _not_a_feed_message(fetched, result))
    if not result.entries and isinstance(result.get("bozo_exception"), SAXParseException):
        problem = result.get("bozo_exception")
        return _failed(fetched, "parse", f"invalid XML, and no entry could be recovered: {problem}")

    entries = tuple(_entry(raw) for raw in result.entries)
    warnings: tuple[str, ...] = ()
    if result.get("bozo"):
        warnings = (clean(f"{type(result.get('bozo_exception')).__name__}: {result.get('bozo_exception')}"),)
    return ParsedFeed(
        title=result.feed.get("title", "") or "",
        entries=entries,
        warnings=warnings,
        ttl=_ttl(result.feed.get("ttl")),
    )


def _failed(fetched: Fetched, kind: str, message: str) -> FetchFailed:
    return FetchFailed(fetched.url, kind, clean(message))


def _not_a_character(reference: re.Match[bytes]) -> bytes:
    """A reference to a surrogate or beyond Unicode as U+FFFD (as HTML reads it); others unchanged.
    Decimal stays decimal and hex stays hex: the digits after it could otherwise join the number."""
    hexadecimal, decimal = reference.groups()
    code = int(hexadecimal, 16) if hexadecimal else int(decimal)
    if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        return b"&#xFFFD" if hexadecimal else b"&#65533"
    return reference.group()


def _trust_utf8_document(headers: dict[str, str], body: bytes) -> dict[str, str]:
    """Drop the server's charset when it contradicts a document that declares UTF-8 and is valid
    UTF-8. RFC 3023 lets the server win, but servers mislabel far more often than valid UTF-8
    happens by accident (feedparser would turn "Zürich" into "ZÃ¼rich")."""
    content_type = headers.get("content-type", "")
    charset = _CHARSET.search(content_type)
    if not charset or charset.group(1).lower().replace("_", "-") in ("utf-8", "utf8"):
        return headers
    declared = _DECLARED.match(body[:200])
    if not declared or declared.group(1).lower() not in (b"utf-8", b"utf8"):
        return headers
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return headers
    headers["content-type"] = content_type[: charset.start()].rstrip("; ")
    return headers


def _not_a_feed_message(fetched: Fetched, result: feedparser.FeedParserDict) -> str:
    content_type = fetched.headers.get("content-type", "unknown type")
    message = f"not a feed (content-type {content_type})"
    if suggestion := _advertised_feed(fetched.body, fetched.final_url):
        message += f"; the page advertises a feed at {suggestion}: use that URL"
    elif result.get("bozo_exception"):
        message += f": {result.get('bozo_exception')}"
    return message


def _advertised_feed(page: bytes, page_url: str) -> str | None:
    """The first feed a page advertises with ``<link rel="alternate" type=...>`` that is an http(s)
    URL once resolved against the page's URL; never a ``javascript:``, ``data:`` or ``file:`` one."""
    for link in _ALTERNATE.finditer(page[:200_000]):
        if href := _HREF.search(link.group(0)):
            try:
                url = urljoin(page_url, clean(html.unescape(href.group(1).decode("utf-8", "replace"))).strip())
                parts = urlsplit(url)
                if parts.scheme.lower() in ("http", "https") and parts.hostname:
                    return url
            except ValueError:  # an invalid IPv6 host, say
                continue
    return None


def _ttl(value: object) -> timedelta | None:
    try:
        minutes = int(str(value))
    except (TypeError, ValueError):
        return None
    return timedelta(minutes=minutes) if minutes > 0 else None


def _date(raw: feedparser.FeedParserDict) -> datetime | None:
    # feedparser gives naive struct_time already normalised to UTC: use timegm, never mktime.
    # dict.get: FeedParserDict's own get warns about its updated -> published fallback
    parsed = dict.get(raw, "published_parsed") or dict.get(raw, "updated_parsed")
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _entry(raw: feedparser.FeedParserDict) -> Entry:
    contents = raw.get("content") or []
    content_html = "\n".join(c.get("value", "") for c in contents if isinstance(c, dict))
    title_detail = raw.get("title_detail") or {}
    return Entry(
        guid=(raw.get("id") or None),
        link=(raw.get("link") or None),
        title=raw.get("title", "") or "",
        title_is_html=title_detail.get("type") in ("text/html", "application/xhtml+xml"),
        summary_html=raw.get("summary", "") or "",
        content_html=content_html,
        published=_date(raw),
    )
