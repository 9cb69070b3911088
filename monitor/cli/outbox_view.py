"""What `monitor outbox list` shows and what `monitor outbox retry` does, over the store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from monitor.config import Config
from monitor.store import open_store
from monitor.wording import plural

if TYPE_CHECKING:
    from rich.console import Console

STATES = ("pending", "dead", "delivered")
JSON_KEYS = (
    "id", "state", "kind", "destination", "channel", "priority", "story_id", "title", "attempts",
    "next_attempt_at", "last_error", "created_at", "delivered_at",
)  # fmt: skip


def list_rows(config: Config, states: Sequence[str], limit: int) -> list[dict[str, Any]]:
    store = open_store(config.database)
    try:
        return store.outbox.rows(states, limit)
    finally:
        store.close()


def retry(config: Config, alert_ids: Sequence[int] | None, now: datetime | None = None) -> list[int]:
    """Requeue dead letters (these ids, or all when None); returns the ids requeued."""
    store = open_store(config.database)
    try:
        return store.outbox.retry_dead(alert_ids, now or datetime.now(UTC))
    finally:
        store.close()


def json_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """`monitor outbox list --json`: each row with the keys of ``JSON_KEYS`` (stable, documented in
    docs/commands.md); ``next_attempt_at`` only for pending rows."""
    return [
        {key: row[key] for key in JSON_KEYS}
        | {"next_attempt_at": row["next_attempt_at"] if row["state"] == "pending" else None}
        for row in rows
    ]


def _when(text: str) -> str:
    return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M:%S UTC")


def render_rows(rows: Sequence[dict[str, Any]], console: Console | None = None) -> None:
    from rich.console import Console  # imported here: rich costs every command's start ~20 ms
    from rich.table import Table

    from monitor.textsafety import for_rich as escape  # rich markup and terminal controls

    table = Table(title=f"Outbox ({plural(len(rows), 'row')})")
    for column in ("id", "state", "to", "priority", "attempts", "next attempt", "title", "last error / note"):
        table.add_column(column, overflow="fold")
    colours = {"pending": "yellow", "dead": "red", "delivered": "green"}
    for row in rows:
        to = f"{row['destination']} {row['channel'] or ''}".strip()
        table.add_row(  # feed titles may hold [brackets] or controls: escape them
            str(row["id"]),
            f"[{colours[row['state']]}]{row['state']}[/]",
            escape(to),
            row["priority"],
            str(row["attempts"]),
            _when(row["next_attempt_at"]) if row["state"] == "pending" else "",
            escape(row["title"] or ""),
            escape(row["last_error"] or ""),
        )
    (console or Console()).print(table)
