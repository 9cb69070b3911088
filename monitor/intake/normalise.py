"""Feed entries -> Items: HTML to plain text, canonical URLs (identity) and display links (what
people follow), UTC dates, a content fingerprint.

Every text field and URL is cleaned here (``textsafety.clean``: controls, lone surrogates,
invisible format characters), once, so nothing downstream (rules, store, Slack, email) sees them.
Pure functions: the time of first sight is passed in.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import SplitResult, parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from monitor.model import Entry, Item, ParsedFeed
from monitor.textsafety import clean

MAX_TEXT_CHARS = 20_000  # per field: enough for any article, bounded for hostile entries
MAX_TITLE_CHARS = 500
MAX_MARKUP_CHARS = 10 * MAX_TEXT_CHARS  # HTML read per field; the rest of an enormous entry is dropped
FUTURE_SLACK = timedelta(days=1)  # a date further ahead than this is a feed's error

# Query parameters that only track the reader and never change the document.
_TRACKING = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|igshid|yclid|_hsenc|_hsmi|"
    r"mkt_tok|ref_src|cmpid|ncid|sr_share|spm|__twitter_impression)$",
    re.IGNORECASE,
)
_SPACE = re.compile(r"\s+")


class _TextExtractor(HTMLParser):
    """Collects the visible text of an HTML fragment (the tokenizer BeautifulSoup's html.parser
    builder uses, without building a tree: about 8x faster, which matters at 20,000 items a cycle)."""

    HIDDEN = frozenset(("script", "style", "noscript", "template"))

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment, cleaned, words separated, whitespace collapsed. Only the
    first ``MAX_MARKUP_CHARS`` are read, so an enormous entry costs no more than a large one."""
    if not markup:
        return ""
    markup = markup[:MAX_MARKUP_CHARS]
    if "<" not in markup and "&" not in markup:
        return one_line(markup)
    extractor = _TextExtractor()
    extractor.feed(markup)
    extractor.close()
    return one_line(" ".join(extractor.parts))


def one_line(text: str) -> str:
    """Text from outside, cleaned, whitespace collapsed. Collapsing first leaves most text
    printable, which ``clean`` passes at once; what it drops may leave spaces to collapse again."""
    flat = _SPACE.sub(" ", text).strip()
    cleaned = clean(flat)
    return cleaned if len(cleaned) == len(flat) else _SPACE.sub(" ", cleaned).strip()


def _web(url: str | None) -> tuple[str, SplitResult] | None:
    """A URL from outside, cleaned, with its parts; None unless it is http(s) with a host."""
    if not url:
        return None
    url = clean(url).strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url, parts


def canonical_url(url: str | None) -> str | None:
    """Scheme and host lower-cased, default port, fragment and tracking parameters dropped,
    an empty path written as '/', a trailing slash removed from other paths."""
    if (web := _web(url)) is None:
        return None
    parts = web[1]
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")  # never empty: _web checked it
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, 80 if scheme == "http" else 443) else f"{host}:{port}"
    path = parts.path or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)])
    return urlunsplit((scheme, netloc, path, query, ""))


def display_link(url: str | None) -> str | None:
    """The link as published, for people to follow: cleaned, http(s) only, tracking parameters
    (``utm_*``, ``fbclid``, ...) dropped, and nothing else rewritten: no case, slash, port or
    encoding changes, the fragment kept. ``canonical_url`` is the identity form, never shown."""
    if (web := _web(url)) is None:
        return None
    url = web[0]
    main, hash_, fragment = url.partition("#")
    base, question, query = main.partition("?")
    pairs = query.split("&")
    kept = [pair for pair in pairs if not _TRACKING.match(unquote_plus(pair.partition("=")[0]))]
    if not question or len(kept) == len(pairs):
        return url
    return base + ("?" + "&".join(kept) if kept else "") + hash_ + fragment


def fold(text: str) -> str:
    """Unicode-normalised, case-folded text for comparisons."""
    return unicodedata.normalize("NFKC", text).casefold()


def fingerprint(title: str, text: str) -> str:
    """A hash of the words of title + text, insensitive to case, spacing and punctuation."""
    words = re.findall(r"\w+", fold(f"{title} {text}"))
    return hashlib.sha256(" ".join(words).encode()).hexdigest()[:32]


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def item(entry: Entry, feed: str, first_seen: datetime) -> Item:
    title = _cap(
        html_to_text(entry.title) if entry.title_is_html else one_line(entry.title),
        MAX_TITLE_CHARS,
    )
    summary = _cap(html_to_text(entry.summary_html), MAX_TEXT_CHARS)
    content = _cap(html_to_text(entry.content_html), MAX_TEXT_CHARS) or summary
    guid = clean(entry.guid).strip()[:1000] if entry.guid else None
    published = entry.published
    if published is None or published > first_seen + FUTURE_SLACK:
        published = first_seen
    return Item(
        feed=feed,
        guid=guid or None,
        url=canonical_url(entry.link),
        link=display_link(entry.link),
        title=title or "(untitled)",
        summary=summary,
        content=content,
        published=published,
        first_seen=first_seen,
        fingerprint=fingerprint(title, content or summary),
    )


def items(parsed: ParsedFeed, feed: str, first_seen: datetime) -> tuple[Item, ...]:
    return tuple(item(entry, feed, first_seen) for entry in parsed.entries)
