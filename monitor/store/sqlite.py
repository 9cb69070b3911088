"""The SQLite store (the embedded default), through sqlite-utils.

Created on first use, WAL mode, schema version in ``PRAGMA user_version``. One connection shared
by the process's threads behind a lock: SQLite has one writer at a time anyway, and every
method is a short statement or transaction.

``PostgresStore`` runs these same methods on PostgreSQL (``store.pgdb`` translates ``?``/``:name``
placeholders, ``INSERT OR IGNORE``, ``IS ?`` and ``lastrowid``), so new SQL here should stay in
what both engines speak: ``ON CONFLICT ... DO UPDATE`` rather than ``INSERT OR REPLACE``, ``CASE``
rather than two-argument ``max``/``min``, ``coalesce`` rather than ``ifnull``, an alias on every
subquery in ``FROM``. ``tests/test_store.py`` runs on both.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from monitor.errors import StoreError
from monitor.model import Alert, Amount, Deal, Explanation, FeedConfig, FeedState, Item, Match, TermHit, highest
from monitor.store.base import (
    Coverage,
    DigestRow,
    FeedNotice,
    JoinStory,
    NewItem,
    OpenStory,
    PollOutcome,
    Recorded,
    StoryRecord,
)
from monitor.store.locks import file_lock

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000  # how long a statement waits for another process's write lock

# Plain SQL so the schema reads in one place; sqlite-utils runs it and does the row work.
SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    body_hash TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_polled_at TEXT,
    last_ok_at TEXT,
    next_check_at TEXT,
    failing_since TEXT,
    health TEXT NOT NULL DEFAULT 'ok',
    config_url TEXT,
    leased_until TEXT  -- claimed by a poller until then (see claim_feed)
);
CREATE TABLE IF NOT EXISTS feed_notices (
    id INTEGER PRIMARY KEY,
    feed TEXT NOT NULL,
    health TEXT NOT NULL,
    channel TEXT NOT NULL,
    text TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS feed_notices_due ON feed_notices(state, next_attempt_at);
CREATE TABLE IF NOT EXISTS stories (
    id INTEGER PRIMARY KEY,
    opened_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    title TEXT NOT NULL,
    url TEXT,
    priority TEXT NOT NULL,
    info TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS items (
    key TEXT PRIMARY KEY,
    feed TEXT NOT NULL,
    guid TEXT,
    url TEXT,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    content TEXT NOT NULL,
    published TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    story_id INTEGER REFERENCES stories(id)
);
CREATE INDEX IF NOT EXISTS items_first_seen ON items(first_seen);
CREATE INDEX IF NOT EXISTS items_story ON items(story_id);
CREATE TABLE IF NOT EXISTS item_keys (
    key TEXT PRIMARY KEY,
    item_key TEXT NOT NULL REFERENCES items(key)
);
CREATE TABLE IF NOT EXISTS matches (
    id INTEGER PRIMARY KEY,
    item_key TEXT NOT NULL REFERENCES items(key),
    story_id INTEGER REFERENCES stories(id),
    rule_id TEXT NOT NULL,
    rule_name TEXT NOT NULL,
    priority TEXT NOT NULL,
    digest_only INTEGER NOT NULL,
    explanation TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (item_key, rule_id)
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    story_id INTEGER REFERENCES stories(id),  -- NULL for events without a story (kind 'event')
    item_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    destination TEXT NOT NULL,
    channel TEXT,
    priority TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    remote_id TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT,
    sending_at TEXT,  -- set (committed) just before a send, cleared with its outcome: a crash leaves it
    UNIQUE (item_key, destination, channel)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, next_attempt_at);
CREATE INDEX IF NOT EXISTS outbox_sent ON outbox(delivered_at);
CREATE INDEX IF NOT EXISTS stories_opened ON stories(opened_at);
CREATE TABLE IF NOT EXISTS story_items (
    item_key TEXT PRIMARY KEY REFERENCES items(key),
    story_id INTEGER NOT NULL REFERENCES stories(id),
    features TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS story_items_story ON story_items(story_id);
CREATE TABLE IF NOT EXISTS guid_changes (
    feed TEXT NOT NULL,
    url TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (feed, url)
);
CREATE TABLE IF NOT EXISTS story_threads (
    story_id INTEGER NOT NULL REFERENCES stories(id),
    destination TEXT NOT NULL,
    channel_key TEXT NOT NULL,
    channel TEXT NOT NULL,
    ts TEXT NOT NULL,
    PRIMARY KEY (story_id, destination, channel_key)
);
CREATE INDEX IF NOT EXISTS matches_story ON matches(story_id);
CREATE TABLE IF NOT EXISTS digests (
    period TEXT PRIMARY KEY,
    scheduled INTEGER NOT NULL,
    start_at TEXT NOT NULL,
    end_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    done TEXT NOT NULL DEFAULT '',
    last_error TEXT,
    stories INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE TABLE IF NOT EXISTS heartbeat (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at TEXT NOT NULL
);
"""


# A feed a poller may take: due (by the first param), and not leased or its lease ran out (by now).
FEED_CLAIMABLE = "(next_check_at IS NULL OR next_check_at <= ?) AND (leased_until IS NULL OR leased_until <= ?)"


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def explanation_json(match: Match) -> str:
    e = match.explanation
    return json.dumps(
        {
            "hits": [{"term": h.term, "field": h.field, "snippet": h.snippet, "lang": h.lang} for h in e.hits],
            "amounts": [{"text": a.text, "value": a.value, "currency": a.currency, "usd": a.usd} for a in e.amounts],
            "companies": list(e.companies),
            "round": e.round,
            "deal": e.deal.as_dict() if e.deal else None,
            "other_deals": [d.as_dict() for d in e.other_deals],
        },
        ensure_ascii=False,
    )


def explanation_from_json(text: str) -> Explanation:
    """An explanation as stored; rows written before deal cards and languages read without them."""
    data = json.loads(text)
    return Explanation(
        hits=tuple(TermHit(h["term"], h["field"], h["snippet"], h.get("lang")) for h in data.get("hits", [])),
        amounts=tuple(Amount(a["text"], a["value"], a["currency"], a["usd"]) for a in data.get("amounts", [])),
        companies=tuple(data.get("companies", [])),
        round=data.get("round"),
        deal=Deal.from_dict(data["deal"]) if data.get("deal") else None,
        other_deals=tuple(Deal.from_dict(d) for d in data.get("other_deals", [])),
    )


def _chunks(values: Sequence[Any], size: int = 500) -> Iterable[tuple[Sequence[Any], str]]:
    """Slices of ``values`` with their ``?,?,...`` placeholders, for IN (...) queries."""
    for start in range(0, len(values), size):
        chunk = values[start : start + size]
        yield chunk, ",".join("?" * len(chunk))


_INSERT_ITEM = (
    "INSERT INTO items(key, feed, guid, url, title, summary, content, published, first_seen, "
    "fingerprint, story_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_KEY = "INSERT OR IGNORE INTO item_keys(key, item_key) VALUES (?, ?)"


def _item_row(key: str, item: Item, story_id: int | None) -> tuple[Any, ...]:
    content = item.content if item.content != item.summary else ""  # not stored twice
    return (
        key,
        item.feed,
        item.guid,
        item.url,
        item.title,
        item.summary,
        content,
        _iso(item.published),
        _iso(item.first_seen),
        item.fingerprint,
        story_id,
    )


def _key_rows(new: NewItem) -> list[tuple[str, str]]:
    return [(alias, new.key) for alias in dict.fromkeys((new.key, *new.keys))]


class SQLiteStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
            # No sqlite-utils plugins: the store's SQL must not depend on what else is installed
            # (and finding them scans every installed package's entry points: ~25 ms a start).
            self.db = sqlite_utils.Database(conn, execute_plugins=False)
            self._migrate()
        except (sqlite3.Error, OSError) as e:
            raise StoreError(f"cannot open the database {self.path}: {e}") from e

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer monitor (schema {version}, this one knows "
                f"{SCHEMA_VERSION}); upgrade monitor"
            )
        self.db.enable_wal()
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.executescript(SCHEMA)  # idempotent: every statement is IF NOT EXISTS
        self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self.db.close()

    def heartbeat(self, now: datetime, timeout: float = 2.0) -> None:
        # Bounded twice: by the process's own lock (a job stuck on the database holds it) and by
        # SQLite's busy timeout (another process holding the write lock).
        if not self._lock.acquire(timeout=timeout):
            raise StoreError(f"the database {self.path} is busy: a write has waited longer than {timeout:g}s")
        try:
            self.db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            with self.db.atomic():
                self.db.execute(
                    "INSERT INTO heartbeat(id, at) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET at = excluded.at",
                    (_iso(now),),
                )
        except sqlite3.Error as e:
            raise StoreError(f"cannot write to the database {self.path}: {e}") from e
        finally:
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._lock.release()

    # --- feeds ----------------------------------------------------------------------------------

    def sync_feeds(self, feeds: Sequence[FeedConfig]) -> None:
        """New feeds are added; a feed whose configured URL changed starts over at the new URL.
        A URL learnt from a permanent redirect is kept while the configured URL stays the same."""
        with self._lock, self.db.atomic():
            for feed in feeds:
                self.db.execute(
                    "INSERT INTO feeds(name, url, config_url) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                    "url = CASE WHEN feeds.config_url IS excluded.config_url THEN feeds.url ELSE excluded.url END, "
                    "etag = CASE WHEN feeds.config_url IS excluded.config_url THEN feeds.etag END, "
                    "last_modified = CASE WHEN feeds.config_url IS excluded.config_url THEN feeds.last_modified END, "
                    "body_hash = CASE WHEN feeds.config_url IS excluded.config_url THEN feeds.body_hash END, "
                    "config_url = excluded.config_url",
                    (feed.name, feed.url, feed.url),
                )

    def feed_state(self, name: str) -> FeedState | None:
        with self._lock:
            rows = list(self.db.query("SELECT * FROM feeds WHERE name = ?", (name,)))
        return self._feed_state(rows[0]) if rows else None

    def feed_states(self) -> list[FeedState]:
        with self._lock:
            return [self._feed_state(row) for row in self.db.query("SELECT * FROM feeds ORDER BY name")]

    @staticmethod
    def _feed_state(row: dict[str, Any]) -> FeedState:
        return FeedState(
            name=row["name"],
            url=row["url"],
            etag=row["etag"],
            last_modified=row["last_modified"],
            body_hash=row["body_hash"],
            consecutive_failures=row["consecutive_failures"],
            last_error=row["last_error"],
            last_polled_at=_time(row["last_polled_at"]),
            last_ok_at=_time(row["last_ok_at"]),
            next_check_at=_time(row["next_check_at"]),
            failing_since=_time(row["failing_since"]),
            health=row["health"],
            moved_to=row["url"] if row["config_url"] and row["url"] != row["config_url"] else None,
        )

    def record_poll(self, name: str, outcome: PollOutcome, now: datetime) -> FeedState:
        with self._lock, self.db.atomic():
            before = self.feed_state(name)
            if before is None:
                raise StoreError(f"feed {name!r} is not in the database; call sync_feeds first")
            self._write_polls([(name, outcome, now)])
        return before

    def record_polls(self, polls: Sequence[tuple[str, PollOutcome, datetime]]) -> None:
        with self._lock, self.db.atomic():
            self._write_polls(polls)

    def _write_polls(self, polls: Sequence[tuple[str, PollOutcome, datetime]]) -> None:
        """One ``executemany`` per kind of outcome: a warm cycle records 1,000 polls at once."""
        self.db.conn.executemany(
            "UPDATE feeds SET consecutive_failures = consecutive_failures + 1, last_error = ?, "
            "last_polled_at = ?, next_check_at = ?, failing_since = COALESCE(failing_since, ?), "
            "health = ?, leased_until = NULL WHERE name = ?",
            [
                (o.error, _iso(now), _iso(o.next_check_at), _iso(now), o.health or "failing", name)
                for name, o, now in polls
                if o.status == "error"
            ],
        )
        self.db.conn.executemany(
            "UPDATE feeds SET consecutive_failures = 0, last_error = NULL, failing_since = NULL, "
            "health = 'ok', etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified), "
            "body_hash = COALESCE(?, body_hash), url = COALESCE(?, url), "
            "last_polled_at = ?, last_ok_at = ?, next_check_at = ?, leased_until = NULL WHERE name = ?",
            [
                (o.etag, o.last_modified, o.body_hash, o.new_url, _iso(now), _iso(now), _iso(o.next_check_at), name)
                for name, o, now in polls
                if o.status != "error"
            ],
        )
        self.db.conn.executemany(
            "INSERT INTO feed_notices(feed, health, channel, text, next_attempt_at, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (o.notice.feed, o.notice.health, o.notice.channel, o.notice.text, _iso(now), _iso(now))
                for _, o, now in polls
                if o.notice is not None
            ],
        )

    def claim_feed(self, name: str, now: datetime, until: datetime, due_by: datetime | None = None) -> bool:
        with self._lock:
            return (
                self.db.execute(
                    f"UPDATE feeds SET leased_until = ? WHERE name = ? AND {FEED_CLAIMABLE}",
                    (_iso(until), name, _iso(due_by or now), _iso(now)),
                ).rowcount
                == 1
            )

    def delivery_turn(self) -> contextlib.AbstractContextManager[bool]:
        """``<database>.deliver-lock``, held with flock (see ``store.locks.file_lock``)."""
        return file_lock(self.path.with_name(self.path.name + ".deliver-lock"))

    def due_notices(self, now: datetime) -> list[FeedNotice]:
        with self._lock:
            rows = self.db.query(
                "SELECT * FROM feed_notices WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY id", (_iso(now),)
            )
            return [
                FeedNotice(r["feed"], r["health"], r["channel"], r["text"], id=r["id"], attempts=r["attempts"])
                for r in rows
            ]

    def mark_notices(self, ids: Sequence[int], now: datetime, retry_at: datetime | None, error: str | None) -> None:
        state = "sent" if error is None else "pending" if retry_at else "dead"
        values = (state, error, _iso(retry_at), _iso(now) if error is None else None)
        with self._lock, self.db.atomic():
            self.db.conn.executemany(
                "UPDATE feed_notices SET state = ?, attempts = attempts + 1, last_error = ?, "
                "next_attempt_at = COALESCE(?, next_attempt_at), sent_at = ? WHERE id = ?",
                [(*values, notice_id) for notice_id in ids],
            )

    # --- items, matches, stories, outbox ---------------------------------------------------------

    def known_keys(self, keys: Iterable[str]) -> set[str]:
        keys = list(dict.fromkeys(keys))
        found: set[str] = set()
        with self._lock:
            for chunk, marks in _chunks(keys):
                found.update(r[0] for r in self.db.execute(f"SELECT key FROM item_keys WHERE key IN ({marks})", chunk))
        return found

    def record_items(self, new_items: Sequence[NewItem], now: datetime) -> list[Recorded]:
        """Items that only need remembering (no match, no story: most of them) are written with
        two ``executemany`` calls for the whole batch; each call releases the GIL, and with the
        fetch thread busy, every release costs a wait to get it back."""
        recorded = []
        plain: list[NewItem] = []
        with self._lock, self.db.atomic():
            for new in new_items:
                if new.story is None and not new.matches and not new.outgoing:
                    plain.append(new)
                    recorded.append(Recorded(new.key, None, ()))
                else:
                    recorded.append(self._record_item(new, now))
            self.db.conn.executemany(_INSERT_ITEM, [_item_row(new.key, new.item, None) for new in plain])
            self.db.conn.executemany(_INSERT_KEY, [row for new in plain for row in _key_rows(new)])
        return recorded

    def replay_items(self, new_items: Sequence[NewItem], now: datetime) -> list[Recorded]:
        with self._lock, self.db.atomic():
            return [self._record_item(new, now, stored=True) for new in new_items]

    _UNALERTED = (
        " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.item_key = items.key)"
        " AND (story_id IS NULL OR NOT EXISTS (SELECT 1 FROM outbox o WHERE o.story_id = items.story_id))"
    )

    def _window(self, unalerted: bool) -> str:
        # published too: a feed's first poll stores its old items without alerting them
        return " AND published >= :since" + (self._UNALERTED if unalerted else "")

    def count_items(self, since: datetime, unalerted: bool = False) -> int:
        where = "first_seen >= :since" + self._window(unalerted)
        with self._lock:
            return self.db.execute(f"SELECT count(*) FROM items WHERE {where}", {"since": _iso(since)}).fetchone()[0]

    def stored_items(self, since: datetime, unalerted: bool = False, page: int = 500) -> Iterator[Item]:
        where = "(first_seen, key) > (:after, :key)" + self._window(unalerted)
        params = {"since": _iso(since), "after": _iso(since - timedelta(microseconds=1)), "key": "", "page": page}
        while True:
            with self._lock:
                rows = list(
                    self.db.query(f"SELECT * FROM items WHERE {where} ORDER BY first_seen, key LIMIT :page", params)
                )
            for row in rows:
                yield Item(
                    **{name: row[name] for name in ("feed", "guid", "url", "title", "summary", "fingerprint")},
                    content=row["content"] or row["summary"],  # stored empty when it repeats the summary
                    published=datetime.fromisoformat(row["published"]),
                    first_seen=datetime.fromisoformat(row["first_seen"]),
                )
            if len(rows) < page:
                return
            params.update(after=rows[-1]["first_seen"], key=rows[-1]["key"])

    def _record_item(self, new: NewItem, now: datetime, stored: bool = False) -> Recorded:
        item, key = new.item, new.key
        story_id = None
        if isinstance(new.story, OpenStory):
            priority = highest(new.matches).priority if new.matches else "normal"
            story_id = self.db.execute(
                "INSERT INTO stories(opened_at, updated_at, title, url, priority, info) VALUES (?, ?, ?, ?, ?, ?)",
                (_iso(now), _iso(now), item.title, item.url, priority, json.dumps(dict(new.story_info))),
            ).lastrowid
        elif isinstance(new.story, JoinStory):
            story_id = new.story.story_id
            self.db.execute("UPDATE stories SET updated_at = ? WHERE id = ?", (_iso(now), story_id))
        self.db.execute(
            # a replay: the item is stored already, only its story is new
            _INSERT_ITEM + (" ON CONFLICT(key) DO UPDATE SET story_id = excluded.story_id" if stored else ""),
            _item_row(key, item, story_id),
        )
        self.db.conn.executemany(_INSERT_KEY, _key_rows(new))
        if story_id is not None and new.story_info:
            self.db.execute(
                "INSERT INTO story_items(item_key, story_id, features) VALUES (?, ?, ?) ON CONFLICT(item_key) "
                "DO UPDATE SET story_id = excluded.story_id, features = excluded.features",
                (key, story_id, json.dumps(dict(new.story_info), ensure_ascii=False)),
            )
        for match in new.matches:
            self.db.execute(
                "INSERT OR IGNORE INTO matches(item_key, story_id, rule_id, rule_name, priority, digest_only, "
                "explanation, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    story_id,
                    match.rule_id,
                    match.rule_name,
                    match.priority,
                    int(match.digest_only),
                    explanation_json(match),
                    _iso(now),
                ),
            )
        alert_ids = []
        for out in new.outgoing:
            if story_id is None:
                raise StoreError("an outbox row needs a story; decide the story before queueing alerts")
            kind = "alert" if isinstance(new.story, OpenStory) else "follow_up"
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO outbox(story_id, item_key, kind, destination, channel, priority, rule_id, "
                "payload, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    story_id,
                    key,
                    kind,
                    out.destination,
                    out.channel,
                    out.priority,
                    out.rule_id,
                    json.dumps(dict(out.payload), ensure_ascii=False, default=str),
                    _iso(now),
                    _iso(now),
                ),
            )
            if cursor.rowcount:
                alert_ids.append(cursor.lastrowid)
        return Recorded(key, story_id, tuple(alert_ids))

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold this process's lock and SQLite's write lock (BEGIN IMMEDIATE, so another process
        waits too) around a read-decide-write sequence; commit at the end, roll back on error."""
        with self._lock:
            if self.db.conn.in_transaction:
                with self.db.atomic():
                    yield
                return
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.db.rollback()
                raise
            self.db.execute("COMMIT")

    def key_owners(self, keys: Iterable[str]) -> dict[str, tuple[str, str]]:
        keys = list(dict.fromkeys(keys))
        owners: dict[str, tuple[str, str]] = {}
        with self._lock:
            for chunk, marks in _chunks(keys):
                for key, item_key, feed in self.db.execute(
                    f"SELECT k.key, k.item_key, i.feed FROM item_keys k JOIN items i ON i.key = k.item_key "
                    f"WHERE k.key IN ({marks})",
                    chunk,
                ):
                    owners[key] = (item_key, feed)
        return owners

    def guid_changes(self, feed: str) -> int:
        with self._lock:
            return self.db.execute("SELECT count(*) FROM guid_changes WHERE feed = ?", (feed,)).fetchone()[0]

    def add_guid_changes(self, feed: str, urls: Iterable[str], now: datetime) -> None:
        with self._lock, self.db.atomic():
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO guid_changes(feed, url, seen_at) VALUES (?, ?, ?)",
                [(feed, url, _iso(now)) for url in urls],
            )

    def open_stories(self, since: datetime) -> list[tuple[int, Mapping[str, Any]]]:
        with self._lock:
            rows = self.db.execute(
                "SELECT s.story_id, s.features FROM story_items s JOIN stories ON stories.id = s.story_id "
                "WHERE stories.opened_at >= ? ORDER BY s.story_id",
                (_iso(since),),
            ).fetchall()
        return [(story_id, json.loads(features)) for story_id, features in rows]

    def prune(self, text_before: datetime, stories_before: datetime) -> int:
        with self._lock, self.db.atomic():
            self.db.execute(
                "DELETE FROM story_items WHERE story_id IN (SELECT id FROM stories WHERE opened_at < ?)",
                (_iso(stories_before),),
            )
            return self.db.execute(
                "UPDATE items SET summary = '', content = '' WHERE first_seen < ? AND (summary != '' OR content != '') "
                "AND key NOT IN (SELECT item_key FROM story_items)",
                (_iso(text_before),),
            ).rowcount

    def queue_event(self, destination: str, key: str, payload: Mapping[str, Any], now: datetime) -> int | None:
        with self._lock:
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO outbox(story_id, item_key, kind, destination, channel, priority, rule_id, "
                "payload, next_attempt_at, created_at) VALUES (NULL, ?, 'event', ?, '', 'normal', '', ?, ?, ?)",
                (key, destination, json.dumps(dict(payload), ensure_ascii=False, default=str), _iso(now), _iso(now)),
            )
        return cursor.lastrowid if cursor.rowcount else None

    def due_alerts(self, now: datetime, limit: int = 100) -> list[Alert]:
        with self._lock:
            rows = list(
                self.db.query(
                    "SELECT * FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? "
                    "ORDER BY kind = 'follow_up', id LIMIT ?",
                    (_iso(now), limit),
                )
            )
        return [
            Alert(
                id=row["id"],
                story_id=row["story_id"] or 0,
                item_key=row["item_key"],
                kind=row["kind"],
                destination=row["destination"],
                channel=row["channel"],
                priority=row["priority"],
                rule_id=row["rule_id"],
                attempts=row["attempts"],
                payload=json.loads(row["payload"]),
            )
            for row in rows
        ]

    def story_thread(self, story_id: int, destination: str, channel: str | None) -> tuple[str, str] | None:
        with self._lock:
            row = self.db.execute(
                "SELECT channel, ts FROM story_threads WHERE story_id = ? AND destination = ? AND channel_key = ?",
                (story_id, destination, channel or ""),
            ).fetchone()
        return (row[0], row[1]) if row else None

    def opening_alert_pending(self, story_id: int, destination: str, channel: str | None) -> bool:
        with self._lock:
            row = self.db.execute(
                "SELECT 1 FROM outbox WHERE story_id = ? AND destination = ? AND channel IS ? AND kind = 'alert' "
                "AND state = 'pending' LIMIT 1",
                (story_id, destination, channel),
            ).fetchone()
        return row is not None

    def mark_sending(self, alert_ids: Sequence[int], now: datetime) -> None:
        with self._lock, self.db.atomic():
            self.db.conn.executemany(
                "UPDATE outbox SET sending_at = ? WHERE id = ?", [(_iso(now), i) for i in alert_ids]
            )

    def in_flight(self) -> dict[int, str]:
        with self._lock:
            rows = self.db.execute(
                "SELECT id, sending_at FROM outbox WHERE state = 'pending' AND sending_at IS NOT NULL"
            ).fetchall()
        return {row[0]: row[1] for row in rows}

    def mark_delivered(self, alert_id: int, remote_id: str, channel: str | None, now: datetime) -> None:
        self.mark_sent([alert_id], remote_id, channel, now)

    def mark_sent(self, alert_ids: Sequence[int], remote_id: str, channel: str | None, now: datetime) -> None:
        with self._lock, self.db.atomic():
            for alert_id in alert_ids:
                self.db.execute(
                    "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, remote_id = ?, "
                    "delivered_at = ?, last_error = NULL, sending_at = NULL WHERE id = ?",
                    (remote_id, _iso(now), alert_id),
                )
                row = self.db.execute(
                    "SELECT story_id, destination, channel, kind FROM outbox WHERE id = ?", (alert_id,)
                ).fetchone()
                if row and row[3] == "alert" and channel:
                    self.db.execute(
                        "INSERT OR IGNORE INTO story_threads(story_id, destination, channel_key, channel, ts) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (row[0], row[1], row[2] or "", channel, remote_id),
                    )

    def mark_retry(self, alert_id: int, when: datetime, reason: str) -> None:
        with self._lock:
            self.db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, sending_at = NULL "
                "WHERE id = ?",
                (_iso(when), reason, alert_id),
            )

    def defer(self, alert_ids: Sequence[int], until: datetime, reason: str) -> None:
        with self._lock, self.db.atomic():
            self.db.conn.executemany(
                "UPDATE outbox SET next_attempt_at = ?, last_error = ?, sending_at = NULL WHERE id = ?",
                [(_iso(until), reason, i) for i in alert_ids],
            )

    def mark_dead(self, alert_id: int, reason: str, now: datetime) -> None:
        with self._lock:
            self.db.execute(
                "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ?, next_attempt_at = ?, "
                "sending_at = NULL WHERE id = ?",
                (reason, _iso(now), alert_id),
            )

    def recent_sends(self, since: datetime) -> dict[tuple[str, str | None], list[datetime]]:
        sends: dict[tuple[str, str | None], list[datetime]] = {}
        with self._lock:
            rows = self.db.execute(
                "SELECT DISTINCT destination, channel, remote_id, delivered_at FROM outbox "
                "WHERE delivered_at >= ? AND state = 'delivered' ORDER BY delivered_at",
                (_iso(since),),
            ).fetchall()
        for destination, channel, _, delivered_at in rows:
            sends.setdefault((destination, channel), []).append(datetime.fromisoformat(delivered_at))
        return sends

    def retry_dead(self, alert_ids: Sequence[int] | None, now: datetime) -> list[int]:
        where = "state = 'dead'"
        params: list[Any] = []
        if alert_ids is not None:
            where += f" AND id IN ({','.join('?' * len(alert_ids))})"
            params = list(alert_ids)
        with self._lock, self.db.atomic():
            ids = [row[0] for row in self.db.execute(f"SELECT id FROM outbox WHERE {where} ORDER BY id", params)]
            self.db.conn.executemany(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?, last_error = NULL "
                "WHERE id = ?",
                [(_iso(now), i) for i in ids],
            )
        return ids

    def outbox_rows(self, states: Sequence[str], limit: int = 200) -> list[dict[str, Any]]:
        marks = ",".join("?" * len(states))
        with self._lock:
            rows = list(
                self.db.query(
                    "SELECT id, story_id, kind, destination, channel, priority, state, attempts, next_attempt_at, "
                    f"last_error, created_at, delivered_at, payload FROM outbox WHERE state IN ({marks}) "
                    "ORDER BY id DESC LIMIT ?",
                    [*states, limit],
                )
            )
        for row in rows:
            row["title"] = json.loads(row.pop("payload")).get("title")
        return rows[::-1]

    def outbox_counts(self) -> dict[str, int]:
        counts = {"pending": 0, "delivered": 0, "dead": 0}
        with self._lock:
            for state, count in self.db.execute("SELECT state, count(*) FROM outbox GROUP BY state"):
                counts[state] = count
        return counts

    def dead_alerts(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(
                self.db.query(
                    "SELECT id, story_id, destination, channel, attempts, last_error, created_at FROM outbox "
                    "WHERE state = 'dead' ORDER BY id"
                )
            )

    # --- digests ----------------------------------------------------------------------------------

    def stories_first_seen(self, start: datetime, end: datetime) -> list[StoryRecord]:
        with self._lock:
            stories = list(
                self.db.query(
                    "SELECT id, title, url, priority, opened_at FROM stories WHERE opened_at >= ? AND opened_at < ? "
                    "ORDER BY opened_at, id",
                    (_iso(start), _iso(end)),
                )
            )
            ids = [row["id"] for row in stories]
            items: dict[int, list[Coverage]] = {i: [] for i in ids}
            matches: dict[int, list[Match]] = {i: [] for i in ids}
            for chunk, marks in _chunks(ids):
                for row in self.db.query(
                    f"SELECT story_id, feed, title, url, first_seen FROM items WHERE story_id IN ({marks}) "
                    "ORDER BY first_seen, key",
                    chunk,
                ):
                    items[row["story_id"]].append(
                        Coverage(row["feed"], row["title"], row["url"], datetime.fromisoformat(row["first_seen"]))
                    )
                for row in self.db.query(
                    f"SELECT story_id, rule_id, rule_name, priority, digest_only, explanation FROM matches "
                    f"WHERE story_id IN ({marks}) ORDER BY id",
                    chunk,
                ):
                    matches[row["story_id"]].append(
                        Match(
                            row["rule_id"],
                            row["rule_name"],
                            row["priority"],
                            None,
                            bool(row["digest_only"]),
                            explanation_from_json(row["explanation"]),
                        )
                    )
        return [
            StoryRecord(
                story_id=row["id"],
                title=row["title"],
                url=row["url"],
                priority=row["priority"],
                first_seen=datetime.fromisoformat(row["opened_at"]),
                items=tuple(items[row["id"]]),
                matches=tuple(matches[row["id"]]),
            )
            for row in stories
        ]

    def count_alerts(self, start: datetime, end: datetime) -> int:
        with self._lock:
            return self.db.execute(
                "SELECT count(*) FROM outbox WHERE kind = 'alert' AND created_at >= ? AND created_at < ?",
                (_iso(start), _iso(end)),
            ).fetchone()[0]

    def last_scheduled_digest(self) -> str | None:
        with self._lock:
            return self.db.execute("SELECT max(period) FROM digests WHERE scheduled = 1").fetchone()[0]

    def last_digest_end(self) -> datetime | None:
        with self._lock:
            return _time(self.db.execute("SELECT max(end_at) FROM digests").fetchone()[0])

    def open_digest(
        self, period: str, end: datetime, default_start: datetime, scheduled: bool, now: datetime
    ) -> DigestRow:
        # one statement, so concurrent openers never upgrade a read to a write (SQLITE_BUSY in WAL)
        with self._lock:
            self.db.execute(
                "INSERT OR IGNORE INTO digests(period, scheduled, start_at, end_at, next_attempt_at, created_at) "
                "SELECT ?, ?, s, CASE WHEN s > ? THEN s ELSE ? END, ?, ? "
                "FROM (SELECT coalesce(max(end_at), ?) AS s FROM digests) AS previous",
                (period, int(scheduled), _iso(end), _iso(end), _iso(now), _iso(now), _iso(default_start)),
            )
            row = self._digest(period)
        assert row is not None
        return row

    def claim_digest(self, period: str, now: datetime, until: datetime) -> DigestRow | None:
        with self._lock:
            claimed = self.db.execute(
                "UPDATE digests SET state = 'sending', attempts = attempts + 1, next_attempt_at = ? "
                "WHERE period = ? AND state IN ('pending', 'sending') AND next_attempt_at <= ?",
                (_iso(until), period, _iso(now)),
            ).rowcount
            return self._digest(period) if claimed else None

    def digest_delivered(self, period: str, destination: str) -> None:
        with self._lock:
            self.db.execute(
                "UPDATE digests SET done = ltrim(done || ',' || ?, ',') WHERE period = ?", (destination, period)
            )

    def finish_digest(self, period: str, state: str, stories: int, now: datetime) -> None:
        with self._lock:
            self.db.execute(
                "UPDATE digests SET state = ?, stories = ?, sent_at = ?, last_error = NULL WHERE period = ?",
                (state, stories, _iso(now), period),
            )

    def retry_digest(self, period: str, when: datetime, error: str) -> None:
        with self._lock:
            self.db.execute(
                "UPDATE digests SET state = 'pending', next_attempt_at = ?, last_error = ? WHERE period = ?",
                (_iso(when), error, period),
            )

    def due_digests(self, now: datetime) -> list[DigestRow]:
        with self._lock:
            rows = self.db.query(
                "SELECT * FROM digests WHERE state IN ('pending', 'sending') AND next_attempt_at <= ? ORDER BY end_at",
                (_iso(now),),
            )
            return [self._digest_row(row) for row in rows]

    def digests(self, limit: int = 10) -> list[DigestRow]:
        with self._lock:
            rows = self.db.query("SELECT * FROM digests ORDER BY end_at DESC, created_at DESC LIMIT ?", (limit,))
            return [self._digest_row(row) for row in rows]

    def _digest(self, period: str) -> DigestRow | None:
        rows = list(self.db.query("SELECT * FROM digests WHERE period = ?", (period,)))
        return self._digest_row(rows[0]) if rows else None

    @staticmethod
    def _digest_row(row: dict[str, Any]) -> DigestRow:
        return DigestRow(
            period=row["period"],
            scheduled=bool(row["scheduled"]),
            start=datetime.fromisoformat(row["start_at"]),
            end=datetime.fromisoformat(row["end_at"]),
            state=row["state"],
            attempts=row["attempts"],
            next_attempt_at=datetime.fromisoformat(row["next_attempt_at"]),
            done=tuple(d for d in row["done"].split(",") if d),
            last_error=row["last_error"],
            stories=row["stories"],
            sent_at=_time(row["sent_at"]),
        )
