"""The outbox aggregate: every message to send (alerts and follow-ups, queued with their item by
``Items.record``; webhook events, queued with the change they report) and its delivery state.

A row is pending until delivered or dead. ``mark_sending`` commits a note on a message's rows
before it is sent, and its outcome clears it, so a crash in between is found (``in_flight``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from monitor.model import Alert, EventRow
from monitor.store.database import Database, Dialect
from monitor.store.schema import iso

# Only a row already queued is skipped (not OR IGNORE: SQLite's would also drop a row breaking NOT NULL).
INSERT = (
    "INSERT INTO outbox(story_id, item_key, kind, destination, channel, priority, rule_id, payload, "
    "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(item_key, destination, channel) DO NOTHING"
)


def payload_json(payload: Any) -> str:
    return json.dumps(dict(payload), ensure_ascii=False, default=str)


def insert_events(db: Database, events: Sequence[tuple[EventRow, datetime]]) -> None:
    """Queue these webhook events (each due from its time) in the caller's transaction; an event
    already queued under its key for its destination is left as it is."""
    db.executemany(
        INSERT,
        [
            (None, e.key, "event", e.destination, "", "normal", "", payload_json(e.payload), iso(now), iso(now))
            for e, now in events
        ],
    )


class Outbox:
    def __init__(self, db: Database, dialect: Dialect) -> None:
        self.db = db
        self.dialect = dialect

    def due_destinations(self, now: datetime) -> list[str]:
        """The destinations with rows to send now."""
        rows = self.db.query(
            "SELECT DISTINCT destination FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? "
            "ORDER BY destination",
            (iso(now),),
        )
        return [row["destination"] for row in rows]

    def due(self, now: datetime, limit: int = 100, destination: str | None = None) -> list[Alert]:
        """Pending rows whose time has come (for one destination, or all), follow-ups after the rest."""
        only = " AND destination = :destination" if destination is not None else ""
        rows = self.db.query(
            f"SELECT * FROM outbox WHERE state = 'pending' AND next_attempt_at <= :now{only} "
            "ORDER BY kind = 'follow_up', id LIMIT :limit",
            {"now": iso(now), "destination": destination, "limit": limit},
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
        """(channel id, message ts) of the story's opening message at that destination."""
        row = self.db.execute(
            "SELECT channel, ts FROM story_threads WHERE story_id = ? AND destination = ? AND channel_key = ?",
            (story_id, destination, channel or ""),
        ).fetchone()
        return (row[0], row[1]) if row else None

    def opening_alert_pending(self, story_id: int, destination: str, channel: str | None) -> bool:
        """Whether the story's opening alert to that destination is still waiting to be sent."""
        row = self.db.execute(
            "SELECT 1 FROM outbox WHERE story_id = ? AND destination = ? AND channel IS ? AND kind = 'alert' "
            "AND state = 'pending' LIMIT 1",
            (story_id, destination, channel),
        ).fetchone()
        return row is not None

    def mark_sending(self, alert_ids: Sequence[int], now: datetime) -> None:
        """Note, committed before the send, that these rows are being sent (see ``in_flight``).
        First make sure the delivery turn is still this process's: if it was lost, another
        process may be delivering, so this round stops (StoreError)."""
        self.dialect.confirm_turn()
        self.db.executemany("UPDATE outbox SET sending_at = ? WHERE id = ?", [(iso(now), i) for i in alert_ids])

    def in_flight(self) -> dict[int, str]:
        """Pending rows a crash interrupted mid-send: alert id -> group token (the rows sent as
        one message share it)."""
        rows = self.db.execute("SELECT id, sending_at FROM outbox WHERE state = 'pending' AND sending_at IS NOT NULL")
        return {row[0]: row[1] for row in rows}

    def mark_delivered(self, alert_id: int, remote_id: str, channel: str | None, now: datetime) -> None:
        self.mark_sent([alert_id], remote_id, channel, now)

    def mark_sent(self, alert_ids: Sequence[int], remote_id: str, channel: str | None, now: datetime) -> None:
        """Mark every row of one message (an alert or a summary) delivered, in one transaction; an
        opening alert's message becomes its story's thread at that destination."""
        with self.db.atomic():
            for alert_id in alert_ids:
                self.db.execute(
                    "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, remote_id = ?, "
                    "delivered_at = ?, last_error = NULL, sending_at = NULL WHERE id = ?",
                    (remote_id, iso(now), alert_id),
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
        self.db.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, sending_at = NULL "
            "WHERE id = ?",
            (iso(when), reason, alert_id),
        )

    def defer(self, alert_ids: Sequence[int], until: datetime, reason: str) -> None:
        """Not before ``until``, without counting an attempt (quiet hours, a rate-limited channel)."""
        self.db.executemany(
            "UPDATE outbox SET next_attempt_at = ?, last_error = ?, sending_at = NULL WHERE id = ?",
            [(iso(until), reason, i) for i in alert_ids],
        )

    def mark_dead(self, alert_id: int, reason: str, now: datetime, events: Sequence[EventRow] = ()) -> None:
        """A dead letter, and the webhook events that announce it (alert_dead), in one transaction."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ?, next_attempt_at = ?, "
                "sending_at = NULL WHERE id = ?",
                (reason, iso(now), alert_id),
            )
            insert_events(self.db, [(event, now) for event in events])

    def recent_sends(self, since: datetime) -> dict[tuple[str, str | None], list[datetime]]:
        """Send times per (destination, stored channel) since ``since``; a summary counts once."""
        sends: dict[tuple[str, str | None], list[datetime]] = {}
        rows = self.db.execute(
            "SELECT DISTINCT destination, channel, remote_id, delivered_at FROM outbox "
            "WHERE delivered_at >= ? AND state = 'delivered' ORDER BY delivered_at",
            (iso(since),),
        )
        for destination, channel, _, delivered_at in rows:
            sends.setdefault((destination, channel), []).append(datetime.fromisoformat(delivered_at))
        return sends

    def retry_dead(self, alert_ids: Sequence[int] | None, now: datetime) -> list[int]:
        """Make dead letters (these, or all when None) pending again; returns the ids requeued."""
        where = "state = 'dead'"
        params: list[Any] = []
        if alert_ids is not None:
            where += f" AND id IN ({','.join('?' * len(alert_ids))})"
            params = list(alert_ids)
        with self.db.atomic():
            ids = [row[0] for row in self.db.execute(f"SELECT id FROM outbox WHERE {where} ORDER BY id", params)]
            self.db.executemany(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?, last_error = NULL "
                "WHERE id = ?",
                [(iso(now), i) for i in ids],
            )
        return ids

    def rows(self, states: Sequence[str], limit: int = 200) -> list[dict[str, Any]]:
        """The newest ``limit`` rows in these states, oldest first, with the alert's title."""
        marks = ",".join("?" * len(states))
        rows = self.db.query(
            "SELECT id, story_id, kind, destination, channel, priority, state, attempts, next_attempt_at, "
            f"last_error, created_at, delivered_at, payload FROM outbox WHERE state IN ({marks}) "
            "ORDER BY id DESC LIMIT ?",
            [*states, limit],
        )
        for row in rows:
            row["title"] = json.loads(row.pop("payload")).get("title")
        return rows[::-1]

    def counts(self) -> dict[str, int]:
        """Number of rows per state: pending, delivered, dead."""
        counts = {"pending": 0, "delivered": 0, "dead": 0}
        for state, count in self.db.execute("SELECT state, count(*) FROM outbox GROUP BY state"):
            counts[state] = count
        return counts

    def dead(self) -> list[dict[str, Any]]:
        return self.db.query(
            "SELECT id, story_id, destination, channel, attempts, last_error, created_at FROM outbox "
            "WHERE state = 'dead' ORDER BY id"
        )

    def count_alerts(self, start: datetime, end: datetime) -> int:
        """Opening alerts queued in [start, end)."""
        return self.db.execute(
            "SELECT count(*) FROM outbox WHERE kind = 'alert' AND created_at >= ? AND created_at < ?",
            (iso(start), iso(end)),
        ).fetchone()[0]
