"""The delivery loop against the local Slack server: faults, rate limits, bursts, quiet hours,
routing, crash leftovers and the delivery lock. Outbox rows are made through the store."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor import config, events
from monitor.clock import Clock, FixedClock, SystemClock
from monitor.delivery import Notifiers
from monitor.delivery.slack import SlackNotifier
from monitor.model import Explanation, Item, JoinStory, Match, NewItem, OpenStory, Outgoing
from monitor.settings import SlackSettings
from monitor.shell.delivering import DeliveryReport, deliver_due
from monitor.store.locks import file_lock
from monitor.store.sqlitedb import delivery_lock_path, open_sqlite
from monitor.store.storage import Storage
from monitor.testing import SlackFault, SlackServer

NOON = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@dataclass
class Ctx:
    """What ``deliver_due`` needs, as ``shell.Runtime`` provides it."""

    config: config.Config
    store: Storage
    clock: Clock
    notifiers: Notifiers
    bus: events.EventBus = field(default_factory=events.EventBus)
    seen: list[events.Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.bus.subscribe(events.Event, self.seen.append)

    def queue(self, *urls: str, channel: str | None = None, priority: str = "normal") -> None:
        now = self.clock.now()
        batch = []
        for url in urls:
            item = Item("Wire", None, url, f"Story {url}", "s", "s", now, now, url)
            match = Match("deal", "Deals", priority, channel, False, Explanation())  # type: ignore[arg-type]
            out = Outgoing("slack", channel, priority, "deal", {"title": item.title, "url": url, "feed": "Wire"})  # type: ignore[arg-type]
            batch.append(NewItem(item, ("url:" + url,), (match,), OpenStory(), (out,)))
        self.store.items.record(batch, now)

    def drain(self, rounds: int = 30) -> DeliveryReport:
        """Deliver until nothing is pending, jumping the clock to the next attempt each time."""
        total = DeliveryReport()
        for _ in range(rounds):
            total += deliver_due(self)
            if not self.store.outbox.counts()["pending"]:
                return total
            assert isinstance(self.clock, FixedClock)
            self.clock.advance(timedelta(hours=1))
        raise AssertionError(f"still pending after {rounds} rounds: {self.store.outbox.rows(['pending'])}")


@pytest.fixture
def make(tmp_path: Path, slack_server: SlackServer):
    stores = []

    def build(extra: str = "", clock: Clock | None = None, timeout: float = 2, pace: float = 0) -> Ctx:
        text = f"""
[monitor]
timezone = "Europe/Berlin"

[slack]
token_env = "TOKEN"
channel = "#alerts"
base_url = "{slack_server.base_url}"
timeout = {timeout}
pace = {pace}
{extra}
"""
        cfg = config.parse(text, tmp_path / "config.toml")
        store = open_sqlite(cfg.database_path)
        stores.append(store)
        notifiers = Notifiers(slack=SlackNotifier(cfg.slack or SlackSettings(), {"TOKEN": "xoxb-test"}))
        return Ctx(cfg, store, clock or FixedClock(NOON), notifiers)

    yield build
    for store in stores:
        store.close()


def urls_received(server: SlackServer) -> Counter[str]:
    found: Counter[str] = Counter()
    for message in server.messages:
        payload: dict[str, Any] = message["metadata"]["event_payload"]
        found.update(payload.get("urls") or [payload["url"]])
    return found


def test_every_alert_arrives_exactly_once_through_faults(make, slack_server: SlackServer) -> None:
    ctx = make(timeout=0.4)
    good = [f"https://n.example/{n}" for n in range(8)]
    ctx.queue(*good[:4])
    ctx.queue("https://n.example/archived", channel="#archived")
    ctx.queue(*good[4:6], channel="#deals")
    ctx.queue("https://n.example/gone", channel="#gone")
    ctx.queue(*good[6:])
    slack_server.channel_errors.update({"#archived": "is_archived", "#gone": "channel_not_found"})
    slack_server.fail_next(
        SlackFault(status=429, headers={"Retry-After": "3"}),
        SlackFault(status=500),
        SlackFault(status=503),
        SlackFault(delay=1.0),  # the client times out first
        SlackFault(error="internal_error"),
        SlackFault(error="fatal_error"),
        SlackFault(error="service_unavailable"),
    )
    ctx.drain()

    assert urls_received(slack_server) == Counter(good)  # each good alert exactly once
    dead = {row["channel"]: row["last_error"] for row in ctx.store.outbox.dead()}
    assert dead["#archived"].startswith("is_archived: ")
    assert dead["#gone"].startswith("channel_not_found: ")
    assert ctx.store.outbox.counts() == {"pending": 0, "delivered": 8, "dead": 2}
    assert {m["channel"] for m in slack_server.messages} == {"#alerts", "#deals"}  # routed by the rule
    retried = [e for e in ctx.seen if isinstance(e, events.AlertRetrying)]
    assert {"rate limited by Slack (ratelimited)"} <= {e.reason for e in retried}
    assert any("TimeoutError" in e.reason or "timed out" in e.reason for e in retried)


def test_retry_after_is_honoured_for_the_whole_channel(make, slack_server: SlackServer) -> None:
    ctx = make()
    ctx.queue("https://n.example/1", "https://n.example/2", "https://n.example/3")
    slack_server.fail_next(SlackFault(status=429, headers={"Retry-After": "30"}))
    report = deliver_due(ctx)
    assert (report.delivered, report.retrying) == (0, 1)
    assert len(slack_server.received) == 1  # the others were not tried against a rate-limited channel
    ctx.clock.advance(timedelta(seconds=29))
    assert deliver_due(ctx).delivered == 0 and len(slack_server.received) == 1
    ctx.clock.advance(timedelta(seconds=1))
    assert deliver_due(ctx).delivered == 3


def test_permanent_error_is_retryable_after_a_fix(make, slack_server: SlackServer) -> None:
    ctx = make()
    ctx.queue("https://n.example/1")
    slack_server.fail_next(SlackFault(error="not_in_channel"))
    assert deliver_due(ctx).dead == 1
    [row] = ctx.store.outbox.dead()
    assert "/invite" in row["last_error"]
    assert ctx.store.outbox.retry_dead([row["id"]], ctx.clock.now()) == [row["id"]]
    assert ctx.store.outbox.retry_dead(None, ctx.clock.now()) == []
    assert deliver_due(ctx).delivered == 1
    assert urls_received(slack_server) == Counter(["https://n.example/1"])


def test_pacing_keeps_under_the_per_channel_rate_limit(make, slack_server: SlackServer) -> None:
    slack_server.rate_limit = 0.1  # well under the 0.25 s pace: a slow machine must not make it flake
    ctx = make(clock=SystemClock(), pace=0.25)
    ctx.queue(*[f"https://n.example/{n}" for n in range(5)])
    report = deliver_due(ctx)
    assert report.delivered == 5 and slack_server.rate_limited == 0
    stamps = sorted(datetime.fromisoformat(r["delivered_at"]) for r in ctx.store.outbox.rows(["delivered"]))
    assert stamps[-1] - stamps[0] >= timedelta(seconds=0.9)


def test_without_pacing_the_fake_slack_rate_limits(make, slack_server: SlackServer) -> None:
    slack_server.rate_limit = 0.2
    ctx = make(clock=SystemClock())
    ctx.queue(*[f"https://n.example/{n}" for n in range(5)])
    report = deliver_due(ctx)
    assert slack_server.rate_limited == 1 and report.retrying == 1 and report.delivered < 5


def test_burst_becomes_one_summary_then_single_alerts_again(make, slack_server: SlackServer) -> None:
    ctx = make("burst_limit = 3")
    burst = [f"https://n.example/{n}" for n in range(12)]
    ctx.queue(*burst)
    assert deliver_due(ctx).delivered == 12
    [summary] = slack_server.messages
    assert summary["metadata"]["event_type"] == "monitor_alert_summary"
    assert summary["blocks"][0]["text"]["text"] == "12 new alerts"
    assert len(summary["blocks"]) == 14 and "Story https://n.example/11" in summary["text"]
    assert {r["state"] for r in ctx.store.outbox.rows(["delivered"])} == {"delivered"}

    ctx.clock.advance(timedelta(seconds=5))
    ctx.queue("https://n.example/late")
    deliver_due(ctx)
    assert slack_server.messages[-1]["metadata"]["event_type"] == "monitor_alert"
    assert urls_received(slack_server) == Counter([*burst, "https://n.example/late"])


def test_quiet_hours_hold_normal_alerts_until_morning(make, slack_server: SlackServer) -> None:
    late = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # 00:00 in Berlin
    ctx = make('quiet_hours = { "#alerts" = "22:00-07:00" }', clock=FixedClock(late))
    ctx.queue("https://n.example/normal")
    ctx.queue("https://n.example/urgent", priority="high")
    ctx.queue("https://n.example/deals", channel="#deals")
    report = deliver_due(ctx)
    assert (report.delivered, report.held) == (2, 1)
    assert urls_received(slack_server) == Counter(["https://n.example/urgent", "https://n.example/deals"])
    [held] = ctx.store.outbox.rows(["pending"])
    assert held["next_attempt_at"] == "2026-11-23T06:00:00+00:00" and held["attempts"] == 0
    ctx.clock.advance(timedelta(hours=6, minutes=59))
    assert deliver_due(ctx).delivered == 0
    ctx.clock.advance(timedelta(minutes=1))
    assert deliver_due(ctx).delivered == 1


def test_interrupted_summary_is_resent_once_as_it_was(make, slack_server: SlackServer) -> None:
    ctx = make()
    ctx.queue("https://n.example/1", "https://n.example/2", "https://n.example/3")
    first, second, _ = ctx.store.outbox.due(ctx.clock.now())
    ctx.store.outbox.mark_sending([first.id, second.id], ctx.clock.now())  # then the process died
    assert deliver_due(ctx).delivered == 3
    assert [len(m["metadata"]["event_payload"].get("urls", [1])) for m in slack_server.messages] == [2, 1]
    interrupted = [e.alert_id for e in ctx.seen if isinstance(e, events.AlertInterrupted)]
    assert interrupted == [first.id, second.id]
    assert ctx.store.outbox.in_flight() == {}


def test_a_second_process_does_not_deliver_while_one_is(make, slack_server: SlackServer) -> None:
    ctx = make()
    ctx.queue("https://n.example/1")
    with file_lock(delivery_lock_path(ctx.config.database_path, "slack")) as taken:  # another process
        assert taken
        assert deliver_due(ctx) == DeliveryReport(busy=True)
    assert slack_server.messages == []
    assert deliver_due(ctx).delivered == 1


def test_follow_up_waits_for_its_story_without_using_attempts(make, slack_server: SlackServer) -> None:
    ctx = make()
    ctx.queue("https://n.example/1")
    [opening] = ctx.store.outbox.due(ctx.clock.now())
    ctx.store.outbox.mark_retry(opening.id, ctx.clock.now() + timedelta(minutes=5), "http_500")
    now = ctx.clock.now()
    item = Item("Other", None, "https://o.example/1", "Same story", "s", "s", now, now, "fp-o")
    out = Outgoing("slack", None, "normal", "deal", {"title": item.title, "url": item.url, "feed": "Other"})
    ctx.store.items.record([NewItem(item, ("url:o",), (), JoinStory(opening.story_id), (out,))], now)
    assert deliver_due(ctx).delivered == 0
    [follow] = [r for r in ctx.store.outbox.rows(["pending"]) if r["kind"] == "follow_up"]
    assert follow["attempts"] == 0 and "first alert" in follow["last_error"]
    ctx.drain()
    reply = slack_server.replies()[0]
    assert reply["thread_ts"] == slack_server.top_level()[0]["ts"]
