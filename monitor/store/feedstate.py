"""The feeds aggregate: each configured feed's fetch state (validators, health, next check), the
lease a poller holds on it, and the outcome of each poll with what it announces (a feed-health
notice, webhook events), written in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from monitor.errors import StoreError
from monitor.model import FeedState, PollOutcome
from monitor.settings import FeedConfig
from monitor.store.database import Database, Dialect
from monitor.store.notices import insert_notices
from monitor.store.outbox import insert_events
from monitor.store.schema import from_iso, iso

# A feed a poller may take: due (by the first param), and not leased or its lease ran out (by now).
FEED_CLAIMABLE = "(next_check_at IS NULL OR next_check_at <= ?) AND (leased_until IS NULL OR leased_until <= ?)"

Poll = tuple[str, PollOutcome, datetime]  # feed name, outcome, when


class Feeds:
    def __init__(self, db: Database, dialect: Dialect) -> None:
        self.db = db
        self.dialect = dialect

    def sync(self, feeds: Sequence[FeedConfig]) -> None:
        """Make the stored feed list match the config: new feeds are added; a feed whose configured
        URL changed starts over at the new URL. A URL learnt from a permanent redirect is kept while
        the configured URL stays the same."""
        self.db.executemany(
            "INSERT INTO feeds(name, url, config_url) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
            "url = CASE WHEN feeds.config_url IS excluded.config_url THEN feeds.url ELSE excluded.url END, "
            "etag = CASE WHEN feeds.config_url IS excluded.config_url THEN feeds.etag END, "
            "last_modified = CASE WHEN feeds.config_url IS excluded.config_url THEN feeds.last_modified END, "
            "body_hash = CASE WHEN feeds.config_url IS excluded.config_url THEN feeds.body_hash END, "
            "config_url = excluded.config_url",
            [(feed.name, feed.url, feed.url) for feed in feeds],
        )

    def state(self, name: str) -> FeedState | None:
        rows = self.db.query("SELECT * FROM feeds WHERE name = ?", (name,))
        return _feed_state(rows[0]) if rows else None

    def states(self) -> list[FeedState]:
        return [_feed_state(row) for row in self.db.query("SELECT * FROM feeds ORDER BY name")]

    def claim(self, name: str, now: datetime, until: datetime, due_by: datetime | None = None) -> bool:
        """Take the feed for one poll if it is due (by ``due_by``, default ``now``) and nobody holds
        it: leased until ``until`` (or until its poll is recorded), so of several processes exactly
        one polls it; a lease whose holder died expires by itself."""
        return self.dialect.claim_feed(name, due_by or now, now, until)

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
