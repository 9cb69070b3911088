from monitor.intake.fetch import FetchLimits, fetch, make_client
from monitor.model import FeedState, Fetched, FetchFailed, NotModified
from monitor.testing import FeedServer

LIMITS = FetchLimits(timeout=2, connect_timeout=1, max_bytes=100_000, max_redirects=3)


def get(url: str, state: FeedState | None = None, limits: FetchLimits = LIMITS):
    with make_client(limits) as client:
        return fetch(client, url, state, limits)


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


def test_http_errors_are_values_with_hints(feed_server: FeedServer) -> None:
    feed_server.add("/gone", "", status=410)
    feed_server.add("/busy", "", status=429, headers={"Retry-After": "120"})
    gone = get(feed_server.url + "/gone")
    assert isinstance(gone, FetchFailed) and gone.status == 410 and "remove it" in gone.message
    busy = get(feed_server.url + "/busy")
    assert isinstance(busy, FetchFailed) and busy.retry_after is not None and busy.retry_after.total_seconds() == 120
    missing = get(feed_server.url + "/nothing-here")
    assert isinstance(missing, FetchFailed) and "HTTP 404" in missing.message


def test_slow_server_times_out(feed_server: FeedServer) -> None:
    url = feed_server.add("/slow", "<rss/>", delay=1.5)
    result = get(url, limits=FetchLimits(timeout=0.5, connect_timeout=0.5))
    assert isinstance(result, FetchFailed) and result.kind == "timeout"


def test_body_cap(feed_server: FeedServer) -> None:
    url = feed_server.add("/big", b"x" * 200_000)
    result = get(url)
    assert isinstance(result, FetchFailed) and result.kind == "too_large"


def test_redirects_followed_and_loops_stopped(feed_server: FeedServer) -> None:
    target = feed_server.add("/new", "<rss/>")
    feed_server.add("/old", "", redirect_to=target, status=301)
    moved = get(feed_server.url + "/old")
    assert isinstance(moved, Fetched) and moved.final_url == target and moved.permanent_redirect
    feed_server.add("/loop", "", redirect_to=feed_server.url + "/loop", status=302)
    loop = get(feed_server.url + "/loop")
    assert isinstance(loop, FetchFailed) and loop.kind == "redirects"


def test_dead_host_is_a_connect_failure() -> None:
    result = get("http://127.0.0.1:9/feed")
    assert isinstance(result, FetchFailed) and result.kind in ("connect", "timeout")
