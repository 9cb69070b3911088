"""The HTTP edge: fetch feeds concurrently with conditional GET, timeouts, limits and a size cap.

Never raises for a feed's own failure: every outcome is a ``FetchResult`` value.

- Concurrency: one ``httpx.AsyncClient``; a global semaphore (``[fetch] concurrency``) and one
  per host (``per_host``), taken per-host first so a busy host never holds global slots idle.
- Time: connect and read timeouts from httpx, and a total deadline (``asyncio.timeout``) around
  the whole request, body included, because httpx's read timeout is per read: a server dripping
  one byte a second would otherwise never time out.
- Size: ``Content-Length`` is checked first; then the raw (still compressed) bytes are read with
  ``iter_raw`` and decompressed here, incrementally, with ``max_length``, so a gzip bomb stops at
  the cap instead of expanding a whole chunk in memory (httpx's own decoder does not bound a
  chunk's output: 32 KB on the wire became 33.7 MB).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import socket
import ssl
import threading
import time
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from monitor import __version__
from monitor.model import FeedState, Fetched, FetchFailed, FetchResult, NotModified
from monitor.retry_after import parse_retry_after

USER_AGENT = f"monitor/{__version__} (event-driven news monitor; +https://github.com/monitor-news/monitor)"
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
ACCEPT_ENCODING = "gzip, deflate"  # only what _Decoder handles; never br/zstd even if installed


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


def make_client(limits: FetchLimits, transport: PerHostTransport | None = None) -> httpx.AsyncClient:
    timeout = httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout, pool=None)
    return httpx.AsyncClient(
        timeout=timeout,
        follow_redirects=True,
        max_redirects=limits.max_redirects,
        transport=transport or PerHostTransport(limits.per_host),
        headers={"user-agent": USER_AGENT, "accept": ACCEPT, "accept-encoding": ACCEPT_ENCODING},
    )


def make_blocking_client(limits: FetchLimits) -> httpx.Client:
    """A plain client for a one-off request outside the fetch loop (following a wrapped link)."""
    timeout = httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout)
    return httpx.Client(timeout=timeout, headers={"user-agent": USER_AGENT})


class PerHostTransport(httpx.AsyncBaseTransport):
    """One small connection pool per host instead of one big pool.

    httpcore's pool scans every connection for every queued request: with a hundred hosts in
    one pool that was 14 million ``is_idle`` calls and 3.5 ms of CPU per feed. Pools of
    ``per_host`` connections keep that scan trivial. ``release(host)`` closes a host's pool as
    soon as its last feed is done, so idle keep-alive sockets never pile up to the fd limit.
    """

    def __init__(self, per_host: int) -> None:
        self.per_host = per_host
        self.ssl = httpx.create_ssl_context()  # built once: loading the CA bundle costs ~10 ms
        self.pools: dict[tuple[bytes, bytes, int | None], httpx.AsyncHTTPTransport] = {}

    def _pool(self, url: httpx.URL) -> httpx.AsyncHTTPTransport:
        key = (url.raw_scheme, url.raw_host, url.port)
        pool = self.pools.get(key)
        if pool is None:
            limits = httpx.Limits(max_connections=self.per_host, max_keepalive_connections=self.per_host)
            pool = self.pools[key] = httpx.AsyncHTTPTransport(verify=self.ssl, limits=limits)
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._pool(request.url).handle_async_request(request)

    async def release(self, url: str) -> None:
        parsed = httpx.URL(url)
        pool = self.pools.pop((parsed.raw_scheme, parsed.raw_host, parsed.port), None)
        if pool is not None:
            await pool.aclose()

    async def aclose(self) -> None:
        pools, self.pools = list(self.pools.values()), {}
        for pool in pools:
            await pool.aclose()


class Gate:
    """The global and per-host limits for one cycle's requests, on one event loop. When a host's
    last feed of the cycle is done, its connection pool is closed."""

    def __init__(self, limits: FetchLimits, transport: PerHostTransport, urls: Sequence[str]) -> None:
        self.limits = limits
        self.transport = transport
        self.all = asyncio.Semaphore(limits.concurrency)
        self.hosts: dict[str, asyncio.Semaphore] = {}
        self.host_of = [_host(url) for url in urls]  # by request index: each URL is parsed once
        self.remaining = Counter(self.host_of)

    async def fetch(
        self,
        client: httpx.AsyncClient,
        url: str,
        state: FeedState | None,
        index: int,
        hand_over: Callable[[int, FetchResult], Awaitable[None]],
    ) -> None:
        """Fetch ``urls[index]`` under both limits, then ``hand_over`` the result while still holding them."""
        host = self.host_of[index]
        if host is None:
            await hand_over(index, FetchFailed(url, "http", "the URL is not a valid http(s) URL"))
            return
        per_host = self.hosts.setdefault(host, asyncio.Semaphore(self.limits.per_host))
        async with per_host, self.all:
            await hand_over(index, await fetch(client, url, state, self.limits))
        self.remaining[host] -= 1
        if not self.remaining[host]:
            await self.transport.release(url)


def _host(url: str) -> str | None:
    try:
        return httpx.URL(url).netloc.decode("ascii", "replace") or None
    except httpx.InvalidURL:
        return None


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
        transport = PerHostTransport(limits.per_host)
        gate = Gate(limits, transport, [url for url, _ in requests])

        async def hand_over(index: int, result: FetchResult) -> None:
            await shared["room"].acquire()  # released by the consumer when it takes a result
            results.put((index, result))

        async with make_client(limits, transport) as client:
            tasks = [
                asyncio.create_task(gate.fetch(client, url, state, i, hand_over))
                for i, (url, state) in enumerate(requests)
            ]
            shared["tasks"] = tasks
            for task in asyncio.as_completed(tasks):
                await task  # a bug in here must surface, not vanish

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


async def fetch(client: httpx.AsyncClient, url: str, state: FeedState | None, limits: FetchLimits) -> FetchResult:
    """One feed request under a total deadline; every outcome is a value."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(limits.timeout):
            return await _get(client, url, state, limits, started)
    except TimeoutError:
        return FetchFailed(
            url, "timeout", f"no complete answer within {limits.timeout:g}s (a slow server or an endless body)"
        )
    except httpx.TooManyRedirects:
        return FetchFailed(url, "redirects", f"more than {limits.max_redirects} redirects (a redirect loop?)")
    except httpx.TimeoutException as e:
        return FetchFailed(url, "timeout", f"timed out ({type(e).__name__}); is the server slow or down?")
    except httpx.ConnectError as e:
        return connect_failure(url, e)
    except httpx.HTTPError as e:
        return FetchFailed(url, "http", f"{type(e).__name__}: {e}")


async def _get(
    client: httpx.AsyncClient, url: str, state: FeedState | None, limits: FetchLimits, started: float
) -> FetchResult:
    async with client.stream("GET", url, headers=conditional_headers(state)) as response:
        headers = {k.lower(): v for k, v in response.headers.items()}
        if response.status_code >= 300:
            await _discard(response)
        if response.status_code == 304:
            return NotModified(url, headers)
        if response.status_code >= 400:
            return _http_failure(url, response.status_code, headers)
        if response.status_code >= 300:
            return FetchFailed(url, "http", f"HTTP {response.status_code} without a usable Location header")
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limits.max_bytes:
            return _too_large(url, limits)
        decoder = _decoder(headers.pop("content-encoding", "identity"))
        if decoder is None:
            return FetchFailed(url, "http", f"unsupported content-encoding {response.headers['content-encoding']!r}")
        body = await _read_capped(response.aiter_raw(), decoder, limits.max_bytes)
        if body is None:
            return _too_large(url, limits)
        headers.pop("content-length", None)  # described the wire bytes, not the decoded body
        return Fetched(
            url=url,
            final_url=str(response.url),
            status=response.status_code,
            headers=headers,
            body=body,
            elapsed=timedelta(seconds=time.monotonic() - started),
            permanent_redirect=any(r.status_code in (301, 308) for r in response.history),
        )


async def _discard(response: httpx.Response, limit: int = 65536) -> None:
    """Read a small unwanted body (304, errors) to its end, so the connection is kept for the
    host's next feed; httpcore drops a connection whose response was not read to the end."""
    seen = 0
    async for chunk in response.aiter_raw():
        seen += len(chunk)
        if seen > limit:
            return


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
        raise httpx.DecodingError(f"the compressed body is corrupt: {e}") from e
    return bytes(body)


def _too_large(url: str, limits: FetchLimits) -> FetchFailed:
    return FetchFailed(
        url,
        "too_large",
        f"the body is larger than {limits.max_bytes} bytes (decompressed); raise [fetch] max_bytes if it is real",
    )


def _http_failure(url: str, status: int, headers: dict[str, str]) -> FetchFailed:
    reason = httpx.codes.get_reason_phrase(status) or "error"
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
    host did not accept the connection (httpx wraps the socket error; the chain keeps it)."""
    host = urlsplit(url).hostname or url
    causes = []
    cause: BaseException | None = error
    while cause is not None and len(causes) < 10:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    if any(isinstance(c, socket.gaierror) for c in causes):
        return FetchFailed(url, "dns", f"cannot resolve {host}: check the feed URL, or the machine's DNS and network")
    if any(isinstance(c, ssl.SSLError) for c in causes) or "CERTIFICATE" in str(error).upper():
        return FetchFailed(url, "tls", f"TLS with {host} failed: {error}")
    return FetchFailed(url, "connect", f"cannot connect to {host}: {error or type(error).__name__}")
