"""The digest's pure core: which period is due (across DST), grouping, and safe rendering."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from digest_data import EMBODIED, FUNDING, HOSTILE, HOSTILE_TITLE, HOSTILE_URL, STORIES, VIDEO, feeds, match, record

from monitor.delivery import digest
from monitor.model import Amount, Coverage, Deal, Explanation, Match, StoryRecord
from monitor.store.sqlitedb import open_sqlite

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SIX_HOURS = timedelta(hours=6)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "at", "tz", "expected"),
    [
        (date(2026, 11, 22), time(8, 0), BERLIN, utc(2026, 11, 22, 7, 0)),
        (date(2026, 7, 1), time(8, 0), BERLIN, utc(2026, 7, 1, 6, 0)),
        # 02:30 does not exist on 29 March in Berlin (02:00 -> 03:00): shifted by the gap to 03:30 CEST
        (date(2026, 3, 29), time(2, 30), BERLIN, utc(2026, 3, 29, 1, 30)),
        # 02:30 occurs twice on 25 October (CEST, then CET): the first one
        (date(2026, 10, 25), time(2, 30), BERLIN, utc(2026, 10, 25, 0, 30)),
        (date(2026, 3, 8), time(2, 15), NEW_YORK, utc(2026, 3, 8, 7, 15)),
        (date(2026, 11, 1), time(1, 30), NEW_YORK, utc(2026, 11, 1, 5, 30)),
    ],
    ids=["winter", "summer", "spring-gap", "autumn-twice", "ny-gap", "ny-twice"],
)
def test_send_instant(day: date, at: time, tz: ZoneInfo, expected: datetime) -> None:
    assert digest.send_instant(day, at, tz) == expected


D = date(2026, 11, 22)  # send time 08:00 Berlin = 07:00 UTC


@pytest.mark.parametrize(
    ("now", "last", "expected"),
    [
        (utc(2026, 11, 22, 6, 59), date(2026, 11, 21), None),  # not yet
        (utc(2026, 11, 22, 7, 0), date(2026, 11, 21), D),  # on time
        (utc(2026, 11, 22, 7, 5), D, None),  # restarted after sending: no second one
        (utc(2026, 11, 22, 12, 0), date(2026, 11, 21), D),  # down at 08:00, up within grace
        (utc(2026, 11, 22, 13, 0), date(2026, 11, 21), D),  # exactly at the edge of grace
        (utc(2026, 11, 22, 13, 1), date(2026, 11, 21), None),  # beyond grace: the next digest covers it
        (utc(2026, 11, 22, 9, 0), None, D),  # first start ever, within grace
        (utc(2026, 11, 22, 9, 0), date(2026, 11, 19), D),  # days down: today's digest, since the last one
    ],
    ids=["early", "on-time", "restart", "catch-up", "grace-edge", "too-late", "first", "days-down"],
)
def test_due_period(now: datetime, last: date | None, expected: date | None) -> None:
    assert digest.due_period(now, BERLIN, time(8, 0), last, SIX_HOURS) == expected


@pytest.mark.parametrize(
    ("start", "at", "expected_days"),
    [
        (datetime(2026, 3, 27, 12, tzinfo=BERLIN), time(2, 30), ["2026-03-28", "2026-03-29", "2026-03-30"]),
        (datetime(2026, 10, 24, 0, 0, tzinfo=BERLIN), time(2, 30), ["2026-10-24", "2026-10-25", "2026-10-26"]),
        (datetime(2026, 3, 27, 12, tzinfo=BERLIN), time(8, 0), ["2026-03-28", "2026-03-29", "2026-03-30"]),
    ],
    ids=["spring-gap", "autumn-twice", "spring-normal-time"],
)
def test_cron_fires_plus_due_period_give_one_digest_per_day(
    start: datetime, at: time, expected_days: list[str]
) -> None:
    """Follow APScheduler's own CronTrigger through a DST change (on 3.11.3 it fires twice in an
    autumn night and at a non-existent local time in spring): deciding by period sends each day once."""
    trigger = CronTrigger(hour=at.hour, minute=at.minute, timezone=BERLIN)
    last, sent, fires, previous, now = None, [], 0, None, start
    while len(sent) < len(expected_days):
        fire = trigger.get_next_fire_time(previous, now)
        fires += 1
        due = digest.due_period(fire.astimezone(UTC), BERLIN, at, last, SIX_HOURS)
        if due is not None:
            sent.append(due.isoformat())
            last = due
        previous, now = fire, fire.astimezone(UTC) + timedelta(seconds=1)  # not wall-clock arithmetic
    assert sent == expected_days
    if at == time(2, 30) and start.month == 10:
        assert fires == 4  # the trigger fired twice on 25 October; one digest went out


def test_period_lengths_follow_the_clock_changes() -> None:
    spring = [digest.send_instant(date(2026, 3, d), time(8, 0), BERLIN) for d in (28, 29)]
    autumn = [digest.send_instant(date(2026, 10, d), time(8, 0), BERLIN) for d in (24, 25)]
    assert spring[1] - spring[0] == timedelta(hours=23)
    assert autumn[1] - autumn[0] == timedelta(hours=25)


# --- content and rendering ------------------------------------------------------------------------

END = utc(2026, 11, 22, 7, 0)


@pytest.fixture
def built(tmp_path: Path) -> digest.Digest:
    store = open_sqlite(tmp_path / "m.db")
    record(store, END, (*STORIES, HOSTILE))
    feeds(store, END)
    d = digest.build(
        store.items.stories_first_seen(END - timedelta(days=1), END),
        title="World-model monitor",
        period="2026-11-22",
        day=D,
        start=END - timedelta(days=1),
        end=END,
        tz=BERLIN,
        alerts=store.outbox.count_alerts(END - timedelta(days=1), END),
        feeds=store.feeds.states(),
    )
    store.close()
    return d


def test_grouped_by_priority_then_top_rule(built: digest.Digest) -> None:
    layout = [(g.priority, [(r.rule_name, len(r.stories)) for r in g.rules]) for g in built.groups]
    assert layout == [
        ("high", [(FUNDING, 3)]),
        ("normal", [(EMBODIED, 1), (VIDEO, 1)]),
        ("low", [(VIDEO, 1)]),
    ]
    first = built.groups[0].rules[0].stories[0]
    assert [o.name for o in first.outlets] == ["TechNode", "SCMP Tech"]
    assert first.also_rules == (VIDEO,)
    assert first.largest_usd == "$290M" and first.round == "Series B"
    assert first.first_seen.tzinfo == BERLIN and first.first_seen.hour == 12
    assert built.subject == "World-model monitor: 6 stories, 2026-11-22"
    assert built.summary == "6 stories · 6 alerts · 9 feeds polled · 1 failing"


def test_story_outside_the_period_is_not_in_it(tmp_path: Path) -> None:
    store = open_sqlite(tmp_path / "m.db")
    record(store, END)
    inside = store.items.stories_first_seen(END - timedelta(hours=6), END)
    assert [s.title for s in inside] == ["Tripo AI closes $50M to scale 3D generation", STORIES[4].outlets[0][2]]
    assert len(inside[0].items) == 2 and inside[0].matches[0].explanation.amounts[0].usd == 5e7
    store.close()


def test_html_escapes_hostile_text_and_links_only_http(built: digest.Digest) -> None:
    html = digest.render_html(built)
    assert "<script>" not in html and "<img" not in html and "<b>Feed" not in html
    assert "&lt;script&gt;" in html and "&lt;!channel&gt;" in html
    assert "javascript:" not in html
    for story in STORIES:
        for _, url, _ in story.outlets:
            assert f'href="{url}"' in html


def test_text_part_carries_every_story_and_outlet_link(built: digest.Digest) -> None:
    text = digest.render_text(built)
    for story in STORIES:
        assert story.outlets[0][2] in text
        for outlet, url, _ in story.outlets:
            assert outlet in text and url in text
    assert HOSTILE_TITLE in text  # plain text is not HTML: shown as written, never linked
    assert HOSTILE_URL not in text


def test_slack_summary_escapes_and_links_only_http(built: digest.Digest) -> None:
    message = digest.slack_summary(built, "#digest")
    blob = str(message.blocks) + message.text
    assert "<!channel>" not in blob and "&lt;!channel&gt;" in blob
    assert "javascript:" not in blob
    assert f"<{STORIES[0].outlets[0][1]}|" in blob
    assert message.metadata == {"event_type": "monitor_digest", "event_payload": {"period": "2026-11-22"}}


def test_empty_digest_says_so() -> None:
    d = digest.build([], title="T", period="p", day=D, start=END, end=END, tz=BERLIN, alerts=0, feeds=[])
    assert d.empty and d.subject == "T: 0 stories, 2026-11-22"
    assert "Nothing matched" in digest.render_html(d) and "Nothing matched" in digest.render_text(d)


def test_one_amount_per_sum_in_its_most_telling_wording() -> None:
    short, long_ = (
        Amount("2 billion yuan", 2e9, "CNY", 2.76e8),
        Amount("2 billion yuan ($290 million)", 2e9, "CNY", 2.76e8),
    )
    record = StoryRecord(
        1, "ShengShu raises", "https://a.example/1", "high", END,
        (Coverage("Wire", "ShengShu raises", "https://a.example/1", END),),
        (match("funding", FUNDING, "high", amounts=(short,)), match("video", VIDEO, "normal", amounts=(long_, short))),
    )  # fmt: skip
    d = digest.build([record], title="T", period="p", day=D, start=END, end=END, tz=BERLIN, alerts=0, feeds=[])
    assert d.groups[0].rules[0].stories[0].amounts == ("2 billion yuan ($290 million)",)


def test_a_story_with_a_deal_shows_its_card_in_both_parts() -> None:
    card = Explanation(
        amounts=(Amount("$60 million", 6e7, "USD", 6e7), Amount("$50 million", 5e7, "USD", 5e7)),
        companies=("PixVerse", "Alibaba", "Tripo AI"),
        deal=Deal("PixVerse", "$60 million", 6e7, "USD", "Series B", ("Alibaba",)),
        other_deals=(Deal("Tripo AI", "$50 million", 5e7, "USD"),),
    )
    record = StoryRecord(
        1, "PixVerse raises $60M", "https://a.example/1", "high", END,
        (Coverage("Wire", "PixVerse raises $60M", "https://a.example/1", END),),
        (Match("funding", FUNDING, "high", None, False, card),),
    )  # fmt: skip
    d = digest.build([record], title="T", period="p", day=D, start=END, end=END, tz=BERLIN, alerts=1, feeds=[])
    for rendered in (digest.render_text(d), digest.render_html(d)):
        assert "PixVerse raised $60 million · Series B · led by Alibaba" in rendered
        assert "Tripo AI $50M" in rendered and "Companies" not in rendered
