"""The digests aggregate: one row per digest period, claimed before sending, so each period goes
out once however many processes try (see ``digesting``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from monitor.model import DigestRow, EventRow
from monitor.store.database import Database
from monitor.store.outbox import insert_events
from monitor.store.schema import from_iso, iso


class Digests:
    def __init__(self, db: Database) -> None:
        self.db = db

    def last_scheduled(self) -> str | None:
        """The newest scheduled period (any state), e.g. '2026-11-22'."""
        return self.db.execute("SELECT max(period) FROM digests WHERE scheduled = 1").fetchone()[0]

    def last_end(self) -> datetime | None:
        """Where the next period starts: the end of the newest period."""
        return from_iso(self.db.execute("SELECT max(end_at) FROM digests").fetchone()[0])

    def open(self, period: str, end: datetime, default_start: datetime, scheduled: bool, now: datetime) -> DigestRow:
        """Create the period's row (pending, due now) unless it exists; it starts where the previous
        period ended (``default_start`` for the first one). Returns the row."""
        # one statement, so concurrent openers never upgrade a read to a write (SQLITE_BUSY in WAL)
        self.db.execute(
            "INSERT OR IGNORE INTO digests(period, scheduled, start_at, end_at, next_attempt_at, created_at) "
            "SELECT ?, ?, s, CASE WHEN s > ? THEN s ELSE ? END, ?, ? "
            "FROM (SELECT coalesce(max(end_at), ?) AS s FROM digests) AS previous",
            (period, int(scheduled), iso(end), iso(end), iso(now), iso(now), iso(default_start)),
        )
        row = self._row(period)
        assert row is not None
        return row

    def claim(self, period: str, now: datetime, until: datetime, due_by: datetime | None = None) -> DigestRow | None:
        """Claim a pending (or abandoned sending) row that is due by ``due_by`` (default ``now``):
        state sending until ``until``. None when it is sent, empty, not due or claimed by someone else."""
        claimed = self.db.execute(
            "UPDATE digests SET state = 'sending', attempts = attempts + 1, next_attempt_at = ? "
            "WHERE period = ? AND state IN ('pending', 'sending') AND next_attempt_at <= ?",
            (iso(until), period, iso(due_by or now)),
        ).rowcount
        return self._row(period) if claimed else None

    def delivered(self, period: str, destination: str) -> None:
        """Record that one destination confirmed the digest (not sent again on a retry)."""
        self.db.execute(
            "UPDATE digests SET done = ltrim(done || ',' || ?, ',') WHERE period = ?", (destination, period)
        )

    def finish(self, period: str, state: str, stories: int, now: datetime, events: Sequence[EventRow] = ()) -> None:
        """Mark the period sent or empty, with the webhook events that announce it (digest_sent),
        in one transaction."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE digests SET state = ?, stories = ?, sent_at = ?, last_error = NULL WHERE period = ?",
                (state, stories, iso(now), period),
            )
            insert_events(self.db, [(event, now) for event in events])

    def retry(self, period: str, when: datetime, error: str, stories: int) -> None:
        """Back to pending with the error and the stories it holds; tried again from ``when``."""
        self.db.execute(
            "UPDATE digests SET state = 'pending', next_attempt_at = ?, last_error = ?, stories = ? WHERE period = ?",
            (iso(when), error, stories, period),
        )

    def due(self, now: datetime) -> list[DigestRow]:
        """Rows to (re)try now: pending or abandoned sending, next_attempt_at reached."""
        rows = self.db.query(
            "SELECT * FROM digests WHERE state IN ('pending', 'sending') AND next_attempt_at <= ? ORDER BY end_at",
            (iso(now),),
        )
        return [_digest_row(row) for row in rows]

    def recent(self, limit: int = 10) -> list[DigestRow]:
        """The newest periods, newest first."""
        rows = self.db.query("SELECT * FROM digests ORDER BY end_at DESC, created_at DESC LIMIT ?", (limit,))
        return [_digest_row(row) for row in rows]

    def _row(self, period: str) -> DigestRow | None:
        rows = self.db.query("SELECT * FROM digests WHERE period = ?", (period,))
        return _digest_row(rows[0]) if rows else None


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
        sent_at=from_iso(row["sent_at"]),
    )
