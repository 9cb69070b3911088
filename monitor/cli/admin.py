"""The commands that look after the outbox, the database and the feed list: outbox, migrate, copy, feeds."""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from monitor import config
from monitor.cli import outbox_view as ops_outbox
from monitor.cli.app import cli, config_option, handle_errors, load, stdout_console
from monitor.errors import ConfigError
from monitor.textsafety import for_terminal
from monitor.wording import duration, plural


@cli.group()
def outbox() -> None:
    """Inspect the alert outbox and requeue dead letters."""


@outbox.command("list")
@config_option
@click.option(
    "--state",
    "states",
    type=click.Choice(ops_outbox.STATES),
    multiple=True,
    help="Rows in this state (repeatable; default: pending and dead).",
)
@click.option("--limit", default=50, show_default=True, help="Show the newest N rows.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors
def outbox_list(config_path: Path, states: tuple[str, ...], limit: int, as_json: bool) -> None:
    """List outbox rows: state, destination, attempts, next attempt, last error.

    Example: monitor outbox list --state dead
    """
    rows = ops_outbox.list_rows(config.load(config_path), states or ("pending", "dead"), limit)
    if as_json:
        click.echo(for_terminal(json.dumps(ops_outbox.json_rows(rows), indent=2, ensure_ascii=False)))
        return
    ops_outbox.render_rows(rows, stdout_console())


@outbox.command("retry")
@config_option
@click.option("--id", "alert_ids", type=int, multiple=True, help="A dead letter's id (repeatable).")
@click.option("--all", "retry_all", is_flag=True, help="Every dead letter.")
@handle_errors
def outbox_retry(config_path: Path, alert_ids: tuple[int, ...], retry_all: bool) -> None:
    """Requeue dead letters after fixing their cause; the next delivery sends them.

    Example: monitor outbox retry --id 12
    """
    if bool(alert_ids) == retry_all:
        raise click.UsageError("give --id N (one or more) or --all")
    requeued = ops_outbox.retry(config.load(config_path), None if retry_all else list(alert_ids))
    listed = ", ".join(f"#{i}" for i in requeued) or "none"
    click.echo(
        f"requeued {plural(len(requeued), 'dead letter')} ({listed}); `monitor poll` or `monitor run` delivers them"
    )
    missing = sorted(set(alert_ids) - set(requeued))
    if missing:
        click.echo("not dead letters: " + ", ".join(f"#{i}" for i in missing), err=True)
        sys.exit(1)


@cli.command()
@config_option
@handle_errors
def migrate(config_path: Path) -> None:
    """Create or upgrade the database's schema now, ahead of a rollout (every command also does it
    on start). Exit 2 when a PostgreSQL server cannot be reached.

    Example: MONITOR_DATABASE_URL=postgresql://monitor@db.internal/monitor monitor migrate
    """
    from monitor.store import describe, open_store
    from monitor.store.schema import SCHEMA_VERSION

    cfg = load(config_path)
    open_store(cfg.database).close()
    click.echo(f"{describe(cfg.database)}: schema version {SCHEMA_VERSION}, up to date")


@cli.command()
@click.option(
    "--from",
    "source",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The SQLite file of the install to move.",
)
@click.option("--to", "target", required=True, help="postgresql:// URL of an empty database.")
@handle_errors
def copy(source: Path, target: str) -> None:
    """Copy a SQLite install into an empty PostgreSQL database: items and identity keys, stories,
    outbox and digest periods, ids included, so nothing alerts again after the move.

    Example: monitor copy --from data/monitor.db --to postgresql://monitor@db.internal/monitor
    """
    from monitor.store import describe, is_postgres
    from monitor.store.copy import copy_sqlite_to_postgres

    if not is_postgres(target):
        raise click.BadParameter("expected a postgresql:// URL", param_hint="--to")
    counts = copy_sqlite_to_postgres(source, target)
    rows = ", ".join(f"{table} {count}" for table, count in counts.items())
    click.echo(f"copied {source} to {describe(target)}: {rows}")


@cli.group()
def feeds() -> None:
    """List, import and export the configured feeds."""


@feeds.command("list")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors
def feeds_list(config_path: Path, as_json: bool) -> None:
    """Every configured feed with its URL, interval and health.

    Example: monitor feeds list
    """
    from monitor.cli.status_view import feed_rows
    from monitor.store import open_store

    cfg = config.load(config_path)
    store = open_store(cfg.database)
    try:  # the feeds' health only: not the daemon probe, outbox and digests of `monitor status`
        health = feed_rows(cfg, store, datetime.now(UTC))
    finally:
        store.close()
    rows = [
        {
            "name": feed.name,
            "url": feed.url,
            "interval": str(feed.interval),
            "health": known["health"],
            "moved_to": known["moved_to"],
            "error": known["error"],
        }
        for feed, known in zip(cfg.feeds, health, strict=True)
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for feed, row in zip(cfg.feeds, rows, strict=True):
        moved = f" (moved permanently to {row['moved_to']}: update config.toml)" if row["moved_to"] else ""
        error = f"  {row['error']}" if row["error"] else ""
        every = duration(feed.interval)
        click.echo(for_terminal(f"{row['health']:8} {row['name']}  {row['url']}  every {every}{moved}{error}"))
    click.echo(plural(len(rows), "feed"), err=True)


@feeds.command("import")
@click.argument("opml_file", type=click.File("rb"))
@config_option
@handle_errors
def feeds_import(opml_file: io.BufferedReader, config_path: Path) -> None:
    """Append the feeds of an OPML file to config.toml as [[feeds]] tables (keeping the file's
    text; feeds whose URL is already configured are skipped).

    Example: monitor feeds import subscriptions.opml
    """
    from monitor.cli.opml import append_feeds, read_opml

    cfg = config.load(config_path)
    try:
        found = read_opml(opml_file.read(), getattr(opml_file, "name", "OPML"))
    except ValueError as e:
        raise ConfigError(getattr(opml_file, "name", "OPML"), None, str(e)) from e
    result = append_feeds(cfg.path, found, cfg.feeds)
    for name, url in result.added:
        click.echo(for_terminal(f"added   {name}  {url}"))
    for name, url in result.skipped:
        click.echo(for_terminal(f"skipped {name}  {url} (already configured)"))
    click.echo(
        f"{plural(len(result.added), 'feed')} added to {cfg.path}, {len(result.skipped)} already there", err=True
    )


@feeds.command("export")
@config_option
@handle_errors
def feeds_export(config_path: Path) -> None:
    """Print the configured feeds as OPML (for another reader, or a backup).

    Example: monitor feeds export > feeds.opml
    """
    from monitor.cli.opml import write_opml

    click.echo(write_opml(config.load(config_path).feeds), nl=False)
