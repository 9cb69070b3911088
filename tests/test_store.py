import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.errors import StoreError
from monitor.model import (
    Deal,
    EventRow,
    Explanation,
    FeedNotice,
    FeedState,
    Item,
    JoinStory,
    Match,
    NewItem,
    OpenStory,
    Outgoing,
    PollOutcome,
    TermHit,
)
from monitor.settings import FeedConfig
from monitor.store import open_store
from monitor.store.digests import Digests
from monitor.store.feedstate import Feeds
from monitor.store.interface import Store
from monitor.store.items import Items, explanation_from_json, explanation_json
from monitor.store.notices import Notices
from monitor.store.outbox import Outbox
from monitor.store.sqlitedb import open_sqlite
from monitor.store.storage import Storage

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
    store = open_store(database)
    store.feeds.sync([FeedConfig("F", "https://x.example/feed", timedelta(minutes=5))])
    yield store
    store.close()


def test_created_on_first_use_in_wal_mode(tmp_path: Path) -> None:
    s = open_sqlite(tmp_path / "new" / "m.db")
    assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    s.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="newer monitor"):
        open_sqlite(path)


def test_items_keys_matches_and_outbox_in_one_transaction(store: Store) -> None:
    recorded = store.items.record([matched(1), NewItem(item(2), ("url:https://x.example/2",))], NOW)
    assert recorded[0].story_id and len(recorded[0].alert_ids) == 1
    assert recorded[1].story_id is None and recorded[1].alert_ids == ()
    assert store.items.known_keys(["fp:fp1", "url:https://x.example/2", "url:other"]) == {
        "fp:fp1",
        "url:https://x.example/2",
    }
    broken = NewItem(item(3), ("k3",), (MATCH,), None, (Outgoing("slack", None, "high", "d", {}),))
    with pytest.raises(StoreError):
        store.items.record([matched(4), broken], NOW)
    assert store.items.known_keys(["url:https://x.example/4", "k3"]) == set()  # rolled back together


def test_outbox_lifecycle_and_threads(store: Store) -> None:
    story = store.items.record([matched(1)], NOW)[0].story_id
    follow = store.items.record([matched(2, JoinStory(story))], NOW)[0]
    due = store.outbox.due(NOW)
    assert [a.kind for a in due] == ["alert", "follow_up"]
    assert store.outbox.opening_alert_pending(story, "slack", None)
    store.outbox.mark_retry(due[0].id, NOW + timedelta(minutes=1), "ratelimited")
    assert [a.id for a in store.outbox.due(NOW)] == [follow.alert_ids[0]]
    store.outbox.mark_delivered(due[0].id, "1700.1", "C1", NOW)
    assert store.outbox.story_thread(story, "slack", None) == ("C1", "1700.1")
    store.outbox.mark_dead(follow.alert_ids[0], "channel_not_found: x", NOW)
    assert store.outbox.counts() == {"pending": 0, "delivered": 1, "dead": 1}
    assert store.outbox.dead()[0]["last_error"] == "channel_not_found: x"


def test_poll_state_remembers_validators_and_failures(store: Store) -> None:
    store.feeds.record_poll("F", PollOutcome("ok", etag='"e"', last_modified="lm", body_hash="h"), NOW)
    before = store.feeds.record_poll("F", PollOutcome("error", error="http: HTTP 500"), NOW)
    assert before.consecutive_failures == 0
    state = store.feeds.state("F")
    assert (state.etag, state.consecutive_failures, state.last_error) == ('"e"', 1, "http: HTTP 500")
    store.feeds.record_poll("F", PollOutcome("not_modified"), NOW)
    assert store.feeds.state("F").consecutive_failures == 0
    assert store.feeds.state("F").etag == '"e"'


def test_a_summary_counts_as_one_recent_send_and_dead_letters_requeue(store: Store) -> None:
    ids = [store.items.record([matched(n)], NOW)[0].alert_ids[0] for n in (1, 2, 3)]
    store.outbox.mark_sending(ids[:2], NOW)
    assert store.outbox.in_flight() == {ids[0]: NOW.isoformat(), ids[1]: NOW.isoformat()}
    store.outbox.mark_sent(ids[:2], "1700.5", "C1", NOW)
    store.outbox.mark_delivered(ids[2], "1700.6", "C1", NOW + timedelta(seconds=1))
    assert store.outbox.in_flight() == {}
    assert store.outbox.recent_sends(NOW - timedelta(minutes=1)) == {("slack", None): [NOW, NOW + timedelta(seconds=1)]}
    assert store.outbox.recent_sends(NOW + timedelta(seconds=1)) == {("slack", None): [NOW + timedelta(seconds=1)]}
    store.items.record([matched(4)], NOW)
    [fourth] = store.outbox.due(NOW)
    store.outbox.defer([fourth.id], NOW + timedelta(hours=8), "quiet hours")
    assert store.outbox.due(NOW + timedelta(hours=7)) == []
    assert store.outbox.due(NOW + timedelta(hours=8))[0].attempts == 0
    store.outbox.mark_dead(fourth.id, "is_archived: x", NOW)
    assert store.outbox.retry_dead([fourth.id, ids[0]], NOW) == [fourth.id]
    assert store.outbox.rows(["pending"])[0]["title"] == "Title 4"


def names(states: list[FeedState]) -> list[str]:
    return [state.name for state in states]


def test_a_feed_is_claimed_by_one_poller_until_polled_or_the_lease_ends(store: Store) -> None:
    lease = NOW + timedelta(seconds=60)
    assert names(store.feeds.claim_due(NOW, lease, 10)) == ["F"]
    assert store.feeds.claim_due(NOW, lease, 10) == []  # another poller
    assert names(store.feeds.claim_due(lease, lease + timedelta(seconds=60), 10)) == ["F"]  # the first one died
    store.feeds.record_poll("F", PollOutcome("ok", next_check_at=NOW + timedelta(minutes=5)), NOW)
    assert store.feeds.next_due(NOW) == NOW + timedelta(minutes=5)
    assert store.feeds.claim_due(NOW + timedelta(minutes=4), lease, 10) == []  # polled: not due yet
    assert names(store.feeds.claim_due(NOW + timedelta(minutes=5), lease, 10)) == ["F"]
    store.feeds.release(["F"])  # given back unpolled (a shutdown): due again at once
    assert names(store.feeds.claim_due(NOW + timedelta(minutes=5), lease, 10)) == ["F"]


def test_due_feeds_are_claimed_in_batches_the_longest_due_first(store: Store) -> None:
    feeds = [FeedConfig(f"N{n}", f"https://x.example/{n}", timedelta(minutes=5)) for n in range(5)]
    assert store.feeds.sync([FeedConfig("F", "https://x.example/feed", timedelta(minutes=5)), *feeds])
    for n, feed in enumerate(feeds):  # polled a while ago, N4 longest ago
        store.feeds.record_poll(feed.name, PollOutcome("ok", next_check_at=NOW - timedelta(minutes=n)), NOW)
    lease = NOW + timedelta(minutes=1)
    assert set(names(store.feeds.claim_due(NOW, lease, 3))) == {"F", "N4", "N3"}  # never polled first
    assert set(names(store.feeds.claim_due(NOW, lease, 3))) == {"N2", "N1", "N0"}
    assert store.feeds.claim_due(NOW, lease, 3) == []
    assert store.feeds.failing() == 0


def test_a_sync_with_the_same_feeds_writes_nothing_and_a_removed_feed_is_never_claimed(store: Store) -> None:
    kept = FeedConfig("F", "https://x.example/feed", timedelta(minutes=5))
    assert not store.feeds.sync([kept])  # the fixture synced this list already
    assert store.feeds.sync([kept, FeedConfig("G", "https://x.example/g", timedelta(minutes=5))])
    assert store.feeds.sync([FeedConfig("G", "https://x.example/g", timedelta(minutes=5))])  # F removed
    assert names(store.feeds.claim_due(NOW, NOW + timedelta(minutes=1), 10)) == ["G"]
    assert store.feeds.state("F") is not None  # its state is kept, should it come back
    assert store.feeds.next_due(NOW) == NOW  # G was claimed but never polled: it stays due


def test_a_digest_period_is_claimed_once_until_its_claim_expires(store: Store) -> None:
    start = NOW - timedelta(days=1)
    first = store.digests.open("2026-11-22", NOW, start, scheduled=True, now=NOW)
    again = store.digests.open("2026-11-22", NOW + timedelta(hours=1), start, scheduled=True, now=NOW)
    assert (first.start, first.end, again.end, first.state) == (start, NOW, NOW, "pending")
    until = NOW + timedelta(minutes=10)
    assert store.digests.claim("2026-11-22", NOW, until).attempts == 1
    assert store.digests.claim("2026-11-22", NOW, until) is None
    assert store.digests.claim("2026-11-22", until, until + timedelta(minutes=10)).attempts == 2
    store.digests.delivered("2026-11-22", "email")
    store.digests.finish("2026-11-22", "sent", 3, NOW)
    assert store.digests.claim("2026-11-22", NOW + timedelta(days=1), until) is None
    [row] = store.digests.recent()
    assert (row.state, row.done, row.stories, store.digests.last_end()) == ("sent", ("email",), 3, NOW)
    following = store.digests.open("2026-11-23", NOW + timedelta(days=1), start, scheduled=True, now=NOW)
    assert following.start == NOW  # starts where the previous period ended
    assert store.digests.last_scheduled() == "2026-11-23"


def test_events_are_queued_once_per_key(store: Store) -> None:
    event = EventRow("webhook:crm", "feed_failing:F:1", {"feed": "F"})
    failing = PollOutcome("error", error="http: HTTP 500", events=(event,))
    store.feeds.record_polls([("F", failing, NOW), ("F", failing, NOW)])
    store.feeds.record_poll("F", failing, NOW)
    [queued] = store.outbox.due(NOW)  # once, however often it was recorded
    assert (queued.kind, queued.destination, queued.story_id) == ("event", "webhook:crm", 0)
    assert queued.payload == {"feed": "F"}


def test_an_event_is_stored_with_the_change_it_reports_or_neither_is(store: Store) -> None:
    """Each state change takes its webhook events into its own transaction: a write that fails
    (here the event row itself: no destination) leaves neither the change nor the event."""
    broken = (EventRow(None, "k", {}),)  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        store.feeds.record_polls([("F", PollOutcome("error", error="http: HTTP 500", events=broken), NOW)])
    assert store.feeds.state("F").consecutive_failures == 0
    [alert] = store.items.record([matched(1)], NOW)[0].alert_ids
    with pytest.raises(StoreError):
        store.outbox.mark_dead(alert, "channel_not_found", NOW, broken)
    assert store.outbox.counts() == {"pending": 1, "delivered": 0, "dead": 0}
    store.digests.open("2026-11-22", NOW, NOW - timedelta(days=1), scheduled=True, now=NOW)
    with pytest.raises(StoreError):
        store.digests.finish("2026-11-22", "sent", 1, NOW, broken)
    assert store.digests.recent()[0].state == "pending"

    dead = EventRow("webhook:ops", "event:alert_dead:1", {"event": "alert_dead"})
    store.outbox.mark_dead(alert, "channel_not_found", NOW, (dead,))
    sent = EventRow("webhook:ops", "event:digest_sent:1", {"event": "digest_sent"})
    store.digests.finish("2026-11-22", "sent", 1, NOW, (sent,))
    assert store.digests.recent()[0].state == "sent"
    assert [a.item_key for a in store.outbox.due(NOW)] == ["event:alert_dead:1", "event:digest_sent:1"]
    assert store.outbox.due_destinations(NOW) == ["webhook:ops"]
    assert [a.destination for a in store.outbox.due(NOW, destination="slack")] == []


def test_many_rows_in_one_call_are_written_all_or_none(store: Storage) -> None:
    with pytest.raises(StoreError):  # the second row breaks the table's CHECK (id = 1)
        store.db.executemany("INSERT INTO heartbeat(id, at) VALUES (?, ?)", [(1, "a"), (2, "b")])
    assert store.db.execute("SELECT count(*) FROM heartbeat").fetchone()[0] == 0


def test_the_decision_hold_commits_all_or_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.exclusive():
        store.items.record([matched(1)], NOW)
        raise RuntimeError("decision failed")
    assert store.items.known_keys(["fp:fp1"]) == set()
    with store.exclusive():
        story = store.items.record([matched(1)], NOW)[0].story_id
        store.items.record([matched(2, JoinStory(story))], NOW)
    assert list(store.items.key_owners(["fp:fp2", "fp:none"])) == ["fp:fp2"]
    assert store.items.key_owners(["fp:fp2"])["fp:fp2"].item_key == "url:https://x.example/2"
    [record] = store.items.stories_first_seen(NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    assert (record.story_id, len(record.items), len(record.matches)) == (story, 2, 2)
    assert (store.items.story_title(story), store.items.story_title(story + 1)) == ("Title 1", None)
    assert store.outbox.count_alerts(NOW, NOW + timedelta(seconds=1)) == 1


def test_stored_items_page_by_page_and_retention_keeps_keys(store: Store) -> None:
    store.items.record([NewItem(item(n), (f"k{n}",)) for n in range(7)], NOW)
    store.items.record([matched(9)], NOW)
    assert store.items.count(NOW) == 8
    assert store.items.count(NOW, unalerted=True) == 7
    assert sorted(i.title for i in store.items.stored(NOW, page=3)) == sorted(f"Title {n}" for n in (*range(7), 9))
    store.items.add_guid_changes("F", ["https://x.example/1", "https://x.example/1"], NOW)
    assert store.items.guid_changes("F") == 1
    assert store.items.prune(NOW + timedelta(days=1), NOW - timedelta(days=1)) == 8
    assert store.items.known_keys(["k0"]) == {"k0"}


def test_replay_heartbeat_and_digest_retries(store: Store) -> None:
    store.heartbeat(NOW)
    assert [s.name for s in store.feeds.states()] == ["F"]
    with store.delivery_turn() as turn:
        assert turn
    store.items.record([NewItem(item(1), ("url:https://x.example/1",))], NOW)  # stored, never alerted
    info = {"words": "zorblax deal"}
    out = Outgoing("slack", None, "high", "deal", {"title": "Title 1"})
    again = NewItem(item(1), ("url:https://x.example/1",), (MATCH,), OpenStory(), (out,), info)
    [replayed] = store.items.replay([again], NOW)
    assert replayed.story_id is not None and len(replayed.alert_ids) == 1
    assert store.items.open_stories(NOW) == [(replayed.story_id, info)]
    store.digests.open("2026-11-22-manual", NOW, NOW - timedelta(days=1), scheduled=False, now=NOW)
    store.digests.claim("2026-11-22-manual", NOW, NOW + timedelta(minutes=10))
    store.digests.retry("2026-11-22-manual", NOW + timedelta(minutes=5), "smtp: connection refused", 3)
    assert store.digests.due(NOW) == []
    [due] = store.digests.due(NOW + timedelta(minutes=5))
    assert (due.state, due.last_error, due.scheduled) == ("pending", "smtp: connection refused", False)


def test_polls_recorded_in_a_batch_with_their_health_notices(store: Store) -> None:
    both = [FeedConfig(name, f"https://x.example/{name}", timedelta(minutes=5)) for name in ("F", "G")]
    store.feeds.sync(both)
    notice = FeedNotice("G", "failing", "#ops", "G is failing: HTTP 500")
    later = NOW + timedelta(minutes=5)
    assert sorted(names(store.feeds.claim_due(NOW, later, 10))) == ["F", "G"]
    store.feeds.record_polls(
        [
            ("F", PollOutcome("ok", etag='"e"', next_check_at=later), NOW),
            ("G", PollOutcome("error", error="http: HTTP 500", next_check_at=later, notice=notice), NOW),
        ]
    )
    f, g = store.feeds.state("F"), store.feeds.state("G")
    assert (f.etag, g.consecutive_failures, g.last_error) == ('"e"', 1, "http: HTTP 500")
    assert sorted(names(store.feeds.claim_due(later, later + timedelta(minutes=5), 10))) == ["F", "G"]  # leases ended
    [due] = store.notices.due(NOW)
    assert (due.feed, due.health, due.text) == ("G", "failing", "G is failing: HTTP 500")
    store.notices.mark([due.id], NOW, NOW + timedelta(minutes=1), "ratelimited")
    assert store.notices.due(NOW) == []
    assert store.notices.due(NOW + timedelta(minutes=1))[0].attempts == 1
    store.notices.mark([due.id], NOW, None, None)
    assert store.notices.due(NOW + timedelta(days=1)) == []


def test_every_store_method_is_tested_here_so_on_both_backends() -> None:
    """A new method of the store or of one of its aggregates needs a test in this file: it then
    runs on SQLite and on PostgreSQL."""
    text = Path(__file__).read_text(encoding="utf-8")
    parts = {"": Storage, "feeds.": Feeds, "items.": Items, "outbox.": Outbox, "notices.": Notices, "digests.": Digests}
    calls = [
        f"store.{prefix}{name}("
        for prefix, part in parts.items()
        for name, value in vars(part).items()
        if callable(value) and not name.startswith("_")
    ]
    assert [call for call in calls if call not in text] == []


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
