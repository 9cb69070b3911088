"""The HTTP edge: fetch one feed with conditional GET, timeouts, a total deadline and a size cap.

Never raises for a feed's own failure: every outcome is a ``FetchResult`` value.
httpx's read timeout applies per read, so a server dripping bytes is stopped by our own
total deadline, checked between chunks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from monitor import __version__
from monitor.model import FeedState, Fetched, FetchFailed, FetchResult, NotModified

USER_AGENT = f"monitor/{__version__} (event-driven news monitor; +https://github.com/monitor-news/monitor)"
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


@dataclass(frozen=True, slots=True)
class FetchLimits:
    timeout: float = 20.0  # total seconds, body included
    connect_timeout: float = 10.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5


def conditional_headers(state: FeedState | None) -> dict[str, str]:
    headers = {}
    if state and state.etag:
        headers["if-none-match"] = state.etag
    if state and state.last_modified:
        headers["if-modified-since"] = state.last_modified
    return headers


def parse_retry_after(value: str | None, now: datetime | None = None) -> timedelta | None:
    """Retry-After is either seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - (now or datetime.now(UTC)), timedelta(0))


def make_client(limits: FetchLimits) -> httpx.Client:
    timeout = httpx.Timeout(limits.timeout, connect=limits.connect_timeout)
    return httpx.Client(
        timeout=timeout,
        follow_redirects=True,
        max_redirects=limits.max_redirects,
        headers={"user-agent": USER_AGENT, "accept": ACCEPT},
    )


def fetch(client: httpx.Client, url: str, state: FeedState | None, limits: FetchLimits) -> FetchResult:
    started = time.monotonic()
    deadline = started + limits.timeout
    try:
        with client.stream("GET", url, headers=conditional_headers(state)) as response:
            headers = {k.lower(): v for k, v in response.headers.items()}
            if response.status_code == 304:
                return NotModified(url, headers)
            if response.status_code >= 400:
                return _http_failure(url, response.status_code, headers)
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limits.max_bytes:
                return _too_large(url, limits)
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > limits.max_bytes:
                    return _too_large(url, limits)
                if time.monotonic() > deadline:
                    return FetchFailed(url, "timeout", f"the body took longer than {limits.timeout:g}s")
            permanent = any(r.status_code in (301, 308) for r in response.history)
            return Fetched(
                url=url,
                final_url=str(response.url),
                status=response.status_code,
                headers=headers,
                body=bytes(body),
                elapsed=timedelta(seconds=time.monotonic() - started),
                permanent_redirect=permanent,
            )
    except httpx.TooManyRedirects:
        return FetchFailed(url, "redirects", f"more than {limits.max_redirects} redirects (a redirect loop?)")
    except httpx.TimeoutException as e:
        return FetchFailed(url, "timeout", f"timed out ({type(e).__name__}); is the server slow or down?")
    except httpx.ConnectError as e:
        kind = "tls" if "SSL" in str(e) or "certificate" in str(e) else "connect"
        return FetchFailed(url, kind, f"cannot connect: {e}")
    except httpx.HTTPError as e:
        return FetchFailed(url, "http", f"{type(e).__name__}: {e}")


def _too_large(url: str, limits: FetchLimits) -> FetchFailed:
    return FetchFailed(
        url,
        "too_large",
        f"the body is larger than {limits.max_bytes} bytes; raise [fetch] max_bytes if it is real",
    )


def _http_failure(url: str, status: int, headers: dict[str, str]) -> FetchFailed:
    reason = httpx.codes.get_reason_phrase(status) or "error"
    hint = {404: "; check the feed URL", 410: "; the feed is gone, remove it", 401: "; the feed needs auth"}
    return FetchFailed(
        url,
        "http",
        f"HTTP {status} {reason}{hint.get(status, '')}",
        status=status,
        retry_after=parse_retry_after(headers.get("retry-after")) if status in (429, 503) else None,
    )
