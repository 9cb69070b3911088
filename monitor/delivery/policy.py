"""Delivery policy, pure: what to send now, what to hold, when to try again, when to give up.

Notifiers report what the far side said (``Delivered``, ``RetryAt`` with the server's own
Retry-After when it gave one, or ``Dead`` for permanent errors); ``backoff`` turns a transient
failure without a server hint into the next attempt time: exponential with jitter, capped.
An alert that keeps failing transiently is never dropped silently: after ``MAX_ATTEMPTS`` it goes
to the dead-letter state with its last error, visible in ``monitor status`` and retryable.

``plan`` decides one delivery round from the due outbox rows, the recent sends per channel and
``now``, and nothing else:

- quiet hours: normal and low priority alerts for a channel inside its quiet window are held
  until the window ends; high priority always goes through;
- bursts: when a channel would get more than ``burst_limit`` messages within a minute, its due
  alerts are coalesced into summary messages (at most ``SUMMARY_MAX`` alerts each);
- pacing: messages to one channel are spaced ``interval`` apart (Slack allows about one per
  second per channel);
- alerts that were in flight when the process died are resent exactly as they were grouped,
  first, so a crash repeats at most that one message.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo

from monitor.model import Alert, Dead, DeliveryResult, RetryAt

BASE_DELAY = timedelta(seconds=5)
MAX_DELAY = timedelta(hours=1)
MAX_ATTEMPTS = 50  # about two days of capped retries
BURST_WINDOW = timedelta(minutes=1)
SUMMARY_MAX = 40  # alerts listed in one summary message (Slack allows 50 blocks)

QuietHours = tuple[time, time] | Mapping[str, tuple[time, time]]
ChannelKey = tuple[str, str | None]  # (destination, effective channel)


def backoff(attempts: int, now: datetime, rng: random.Random | None = None) -> datetime:
    """Next attempt time after ``attempts`` failed attempts (0 = the first failure)."""
    ceiling = min(BASE_DELAY * (2 ** min(attempts, 20)), MAX_DELAY)
    fraction = (rng or random).uniform(0.5, 1.0)
    return now + ceiling * fraction


def exhausted(attempts: int) -> bool:
    return attempts + 1 >= MAX_ATTEMPTS


def transient(reason: str, attempts: int, now: datetime) -> DeliveryResult:
    """A failure that may pass: retry with back-off, or give up once the attempts are exhausted."""
    if exhausted(attempts):
        return Dead(f"gave up after {attempts + 1} attempts; last error: {reason}")
    return RetryAt(backoff(attempts, now), reason)


@dataclass(frozen=True, slots=True)
class Pacing:
    """How alerts to one destination are paced, coalesced and held, per channel."""

    interval: timedelta = timedelta(seconds=1)
    burst_limit: int = 10
    quiet_hours: QuietHours | None = None  # one window for every channel, or channel -> window
    timezone: tzinfo = UTC
    default_channel: str | None = None


@dataclass(frozen=True, slots=True)
class Send:
    """Send these alerts as one message (a summary when there are several), not before ``at``."""

    alerts: tuple[Alert, ...]
    channel: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Hold:
    """Do not send ``alert`` before ``until`` (quiet hours); not a failed attempt."""

    alert: Alert
    until: datetime
    reason: str


Step = Send | Hold


@dataclass
class _Lane:
    """One channel's share of a round: its held, grouped and single alerts."""

    last: datetime | None = None
    recent: int = 0
    resend: dict[str, list[Alert]] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)
    follow_ups: list[Alert] = field(default_factory=list)


def quiet_window(quiet: QuietHours | None, channel: str | None) -> tuple[time, time] | None:
    if quiet is None or isinstance(quiet, tuple):
        return quiet
    return quiet.get(channel or "")


def quiet_until(window: tuple[time, time] | None, now: datetime, zone: tzinfo) -> datetime | None:
    """The end of the quiet window ``now`` is in (UTC), or None when ``now`` is not quiet."""
    if window is None or window[0] == window[1]:
        return None
    start, end = window
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else clock >= start or clock < end
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(UTC)


def effective_channel(alert: Alert, pacing: Pacing | None) -> str | None:
    return alert.channel or (pacing.default_channel if pacing else None)


def plan(
    due: Sequence[Alert],
    recent: Mapping[tuple[str, str | None], Sequence[datetime]],
    now: datetime,
    pacing: Mapping[str, Pacing],
    in_flight: Mapping[int, str] | None = None,
) -> list[Step]:
    """Decide one round. ``recent``: send times per (destination, stored channel) in the last
    minute or more; ``pacing``: per destination (destinations without one are sent at once);
    ``in_flight``: alert id -> group token of rows whose send a crash interrupted."""
    in_flight = in_flight or {}
    lanes: dict[ChannelKey, _Lane] = defaultdict(_Lane)
    for (destination, stored), times in recent.items():
        rules = pacing.get(destination)
        lane = lanes[(destination, stored or (rules.default_channel if rules else None))]
        lane.recent += sum(1 for t in times if now - t < BURST_WINDOW)
        latest = max(times, default=None)
        if latest and (lane.last is None or latest > lane.last):
            lane.last = latest

    steps: list[Step] = []
    for alert in due:
        rules = pacing.get(alert.destination)
        channel = effective_channel(alert, rules)
        lane = lanes[(alert.destination, channel)]
        if alert.id in in_flight:
            lane.resend.setdefault(in_flight[alert.id], []).append(alert)
            continue
        if rules and alert.priority != "high":
            until = quiet_until(quiet_window(rules.quiet_hours, channel), now, rules.timezone)
            if until is not None:
                local = until.astimezone(rules.timezone)
                steps.append(Hold(alert, until, f"quiet hours in {channel or 'the channel'} until {local:%H:%M}"))
                continue
        (lane.follow_ups if alert.kind == "follow_up" else lane.alerts).append(alert)

    for (destination, channel), lane in lanes.items():
        steps.extend(_lane_steps(lane, channel, now, pacing.get(destination)))
    return steps


def _lane_steps(lane: _Lane, channel: str | None, now: datetime, rules: Pacing | None) -> list[Send]:
    groups: list[tuple[Alert, ...]] = [tuple(group) for group in lane.resend.values()]
    if rules and len(lane.alerts) > 1 and lane.recent + len(lane.alerts) > rules.burst_limit:
        groups += [tuple(lane.alerts[i : i + SUMMARY_MAX]) for i in range(0, len(lane.alerts), SUMMARY_MAX)]
    else:
        groups += [(alert,) for alert in lane.alerts]
    groups += [(alert,) for alert in lane.follow_ups]
    if rules is None:
        return [Send(group, channel, now) for group in groups]
    sends = []
    slot = max(now, lane.last + rules.interval) if lane.last else now
    for group in groups:
        sends.append(Send(group, channel, slot))
        slot += rules.interval
    return sends
