"""The HTTP edge: fetch feeds concurrently with conditional GET, timeouts, limits and a size cap.

Never raises for a feed's own failure: every outcome is a ``FetchResult`` value.

- Client: one ``aiohttp.ClientSession`` per cycle. Its C-accelerated HTTP/1.1 client spends
  about a third of httpx's CPU per request (0.2 against 0.6 s per 1,000 conditional GETs on
  loopback, ``bench/README.md``), which is most of what an unchanged feed costs.
- Concurrency: a global semaphore (``[fetch] concurrency``) and one per host (``per_host``),
  taken per-host first so a busy host never holds global slots idle. Each host has its own
  session (connection pool), closed after its last feed of the cycle, so idle keep-alive
  sockets never pile up towards the fd limit when a list spans thousands of hosts.
- Time: connect and read timeouts from aiohttp, and a total deadline (``asyncio.timeout``)
  around the whole request, body included, because a read timeout is per read: a server
  dripping one byte a second would otherwise never time out.
- Size: ``Content-Length`` is checked first; then the raw (still compressed) bytes are read
  (``auto_decompress=False``) and decompressed here, incrementally, with ``max_length``, so a
  gzip bomb stops at the cap instead of expanding a whole chunk in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import queue
import socket
import ssl
import threading
import time
import urllib.request
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import certifi

from monitor import __version__
from monitor.model import FeedState, Fetched, FetchFailed, FetchResult, NotModified
from monitor.retry_after import parse_retry_after

USER_AGENT = f"monitor/{__version__} (event-driven news monitor; +https://github.com/monitor-news/monitor)"
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
ACCEPT_ENCODING = "gzip, deflate"  # only what _decoder handles; never br/zstd even if installed
MAX_HEADER_LINE = 32 * 1024  # aiohttp's default of 8 KiB rejects real sites' long CSP or cookie headers


@dataclass(frozen=True, slots=True)
class FetchLimits:
    timeout: float = 20.0  # total seconds, body included
    connect_timeout: float = 10.0
    max_bytes: int = 10 * 1024 * 1024  # decompressed
    max_redirects: int = 5
    read_timeout: float = 10.0  # seconds of silence between two reads
    concurrency: int = 20
    per_host: int = 2


def conditional_headers(state: FeedState | None) -> dict[str, str]:
    headers = {}
    if state and state.etag:
        headers["if-none-match"] = state.etag
    if state and state.last_modified:
        headers["if-modified-since"] = state.last_modified
    return headers


def make_session(limits: FetchLimits, trust_env: bool) -> aiohttp.ClientSession:
    """A session (and its connection pool); create it on the loop that uses it. Certificates
    come from certifi. ``trust_env``: use the proxy the environment names (see ``Gate``)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limits.per_host, limit_per_host=limits.per_host, ssl=_tls_context()),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=limits.connect_timeout, sock_read=limits.read_timeout),
        headers={"user-agent": USER_AGENT, "accept": ACCEPT, "accept-encoding": ACCEPT_ENCODING},
        auto_decompress=False,
        trust_env=trust_env,
        max_line_size=MAX_HEADER_LINE,
        max_field_size=MAX_HEADER_LINE,
    )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Built once per process: loading the CA bundle costs ~15 ms, and the daemon fetches each
    feed job in a cycle of its own."""
    return ssl.create_default_context(cafile=certifi.where())


class Gate:
    """One cycle's requests on one event loop: the global and per-host limits, and a session
    per host, closed after the host's last feed of the cycle, so keep-alive serves a host's
    feeds but a cycle over thousands of hosts never piles up an idle socket per host.

    Proxies come from the usual environment variables (``HTTPS_PROXY``, ``NO_PROXY``). aiohttp's
    ``trust_env`` looks them (and ``.netrc``) up in a worker thread on every request, which
    tripled the CPU of a warm cycle, so it is on only when the environment names a proxy.
    """

    def __init__(self, limits: FetchLimits, urls: Sequence[str]) -> None:
        self.limits = limits
        self.all = asyncio.Semaphore(limits.concurrency)
        self.hosts: dict[str, asyncio.Semaphore] = {}
        self.sessions: dict[str, aiohttp.ClientSession] = {}
        self.host_of = [_host(url) for url in urls]  # by request index: each URL is parsed once
        self.remaining = Counter(self.host_of)
        self.trust_env = bool(urllib.request.getproxies_environment())

    async def fetch(
        self, url: str, state: FeedState | None, index: int, hand_over: Callable[[int, FetchResult], Awaitable[None]]
    ) -> None:
        """Fetch ``urls[index]`` under both limits, then ``hand_over`` the result while still holding them."""
        host = self.host_of[index]
        if host is None:
            await hand_over(index, FetchFailed(url, "http", "the URL is not a valid http(s) URL"))
            return
        per_host = self.hosts.setdefault(host, asyncio.Semaphore(self.limits.per_host))
        async with per_host, self.all:
            session = self.sessions.get(host) or self.sessions.setdefault(
                host, make_session(self.limits, self.trust_env)
            )
            result = await fetch(session, url, state, self.limits)
            self.remaining[host] -= 1
            if not self.remaining[host]:
                await self.sessions.pop(host).close()
            await hand_over(index, result)

    async def aclose(self) -> None:
        """Close what a cancelled cycle left open."""
        sessions, self.sessions = list(self.sessions.values()), {}
        for session in sessions:
            await session.close()


def _host(url: str) -> str | None:
    parts = urlsplit(url)
    return parts.netloc.lower() if parts.scheme.lower() in ("http", "https") and parts.hostname else None


Request = tuple[str, FeedState | None]  # (url, what the store remembers about the feed)


def fetch_many(requests: Sequence[Request], limits: FetchLimits) -> Iterator[tuple[int, FetchResult]]:
    """Fetch every request concurrently, yielding (index, result) as each one completes.

    The event loop runs in its own thread, so the caller can work on one feed's result (parse,
    match, store) while the others download. A finished fetch keeps its slots until there is room
    in the hand-over queue, so at most ``2 * concurrency`` bodies exist at once however far the
    caller falls behind. Closing the iterator early cancels what is still running.
    """
    results: queue.Queue[tuple[int, FetchResult] | BaseException | None] = queue.Queue()
    loop_ready = threading.Event()
    shared: dict[str, Any] = {}

    async def run() -> None:
        shared["loop"], shared["room"] = asyncio.get_running_loop(), asyncio.Semaphore(limits.concurrency)
        loop_ready.set()
        gate = Gate(limits, [url for url, _ in requests])

        async def hand_over(index: int, result: FetchResult) -> None:
            await shared["room"].acquire()  # released by the consumer when it takes a result
            results.put((index, result))

        try:
            tasks = [
                asyncio.create_task(gate.fetch(url, state, i, hand_over)) for i, (url, state) in enumerate(requests)
            ]
            shared["tasks"] = tasks
            for task in asyncio.as_completed(tasks):
                await task  # a bug in here must surface, not vanish
        finally:
            await gate.aclose()

    def thread() -> None:
        try:
            asyncio.run(run())
            results.put(None)
        except asyncio.CancelledError:
            results.put(None)
        except BaseException as e:  # handed to the caller's thread, which re-raises it
            results.put(e)
        finally:
            loop_ready.set()

    worker = threading.Thread(target=thread, name="monitor-fetch", daemon=True)
    worker.start()
    loop_ready.wait()
    try:
        while (got := results.get()) is not None:
            if isinstance(got, BaseException):
                raise got
            _call_soon(shared["loop"], shared["room"].release)
            yield got
    finally:
        for task in shared.get("tasks", []):
            _call_soon(shared["loop"], task.cancel)
        worker.join()


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[[], object]) -> None:
    """Run ``callback`` on the fetch loop, unless that loop has already finished."""
    with contextlib.suppress(RuntimeError):  # closed: every fetch is done, nothing left to tell it
        loop.call_soon_threadsafe(callback)


async def fetch(session: aiohttp.ClientSession, url: str, state: FeedState | None, limits: FetchLimits) -> FetchResult:
    """One feed request under a total deadline; every outcome is a value."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(limits.timeout):
            return await _get(session, url, state, limits, started)
    except aiohttp.ConnectionTimeoutError:
        return FetchFailed(url, "timeout", f"could not connect within {limits.connect_timeout:g}s; is the server down?")
    except aiohttp.SocketTimeoutError:
        return FetchFailed(url, "timeout", f"the server went silent for {limits.read_timeout:g}s; is it overloaded?")
    except TimeoutError:
        return FetchFailed(
            url, "timeout", f"no complete answer within {limits.timeout:g}s (a slow server or an endless body)"
        )
    except aiohttp.TooManyRedirects:
        return FetchFailed(url, "redirects", f"more than {limits.max_redirects} redirects (a redirect loop?)")
    except aiohttp.ClientConnectorError as e:
        return connect_failure(url, e)
    except CorruptBody as e:
        return FetchFailed(url, "http", f"the compressed body is corrupt: {e}")
    except aiohttp.ClientError as e:
        return FetchFailed(url, "http", _client_error(e))


async def _get(
    session: aiohttp.ClientSession, url: str, state: FeedState | None, limits: FetchLimits, started: float
) -> FetchResult:
    headers = conditional_headers(state)
    async with session.get(url, headers=headers, max_redirects=limits.max_redirects) as response:
        headers = {k.lower(): v for k, v in response.headers.items()}
        status = response.status
        if status >= 300:
            await _discard(response.content)
        if status == 304:
            return NotModified(url, headers)
        if status >= 400:
            return _http_failure(url, status, headers)
        if status >= 300:
            return FetchFailed(url, "http", f"HTTP {status} without a usable Location header")
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limits.max_bytes:
            return _too_large(url, limits)
        encoding = headers.pop("content-encoding", "identity")
        decoder = _decoder(encoding)
        if decoder is None:
            return FetchFailed(url, "http", f"unsupported content-encoding {encoding!r}")
        body = await _read_capped(response.content.iter_any(), decoder, limits.max_bytes)
        if body is None:
            return _too_large(url, limits)
        headers.pop("content-length", None)  # described the wire bytes, not the decoded body
        return Fetched(
            url=url,
            final_url=str(response.url),
            status=status,
            headers=headers,
            body=body,
            elapsed=timedelta(seconds=time.monotonic() - started),
            permanent_redirect=any(r.status in (301, 308) for r in response.history),
        )


async def _discard(content: aiohttp.StreamReader, limit: int = 65536) -> None:
    """Read a small unwanted body (304, errors) to its end, so the connection is kept for the
    host's next feed; a response not read to the end cannot be reused."""
    seen = 0
    async for chunk in content.iter_any():
        seen += len(chunk)
        if seen > limit:
            return


def _client_error(error: aiohttp.ClientError) -> str:
    """Words for what went wrong at the HTTP level, for ``monitor status``."""
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without a complete answer"
    if isinstance(error, aiohttp.ClientPayloadError):
        return f"the body was cut short or malformed: {error}"
    if isinstance(error, aiohttp.NonHttpUrlClientError | aiohttp.InvalidURL):
        return f"not a fetchable http(s) URL: {error}"
    if isinstance(error, aiohttp.ClientResponseError):
        return f"the server's answer is not valid HTTP: {error.message}"
    return f"{type(error).__name__}: {error}"


Decoder = Callable[[bytes, int], bytes]


def _decoder(encoding: str) -> Decoder | None:
    """A function (chunk, max_length) -> decoded bytes for one Content-Encoding, or None if unknown."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return lambda chunk, max_length: chunk
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(wbits=31).decompress
    if encoding == "deflate":
        return _Deflate().decompress
    return None


class _Deflate:
    """'deflate' is zlib-wrapped per the RFC, but some servers send raw deflate: try both."""

    def __init__(self) -> None:
        self.inner = zlib.decompressobj(wbits=15)
        self.started = False

    def decompress(self, chunk: bytes, max_length: int) -> bytes:
        if not self.started:
            self.started = True
            try:
                return self.inner.decompress(chunk, max_length)
            except zlib.error:
                self.inner = zlib.decompressobj(wbits=-15)
        return self.inner.decompress(chunk, max_length)


class CorruptBody(Exception):
    """A gzip or deflate body that does not decompress."""


async def _read_capped(raw: AsyncIterator[bytes], decode: Decoder, max_bytes: int) -> bytes | None:
    """The decoded body, or None as soon as it (or the wire) would pass ``max_bytes``.

    ``max_length`` bounds each decompression step, so at most ``max_bytes + 1`` decoded bytes
    ever exist at once, whatever the compression ratio.
    """
    body = bytearray()
    wire = 0
    try:
        async for chunk in raw:
            wire += len(chunk)
            room = max_bytes - len(body)
            decoded = decode(chunk, room + 1)
            if len(decoded) > room or wire > max_bytes:
                return None
            body += decoded
    except zlib.error as e:
        raise CorruptBody(str(e)) from e
    return bytes(body)


def _too_large(url: str, limits: FetchLimits) -> FetchFailed:
    return FetchFailed(
        url,
        "too_large",
        f"the body is larger than {limits.max_bytes} bytes (decompressed); raise [fetch] max_bytes if it is real",
    )


def _http_failure(url: str, status: int, headers: dict[str, str]) -> FetchFailed:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "error"
    hint = {
        404: "; check the feed URL",
        410: "; the feed is gone, remove it",
        401: "; the feed needs auth",
        429: "; the server asks us to slow down",
    }
    return FetchFailed(
        url,
        "http",
        f"HTTP {status} {reason}{hint.get(status, '')}",
        status=status,
        retry_after=parse_retry_after(headers.get("retry-after")) if status in (429, 503) else None,
    )


def connect_failure(url: str, error: BaseException) -> FetchFailed:
    """Name the cause of a failed connection: the host name does not resolve, TLS failed, or the
    host did not accept the connection. aiohttp keeps the socket error in ``os_error``; the
    exception chain is searched too."""
    host = urlsplit(url).hostname or url
    causes: list[BaseException] = []
    cause: BaseException | None = error
    while cause is not None and len(causes) < 10:
        causes += [cause, *([cause.os_error] if isinstance(cause, aiohttp.ClientOSError) else [])]
        cause = cause.__cause__ or cause.__context__
    if any(isinstance(c, socket.gaierror | aiohttp.ClientConnectorDNSError) for c in causes):
        return FetchFailed(url, "dns", f"cannot resolve {host}: check the feed URL, or the machine's DNS and network")
    reason = next((c for c in reversed(causes) if isinstance(c, OSError)), error)
    if any(isinstance(c, ssl.SSLError | ssl.CertificateError) for c in causes):
        return FetchFailed(url, "tls", f"TLS with {host} failed: {reason}")
    return FetchFailed(url, "connect", f"cannot connect to {host}: {reason or type(reason).__name__}")
