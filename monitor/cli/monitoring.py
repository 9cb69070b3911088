"""The commands that run the monitor and watch it: run, poll, check, digest, status, health, demo."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from monitor import config, logs, shell
from monitor.cli.app import ALL_FEEDS_FAILED, cli, config_option, handle_errors, load, stdout_console
from monitor.errors import ConfigError
from monitor.secrets import secret
from monitor.textsafety import for_terminal
from monitor.wording import plural


@cli.command()
@config_option
@handle_errors
def run(config_path: Path) -> None:
    """Run the daemon: poll on schedule, deliver alerts, serve health. Stops on SIGTERM/SIGINT.

    Example: monitor run --config /config/config.toml
    """
    from monitor.daemon import scheduler

    signals = scheduler.install_signals()  # first: a SIGTERM during start-up stops it cleanly too
    cfg = load(config_path)
    rt = shell.open_runtime(cfg)
    logs.log_events(rt.bus)
    try:
        scheduler.run_forever(rt, signals)
    finally:
        rt.close()


@cli.command()
@config_option
@click.option("--dry-run", is_flag=True, help="Print what would alert; store and deliver nothing.")
@handle_errors
def poll(config_path: Path, dry_run: bool) -> None:
    """Poll every feed once, match, deliver, then exit; exit 3 when every feed failed.

    Example: monitor poll --dry-run
    """
    cfg = load(config_path)
    rt = shell.open_runtime(cfg, deliver=not dry_run)
    logs.log_events(rt.bus)
    try:
        reports = shell.poll_cycle(rt, dry_run=dry_run)
        delivery = shell.DeliveryReport() if dry_run else shell.deliver_due(rt)
        if not dry_run:
            shell.prune(rt)
    finally:
        rt.close()
    failing = [r for r in reports if r.status == "error"]
    click.echo(
        f"polled {plural(len(reports), 'feed')}: {plural(sum(r.new_items for r in reports), 'new item')}, "
        f"{sum(r.matched for r in reports)} matched, {plural(sum(r.alerts for r in reports), 'alert')} queued; "
        f"delivered {delivery.delivered}, retrying {delivery.retrying}, dead {delivery.dead}, "
        f"held {delivery.held}; {plural(len(failing), 'feed')} failing",
        err=True,
    )
    if delivery.busy:
        click.echo("  delivery left to the monitor process that is already delivering", err=True)
    for report in failing:
        click.echo(for_terminal(f"  feed {report.feed!r}: {report.error}"), err=True)
    if failing and len(failing) == len(reports):  # offline, a proxy, DNS: nothing was polled at all
        sys.exit(ALL_FEEDS_FAILED)


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
    unset = []
    for name in config.secret_names(cfg):  # raises SecretError for a *_FILE that cannot be read
        if secret(name) is None:
            unset.append(name)
    click.echo(f"{cfg.path}: ok ({plural(len(cfg.feeds), 'feed')}, {plural(len(rules.rules), 'rule')})")
    for name in unset:
        click.echo(f"note: {name} is not set in this environment (nor {name}_FILE); set it where the monitor runs")


@cli.command()
@config_option
@click.option(
    "--preview",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the HTML of the digest as it would be sent now to PATH; send nothing.",
)
@click.option(
    "--send",
    is_flag=True,
    help="Send the digest now: one that failed and waits for a retry, else everything since the previous one.",
)
@handle_errors
def digest(config_path: Path, preview: Path | None, send: bool) -> None:
    """Preview or send the daily digest (`monitor run` sends it on schedule).

    Example: monitor digest --preview digest.html
    """
    from monitor.shell import digesting

    if bool(preview) == send:
        raise click.UsageError("give exactly one of --preview PATH or --send")
    cfg = load(config_path)
    rt = shell.open_runtime(cfg, deliver=send)
    logs.log_events(rt.bus)
    try:
        if preview:
            d = digesting.write_preview(rt, preview)
            click.echo(f"wrote {preview}: {d.subject} ({d.summary})", err=True)
            return
        reports = digesting.send_now(rt)
    finally:
        rt.close()
    for report in reports:
        if report.state == "sent":
            stories, where = plural(report.stories, "story", "stories"), ", ".join(report.destinations)
            click.echo(f"sent digest {report.period} ({stories}) to {where}", err=True)
        else:
            click.echo(for_terminal(f"digest {report.period} not sent, will be retried: {report.error}"), err=True)
    if any(report.state != "sent" for report in reports):
        sys.exit(1)


@cli.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors
def status(config_path: Path, as_json: bool) -> None:
    """Feeds, last poll, errors, next run, outbox depth.

    Example: monitor status --json
    """
    from monitor.cli.status_view import collect, render_table

    cfg = config.load(config_path)
    report = collect(cfg)
    if as_json:
        click.echo(for_terminal(json.dumps(report, indent=2, ensure_ascii=False)))
    else:
        render_table(report, zone=cfg.monitor.timezone, console=stdout_console())


@cli.command()
@config_option
@handle_errors
def health(config_path: Path) -> None:
    """Ask the running daemon's /healthz; exit 0 when healthy, 1 when not or unreachable.
    The container's HEALTHCHECK.

    Example: monitor health --config /config/config.toml
    """
    from monitor.daemon.health import probe

    cfg = config.load(config_path)
    if not cfg.monitor.health_port:
        raise ConfigError(cfg.path, cfg.lines.get("monitor.health_port"), "[monitor] health_port is 0: no endpoint")
    status, text = probe(cfg)
    click.echo(text.rstrip("\n"))
    if status != 200:
        sys.exit(1)


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
