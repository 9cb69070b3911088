"""Delivering: due outbox rows -> notifiers, one message at a time, each outcome stored.

Every decision is made elsewhere, as a value: ``delivery.policy.plan`` says what to send, hold or
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
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from monitor import events
from monitor.config import Config
from monitor.delivery import webhook
from monitor.delivery.policy import BURST_WINDOW, Hold, Pacing, Send, plan
from monitor.model import Alert, Dead, Delivered, DeliveryResult, RetryAt
from monitor.shell.runtime import Runtime

if TYPE_CHECKING:
    from monitor.delivery.slack import SlackNotifier

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


def pacing_for(config: Config) -> dict[str, Pacing]:
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


def deliver_due(
    rt: Runtime, limit: int = 100, destination: str | None = None, halt: threading.Event | None = None
) -> DeliveryReport:
    """Deliver what is due now to ``destination`` (or to every destination with rows due, one after
    another), paced; returns what happened. Safe to call from any process: each destination has
    its own turn, so a slow webhook never holds Slack up. Once ``halt`` is set (a shutdown), the
    message being sent finishes and nothing more is sent."""
    if destination is None:
        total = DeliveryReport()
        for name in rt.store.outbox.due_destinations(rt.clock.now()):
            total += deliver_due(rt, limit, name, halt)
        return total
    halt = halt or threading.Event()
    with rt.store.delivery_turn(destination) as locked:
        if not locked:
            log.info("delivery skipped: another monitor process is delivering to %s", destination)
            return DeliveryReport(busy=True)
        total = DeliveryReport()
        for _ in range(MAX_ROUNDS):
            report = _round(rt, limit, destination, halt)
            total += report
            if not report.delivered or halt.is_set():
                break
        return total


def _round(rt: Runtime, limit: int, destination: str, halt: threading.Event) -> DeliveryReport:
    now = rt.clock.now()
    due = rt.store.outbox.due(now, limit, destination)
    if not due:
        return DeliveryReport()
    in_flight = rt.store.outbox.in_flight()
    for alert in due:
        if alert.id in in_flight:
            rt.bus.emit(events.AlertInterrupted(alert.id, alert.destination))
    pacing = pacing_for(rt.config)
    steps = plan(due, rt.store.outbox.recent_sends(now - BURST_WINDOW), now, pacing, in_flight)

    held = 0
    for step in steps:
        if isinstance(step, Hold):
            rt.store.outbox.defer([step.alert.id], step.until, step.reason)
            rt.bus.emit(events.AlertHeld(step.alert.id, step.alert.destination, step.reason))
            held += 1
    report = DeliveryReport(held=held)
    blocked: dict[tuple[str, str | None], RetryAt] = {}
    started_at: dict[tuple[str, str | None], datetime] = {}
    for send in sorted((s for s in steps if isinstance(s, Send)), key=lambda s: s.at):
        if halt.is_set():
            break
        lane = (send.alerts[0].destination, send.channel)
        if lane in blocked:  # Slack just refused this channel: its other alerts wait as long
            rt.store.outbox.defer([a.id for a in send.alerts], blocked[lane].when, blocked[lane].reason)
            continue
        at = send.at
        if lane in started_at and lane[0] in pacing:  # the plan's slots slip when a send is slow
            at = max(at, started_at[lane] + pacing[lane[0]].interval)
        wait = (at - rt.clock.now()).total_seconds()
        if wait > 0:
            rt.clock.sleep(wait)
        started_at[lane] = rt.clock.now()
        started = time.monotonic()
        result = _send(rt, send)
        if result is None:
            continue
        report += _store(rt, send.alerts, result, round(time.monotonic() - started, 3))
        if isinstance(result, RetryAt):
            blocked[lane] = result
    return report


def _send(rt: Runtime, send: Send) -> DeliveryResult | None:
    """Send one message; None when it must wait for its story's opening alert instead."""
    first = send.alerts[0]
    notifier = rt.notifiers.for_destination(first.destination)
    if notifier is None:
        return Dead(f"no notifier {first.destination!r} is configured; configure it, then `monitor outbox retry`")
    thread = None
    if len(send.alerts) == 1 and first.kind == "follow_up":
        thread = rt.store.outbox.story_thread(first.story_id, first.destination, first.channel)
        if thread is None and rt.store.outbox.opening_alert_pending(first.story_id, first.destination, first.channel):
            rt.store.outbox.defer([first.id], rt.clock.now() + FOLLOW_UP_WAIT, "waiting for the story's first alert")
            return None
    rt.store.outbox.mark_sending([a.id for a in send.alerts], rt.clock.now())
    if len(send.alerts) == 1:
        return notifier.send(first, thread, rt.clock.now())
    # several alerts in one message: only a paced destination (Slack, ``pacing_for``) is planned so
    if rt.notifiers.slack is None or first.destination != "slack":
        return Dead(f"{first.destination} cannot send a summary")
    return rt.notifiers.slack.send_summary(send.alerts, send.channel, rt.clock.now())


def _store(rt: Runtime, alerts: Sequence[Alert], result: DeliveryResult, seconds: float) -> DeliveryReport:
    now = rt.clock.now()
    if isinstance(result, Delivered):
        rt.store.outbox.mark_sent([a.id for a in alerts], result.remote_id, result.channel, now)
        for alert in alerts:
            rt.bus.emit(events.AlertDelivered(alert.id, alert.destination, result.remote_id, seconds))
        return DeliveryReport(delivered=len(alerts))
    if isinstance(result, RetryAt):
        for alert in alerts:
            rt.store.outbox.mark_retry(alert.id, result.when, result.reason)
            rt.bus.emit(events.AlertRetrying(alert.id, alert.destination, result.reason))
        return DeliveryReport(retrying=len(alerts))
    for alert in alerts:
        dead = events.AlertDead(alert.id, alert.destination, result.reason)
        rt.store.outbox.mark_dead(alert.id, result.reason, now, webhook.event_rows(rt.config.webhooks, dead, now))
        rt.bus.emit(dead)
    return DeliveryReport(dead=len(alerts))


def deliver_notices(rt: Runtime) -> int:
    """Send the due feed-health announcements to the ops channel, all in one message; returns how
    many were sent. They wait in the store, so a Slack outage or a crash only delays them."""
    slack = rt.notifiers.slack
    if slack is None:
        return 0
    with rt.store.delivery_turn("slack") as mine:  # Slack's one sender: no notice twice, the pace kept
        return _send_notices(rt, slack) if mine else 0


def _send_notices(rt: Runtime, slack: SlackNotifier) -> int:
    notices = rt.store.notices.due(rt.clock.now())
    if not notices:
        return 0
    now = rt.clock.now()
    ids = [n.id for n in notices]
    match slack.notice(notices[0].channel, [n.text for n in notices], max(n.attempts for n in notices), now):
        case Delivered():
            rt.store.notices.mark(ids, now, None, None)
            return len(ids)
        case RetryAt(when=when, reason=reason):
            rt.store.notices.mark(ids, now, when, reason)
        case Dead(reason=reason):
            rt.store.notices.mark(ids, now, None, reason)
    return 0
