"""The feeds aggregate: each configured feed's fetch state (validators, health, next check), the
lease a poller holds on it, and the outcome of each poll with what it announces (a feed-health
notice, webhook events), written in one transaction.

Feeds are rows, not timers: a poller claims the due ones in batches (``claim_due``: the oldest
``next_check_at`` first, each leased for one poll, row locks skipped on PostgreSQL so replicas
never wait for each other) and the poll's outcome sets the next ``next_check_at``. Whatever
decides when a feed is polled again (its interval, hints, back-off, Retry-After) is in that one
column."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from monitor.errors import StoreError
from monitor.model import FeedState, PollOutcome
from monitor.settings import FeedConfig
from monitor.store.database import Database, Dialect
from monitor.store.notices import insert_notices
from monitor.store.outbox import insert_events
from monitor.store.schema import chunks, from_iso, iso

# A feed a poller may take: configured, due, and not leased (or its holder's lease ran out).
CLAIMABLE = (
    "active = 1 AND (next_check_at IS NULL OR next_check_at <= :now) AND (leased_until IS NULL OR leased_until <= :now)"
)
SYNCED_KEY = "feeds"  # the meta row holding the fingerprint of the feed list last synced

Poll = tuple[str, PollOutcome, datetime]  # feed name, outcome, when


class Feeds:
    def __init__(self, db: Database, dialect: Dialect) -> None:
        self.db = db
        self.dialect = dialect

    def sync(self, feeds: Sequence[FeedConfig]) -> bool:
        """Make the stored feed list match the config: new feeds are added (due at once); a feed
        whose configured URL changed starts over at the new URL (a URL learnt from a permanent
        redirect is kept while the configured URL stays the same); a feed no longer configured
        becomes inactive, its state kept. One batched statement, in one transaction, and none at all
        when the list is the one last synced (a restart): returns whether it wrote anything."""
        fingerprint = hashlib.sha256("\n".join(f"{f.name}\t{f.url}" for f in feeds).encode()).hexdigest()
        if self._meta(SYNCED_KEY) == fingerprint:
            return False
        with self.db.atomic():
            self.db.executemany(
                "INSERT INTO feeds(name, url, config_url, active, synced) VALUES (?, ?, ?, 1, ?) "
                "ON CONFLICT(name) DO UPDATE SET active = 1, synced = excluded.synced, "
                "url = CASE WHEN feeds.config_url IS excluded.config_url THEN feeds.url ELSE excluded.url END, "
                "etag = CASE WHEN feeds.config_url IS excluded.config_url THEN feeds.etag END, "
                "last_modified = CASE WHEN feeds.config_url IS excluded.config_url THEN feeds.last_modified END, "
                "body_hash = CASE WHEN feeds.config_url IS excluded.config_url THEN feeds.body_hash END, "
                "config_url = excluded.config_url",
                [(feed.name, feed.url, feed.url, fingerprint) for feed in feeds],
            )
            self.db.execute(
                "UPDATE feeds SET active = 0, leased_until = NULL WHERE synced IS NOT ? AND active = 1", (fingerprint,)
            )
            self.db.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (SYNCED_KEY, fingerprint),
            )
        return True

    def claim_due(self, now: datetime, until: datetime, limit: int) -> list[FeedState]:
        """Take up to ``limit`` due feeds, the longest due first, each leased until ``until`` (or
        until its poll is recorded or ``release`` gives it back): of several processes, exactly one
        polls a feed; a lease whose holder died runs out by itself."""
        with self.db.atomic():
            rows = self.db.query(
                "UPDATE feeds SET leased_until = :until WHERE name IN (SELECT name FROM feeds WHERE "
                f"{CLAIMABLE} ORDER BY next_check_at NULLS FIRST LIMIT :limit{self.dialect.row_locks}) RETURNING *",
                {"until": iso(until), "now": iso(now), "limit": limit},
            )
        return [_feed_state(row) for row in rows]

    def release(self, names: Sequence[str]) -> None:
        """Give claimed feeds back unpolled (a shutdown): due again at once, for anyone."""
        for chunk, marks in chunks(names):
            self.db.execute(f"UPDATE feeds SET leased_until = NULL WHERE name IN ({marks})", chunk)

    def next_due(self, now: datetime) -> datetime | None:
        """When the next feed falls due (``now`` for one never polled); None with no feed at all."""
        if self.db.query("SELECT name FROM feeds WHERE active = 1 AND next_check_at IS NULL LIMIT 1"):
            return now
        row = self.db.execute("SELECT min(next_check_at) FROM feeds WHERE active = 1").fetchone()
        return from_iso(row[0]) if row else None

    def failing(self) -> int:
        """How many configured feeds failed their last poll."""
        return self.db.execute("SELECT count(*) FROM feeds WHERE active = 1 AND consecutive_failures > 0").fetchone()[0]

    def _meta(self, key: str) -> str | None:
        rows = self.db.query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0]["value"] if rows else None

    def state(self, name: str) -> FeedState | None:
        rows = self.db.query("SELECT * FROM feeds WHERE name = ?", (name,))
        return _feed_state(rows[0]) if rows else None

    def states(self) -> list[FeedState]:
        return [_feed_state(row) for row in self.db.query("SELECT * FROM feeds ORDER BY name")]

    def record_poll(self, name: str, outcome: PollOutcome, now: datetime) -> FeedState:
        """Store a poll's outcome; returns the state before it (for failing/recovered news)."""
        with self.db.atomic():
            before = self.state(name)
            if before is None:
                raise StoreError(f"feed {name!r} is not in the database; sync the feeds first")
            self._write([(name, outcome, now)])
        return before

    def record_polls(self, polls: Sequence[Poll]) -> None:
        """Store many polls' outcomes, with their notices and events, in one transaction."""
        with self.db.atomic():
            self._write(polls)

    def _write(self, polls: Sequence[Poll]) -> None:
        """One ``executemany`` per kind of row: a warm cycle records 1,000 polls at once."""
        self.db.executemany(
            "UPDATE feeds SET consecutive_failures = consecutive_failures + 1, last_error = ?, "
            "last_polled_at = ?, next_check_at = ?, failing_since = COALESCE(failing_since, ?), "
            "health = ?, leased_until = NULL WHERE name = ?",
            [
                (o.error, iso(now), iso(o.next_check_at), iso(now), o.health or "failing", name)
                for name, o, now in polls
                if o.status == "error"
            ],
        )
        self.db.executemany(
            "UPDATE feeds SET consecutive_failures = 0, last_error = NULL, failing_since = NULL, "
            "health = 'ok', etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified), "
            "body_hash = COALESCE(?, body_hash), url = COALESCE(?, url), "
            "last_polled_at = ?, last_ok_at = ?, next_check_at = ?, leased_until = NULL WHERE name = ?",
            [
                (o.etag, o.last_modified, o.body_hash, o.new_url, iso(now), iso(now), iso(o.next_check_at), name)
                for name, o, now in polls
                if o.status != "error"
            ],
        )
        insert_notices(self.db, [(o.notice, now) for _, o, now in polls if o.notice is not None])
        insert_events(self.db, [(event, now) for _, o, now in polls for event in o.events])


def _feed_state(row: dict[str, Any]) -> FeedState:
    return FeedState(
        name=row["name"],
        url=row["url"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        body_hash=row["body_hash"],
        consecutive_failures=row["consecutive_failures"],
        last_error=row["last_error"],
        last_polled_at=from_iso(row["last_polled_at"]),
        last_ok_at=from_iso(row["last_ok_at"]),
        next_check_at=from_iso(row["next_check_at"]),
        failing_since=from_iso(row["failing_since"]),
        health=row["health"],
        moved_to=row["url"] if row["config_url"] and row["url"] != row["config_url"] else None,
    )
