"""Wrapped links: aggregator redirect links (Google News, FeedBurner/feedproxy, t.co, ...) -> the
publisher's URL, so that identity is computed on the article's own address.

``unwrap`` is pure: it reads the target from the link's query or from another URL the feed gives
(a permalink GUID). ``follow`` is the HTTP edge for the rest: it follows the redirects' Location
headers without reading a page. The pipeline asks it only for a wrapped link the feed does not resolve
and that is not already known, so each wrapped link costs at most one request.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urljoin, urlsplit

from monitor.intake.fetch import USER_AGENT, FetchLimits
from monitor.intake.normalise import canonical_url

if TYPE_CHECKING:
    import httpx

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


def unwrap(url: str | None, *alternatives: str | None) -> str | None:
    """The publisher URL behind an aggregator redirect link, canonicalised.

    The target is taken from the link's own query (``?url=https://publisher/...``), else from the
    first alternative the feed gives (FeedBurner's ``feedburner:origLink``, a GUID that is a
    permalink) that is not itself wrapped. A link that reveals nothing stays as it is.
    """
    if not is_wrapped(url):
        return canonical_url(url)
    query = parse_qs(urlsplit(url or "").query)
    for name in _REDIRECT_PARAMS:
        for value in query.get(name, ()):
            if value.startswith(("http://", "https://")) and not is_wrapped(value):
                return canonical_url(value)
    for other in alternatives:
        if other and other.startswith(("http://", "https://")) and not is_wrapped(other):
            return canonical_url(other)
    return canonical_url(url)


def make_client(limits: FetchLimits) -> httpx.Client:
    """The blocking client ``follow`` uses, from the pipeline's thread."""
    import httpx  # imported here: few feeds need it, and it costs every start ~40 ms

    timeout = httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout)
    return httpx.Client(timeout=timeout, headers={"user-agent": USER_AGENT})


def follow(client: httpx.Client, url: str, max_hops: int) -> str | None:
    """Where the redirects from ``url`` end (no page body is read), or None when ``url`` does not
    redirect, the request fails, or the chain ends on an aggregator or exceeds ``max_hops``."""
    import httpx

    final = None
    for _ in range(max_hops):
        try:
            with client.stream("GET", url, follow_redirects=False) as response:
                location = response.headers.get("location")
                if not response.is_redirect or not location:
                    break
        except httpx.HTTPError:
            break
        url = final = urljoin(url, location)
    return final if final and not is_wrapped(final) else None
