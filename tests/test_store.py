import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.errors import StoreError
from monitor.model import Explanation, FeedConfig, Item, Match
from monitor.store.base import JoinStory, NewItem, OpenStory, Outgoing, PollOutcome
from monitor.store.sqlite import SQLiteStore

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def item(n: int, feed: str = "F") -> Item:
    return Item(feed, f"g{n}", f"https://x.example/{n}", f"Title {n}", "s", "s", NOW, NOW, f"fp{n}")


MATCH = Match("deal", "Deals", "high", None, False, Explanation())


def matched(n: int, story=None) -> NewItem:
    out = Outgoing("slack", None, "high", "deal", {"title": f"Title {n}"})
    return NewItem(item(n), (f"url:https://x.example/{n}", f"fp:fp{n}"), (MATCH,), story or OpenStory(), (out,))


@pytest.fixture
def store(tmp_path: Path):
    s = SQLiteStore(tmp_path / "sub" / "m.db")
    s.sync_feeds([FeedConfig("F", "https://x.example/feed", timedelta(minutes=5))])
    yield s
    s.close()


def test_created_on_first_use_in_wal_mode(tmp_path: Path) -> None:
    s = SQLiteStore(tmp_path / "new" / "m.db")
    assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    s.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="newer monitor"):
        SQLiteStore(path)


def test_items_keys_matches_and_outbox_in_one_transaction(store: SQLiteStore) -> None:
    recorded = store.record_items([matched(1), NewItem(item(2), ("url:https://x.example/2",))], NOW)
    assert recorded[0].story_id and len(recorded[0].alert_ids) == 1
    assert recorded[1].story_id is None and recorded[1].alert_ids == ()
    assert store.known_keys(["fp:fp1", "url:https://x.example/2", "url:other"]) == {
        "fp:fp1",
        "url:https://x.example/2",
    }
    broken = NewItem(item(3), ("k3",), (MATCH,), None, (Outgoing("slack", None, "high", "d", {}),))
    with pytest.raises(StoreError):
        store.record_items([matched(4), broken], NOW)
    assert store.known_keys(["url:https://x.example/4", "k3"]) == set()  # rolled back together


def test_outbox_lifecycle_and_threads(store: SQLiteStore) -> None:
    story = store.record_items([matched(1)], NOW)[0].story_id
    follow = store.record_items([matched(2, JoinStory(story))], NOW)[0]
    due = store.due_alerts(NOW)
    assert [a.kind for a in due] == ["alert", "follow_up"]
    assert store.opening_alert_pending(story, "slack", None)
    store.mark_retry(due[0].id, NOW + timedelta(minutes=1), "ratelimited")
    assert [a.id for a in store.due_alerts(NOW)] == [follow.alert_ids[0]]
    store.mark_delivered(due[0].id, "1700.1", "C1", NOW)
    assert store.story_thread(story, "slack", None) == ("C1", "1700.1")
    store.mark_dead(follow.alert_ids[0], "channel_not_found: x", NOW)
    assert store.outbox_counts() == {"pending": 0, "delivered": 1, "dead": 1}
    assert store.dead_alerts()[0]["last_error"] == "channel_not_found: x"


def test_poll_state_remembers_validators_and_failures(store: SQLiteStore) -> None:
    store.record_poll("F", PollOutcome("ok", etag='"e"', last_modified="lm", body_hash="h"), NOW)
    before = store.record_poll("F", PollOutcome("error", error="http: HTTP 500"), NOW)
    assert before.consecutive_failures == 0
    state = store.feed_state("F")
    assert (state.etag, state.consecutive_failures, state.last_error) == ('"e"', 1, "http: HTTP 500")
    store.record_poll("F", PollOutcome("not_modified"), NOW)
    assert store.feed_state("F").consecutive_failures == 0
    assert store.feed_state("F").etag == '"e"'


def test_a_summary_counts_as_one_recent_send_and_dead_letters_requeue(store: SQLiteStore) -> None:
    ids = [store.record_items([matched(n)], NOW)[0].alert_ids[0] for n in (1, 2, 3)]
    store.mark_sending(ids[:2], NOW)
    assert store.in_flight() == {ids[0]: NOW.isoformat(), ids[1]: NOW.isoformat()}
    store.mark_sent(ids[:2], "1700.5", "C1", NOW)
    store.mark_delivered(ids[2], "1700.6", "C1", NOW + timedelta(seconds=1))
    assert store.in_flight() == {}
    assert store.recent_sends(NOW - timedelta(minutes=1)) == {("slack", None): [NOW, NOW + timedelta(seconds=1)]}
    assert store.recent_sends(NOW + timedelta(seconds=1)) == {("slack", None): [NOW + timedelta(seconds=1)]}
    store.record_items([matched(4)], NOW)
    [fourth] = store.due_alerts(NOW)
    store.defer([fourth.id], NOW + timedelta(hours=8), "quiet hours")
    assert store.due_alerts(NOW + timedelta(hours=7)) == []
    assert store.due_alerts(NOW + timedelta(hours=8))[0].attempts == 0
    store.mark_dead(fourth.id, "is_archived: x", NOW)
    assert store.retry_dead([fourth.id, ids[0]], NOW) == [fourth.id]
    assert store.outbox_rows(["pending"])[0]["title"] == "Title 4"
