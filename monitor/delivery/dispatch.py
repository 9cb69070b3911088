"""The delivery loop: due outbox rows -> notifiers, one message at a time, each outcome stored.

Every decision is made elsewhere, as a value: ``outbox.plan`` says what to send, hold or
coalesce and when (from the due rows, the recent sends per channel and ``now``); notifiers say
what the far side answered (delivered, retry at, dead). This module only does the I/O, in an
order that makes a crash cheap:

1. ``mark_sending`` commits a note on the rows of the next message;
2. the notifier sends it (the only step whose outcome a crash can leave unknown);
3. ``mark_sent`` / ``mark_retry`` / ``mark_dead`` commits the outcome and clears the note.

Messages go strictly one after another, and the store's delivery turn (a lock file next to a
SQLite database, an advisory lock on PostgreSQL) keeps a second process (a ``monitor poll``
beside ``monitor run``, or another replica) from delivering the same rows. So when the
process is killed, at most one message is between steps 1 and 3; on the next run its rows are
found by their note, reported (``AlertInterrupted``) and sent again exactly as they were grouped.
That message may then show twice; every other row is either delivered and marked, or pending.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, cast

from monitor import events
from monitor.clock import Clock
from monitor.delivery import Notifier, SummaryNotifier, webhook
from monitor.delivery.outbox import BURST_WINDOW, Hold, Pacing, Send, plan
from monitor.model import Alert, Dead, Delivered, DeliveryResult, RetryAt
from monitor.store.interface import DeliveryStore
from monitor.store.locks import file_lock

log = logging.getLogger("monitor.delivery")

FOLLOW_UP_WAIT = timedelta(seconds=30)
MAX_ROUNDS = 20  # one call keeps going while rounds deliver something (more due, short Retry-After)


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    held: int = 0
    busy: bool = False  # another process was delivering; it will send these

    def __add__(self, other: DeliveryReport) -> DeliveryReport:
        return DeliveryReport(
            self.delivered + other.delivered,
            self.retrying + other.retrying,
            self.dead + other.dead,
            self.held + other.held,
            self.busy or other.busy,
        )


class DeliveryContext(Protocol):
    """What the loop needs (``pipeline.Runtime`` is one)."""

    config: Any
    clock: Clock
    bus: events.EventBus
    notifiers: dict[str, Notifier]

    @property
    def store(self) -> DeliveryStore: ...


def pacing_for(config: Any) -> dict[str, Pacing]:
    """Per-destination pacing from the config: only Slack is paced, coalesced and quiet, so only
    its notifier is asked for summaries (a ``SummaryNotifier``)."""
    if config.slack is None:
        return {}
    slack = config.slack
    return {
        "slack": Pacing(
            interval=timedelta(seconds=slack.pace),
            burst_limit=slack.burst_limit,
            quiet_hours=slack.quiet_hours,
            timezone=config.monitor.timezone,
            default_channel=slack.channel,
        )
    }


def delivery_lock(database: Path) -> AbstractContextManager[bool]:
    """An exclusive, non-blocking lock on ``<database>.deliver-lock`` (SQLite's delivery turn);
    yields whether it was taken. The kernel drops it when the holder dies, even by kill -9."""
    return file_lock(database.with_name(database.name + ".deliver-lock"))


def deliver_due(ctx: DeliveryContext, limit: int = 100) -> DeliveryReport:
    """Deliver what is due now, paced; returns what happened. Safe to call from any process."""
    with ctx.store.delivery_turn() as locked:
        if not locked:
            log.info("delivery skipped: another monitor process is delivering")
            return DeliveryReport(busy=True)
        total = DeliveryReport()
        for _ in range(MAX_ROUNDS):
            report = _round(ctx, limit)
            total += report
            if not report.delivered:
                break
        return total


def _round(ctx: DeliveryContext, limit: int) -> DeliveryReport:
    now = ctx.clock.now()
    due = ctx.store.outbox.due(now, limit)
    if not due:
        return DeliveryReport()
    in_flight = ctx.store.outbox.in_flight()
    for alert in due:
        if alert.id in in_flight:
            ctx.bus.emit(events.AlertInterrupted(alert.id, alert.destination))
    pacing = pacing_for(ctx.config)
    steps = plan(due, ctx.store.outbox.recent_sends(now - BURST_WINDOW), now, pacing, in_flight)

    held = 0
    for step in steps:
        if isinstance(step, Hold):
            ctx.store.outbox.defer([step.alert.id], step.until, step.reason)
            ctx.bus.emit(events.AlertHeld(step.alert.id, step.alert.destination, step.reason))
            held += 1
    report = DeliveryReport(held=held)
    blocked: dict[tuple[str, str | None], RetryAt] = {}
    started_at: dict[tuple[str, str | None], datetime] = {}
    for send in sorted((s for s in steps if isinstance(s, Send)), key=lambda s: s.at):
        lane = (send.alerts[0].destination, send.channel)
        if lane in blocked:  # Slack just refused this channel: its other alerts wait as long
            ctx.store.outbox.defer([a.id for a in send.alerts], blocked[lane].when, blocked[lane].reason)
            continue
        at = send.at
        if lane in started_at and lane[0] in pacing:  # the plan's slots slip when a send is slow
            at = max(at, started_at[lane] + pacing[lane[0]].interval)
        wait = (at - ctx.clock.now()).total_seconds()
        if wait > 0:
            ctx.clock.sleep(wait)
        started_at[lane] = ctx.clock.now()
        started = time.monotonic()
        result = _send(ctx, send)
        if result is None:
            continue
        report += _store(ctx, send.alerts, result, round(time.monotonic() - started, 3))
        if isinstance(result, RetryAt):
            blocked[lane] = result
    return report


def _send(ctx: DeliveryContext, send: Send) -> DeliveryResult | None:
    """Send one message; None when it must wait for its story's opening alert instead."""
    first = send.alerts[0]
    notifier = ctx.notifiers.get(first.destination)
    if notifier is None:
        return Dead(f"no notifier {first.destination!r} is configured; configure it, then `monitor outbox retry`")
    thread = None
    if len(send.alerts) == 1 and first.kind == "follow_up":
        thread = ctx.store.outbox.story_thread(first.story_id, first.destination, first.channel)
        if thread is None and ctx.store.outbox.opening_alert_pending(first.story_id, first.destination, first.channel):
            ctx.store.outbox.defer([first.id], ctx.clock.now() + FOLLOW_UP_WAIT, "waiting for the story's first alert")
            return None
    ctx.store.outbox.mark_sending([a.id for a in send.alerts], ctx.clock.now())
    if len(send.alerts) == 1:
        return notifier.send(first, thread, ctx.clock.now())
    return cast(SummaryNotifier, notifier).send_summary(send.alerts, send.channel, ctx.clock.now())


def _store(ctx: DeliveryContext, alerts: Sequence[Alert], result: DeliveryResult, seconds: float) -> DeliveryReport:
    now = ctx.clock.now()
    if isinstance(result, Delivered):
        ctx.store.outbox.mark_sent([a.id for a in alerts], result.remote_id, result.channel, now)
        for alert in alerts:
            ctx.bus.emit(events.AlertDelivered(alert.id, alert.destination, result.remote_id, seconds))
        return DeliveryReport(delivered=len(alerts))
    if isinstance(result, RetryAt):
        for alert in alerts:
            ctx.store.outbox.mark_retry(alert.id, result.when, result.reason)
            ctx.bus.emit(events.AlertRetrying(alert.id, alert.destination, result.reason))
        return DeliveryReport(retrying=len(alerts))
    for alert in alerts:
        dead = events.AlertDead(alert.id, alert.destination, result.reason)
        ctx.store.outbox.mark_dead(alert.id, result.reason, now, webhook.event_rows(ctx.config.webhooks, dead, now))
        ctx.bus.emit(dead)
    return DeliveryReport(dead=len(alerts))
