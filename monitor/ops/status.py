"""What `monitor status` shows: feeds with their health, last and next poll, errors, and the
outbox. ``collect`` builds plain data (also the --json output); ``render_table`` draws it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from monitor.config import Config
from monitor.store import open_store


def feed_health(consecutive_failures: int, last_ok_at: datetime | None, now: datetime, dead_after_days: int = 7) -> str:
    if consecutive_failures == 0:
        return "ok"
    if last_ok_at is None or (now - last_ok_at).days >= dead_after_days:
        return "dead" if last_ok_at is not None else "failing"
    return "failing"


def collect(config: Config, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    store = open_store(config.database_path)
    try:
        store.sync_feeds(config.feeds)
        feeds = [
            {
                "name": s.name,
                "url": s.url,
                "health": feed_health(s.consecutive_failures, s.last_ok_at, now),
                "last_poll": s.last_polled_at,
                "last_ok": s.last_ok_at,
                "next_poll": s.next_check_at,
                "failures": s.consecutive_failures,
                "error": s.last_error,
            }
            for s in store.feed_states()
            if any(f.name == s.name for f in config.feeds)
        ]
        outbox = store.outbox_counts()
        dead = store.dead_alerts()
        digests = [
            {"period": d.period, "state": d.state, "stories": d.stories, "attempts": d.attempts,
             "last_error": d.last_error, "sent_at": d.sent_at, "next_attempt_at": d.next_attempt_at}
            for d in store.digests(5)
        ]  # fmt: skip
    finally:
        store.close()
    return {
        "database": str(config.database_path),
        "feeds": feeds,
        "outbox": outbox,
        "dead_letters": dead,
        "digests": digests,
    }


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
            feed["error"] or "",
        )
    console.print(table)
    o = report["outbox"]
    console.print(f"Outbox: {o['pending']} pending, {o['delivered']} delivered, {o['dead']} dead")
    for row in report["dead_letters"]:
        console.print(
            f"  dead #{row['id']} -> {row['destination']} {row['channel'] or ''}: {row['last_error']}", markup=False
        )
    if report["dead_letters"]:
        console.print("  fix the cause, then: monitor outbox retry --id N (or --all)")
    for row in report["digests"]:
        if row["state"] in ("pending", "sending"):
            console.print(
                f"Digest {row['period']}: [yellow]not sent yet[/] after {row['attempts']} attempts, "
                f"next {_when(row['next_attempt_at'])}: {row['last_error'] or 'in progress'}"
            )
    sent = next((row for row in report["digests"] if row["state"] == "sent"), None)
    if sent:
        console.print(f"Last digest: {sent['period']} ({sent['stories']} stories), sent {_when(sent['sent_at'])}")
