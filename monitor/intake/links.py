"""Wrapped links: aggregator redirect links (Google News, FeedBurner/feedproxy, t.co, ...) -> the
publisher's URL, so that identity is computed on the article's own address.

``unwrap`` is pure: it reads the target from the link's query or from another URL the feed gives
(a permalink GUID). ``follow_many`` is the HTTP edge for the rest: it follows the redirects
without reading a page, for all of a poll's links at once under one deadline. The pipeline asks it
only for wrapped links the feed does not resolve and that are not already known, so each wrapped
link costs at most one request.
"""

from __future__ import annotations

import re
import time
import urllib.request
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

import pycurl

from monitor.intake.fetch import curl_handle
from monitor.intake.normalise import canonical_url, display_link
from monitor.settings import FetchSettings

# Aggregator hosts whose links redirect to the publisher; where the link carries the target in a
# query parameter we take it from there, else the feed's own <link>/<guid> may reveal it.
_REDIRECT_PARAMS = ("url", "u", "q", "target", "dest", "destination")
_AGGREGATORS = re.compile(
    r"(^|\.)(news\.google\.com|feedproxy\.google\.com|feeds\.feedburner\.com|feedburner\.com|"
    r"l\.facebook\.com|t\.co|bing\.com|r\.search\.yahoo\.com|flipboard\.com|apple\.news)$"
)


def is_wrapped(url: str | None) -> bool:
    """Whether ``url`` is an aggregator's redirect rather than the publisher's page."""
    host = urlsplit(url or "").hostname or ""
    return bool(_AGGREGATORS.search(host))


def publisher_link(url: str | None, *alternatives: str | None) -> str | None:
    """The publisher URL behind an aggregator redirect link, as given (``normalise.display_link``:
    tracking parameters dropped, nothing else rewritten): what people are shown.

    The target is taken from the link's own query (``?url=https://publisher/...``), else from the
    first alternative the feed gives (FeedBurner's ``feedburner:origLink``, a GUID that is a
    permalink) that is not itself wrapped. A link that reveals nothing stays as it is.
    """
    if not is_wrapped(url):
        return display_link(url)
    query = parse_qs(urlsplit(url or "").query)
    for name in _REDIRECT_PARAMS:
        for value in query.get(name, ()):
            if value.startswith(("http://", "https://")) and not is_wrapped(value):
                return display_link(value)
    for other in alternatives:
        if other and other.startswith(("http://", "https://")) and not is_wrapped(other):
            return display_link(other)
    return display_link(url)


def unwrap(url: str | None, *alternatives: str | None) -> str | None:
    """``publisher_link``, canonicalised: the identity form."""
    return canonical_url(publisher_link(url, *alternatives))


def follow_many(urls: Iterable[str], limits: FetchSettings) -> dict[str, str | None]:
    """Where the redirects from each URL end (no page body is read): None when a URL does not
    redirect, its request fails, or the chain ends on an aggregator.

    All at once, within one ``limits.timeout`` in all (name lookups included) and at most
    ``per_host`` requests per host: a feed of a hundred aggregator links behind a slow host or
    resolver costs its poll that long once, instead of a wait per link. A chain cut short by
    the deadline or ``max_redirects`` ends where it got to.
    """
    proxies = urllib.request.getproxies_environment()
    multi = pycurl.CurlMulti()
    multi.setopt(pycurl.M_MAX_HOST_CONNECTIONS, limits.per_host)
    multi.setopt(pycurl.M_MAX_TOTAL_CONNECTIONS, limits.concurrency)
    started: dict[pycurl.Curl, str] = {}
    found: dict[str, str | None] = {}
    try:
        for url in dict.fromkeys(urls):
            try:
                handle = curl_handle(url, limits, proxies)
            except (pycurl.error, UnicodeError, ValueError):
                found[url] = None
                continue
            handle.setopt(pycurl.WRITEFUNCTION, lambda chunk: 0)  # the chain ended on a page: stop there
            multi.add_handle(handle)
            started[handle] = url
        while multi.perform()[1]:
            if multi.select(0.05) == -1:
                time.sleep(0.002)  # nothing to wait on yet (a name being resolved)
        for handle, url in started.items():
            end = handle.getinfo(pycurl.EFFECTIVE_URL) if handle.getinfo(pycurl.REDIRECT_COUNT) else None
            found[url] = end if end and not is_wrapped(end) else None
    finally:
        for handle in started:
            multi.remove_handle(handle)
            handle.close()
        multi.close()
    return found
