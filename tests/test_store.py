import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.errors import StoreError
from monitor.model import Deal, Explanation, FeedConfig, Item, Match, TermHit
from monitor.store import open_store
from monitor.store.base import FeedNotice, JoinStory, NewItem, OpenStory, Outgoing, PollOutcome, Store
from monitor.store.sqlite import SQLiteStore, explanation_from_json, explanation_json

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def item(n: int, feed: str = "F") -> Item:
    return Item(feed, f"g{n}", f"https://x.example/{n}", f"Title {n}", "s", "s", NOW, NOW, f"fp{n}")


MATCH = Match("deal", "Deals", "high", None, False, Explanation())


def matched(n: int, story=None) -> NewItem:
    out = Outgoing("slack", None, "high", "deal", {"title": f"Title {n}"})
    return NewItem(item(n), (f"url:https://x.example/{n}", f"fp:fp{n}"), (MATCH,), story or OpenStory(), (out,))


@pytest.fixture
def store(database: Path | str):
    """The same tests on each backend (see conftest ``database``)."""
    s = open_store(database)
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


def test_items_keys_matches_and_outbox_in_one_transaction(store: Store) -> None:
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


def test_outbox_lifecycle_and_threads(store: Store) -> None:
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


def test_poll_state_remembers_validators_and_failures(store: Store) -> None:
    store.record_poll("F", PollOutcome("ok", etag='"e"', last_modified="lm", body_hash="h"), NOW)
    before = store.record_poll("F", PollOutcome("error", error="http: HTTP 500"), NOW)
    assert before.consecutive_failures == 0
    state = store.feed_state("F")
    assert (state.etag, state.consecutive_failures, state.last_error) == ('"e"', 1, "http: HTTP 500")
    store.record_poll("F", PollOutcome("not_modified"), NOW)
    assert store.feed_state("F").consecutive_failures == 0
    assert store.feed_state("F").etag == '"e"'


def test_a_summary_counts_as_one_recent_send_and_dead_letters_requeue(store: Store) -> None:
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


def test_a_feed_is_claimed_by_one_poller_until_polled_or_the_lease_ends(store: Store) -> None:
    lease = NOW + timedelta(seconds=60)
    assert store.claim_feed("F", NOW, lease)
    assert not store.claim_feed("F", NOW, lease)  # another poller
    assert store.claim_feed("F", lease, lease + timedelta(seconds=60))  # the first one died
    store.record_poll("F", PollOutcome("ok", next_check_at=NOW + timedelta(minutes=5)), NOW)
    assert not store.claim_feed("F", NOW + timedelta(minutes=4), lease)  # polled: not due yet
    assert store.claim_feed("F", NOW + timedelta(minutes=5), lease)


def test_a_digest_period_is_claimed_once_until_its_claim_expires(store: Store) -> None:
    start = NOW - timedelta(days=1)
    first = store.open_digest("2026-11-22", NOW, start, scheduled=True, now=NOW)
    again = store.open_digest("2026-11-22", NOW + timedelta(hours=1), start, scheduled=True, now=NOW)
    assert (first.start, first.end, again.end, first.state) == (start, NOW, NOW, "pending")
    until = NOW + timedelta(minutes=10)
    assert store.claim_digest("2026-11-22", NOW, until).attempts == 1
    assert store.claim_digest("2026-11-22", NOW, until) is None
    assert store.claim_digest("2026-11-22", until, until + timedelta(minutes=10)).attempts == 2
    store.digest_delivered("2026-11-22", "email")
    store.finish_digest("2026-11-22", "sent", 3, NOW)
    assert store.claim_digest("2026-11-22", NOW + timedelta(days=1), until) is None
    [row] = store.digests()
    assert (row.state, row.done, row.stories, store.last_digest_end()) == ("sent", ("email",), 3, NOW)
    following = store.open_digest("2026-11-23", NOW + timedelta(days=1), start, scheduled=True, now=NOW)
    assert following.start == NOW  # starts where the previous period ended
    assert store.last_scheduled_digest() == "2026-11-23"


def test_events_are_queued_once_per_key(store: Store) -> None:
    first = store.queue_event("webhook:crm", "feed_failing:F:1", {"feed": "F"}, NOW)
    assert first is not None
    assert store.queue_event("webhook:crm", "feed_failing:F:1", {"feed": "F"}, NOW) is None
    assert [a.id for a in store.due_alerts(NOW)] == [first]


def test_the_decision_hold_commits_all_or_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.exclusive():
        store.record_items([matched(1)], NOW)
        raise RuntimeError("decision failed")
    assert store.known_keys(["fp:fp1"]) == set()
    with store.exclusive():
        story = store.record_items([matched(1)], NOW)[0].story_id
        store.record_items([matched(2, JoinStory(story))], NOW)
    assert store.key_owners(["fp:fp2", "fp:none"]) == {"fp:fp2": ("url:https://x.example/2", "F")}
    [record] = store.stories_first_seen(NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    assert (record.story_id, len(record.items), len(record.matches)) == (story, 2, 2)
    assert store.count_alerts(NOW, NOW + timedelta(seconds=1)) == 1


def test_stored_items_page_by_page_and_retention_keeps_keys(store: Store) -> None:
    store.record_items([NewItem(item(n), (f"k{n}",)) for n in range(7)], NOW)
    store.record_items([matched(9)], NOW)
    assert store.count_items(NOW) == 8
    assert store.count_items(NOW, unalerted=True) == 7
    assert sorted(i.title for i in store.stored_items(NOW, page=3)) == sorted(f"Title {n}" for n in (*range(7), 9))
    store.add_guid_changes("F", ["https://x.example/1", "https://x.example/1"], NOW)
    assert store.guid_changes("F") == 1
    assert store.prune(NOW + timedelta(days=1), NOW - timedelta(days=1)) == 8
    assert store.known_keys(["k0"]) == {"k0"}


def test_replay_heartbeat_and_digest_retries(store: Store) -> None:
    store.heartbeat(NOW)
    assert [s.name for s in store.feed_states()] == ["F"]
    with store.delivery_turn() as turn:
        assert turn
    store.record_items([NewItem(item(1), ("url:https://x.example/1",))], NOW)  # stored, never alerted
    info = {"words": "zorblax deal"}
    out = Outgoing("slack", None, "high", "deal", {"title": "Title 1"})
    again = NewItem(item(1), ("url:https://x.example/1",), (MATCH,), OpenStory(), (out,), info)
    [replayed] = store.replay_items([again], NOW)
    assert replayed.story_id is not None and len(replayed.alert_ids) == 1
    assert store.open_stories(NOW) == [(replayed.story_id, info)]
    store.open_digest("2026-11-22-manual", NOW, NOW - timedelta(days=1), scheduled=False, now=NOW)
    store.claim_digest("2026-11-22-manual", NOW, NOW + timedelta(minutes=10))
    store.retry_digest("2026-11-22-manual", NOW + timedelta(minutes=5), "smtp: connection refused")
    assert store.due_digests(NOW) == []
    [due] = store.due_digests(NOW + timedelta(minutes=5))
    assert (due.state, due.last_error, due.scheduled) == ("pending", "smtp: connection refused", False)


def test_polls_recorded_in_a_batch_with_their_health_notices(store: Store) -> None:
    store.sync_feeds([FeedConfig("G", "https://x.example/g", timedelta(minutes=5))])
    notice = FeedNotice("G", "failing", "#ops", "G is failing: HTTP 500")
    later = NOW + timedelta(minutes=5)
    assert store.claim_feed("F", NOW, later) and store.claim_feed("G", NOW, later)
    store.record_polls(
        [
            ("F", PollOutcome("ok", etag='"e"', next_check_at=later), NOW),
            ("G", PollOutcome("error", error="http: HTTP 500", next_check_at=later, notice=notice), NOW),
        ]
    )
    f, g = store.feed_state("F"), store.feed_state("G")
    assert (f.etag, g.consecutive_failures, g.last_error) == ('"e"', 1, "http: HTTP 500")
    assert store.claim_feed("F", later, later + timedelta(minutes=5))  # the poll ended the lease
    [due] = store.due_notices(NOW)
    assert (due.feed, due.health, due.text) == ("G", "failing", "G is failing: HTTP 500")
    store.mark_notices([due.id], NOW, NOW + timedelta(minutes=1), "ratelimited")
    assert store.due_notices(NOW) == []
    assert store.due_notices(NOW + timedelta(minutes=1))[0].attempts == 1
    store.mark_notices([due.id], NOW, None, None)
    assert store.due_notices(NOW + timedelta(days=1)) == []


def test_every_store_method_is_tested_here_so_on_both_backends() -> None:
    """A new Store method needs a test in this file: it then runs on SQLite and on PostgreSQL."""
    text = Path(__file__).read_text(encoding="utf-8")
    methods = [name for name, value in vars(Store).items() if callable(value) and not name.startswith("_")]
    assert [name for name in methods if f".{name}(" not in text] == []


def test_explanations_keep_their_deal_card_and_languages_and_old_rows_still_read() -> None:
    explanation = Explanation(
        hits=(TermHit('"levée de fonds"', "title", "… levée de fonds …", "fr"),),
        deal=Deal("ShengShu", "2 billion yuan ($290 million)", 290e6, "CNY", "Series B", ("Alibaba Cloud",)),
        other_deals=(Deal("PixVerse", "$60 million", 60e6, "USD"),),
    )
    stored = explanation_json(Match("deal", "Deals", "high", None, False, explanation))
    assert explanation_from_json(stored) == explanation
    old = '{"hits": [{"term": "x", "field": "title", "snippet": "x"}], "amounts": [], "companies": [], "round": null}'
    assert explanation_from_json(old) == Explanation(hits=(TermHit("x", "title", "x"),))
