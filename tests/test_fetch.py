"""The HTTP edge against a fault-injecting local server: every fault is a value, within limits."""

from __future__ import annotations

import socket
import time

from monitor.intake.fetch import FetchLimits, connect_failure, fetch_many
from monitor.model import FeedState, Fetched, FetchFailed, FetchResult, NotModified
from monitor.testing import FeedServer, free_port, gzip_bomb

LIMITS = FetchLimits(timeout=2, connect_timeout=1, read_timeout=1, max_bytes=100_000, max_redirects=3)


def get(url: str, state: FeedState | None = None, limits: FetchLimits = LIMITS) -> FetchResult:
    [(_, result)] = list(fetch_many([(url, state)], limits))
    return result


def test_conditional_get_sends_validators_and_gets_304(feed_server: FeedServer) -> None:
    url = feed_server.add("/feed.xml", "<rss/>", etag='"abc"', last_modified="Sun, 22 Nov 2026 10:00:00 GMT")
    first = get(url)
    assert isinstance(first, Fetched) and first.headers["etag"] == '"abc"'
    state = FeedState("F", url, etag='"abc"', last_modified="Sun, 22 Nov 2026 10:00:00 GMT")
    assert isinstance(get(url, state), NotModified)
    headers = feed_server.requests_for("/feed.xml")[1]["headers"]
    assert headers["if-none-match"] == '"abc"'
    assert headers["if-modified-since"] == "Sun, 22 Nov 2026 10:00:00 GMT"
    assert headers["user-agent"].startswith("monitor/")
    assert headers["accept-encoding"] == "gzip, deflate"


def test_http_errors_are_values_with_hints(feed_server: FeedServer) -> None:
    feed_server.add("/gone", "", status=410)
    feed_server.add("/busy", "", status=429, headers={"Retry-After": "120"})
    feed_server.add("/down", "", status=503, headers={"Retry-After": "Sun, 22 Nov 2099 10:00:00 GMT"})
    gone = get(feed_server.url + "/gone")
    assert isinstance(gone, FetchFailed) and gone.status == 410 and "remove it" in gone.message
    busy = get(feed_server.url + "/busy")
    assert isinstance(busy, FetchFailed) and busy.retry_after is not None
    assert busy.retry_after.total_seconds() == 120
    down = get(feed_server.url + "/down")
    assert isinstance(down, FetchFailed) and down.retry_after and down.retry_after.days > 365
    missing = get(feed_server.url + "/nothing-here")
    assert isinstance(missing, FetchFailed) and "HTTP 404" in missing.message


def test_slow_server_times_out(feed_server: FeedServer) -> None:
    url = feed_server.add("/slow", "<rss/>", delay=1.5)
    result = get(url, limits=FetchLimits(timeout=0.5, connect_timeout=0.5))
    assert isinstance(result, FetchFailed) and result.kind == "timeout"


def test_dripping_endless_body_stops_at_the_total_deadline(feed_server: FeedServer) -> None:
    url = feed_server.add("/drip", "<rss>", drip=0.05)
    started = time.monotonic()
    result = get(url, limits=FetchLimits(timeout=1, read_timeout=0.5))
    assert isinstance(result, FetchFailed) and result.kind == "timeout"
    assert time.monotonic() - started < 2


def test_body_cap_by_content_length_and_while_streaming(feed_server: FeedServer) -> None:
    declared = feed_server.add("/big", b"x" * 200_000)
    streamed = feed_server.add("/endless-ish", b"<rss>", filler=50 * 1024 * 1024, declare_length=False)
    for url in (declared, streamed):
        result = get(url)
        assert isinstance(result, FetchFailed) and result.kind == "too_large", url


def test_gzip_is_decoded_and_a_gzip_bomb_stops_at_the_cap(feed_server: FeedServer) -> None:
    ok = feed_server.add("/gz", b"<rss>" + b"a" * 50_000 + b"</rss>", gzip=True)
    result = get(ok)
    assert isinstance(result, Fetched) and result.body.startswith(b"<rss>aaa") and len(result.body) == 50_011
    assert "content-encoding" not in result.headers
    bomb = feed_server.add("/bomb", gzip_bomb(20 * 1024 * 1024), gzip=True)
    result = get(bomb)
    assert isinstance(result, FetchFailed) and result.kind == "too_large" and "decompressed" in result.message


def test_corrupt_gzip_is_a_failure_not_an_exception(feed_server: FeedServer) -> None:
    url = feed_server.add("/corrupt", b"\x1f\x8b\x08\x00garbage-not-deflate", gzip=True)
    result = get(url)
    assert isinstance(result, FetchFailed) and "corrupt" in result.message


def test_redirects_followed_and_loops_stopped(feed_server: FeedServer) -> None:
    target = feed_server.add("/new", "<rss/>")
    feed_server.add("/old", "", redirect_to=target, status=301)
    moved = get(feed_server.url + "/old")
    assert isinstance(moved, Fetched) and moved.final_url == target and moved.permanent_redirect
    feed_server.add("/temp", "", redirect_to=target, status=302)
    temporary = get(feed_server.url + "/temp")
    assert isinstance(temporary, Fetched) and not temporary.permanent_redirect
    feed_server.add("/loop", "", redirect_to=feed_server.url + "/loop", status=302)
    loop = get(feed_server.url + "/loop")
    assert isinstance(loop, FetchFailed) and loop.kind == "redirects"


def test_dead_host_is_a_connect_failure() -> None:
    result = get("http://127.0.0.1:9/feed")
    assert isinstance(result, FetchFailed) and result.kind in ("connect", "timeout")


def test_per_host_and_global_limits(feed_server: FeedServer) -> None:
    """Four 0.3 s feeds on one host: one round with room for all, two rounds when either the
    per-host or the global limit is 2."""
    urls = [(feed_server.add(f"/f{n}", "<rss/>", delay=0.3), None) for n in range(4)]

    def seconds(concurrency: int, per_host: int) -> float:
        started = time.monotonic()
        results = dict(fetch_many(urls, FetchLimits(timeout=5, concurrency=concurrency, per_host=per_host)))
        assert sorted(results) == [0, 1, 2, 3] and all(isinstance(r, Fetched) for r in results.values())
        return time.monotonic() - started

    assert seconds(8, 8) < 0.55
    assert seconds(8, 2) >= 0.6
    assert seconds(2, 8) >= 0.6


def test_connection_failures_name_their_cause(feed_server: FeedServer) -> None:
    """Refused and TLS failures are real ones; a resolver failure is built, since whether a name
    fails fast depends on the machine's DNS."""
    port = free_port()
    refused = get(f"http://127.0.0.1:{port}/feed.xml")
    assert refused.kind == "connect" and refused.message.startswith("cannot connect to 127.0.0.1: ")
    assert "refused" in refused.message.lower() or "connect call failed" in refused.message.lower()
    plain = feed_server.add("/feed.xml", "<rss/>")
    tls = get(plain.replace("http://", "https://"))  # a TLS handshake with a plain HTTP server
    assert tls.kind == "tls" and tls.message.startswith("TLS with 127.0.0.1 failed: ")

    try:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except OSError as e:
            raise ConnectionError("connect failed") from e
    except ConnectionError as wrapped:
        dns = connect_failure("https://news.example.org/feed.xml", wrapped)
    assert (dns.kind, dns.message.split(":")[0]) == ("dns", "cannot resolve news.example.org")


def test_a_hosts_connection_is_reused_then_closed_after_its_last_feed(feed_server: FeedServer) -> None:
    """Keep-alive serves a host's feeds; after its last one its socket is closed while other
    hosts are still being fetched, so a cycle over thousands of hosts never holds one per host."""
    fast = [feed_server.add(f"/k{n}", "<rss/>") for n in range(3)]
    slow = feed_server.add("/slow", "<rss/>", delay=1.5).replace("127.0.0.1", "localhost")  # another host
    results = fetch_many([(slow, None), *((url, None) for url in fast)], FetchLimits(concurrency=4, per_host=1))
    arrived = [next(results)[0] for _ in fast]
    assert sorted(arrived) == [1, 2, 3]  # the slow host's feed is still being served
    [client] = {r["client"] for n in range(3) for r in feed_server.requests_for(f"/k{n}")}
    deadline = time.monotonic() + 1
    while client not in feed_server.closed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert client in feed_server.closed
    assert [index for index, _ in results] == [0]


def test_a_proxy_named_in_the_environment_is_used(feed_server: FeedServer, monkeypatch) -> None:
    target = "http://feeds.example.invalid/feed.xml"  # never resolved: only the proxy is asked
    feed_server.add(target, "<rss/>")  # a forward proxy is asked for the absolute URL
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", feed_server.url)
    result = get(target)
    assert isinstance(result, Fetched) and result.body == b"<rss/>"
    assert feed_server.requests_for(target)
