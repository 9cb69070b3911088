"""The SQLite store (the embedded default), through sqlite-utils.

Created on first use, WAL mode, schema version in ``PRAGMA user_version``. One connection shared
by the process's threads behind a lock: SQLite has one writer at a time anyway, and every
method is a short statement or transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from monitor.errors import StoreError
from monitor.model import Alert, FeedConfig, FeedState, Match
from monitor.store.base import FeedNotice, JoinStory, NewItem, OpenStory, PollOutcome, Recorded

SCHEMA_VERSION = 1

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
    config_url TEXT
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
    story_id INTEGER NOT NULL REFERENCES stories(id),
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
    UNIQUE (item_key, destination, channel)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, next_attempt_at);
CREATE TABLE IF NOT EXISTS story_threads (
    story_id INTEGER NOT NULL REFERENCES stories(id),
    destination TEXT NOT NULL,
    channel_key TEXT NOT NULL,
    channel TEXT NOT NULL,
    ts TEXT NOT NULL,
    PRIMARY KEY (story_id, destination, channel_key)
);
"""


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def explanation_json(match: Match) -> str:
    e = match.explanation
    return json.dumps(
        {
            "hits": [{"term": h.term, "field": h.field, "snippet": h.snippet} for h in e.hits],
            "amounts": [
                {"text": a.text, "value": a.value, "currency": a.currency, "usd": a.usd} for a in e.amounts
            ],
            "companies": list(e.companies),
            "round": e.round,
        },
        ensure_ascii=False,
    )


class SQLiteStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self.db = sqlite_utils.Database(conn)
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
            if outcome.status == "error":
                self.db.execute(
                    "UPDATE feeds SET consecutive_failures = consecutive_failures + 1, last_error = ?, "
                    "last_polled_at = ?, next_check_at = ?, failing_since = COALESCE(failing_since, ?), "
                    "health = ? WHERE name = ?",
                    (
                        outcome.error,
                        _iso(now),
                        _iso(outcome.next_check_at),
                        _iso(now),
                        outcome.health or "failing",
                        name,
                    ),
                )
            else:
                self.db.execute(
                    "UPDATE feeds SET consecutive_failures = 0, last_error = NULL, failing_since = NULL, "
                    "health = 'ok', etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified), "
                    "body_hash = COALESCE(?, body_hash), url = COALESCE(?, url), "
                    "last_polled_at = ?, last_ok_at = ?, next_check_at = ? WHERE name = ?",
                    (
                        outcome.etag,
                        outcome.last_modified,
                        outcome.body_hash,
                        outcome.new_url,
                        _iso(now),
                        _iso(now),
                        _iso(outcome.next_check_at),
                        name,
                    ),
                )
            if outcome.notice is not None:
                n = outcome.notice
                self.db.execute(
                    "INSERT INTO feed_notices(feed, health, channel, text, next_attempt_at, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (n.feed, n.health, n.channel, n.text, _iso(now), _iso(now)),
                )
        return before

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
        with self._lock, self.db.atomic():
            for notice_id in ids:
                self.db.execute(
                    "UPDATE feed_notices SET state = ?, attempts = attempts + 1, last_error = ?, "
                    "next_attempt_at = COALESCE(?, next_attempt_at), sent_at = ? WHERE id = ?",
                    (state, error, _iso(retry_at), _iso(now) if error is None else None, notice_id),
                )

    # --- items, matches, stories, outbox ---------------------------------------------------------

    def known_keys(self, keys: Iterable[str]) -> set[str]:
        keys = list(dict.fromkeys(keys))
        found: set[str] = set()
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                found.update(
                    r[0] for r in self.db.execute(f"SELECT key FROM item_keys WHERE key IN ({marks})", chunk)
                )
        return found

    def record_items(self, new_items: Sequence[NewItem], now: datetime) -> list[Recorded]:
        recorded = []
        with self._lock, self.db.atomic():
            for new in new_items:
                recorded.append(self._record_item(new, now))
        return recorded

    def _record_item(self, new: NewItem, now: datetime) -> Recorded:
        item = new.item
        story_id = None
        if isinstance(new.story, OpenStory):
            priority = min(
                (m.priority for m in new.matches), key=("high", "normal", "low").index, default="normal"
            )
            story_id = self.db.execute(
                "INSERT INTO stories(opened_at, updated_at, title, url, priority, info) VALUES (?, ?, ?, ?, ?, ?)",
                (_iso(now), _iso(now), item.title, item.url, priority, json.dumps(dict(new.story_info))),
            ).lastrowid
        elif isinstance(new.story, JoinStory):
            story_id = new.story.story_id
            self.db.execute("UPDATE stories SET updated_at = ? WHERE id = ?", (_iso(now), story_id))
        self.db.execute(
            "INSERT INTO items(key, feed, guid, url, title, summary, content, published, first_seen, "
            "fingerprint, story_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                item.key,
                item.feed,
                item.guid,
                item.url,
                item.title,
                item.summary,
                item.content if item.content != item.summary else "",
                _iso(item.published),
                _iso(item.first_seen),
                item.fingerprint,
                story_id,
            ),
        )
        self.db.conn.executemany(  # one statement for all keys: a cold cycle stores 20,000 items
            "INSERT OR IGNORE INTO item_keys(key, item_key) VALUES (?, ?)",
            [(key, item.key) for key in dict.fromkeys((item.key, *new.keys))],
        )
        for match in new.matches:
            self.db.execute(
                "INSERT OR IGNORE INTO matches(item_key, story_id, rule_id, rule_name, priority, digest_only, "
                "explanation, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    item.key,
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
                    item.key,
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
        return Recorded(item.key, story_id, tuple(alert_ids))

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
                story_id=row["story_id"],
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

    def mark_delivered(self, alert_id: int, remote_id: str, channel: str | None, now: datetime) -> None:
        with self._lock, self.db.atomic():
            self.db.execute(
                "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, remote_id = ?, delivered_at = ?, "
                "last_error = NULL WHERE id = ?",
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
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
                (_iso(when), reason, alert_id),
            )

    def mark_dead(self, alert_id: int, reason: str, now: datetime) -> None:
        with self._lock:
            self.db.execute(
                "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
                "WHERE id = ?",
                (reason, _iso(now), alert_id),
            )

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
