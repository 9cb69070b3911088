"""The HTTP edge against a fault-injecting local server: every fault is a value, within limits."""

from __future__ import annotations

import threading
import time

import pycurl

from monitor.intake.failures import curl_failure
from monitor.intake.fetch import fetch_many, wire_url
from monitor.model import FeedState, Fetched, FetchFailed, FetchResult, NotModified
from monitor.settings import FetchSettings
from monitor.testing import FeedServer, free_port, gzip_bomb

LIMITS = FetchSettings(timeout=2, connect_timeout=1, read_timeout=1, max_bytes=100_000, max_redirects=3)


def get(url: str, state: FeedState | None = None, limits: FetchSettings = LIMITS) -> FetchResult:
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
    result = get(url, limits=FetchSettings(timeout=0.5, connect_timeout=0.5))
    assert isinstance(result, FetchFailed) and result.kind == "timeout"


def test_dripping_endless_body_stops_at_the_total_deadline(feed_server: FeedServer) -> None:
    url = feed_server.add("/drip", "<rss>", drip=0.05)
    started = time.monotonic()
    result = get(url, limits=FetchSettings(timeout=1, read_timeout=0.5))
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
        results = dict(fetch_many(urls, FetchSettings(timeout=5, concurrency=concurrency, per_host=per_host)))
        assert sorted(results) == [0, 1, 2, 3] and all(isinstance(r, Fetched) for r in results.values())
        return time.monotonic() - started

    assert seconds(8, 8) < 0.55
    assert seconds(8, 2) >= 0.6
    assert seconds(2, 8) >= 0.6


def test_connection_failures_name_their_cause(feed_server: FeedServer) -> None:
    """Refused and TLS failures are real ones; a resolver failure is built, since whether a name
    fails fast depends on the machine's DNS."""
    refused = get(f"http://127.0.0.1:{free_port()}/feed.xml")
    assert refused.kind == "connect" and refused.message.startswith("cannot connect to 127.0.0.1: ")
    plain = feed_server.add("/feed.xml", "<rss/>")
    tls = get(plain.replace("http://", "https://"))  # a TLS handshake with a plain HTTP server
    assert tls.kind == "tls" and tls.message.startswith("TLS with 127.0.0.1 failed: ")
    dns = curl_failure("https://news.example.org/feed.xml", pycurl.E_COULDNT_RESOLVE_HOST, "Could not resolve", LIMITS)
    assert (dns.kind, dns.message.split(":")[0]) == ("dns", "cannot resolve news.example.org")


def test_connections_are_kept_per_host_and_bounded_per_cycle() -> None:
    """Keep-alive serves a host's feeds one after another; across many hosts the cycle never
    holds more than ``concurrency`` connections (the oldest idle one is closed), so a list
    spanning thousands of hosts never runs into the fd limit."""
    servers = [FeedServer().start() for _ in range(5)]
    try:
        # each answer takes 0.1 s, so a connection kept open too long overlaps others far beyond the lag below
        urls = [(server.add(f"/k{n}", "<rss/>", delay=0.1), None) for server in servers for n in range(3)]
        results = dict(fetch_many(urls, FetchSettings(concurrency=2, per_host=1)))
        assert len(results) == 15 and all(isinstance(r, Fetched) for r in results.values())
        for server in servers:
            assert len({r["client"] for r in server.requests}) == 1  # three feeds, one connection
        spans = [span for server in servers for span in server.connections.values()]
        deadline = time.monotonic() + 2
        while any(closed is None for _, closed in spans) and time.monotonic() < deadline:
            time.sleep(0.01)  # the server sees the last closes a moment after the cycle
        # the server sees a close when it reads the EOF, which under load can come a little after the client
        # opened the next connection: a close counts from up to 50 ms before the server saw it
        lag = 0.05
        closes = [max(opened, closed - lag) if closed is not None else float("inf") for opened, closed in spans]
        events = sorted([(opened, 1) for opened, _ in spans] + [(closed, -1) for closed in closes])
        open_at_once = max(sum(step for _, step in events[: i + 1]) for i in range(len(events)))
        assert open_at_once <= 3  # two in use, and one idle being replaced
    finally:
        for server in servers:
            server.stop()


def test_a_proxy_named_in_the_environment_is_used(feed_server: FeedServer, monkeypatch) -> None:
    target = "http://feeds.example.invalid/feed.xml"  # never resolved: only the proxy is asked
    feed_server.add(target, "<rss/>")  # a forward proxy is asked for the absolute URL
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", feed_server.url)
    result = get(target)
    assert isinstance(result, Fetched) and result.body == b"<rss/>"
    assert feed_server.requests_for(target)


def test_urls_and_validators_libcurl_cannot_take_raw_are_encoded_or_refused(feed_server: FeedServer) -> None:
    """Feed lists carry unencoded paths, IDN hosts, fragments and broken ports; servers send
    validators in latin-1. Each is encoded on the wire, or is one feed's failure, never the cycle's."""
    feed_server.add("/caf%C3%A9%20news.xml", "<rss/>")
    spaced = feed_server.url + "/café news.xml#top"
    state = FeedState("F", spaced, etag='"r\u00e9v-1"')
    results = dict(fetch_many([(spaced, state), ("http://127.0.0.1:99999/feed", None)], LIMITS))
    assert isinstance(results[0], Fetched) and results[0].body == b"<rss/>"
    assert feed_server.requests_for("/caf%C3%A9%20news.xml")[0]["headers"]["if-none-match"] == '"r\u00e9v-1"'
    assert isinstance(results[1], FetchFailed) and "Port out of range" in results[1].message
    assert (
        wire_url("http://B\u00fccher.example/a b?q=\u00e4&x=%20") == "http://xn--bcher-kva.example/a%20b?q=%C3%A4&x=%20"
    )


def test_a_caller_that_falls_behind_holds_the_fetching_back(feed_server: FeedServer) -> None:
    """At most ``concurrency`` results wait for the caller (invalid URLs count too), so bodies
    never pile up in memory however slow the parse and store side is."""
    invalid = [("ftp://files.example/feed.xml", None), ("not a url", None), ("http:///no-host", None)]
    valid = [(feed_server.add(f"/v{n}", "<rss/>"), None) for n in range(3)]
    results = fetch_many([*invalid, *valid], FetchSettings(concurrency=2, per_host=2))
    first = next(results)
    time.sleep(0.5)
    assert feed_server.requests == []  # two more invalid ones fill both slots until taken
    rest = dict([first, *results])
    assert sorted(rest) == list(range(6))
    assert all(isinstance(rest[i], FetchFailed) and "not a valid http(s) URL" in rest[i].message for i in range(3))
    assert all(isinstance(rest[i], Fetched) for i in range(3, 6))


def test_a_halt_lets_running_transfers_finish_and_starts_no_other() -> None:
    """A shutdown: the feeds being fetched are answered, the ones not started are not fetched."""
    with FeedServer() as server:
        urls = [(server.add(f"/slow{n}.xml", "<rss/>", delay=0.5), None) for n in range(6)]
        halt = threading.Event()
        results = []
        for index, result in fetch_many(urls, FetchSettings(timeout=5, concurrency=2, per_host=2), halt):
            results.append((index, result))
            halt.set()  # after the first answer: the second running one still comes back
        assert sorted(index for index, _ in results) == [0, 1]
        assert all(isinstance(result, Fetched) for _, result in results)
        assert len(server.requests) == 2
