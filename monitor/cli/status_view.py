"""What `monitor status` shows: the daemon's health, each feed with its health, last and next poll
and errors, the outbox, and dead letters. ``collect`` builds plain JSON-ready data (the
``--json`` output, whose keys are stable: see README "monitor status --json"); ``render_table``
draws it for people."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from rich.console import Console
from rich.table import Table

from monitor.config import Config
from monitor.daemon.health import probe
from monitor.healthcheck import local_url
from monitor.intake.schedule import health_after
from monitor.model import FeedState
from monitor.settings import FetchSettings
from monitor.store import describe, open_store
from monitor.store.interface import StatusStore
from monitor.textsafety import for_rich as escape  # rich markup and terminal controls
from monitor.textsafety import for_terminal
from monitor.wording import plural

STATUS_VERSION = 1  # bumped only when a key changes meaning or goes away
OUTBOX_STATES = ("pending", "delivered", "dead")


def feed_health(state: FeedState, now: datetime, fetch: FetchSettings | None = None) -> str:
    """new (never polled), ok, failing, or dead (failing for ``dead_after``), as of ``now``."""
    if state.last_polled_at is None:
        return "new"
    return health_after(state.consecutive_failures > 0, state.failing_since, now, fetch or FetchSettings())


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def daemon_status(config: Config) -> dict[str, Any]:
    """What the running daemon's /healthz says, if one answers."""
    port = config.monitor.health_port
    if not port:
        return {"url": None, "state": "disabled", "detail": "[monitor] health_port = 0"}
    status, text = probe(config, timeout=2.0)
    state = "unreachable" if status is None else "healthy" if status == 200 else "unhealthy"
    lines = text.strip().splitlines()
    detail = "; ".join(lines[1:] if status is not None else lines)
    return {"url": local_url(config.monitor.health_host, port) + "/healthz", "state": state, "detail": detail}


def _feed_row(state: FeedState, now: datetime, fetch: FetchSettings) -> dict[str, Any]:
    return {
        "name": state.name,
        "url": state.url,
        "health": feed_health(state, now, fetch),
        "last_poll": _iso(state.last_polled_at),
        "last_ok": _iso(state.last_ok_at),
        "next_poll": _iso(state.next_check_at),
        "failures": state.consecutive_failures,
        "error": state.last_error,
        "failing_since": _iso(state.failing_since),
        "moved_to": state.moved_to,
    }


def feed_rows(config: Config, store: StatusStore, now: datetime) -> list[dict[str, Any]]:
    """One status row per configured feed, in config order (``monitor status``, ``feeds list``)."""
    store.feeds.sync(config.feeds)
    states = {s.name: s for s in store.feeds.states()}
    return [_feed_row(states[feed.name], now, config.fetch) for feed in config.feeds]


def collect(config: Config, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    store = open_store(config.database)
    try:
        feeds = feed_rows(config, store, now)
        counts = store.outbox.counts()
        dead = store.outbox.dead()
        digests = [
            {"period": d.period, "state": d.state, "stories": d.stories, "attempts": d.attempts,
             "last_error": d.last_error, "sent_at": _iso(d.sent_at), "next_attempt_at": _iso(d.next_attempt_at)}
            for d in store.digests.recent(5)
        ]  # fmt: skip
    finally:
        store.close()
    outbox = {state: counts.get(state, 0) for state in OUTBOX_STATES} | dict(sorted(counts.items()))
    return {
        "version": STATUS_VERSION,
        "generated_at": _iso(now),
        "config": str(config.path),
        "database": describe(config.database),
        "daemon": daemon_status(config),
        "feeds": feeds,
        "outbox": outbox,
        "dead_letters": dead,
        "digests": digests,
    }


def _when(text: str | None, zone: tzinfo, never: str = "never") -> str:
    if not text:
        return never
    return datetime.fromisoformat(text).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def render_table(report: dict[str, Any], zone: tzinfo = UTC, console: Console | None = None) -> None:
    """Everything from config, feeds and errors is escaped: "[fetch] max_bytes" in an error, or a
    feed named "[Tech] News", would otherwise be taken for rich markup and vanish."""
    console = console or Console()
    daemon = report["daemon"]
    colours = {"ok": "green", "healthy": "green", "new": "cyan", "failing": "yellow", "unhealthy": "red", "dead": "red"}
    state = daemon["state"]
    console.print(
        f"Daemon: [{colours.get(state, 'dim')}]{state}[/]"
        + (f" at {escape(daemon['url'])}" if daemon["url"] and daemon["url"] not in daemon["detail"] else "")
        + (f" ({escape(daemon['detail'])})" if daemon["detail"] else "")
    )
    table = Table(title=f"Feeds ({escape(report['database'])})", title_justify="left")
    for column in ("feed", "health", "last poll", "next poll", "errors"):
        table.add_column(column, overflow="fold")
    for feed in report["feeds"]:
        health = feed["health"]
        errors = f"{feed['failures']}x: {feed['error']}" if feed["failures"] else ""
        if feed["moved_to"]:
            errors += f" (moved permanently to {feed['moved_to']}: update config.toml)"
        table.add_row(
            escape(feed["name"]),
            f"[{colours[health]}]{health}[/]",
            _when(feed["last_poll"], zone),
            _when(feed["next_poll"], zone, never="due now"),
            escape(errors),
        )
    console.print(table)
    outbox = report["outbox"]
    console.print("Outbox: " + ", ".join(f"{count} {state}" for state, count in outbox.items()))
    for row in report["dead_letters"]:
        console.print(
            for_terminal(f"  dead #{row['id']} -> {row['destination']} {row['channel'] or ''}: {row['last_error']}"),
            markup=False,
        )
    if report["dead_letters"]:
        console.print("  fix the cause, then: monitor outbox retry --id N (or --all)")
    for row in report["digests"]:
        if row["state"] in ("pending", "sending"):
            console.print(
                f"Digest {row['period']}: [yellow]not sent yet[/] after {row['attempts']} attempts, "
                f"next {_when(row['next_attempt_at'], zone)}: {escape(row['last_error'] or 'in progress')}"
            )
    sent = next((row for row in report["digests"] if row["state"] == "sent"), None)
    if sent:
        stories = plural(sent["stories"], "story", "stories")
        console.print(f"Last digest: {sent['period']} ({stories}), sent {_when(sent['sent_at'], zone)}")
