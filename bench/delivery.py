"""Delivery benchmarks: an outage backlog against a rate-limited Slack, and the cost of the
crash-safety bookkeeping per alert. Each compares with a naive baseline in the same run.

    python bench/delivery.py

1. Backlog: N alerts for one channel are due at once (Slack was down). The local Slack server
   allows one post per RATE seconds per channel (Slack: about one per second; scaled down here so
   the run is short) and answers 429 + Retry-After: 1 otherwise. Compared: one message per alert
   as fast as possible (naive), paced only, paced + burst summaries (the default policy).
2. Bookkeeping: seconds per delivered alert through ``deliver_due`` (note before the send,
   outcome after, delivery lock, planning) against the bare loop "send, then mark delivered",
   with a notifier that answers at once, on a real SQLite file. Median of REPEATS runs.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor import config, events
from monitor.clock import Clock, SystemClock
from monitor.delivery import Notifiers
from monitor.delivery.slack import SlackNotifier
from monitor.model import Alert, Delivered, DeliveryResult, Explanation, Item, Match, NewItem, OpenStory, Outgoing
from monitor.settings import SlackSettings
from monitor.shell.delivering import deliver_due
from monitor.store.sqlitedb import open_sqlite
from monitor.store.storage import Storage
from monitor.testing import SlackServer

BACKLOG = 40
RATE = 0.05  # seconds per post per channel that the local Slack allows
BOOKKEEPING_ALERTS = 500
REPEATS = 5


@dataclass
class Ctx:
    config: config.Config
    store: Storage
    clock: Clock = field(default_factory=SystemClock)
    notifiers: Notifiers = field(default_factory=Notifiers)
    bus: events.EventBus = field(default_factory=events.EventBus)


def queue(store: Storage, count: int, destination: str) -> None:
    now = datetime.now(UTC)
    batch = []
    for n in range(count):
        url = f"https://bench.example/{n}"
        item = Item("Bench", None, url, f"Story {n}", "s", "s", now, now, url)
        match = Match("r", "Rule", "normal", None, False, Explanation())
        out = Outgoing(destination, None, "normal", "r", {"title": item.title, "url": url, "feed": "Bench"})
        batch.append(NewItem(item, ("url:" + url,), (match,), OpenStory(), (out,)))
    store.items.record(batch, now)


def backlog(folder: Path, pace: float, burst_limit: int) -> tuple[int, int, float]:
    """(messages posted, 429s received, seconds until every alert was delivered)."""
    with SlackServer() as server:
        server.rate_limit = RATE
        text = f"""
[slack]
token_env = "TOKEN"
channel = "#alerts"
base_url = "{server.base_url}"
pace = {pace}
burst_limit = {burst_limit}
"""
        cfg = config.parse(text, folder / "config.toml")
        store = open_sqlite(cfg.database_path)
        queue(store, BACKLOG, "slack")
        slack = SlackNotifier(cfg.slack or SlackSettings(), {"TOKEN": "xoxb-bench"})
        ctx = Ctx(cfg, store, notifiers=Notifiers(slack=slack))
        started = time.monotonic()
        while store.outbox.counts()["pending"]:
            if not deliver_due(ctx, limit=1000).delivered:
                time.sleep(0.05)  # a rate-limited round: wait for Retry-After
        elapsed = time.monotonic() - started
        store.close()
        return len(server.messages), server.rate_limited, elapsed


class Instant:
    """A notifier that answers at once, so only the loop's own cost is measured."""

    name = "instant"

    def send(self, alert: Alert, thread: tuple[str, str] | None, now: datetime) -> DeliveryResult:
        return Delivered(f"ts-{alert.id}")

    def send_summary(self, alerts: Sequence[Alert], channel: str | None, now: datetime) -> DeliveryResult:
        return Delivered(f"ts-{alerts[0].id}")


def bare_loop(ctx: Ctx) -> None:
    """The naive loop: send, then mark delivered; no note, no lock, no plan."""
    notifier = Instant()
    for alert in ctx.store.outbox.due(datetime.now(UTC), limit=10_000):
        result = notifier.send(alert, None, datetime.now(UTC))
        ctx.store.outbox.mark_delivered(alert.id, result.remote_id, None, datetime.now(UTC))  # type: ignore[union-attr]


def bookkeeping(folder: Path, ours: bool) -> float:
    """Seconds per delivered alert."""
    cfg = config.parse("", folder / "config.toml")
    store = open_sqlite(cfg.database_path)
    queue(store, BOOKKEEPING_ALERTS, "console")
    ctx = Ctx(cfg, store, notifiers=Notifiers(console=Instant()))  # type: ignore[arg-type]
    started = time.perf_counter()
    if ours:
        deliver_due(ctx, limit=BOOKKEEPING_ALERTS)
    else:
        bare_loop(ctx)
    elapsed = time.perf_counter() - started
    assert store.outbox.counts()["delivered"] == BOOKKEEPING_ALERTS
    store.close()
    return elapsed / BOOKKEEPING_ALERTS


def main() -> None:
    print(f"1. Backlog of {BACKLOG} alerts for one channel; local Slack allows 1 post per {RATE}s per channel")
    print(f"{'policy':<36} {'messages':>9} {'429s':>6} {'seconds':>8}")
    for label, pace, burst in (
        ("naive: one message each, no pacing", 0.0, 1000),
        ("paced only", RATE * 1.2, 1000),
        ("paced + burst summaries (default)", RATE * 1.2, 10),
    ):
        with tempfile.TemporaryDirectory() as folder:
            messages, limited, seconds = backlog(Path(folder), pace, burst)
        print(f"{label:<36} {messages:>9} {limited:>6} {seconds:>8.3f}")

    print(f"\n2. Loop cost per delivered alert ({BOOKKEEPING_ALERTS} alerts, instant notifier, median of {REPEATS})")
    results = {}
    for label, ours in (("bare: send, mark delivered", False), ("deliver_due (note, lock, plan)", True)):
        runs = []
        for _ in range(REPEATS):
            with tempfile.TemporaryDirectory() as folder:
                runs.append(bookkeeping(Path(folder), ours))
        results[label] = statistics.median(runs)
        print(f"{label:<36} {results[label] * 1e6:>8.0f} µs")
    bare, ours_cost = results.values()
    print(f"{'ratio':<36} {ours_cost / bare:>8.2f}x")


if __name__ == "__main__":
    main()
