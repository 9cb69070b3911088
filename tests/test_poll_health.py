"""Feed health over time, with a fixed clock: back-off with jitter, the feed's own hints, dead
after N days, one announcement per change of health (durable until Slack takes it), a
permanent redirect that updates the stored URL and survives a restart."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import rss, slack_section, write_config

from monitor import config, shell
from monitor.clock import FixedClock
from monitor.intake import schedule as health
from monitor.settings import FetchSettings
from monitor.testing import FeedServer, SlackFault, SlackServer

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
POLICY = FetchSettings(max_backoff=timedelta(days=1), max_hint=timedelta(hours=6), dead_after=timedelta(days=7))
RULE = '[[rule]]\nid = "r"\nquery = "robots"\n'


def test_back_off_doubles_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    delays = [health.next_check_failed(START, timedelta(minutes=15), n, None, POLICY, rng) - START for n in range(12)]
    for n, delay in enumerate(delays[:6]):
        assert timedelta(minutes=15) * 2**n * 0.5 <= delay <= timedelta(minutes=15) * 2**n
    assert all(d <= timedelta(days=1) for d in delays) and delays[-1] >= timedelta(hours=12)


def test_retry_after_and_hints_within_bounds() -> None:
    interval = timedelta(minutes=10)
    retry = health.next_check_failed(START, interval, 0, timedelta(hours=2), POLICY, random.Random(0))
    assert retry - START == timedelta(hours=2)
    capped = health.next_check_failed(START, interval, 0, timedelta(days=30), POLICY, random.Random(0))
    assert capped - START == timedelta(hours=6)
    assert health.next_check_ok(START, interval, (timedelta(minutes=90),), POLICY) - START == timedelta(minutes=90)
    assert health.next_check_ok(START, interval, (timedelta(minutes=1),), POLICY) - START == interval
    assert health.next_check_ok(START, interval, (timedelta(days=2), None), POLICY) - START == timedelta(hours=6)
    assert health.max_age({"cache-control": "public, max-age=1800"}) == timedelta(minutes=30)
    assert health.max_age({"cache-control": "max-age=1800, no-cache"}) is None


def test_health_states() -> None:
    assert health.health_after(False, START, START, POLICY) == "ok"
    assert health.health_after(True, None, START, POLICY) == "failing"
    assert health.health_after(True, START, START + timedelta(days=6), POLICY) == "failing"
    assert health.health_after(True, START, START + timedelta(days=7), POLICY) == "dead"
    assert health.announcement("F", "ok", "ok", None, POLICY) is None
    assert "is failing: HTTP 500" in (health.announcement("F", "ok", "failing", "HTTP 500", POLICY) or "")
    assert "dead" in (health.announcement("F", "failing", "dead", "HTTP 500", POLICY) or "")
    assert "recovered" in (health.announcement("F", "dead", "ok", None, POLICY) or "")


@pytest.fixture
def runtime(tmp_path: Path, feed_server: FeedServer, slack_server: SlackServer, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "pack.toml").write_text(RULE)
    url = feed_server.add("/feed.xml", rss({"title": "Robots", "link": "https://n.example/1"}))
    extra = slack_section(slack_server) + 'ops_channel = "#ops"\n'
    path = write_config(tmp_path, {"F": url}, extra=extra, rules=rules)
    clock = FixedClock(START)
    rt = shell.open_runtime(config.load(path), clock=clock)
    yield rt, clock
    rt.close()


def ops_messages(slack_server: SlackServer) -> list[str]:
    return [m["text"] for m in slack_server.messages if m["channel"] == "#ops"]


def test_failing_dead_and_recovered_are_announced_once(runtime, feed_server: FeedServer, slack_server: SlackServer):
    rt, clock = runtime
    feed = rt.config.feeds[0]
    assert shell.poll_feed(rt, feed).status == "ok"
    feed_server.add("/feed.xml", "oops", status=500, validators=False)
    for _ in range(3):
        clock.advance(timedelta(hours=1))
        assert shell.poll_feed(rt, feed).status == "error"
    assert ops_messages(slack_server) == [
        ":warning: Feed F is failing: http: HTTP 500 Internal Server Error. The monitor keeps retrying with back-off."
    ]
    state = rt.store.feeds.state("F")
    assert state.health == "failing" and state.consecutive_failures == 3 and "HTTP 500" in state.last_error
    assert START + timedelta(hours=3) < state.next_check_at <= START + timedelta(hours=3, minutes=120)

    clock.advance(timedelta(days=7))
    shell.poll_feed(rt, feed)
    clock.advance(timedelta(days=1))
    shell.poll_feed(rt, feed)
    assert rt.store.feeds.state("F").health == "dead"
    assert len(ops_messages(slack_server)) == 2 and "Feed F is dead" in ops_messages(slack_server)[1]

    feed_server.add("/feed.xml", rss({"title": "Robots back", "link": "https://n.example/4"}))
    clock.advance(timedelta(days=1))
    shell.poll_feed(rt, feed)
    assert rt.store.feeds.state("F").health == "ok"
    assert len(ops_messages(slack_server)) == 3 and "recovered" in ops_messages(slack_server)[2]


def test_an_announcement_waits_in_the_store_while_slack_is_down(runtime, feed_server, slack_server):
    rt, clock = runtime
    feed_server.add("/feed.xml", "", status=404, validators=False)
    slack_server.fail_next(SlackFault(status=503))
    shell.poll_feed(rt, rt.config.feeds[0])
    assert ops_messages(slack_server) == []
    assert len(rt.store.notices.due(clock.now() + timedelta(hours=1))) == 1
    clock.advance(timedelta(hours=1))
    shell.poll_feed(rt, rt.config.feeds[0])  # still failing: nothing new, the old notice goes out
    assert len(ops_messages(slack_server)) == 1 and "HTTP 404" in ops_messages(slack_server)[0]
    assert rt.store.notices.due(clock.now() + timedelta(days=1)) == []


def test_permanent_redirect_updates_the_stored_url_and_survives_a_restart(runtime, feed_server, tmp_path):
    rt, _ = runtime
    new = feed_server.add("/moved.xml", rss({"title": "Robots again", "link": "https://n.example/2"}))
    feed_server.add("/feed.xml", "", redirect_to=new, status=301, validators=False)
    shell.poll_feed(rt, rt.config.feeds[0])
    assert rt.store.feeds.state("F").url == new and rt.store.feeds.state("F").moved_to == new
    rt.store.feeds.sync(rt.config.feeds)  # what every start does
    shell.poll_feed(rt, rt.config.feeds[0])
    assert feed_server.requests_for("/feed.xml")[-1] is feed_server.requests_for("/feed.xml")[0]
    assert rt.store.feeds.state("F").url == new


def test_feed_hints_lengthen_the_interval(runtime, feed_server):
    rt, clock = runtime
    body = rss({"title": "t", "link": "https://n.example/3"}).replace("<channel>", "<channel><ttl>120</ttl>")
    feed_server.add("/feed.xml", body, headers={"Cache-Control": "max-age=600"})
    shell.poll_feed(rt, rt.config.feeds[0])
    assert rt.store.feeds.state("F").next_check_at == clock.now() + timedelta(minutes=120)
