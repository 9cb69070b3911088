"""The `monitor` command. Parses arguments, loads config, calls the pipeline, renders results and
maps errors to exit codes: 0 ok, 1 a runtime failure, 2 a config or rule problem. No logic here.
"""

from __future__ import annotations

import functools
import io
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from monitor import __version__, config, logs, pipeline
from monitor.errors import ConfigError, DatabaseUnreachable, DeliveryError, MonitorError, RuleError, RuleErrors
from monitor.ops import outbox as ops_outbox
from monitor.settings import parse_duration
from monitor.textsafety import for_terminal

CONTEXT = {"help_option_names": ["-h", "--help"]}
T = TypeVar("T")


def config_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """--config on every command, defaulting to $MONITOR_CONFIG, then ./config.toml."""
    return click.option(
        "--config",
        "config_path",
        envvar=config.CONFIG_ENV,
        default=config.DEFAULT_CONFIG_PATH,
        show_default=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="Config file (or set $MONITOR_CONFIG).",
    )(command)


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (ConfigError, RuleErrors) as e:
            for problem in e.problems:
                click.echo(for_terminal(f"{problem}"), err=True)
            sys.exit(2)
        except (RuleError, DeliveryError, DatabaseUnreachable) as e:
            click.echo(for_terminal(f"error: {e}"), err=True)
            sys.exit(2)
        except MonitorError as e:
            click.echo(for_terminal(f"error: {e}"), err=True)
            sys.exit(1)

    return wrapper


def _load(config_path: Path) -> config.Config:
    loaded = config.load(config_path)
    logs.setup(loaded.monitor.log_format, logs.LEVELS[loaded.monitor.log_level])
    logs.hide(config.secret_values(loaded))
    return loaded


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="monitor")
def cli() -> None:
    """Event-driven news monitor: feeds -> rules -> one alert per story (Slack or console),
    and a daily digest.

    Example: monitor poll --config config.toml
    """


@cli.command()
@config_option
@handle_errors
def run(config_path: Path) -> None:
    """Run the daemon: poll on schedule, deliver alerts, serve health. Stops on SIGTERM/SIGINT.

    Example: monitor run --config /config/config.toml
    """
    from monitor import scheduler

    cfg = _load(config_path)
    rt = pipeline.open_runtime(cfg)
    logs.log_events(rt.bus)
    try:
        scheduler.run_forever(rt)
    finally:
        rt.close()


@cli.command()
@config_option
@click.option("--dry-run", is_flag=True, help="Print what would alert; store and deliver nothing.")
@handle_errors
def poll(config_path: Path, dry_run: bool) -> None:
    """Poll every feed once, match, deliver, then exit.

    Example: monitor poll --dry-run
    """
    cfg = _load(config_path)
    rt = pipeline.open_runtime(cfg, deliver=not dry_run)
    logs.log_events(rt.bus)
    try:
        reports = pipeline.poll_cycle(rt, dry_run=dry_run)
        delivery = pipeline.DeliveryReport() if dry_run else pipeline.deliver_due(rt)
        if not dry_run:
            pipeline.prune(rt)
    finally:
        rt.close()
    failing = [r for r in reports if r.status == "error"]
    click.echo(
        f"polled {len(reports)} feeds: {sum(r.new_items for r in reports)} new items, "
        f"{sum(r.matched for r in reports)} matched, {sum(r.alerts for r in reports)} alerts queued; "
        f"delivered {delivery.delivered}, retrying {delivery.retrying}, dead {delivery.dead}, "
        f"held {delivery.held}; {len(failing)} feeds failing",
        err=True,
    )
    if delivery.busy:
        click.echo("  delivery left to the monitor process that is already delivering", err=True)
    for report in failing:
        click.echo(for_terminal(f"  feed {report.feed!r}: {report.error}"), err=True)


@cli.command()
@config_option
@handle_errors
def check(config_path: Path) -> None:
    """Validate the config and the rules; exit 0, or 2 with file:line: what is wrong.

    Example: monitor check --config config.toml
    """
    from monitor.matching import load_rules

    cfg = config.load(config_path)
    rules = load_rules(cfg.rules_path, rates=cfg.money.rates)
    click.echo(f"{cfg.path}: ok ({len(cfg.feeds)} feeds, {len(rules.rules)} rules)")


@cli.group()
def rules() -> None:
    """Work with rule packs."""


@rules.command("test")
@click.argument("source", type=click.File("rb"))
@config_option
@handle_errors
def rules_test(source: io.BufferedReader, config_path: Path) -> None:
    """Run the rules over an article (text or HTML) or a feed file ("-" reads stdin) and print
    each match with its explanation.

    Example: monitor rules test article.txt
    """
    from monitor.intake.article import items_from_bytes
    from monitor.matching import format_match, load_rules

    cfg = config.load(config_path)
    ruleset = load_rules(cfg.rules_path, rates=cfg.money.rates)
    items = items_from_bytes(source.read(), name=getattr(source, "name", "-"), now=datetime.now(UTC))
    total = 0
    for item in items:
        matches = ruleset.evaluate(item)
        if not matches and len(items) > 1:
            continue
        click.echo(f"== {item.title}")
        if not matches:
            click.echo("   no rule matched")
        for match in matches:
            total += 1
            click.echo("   " + format_match(match).replace("\n", "\n   "))
    click.echo(f"{total} matches in {len(items)} items", err=True)


@cli.command()
@config_option
@click.option(
    "--preview",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the HTML of the digest as it would be sent now to PATH; send nothing.",
)
@click.option("--send", is_flag=True, help="Send the digest now: everything since the previous one.")
@handle_errors
def digest(config_path: Path, preview: Path | None, send: bool) -> None:
    """Preview or send the daily digest (`monitor run` sends it on schedule).

    Example: monitor digest --preview digest.html
    """
    from monitor import digesting

    if bool(preview) == send:
        raise click.UsageError("give exactly one of --preview PATH or --send")
    cfg = _load(config_path)
    rt = pipeline.open_runtime(cfg, deliver=send)
    logs.log_events(rt.bus)
    try:
        if preview:
            d = digesting.write_preview(rt, preview)
            click.echo(f"wrote {preview}: {d.subject} ({d.summary})", err=True)
            return
        report = digesting.send_now(rt)
    finally:
        rt.close()
    if report.state != "sent":
        click.echo(
            for_terminal(f"digest {report.period} not sent, will be retried by `monitor run`: {report.error}"), err=True
        )
        sys.exit(1)
    click.echo(f"sent digest {report.period} ({report.stories} stories) to {', '.join(report.destinations)}", err=True)


@cli.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors
def status(config_path: Path, as_json: bool) -> None:
    """Feeds, last poll, errors, next run, outbox depth.

    Example: monitor status --json
    """
    from monitor.ops.status import collect, render_table

    cfg = config.load(config_path)
    report = collect(cfg)
    if as_json:
        click.echo(for_terminal(json.dumps(report, indent=2, ensure_ascii=False)))
    else:
        render_table(report, zone=cfg.monitor.timezone)


@cli.command()
@config_option
@handle_errors
def health(config_path: Path) -> None:
    """Ask the running daemon's /healthz; exit 0 when healthy, 1 when not or unreachable.
    The container's HEALTHCHECK.

    Example: monitor health --config /config/config.toml
    """
    from monitor.ops.health import probe

    cfg = config.load(config_path)
    if not cfg.monitor.health_port:
        raise ConfigError(cfg.path, cfg.lines.get("monitor.health_port"), "[monitor] health_port is 0: no endpoint")
    status, text = probe(cfg)
    click.echo(text.rstrip("\n"))
    if status != 200:
        sys.exit(1)


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from e


def _progress(items: Iterable[T], total: int, label: str) -> Iterator[T]:
    """A progress bar on stderr when it is a terminal; the items pass through unchanged."""
    from rich.console import Console
    from rich.progress import track

    console = Console(stderr=True)
    yield from track(items, label, total=total, console=console, transient=True, disable=not console.is_terminal)


@cli.command()
@config_option
@click.option("--since", default="30d", show_default=True, callback=_duration, help="How far back, e.g. 7d or 12h.")
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(exists=True, path_type=Path),
    help="Rules folder (or one pack) to try instead of the configured one.",
)
@handle_errors
def backtest(config_path: Path, since: timedelta, rules_path: Path | None) -> None:
    """Run the rules over the stored items and print what would have alerted, per rule and per
    day, with counts: tune a rule's noise before enabling it. Stores and sends nothing.

    Example: monitor backtest --since 30d --rules rules-next/
    """
    from monitor.matching import load_rules
    from monitor.ops import backtest as bt
    from monitor.store import open_store

    cfg = _load(config_path)
    ruleset = load_rules(rules_path or cfg.rules_path, rates=cfg.money.rates)
    store = open_store(cfg.database)
    start = datetime.now(UTC) - since
    try:
        items = _progress(store.stored_items(start), store.count_items(start), "backtest")
        report = bt.run(ruleset, items, start, cfg.monitor.timezone)
    finally:
        store.close()
    for line in bt.render(report):
        click.echo(line)


@cli.command()
@config_option
@click.option("--since", default="7d", show_default=True, callback=_duration, help="How far back, e.g. 7d or 12h.")
@click.option("--send", is_flag=True, help="Queue the alerts and deliver them (default: only print them).")
@handle_errors
def replay(config_path: Path, since: timedelta, send: bool) -> None:
    """Alert the stored items of the last --since that never alerted but that the rules match now
    (after adding or fixing a rule). Prints them; --send queues and delivers them like a poll.

    Example: monitor replay --since 7d --send
    """
    from monitor.delivery.console import alert_text

    cfg = _load(config_path)
    rt = pipeline.open_runtime(cfg, deliver=send)
    logs.log_events(rt.bus)
    try:
        start = rt.clock.now() - since
        total = rt.store.count_items(start, unalerted=True)
        items = _progress(rt.store.stored_items(start, unalerted=True), total, "replay")
        report = pipeline.replay(rt, items, send=send)
        delivery = pipeline.deliver_due(rt) if send else pipeline.DeliveryReport()
        pending = rt.store.outbox_counts()["pending"]
    finally:
        rt.close()
    if not send:
        for alert in report.alerts:
            click.echo(alert_text(alert))
        click.echo(f"{len(report.alerts)} of {total} never-alerted items would alert; --send to send them", err=True)
        return
    click.echo(
        f"replayed {total} never-alerted items: {len(report.alerts)} alert, {report.queued} outbox rows queued; "
        f"delivered {delivery.delivered}, retrying {delivery.retrying}, dead {delivery.dead}; {pending} pending",
        err=True,
    )


@cli.command()
@handle_errors
def demo() -> None:
    """Run the whole pipeline offline on bundled sample feeds served on 127.0.0.1, with a local
    Slack stand-in, a signed webhook receiver and an SMTP sink; print what each received, then
    exit. Needs no config, no network and no accounts; leaves nothing behind.

    Example: monitor demo
    """
    from monitor import demo as demo_run

    demo_run.run(sys.stdout)


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
@handle_errors
def outbox_list(config_path: Path, states: tuple[str, ...], limit: int) -> None:
    """List outbox rows: state, destination, attempts, next attempt, last error.

    Example: monitor outbox list --state dead
    """
    rows = ops_outbox.list_rows(config.load(config_path), states or ("pending", "dead"), limit)
    ops_outbox.render_rows(rows)


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
    click.echo(f"requeued {len(requeued)} dead letters ({listed}); `monitor poll` or `monitor run` delivers them")
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
    from monitor.store.sqlite import SCHEMA_VERSION

    cfg = _load(config_path)
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
    from monitor.ops.status import feed_rows
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
    for row in rows:
        moved = f" (moved permanently to {row['moved_to']}: update config.toml)" if row["moved_to"] else ""
        error = f"  {row['error']}" if row["error"] else ""
        click.echo(
            for_terminal(f"{row['health']:8} {row['name']}  {row['url']}  every {row['interval']}{moved}{error}")
        )
    click.echo(f"{len(rows)} feeds", err=True)


@feeds.command("import")
@click.argument("opml_file", type=click.File("rb"))
@config_option
@handle_errors
def feeds_import(opml_file: io.BufferedReader, config_path: Path) -> None:
    """Append the feeds of an OPML file to config.toml as [[feeds]] tables (keeping the file's
    text; feeds whose URL is already configured are skipped).

    Example: monitor feeds import subscriptions.opml
    """
    from monitor.ops.feeds import append_feeds, read_opml

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
    click.echo(f"{len(result.added)} feeds added to {cfg.path}, {len(result.skipped)} already there", err=True)


@feeds.command("export")
@config_option
@handle_errors
def feeds_export(config_path: Path) -> None:
    """Print the configured feeds as OPML (for another reader, or a backup).

    Example: monitor feeds export > feeds.opml
    """
    from monitor.ops.feeds import write_opml

    click.echo(write_opml(config.load(config_path).feeds), nl=False)


def main() -> None:
    cli(prog_name="monitor")
