"""The notices aggregate: feed-health announcements (failing, dead, recovered) waiting for the ops
channel. They are queued with the poll outcome that caused them (``Feeds.record_polls``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from monitor.model import FeedNotice
from monitor.store.database import Database
from monitor.store.schema import iso


def insert_notices(db: Database, notices: Sequence[tuple[FeedNotice, datetime]]) -> None:
    """Queue these notices (each due from its time), in the caller's transaction."""
    db.executemany(
        "INSERT INTO feed_notices(feed, health, channel, text, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        [(n.feed, n.health, n.channel, n.text, iso(now), iso(now)) for n, now in notices],
    )


class Notices:
    def __init__(self, db: Database) -> None:
        self.db = db

    def due(self, now: datetime) -> list[FeedNotice]:
        rows = self.db.query(
            "SELECT * FROM feed_notices WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY id", (iso(now),)
        )
        return [
            FeedNotice(r["feed"], r["health"], r["channel"], r["text"], id=r["id"], attempts=r["attempts"])
            for r in rows
        ]

    def mark(self, ids: Sequence[int], now: datetime, retry_at: datetime | None, error: str | None) -> None:
        """Sent (``retry_at`` and ``error`` None), to retry at ``retry_at``, or dead (``error`` alone)."""
        state = "sent" if error is None else "pending" if retry_at else "dead"
        values = (state, error, iso(retry_at), iso(now) if error is None else None)
        self.db.executemany(
            "UPDATE feed_notices SET state = ?, attempts = attempts + 1, last_error = ?, "
            "next_attempt_at = COALESCE(?, next_attempt_at), sent_at = ? WHERE id = ?",
            [(*values, notice_id) for notice_id in ids],
        )
