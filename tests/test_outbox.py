"""The delivery policy as a pure function: quiet hours, bursts, pacing, in-flight groups, backoff."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.delivery.policy import (
    MAX_DELAY,
    SUMMARY_MAX,
    Hold,
    Pacing,
    Send,
    backoff,
    exhausted,
    plan,
    quiet_until,
)
from monitor.model import Alert

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def alert(n: int, channel: str | None = None, priority: str = "normal", kind: str = "alert") -> Alert:
    return Alert(n, n, f"url:{n}", kind, "slack", channel, priority, "deal", 0, {"title": f"T{n}"})


def pacing(**overrides: object) -> dict[str, Pacing]:
    return {"slack": Pacing(**{"default_channel": "#alerts", **overrides})}


def sends(steps: list) -> list[tuple[tuple[int, ...], str | None, datetime]]:
    return [(tuple(a.id for a in s.alerts), s.channel, s.at) for s in steps if isinstance(s, Send)]


@pytest.mark.parametrize(
    ("local", "window", "expected"),
    [
        ("2026-11-22 23:30", (time(22), time(7)), "2026-11-23 07:00"),
        ("2026-11-22 03:00", (time(22), time(7)), "2026-11-22 07:00"),
        ("2026-11-22 07:00", (time(22), time(7)), None),
        ("2026-11-22 21:59", (time(22), time(7)), None),
        ("2026-11-22 13:00", (time(12), time(14)), "2026-11-22 14:00"),
        ("2026-11-22 14:30", (time(12), time(14)), None),
        ("2026-03-28 23:00", (time(22), time(7)), "2026-03-29 07:00"),  # across the spring DST change
    ],
    ids=["evening", "night", "end-is-open", "before", "daytime-window", "after-daytime", "dst"],
)
def test_quiet_until(local: str, window: tuple[time, time], expected: str | None) -> None:
    now = datetime.fromisoformat(local).replace(tzinfo=BERLIN).astimezone(UTC)
    until = quiet_until(window, now, BERLIN)
    if expected is None:
        assert until is None
    else:
        assert until == datetime.fromisoformat(expected).replace(tzinfo=BERLIN).astimezone(UTC)


def test_quiet_hours_hold_normal_and_low_but_never_high() -> None:
    night = datetime(2026, 11, 22, 23, 0, tzinfo=BERLIN).astimezone(UTC)
    due = [alert(1, priority="high"), alert(2), alert(3, priority="low", kind="follow_up")]
    steps = plan(due, {}, night, pacing(quiet_hours=(time(22), time(7)), timezone=BERLIN))
    assert sends(steps) == [((1,), "#alerts", night)]
    held = [s for s in steps if isinstance(s, Hold)]
    assert [h.alert.id for h in held] == [2, 3]
    assert held[0].until == datetime(2026, 11, 23, 7, 0, tzinfo=BERLIN).astimezone(UTC)
    assert "07:00" in held[0].reason


def test_quiet_hours_per_channel() -> None:
    night = datetime(2026, 11, 22, 23, 0, tzinfo=BERLIN).astimezone(UTC)
    quiet = {"#deals": (time(22), time(7))}
    steps = plan([alert(1, "#deals"), alert(2)], {}, night, pacing(quiet_hours=quiet, timezone=BERLIN))
    assert sends(steps) == [((2,), "#alerts", night)]
    assert [s.alert.id for s in steps if isinstance(s, Hold)] == [1]


def test_pacing_spaces_messages_per_channel_and_counts_recent_sends() -> None:
    due = [alert(1), alert(2, "#deals"), alert(3), alert(4, "#alerts")]
    recent = {("slack", None): [NOW - timedelta(milliseconds=400)]}
    steps = plan(due, recent, NOW, pacing())
    assert sends(steps) == [
        ((1,), "#alerts", NOW + timedelta(milliseconds=600)),
        ((3,), "#alerts", NOW + timedelta(milliseconds=1600)),
        ((4,), "#alerts", NOW + timedelta(milliseconds=2600)),  # routed to the default: same lane
        ((2,), "#deals", NOW),
    ]


def test_burst_is_coalesced_into_summaries() -> None:
    due = [alert(n) for n in range(1, 51)]
    steps = plan(due, {}, NOW, pacing(burst_limit=10))
    assert sends(steps) == [
        (tuple(range(1, SUMMARY_MAX + 1)), "#alerts", NOW),
        (tuple(range(SUMMARY_MAX + 1, 51)), "#alerts", NOW + SECOND),
    ]


def test_recent_sends_count_towards_the_burst_limit() -> None:
    recent = {("slack", "#alerts"): [NOW - timedelta(seconds=s) for s in (5, 10, 20, 90)]}  # 90 s: too old
    assert sends(plan([alert(1), alert(2)], recent, NOW, pacing(burst_limit=4))) == [((1, 2), "#alerts", NOW)]
    assert len(sends(plan([alert(1), alert(2)], recent, NOW, pacing(burst_limit=5)))) == 2
    assert sends(plan([alert(1)], recent, NOW, pacing(burst_limit=1))) == [((1,), "#alerts", NOW)]  # no summary of one


def test_a_burst_is_counted_per_channel_and_takes_high_priority_alerts_too() -> None:
    """Four alerts for #alerts and two for #deals under a limit of three: only #alerts bursts, and
    its high-priority alert goes in its summary with the others; #deals gets its two alone."""
    due = [alert(1), alert(2, "#deals"), alert(3, priority="high"), alert(4), alert(5, "#deals"), alert(6)]
    assert sends(plan(due, {}, NOW, pacing(burst_limit=3))) == [
        ((1, 3, 4, 6), "#alerts", NOW),
        ((2,), "#deals", NOW),
        ((5,), "#deals", NOW + SECOND),
    ]


def test_follow_ups_stay_threaded_and_are_not_summarised() -> None:
    due = [alert(1), alert(2), alert(3, kind="follow_up")]
    assert sends(plan(due, {}, NOW, pacing(burst_limit=1))) == [
        ((1, 2), "#alerts", NOW),
        ((3,), "#alerts", NOW + SECOND),
    ]


def test_in_flight_groups_are_resent_first_and_as_they_were() -> None:
    night = datetime(2026, 11, 22, 23, 0, tzinfo=BERLIN).astimezone(UTC)
    due = [alert(1), alert(2), alert(3), alert(4)]
    in_flight = {2: "t1", 3: "t1"}
    steps = plan(due, {}, night, pacing(quiet_hours=(time(22), time(7)), timezone=BERLIN), in_flight)
    assert sends(steps) == [((2, 3), "#alerts", night)]  # not held: it may already have been posted
    assert [s.alert.id for s in steps if isinstance(s, Hold)] == [1, 4]


def test_destinations_without_pacing_go_at_once() -> None:
    due = [Alert(n, n, f"k{n}", "alert", "console", None, "normal", "r", 0, {}) for n in range(1, 30)]
    assert all(at == NOW and len(ids) == 1 for ids, _, at in sends(plan(due, {}, NOW, pacing(burst_limit=2))))


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    rng = random.Random(7)
    delays = [backoff(n, NOW, rng) - NOW for n in range(30)]
    assert timedelta(seconds=2.5) <= delays[0] <= timedelta(seconds=5)
    assert delays[3] > delays[0]
    assert max(delays) <= MAX_DELAY and delays[-1] >= MAX_DELAY / 2
    assert not exhausted(0) and exhausted(49)
