"""What `monitor status` shows: feeds with their health, last and next poll, errors, and the
outbox. ``collect`` builds plain data (also the --json output); ``render_table`` draws it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.table import Table

from monitor.config import Config
from monitor.intake.health import Policy, health_after
from monitor.model import FeedState
from monitor.store import open_store


def feed_health(state: FeedState, now: datetime, dead_after: timedelta) -> str:
    """ok, failing, or dead (failing for ``dead_after``), as of ``now``."""
    return health_after(state.consecutive_failures > 0, state.failing_since, now, Policy(dead_after=dead_after))


def collect(config: Config, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    store = open_store(config.database_path)
    try:
        store.sync_feeds(config.feeds)
        feeds = [
            {
                "name": s.name,
                "url": s.url,
                "health": feed_health(s, now, config.fetch["dead_after"]),
                "last_poll": s.last_polled_at,
                "last_ok": s.last_ok_at,
                "next_poll": s.next_check_at,
                "failures": s.consecutive_failures,
                "error": s.last_error,
                "failing_since": s.failing_since,
                "moved_to": s.moved_to,
            }
            for s in store.feed_states()
            if any(f.name == s.name for f in config.feeds)
        ]
        outbox = store.outbox_counts()
        dead = store.dead_alerts()
    finally:
        store.close()
    return {"database": str(config.database_path), "feeds": feeds, "outbox": outbox, "dead_letters": dead}


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "never"


def render_table(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"Feeds ({report['database']})")
    for column in ("feed", "health", "last poll", "next poll", "error"):
        table.add_column(column, overflow="fold")
    colours = {"ok": "green", "failing": "yellow", "dead": "red"}
    for feed in report["feeds"]:
        health = feed["health"]
        table.add_row(
            feed["name"],
            f"[{colours[health]}]{health}[/]" + (f" ({feed['failures']}x)" if feed["failures"] else ""),
            _when(feed["last_poll"]),
            _when(feed["next_poll"]),
            (feed["error"] or "") + (f" (moved permanently to {feed['moved_to']})" if feed["moved_to"] else ""),
        )
    console.print(table)
    o = report["outbox"]
    console.print(f"Outbox: {o['pending']} pending, {o['delivered']} delivered, {o['dead']} dead")
    for row in report["dead_letters"]:
        console.print(
            f"  dead #{row['id']} -> {row['destination']} {row['channel'] or ''}: {row['last_error']}"
        )
