"""The commands for writing and tuning rules: rules test, backtest, replay."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from monitor import config, logs, shell
from monitor.cli.app import cli, config_option, duration, handle_errors, load, progress
from monitor.textsafety import for_terminal
from monitor.wording import plural


@cli.group()
def rules() -> None:
    """Work with rule packs."""


@rules.command("test")
@click.argument("source", type=click.File("rb"))
@config_option
@handle_errors
def rules_test(source: io.BufferedReader, config_path: Path) -> None:
    """Run the rules over an article (text or HTML) or a feed file ("-" reads stdin) and print
    each item with its matches and their explanation, or "no rule matched".

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
        click.echo(f"== {item.title}")
        if not matches:
            click.echo("   no rule matched")
        for match in matches:
            total += 1
            click.echo("   " + format_match(match).replace("\n", "\n   "))
    click.echo(f"{plural(total, 'match', 'matches')} in {plural(len(items), 'item')}", err=True)


@cli.command()
@config_option
@click.option("--since", default="30d", show_default=True, callback=duration, help="How far back, e.g. 7d or 12h.")
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(exists=True, path_type=Path),
    help="Rules folder (or one pack) to try instead of the configured one.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output, every matched item included.")
@handle_errors
def backtest(config_path: Path, since: timedelta, rules_path: Path | None, as_json: bool) -> None:
    """Run the rules over the stored items and print what would have alerted, per rule and per
    day, with counts: tune a rule's noise before enabling it. Stores and sends nothing.

    Example: monitor backtest --since 30d --rules rules-next/
    """
    from monitor.cli import backtest_view as bt
    from monitor.matching import load_rules
    from monitor.store import open_store

    cfg = load(config_path)
    ruleset = load_rules(rules_path or cfg.rules_path, rates=cfg.money.rates)
    store = open_store(cfg.database)
    start = datetime.now(UTC) - since
    try:
        items = progress(store.items.stored(start), store.items.count(start), "backtest")
        report = bt.run(ruleset, items, start, cfg.monitor.timezone)
    finally:
        store.close()
    if as_json:
        click.echo(for_terminal(json.dumps(bt.as_json(report), indent=2, ensure_ascii=False)))
        return
    for line in bt.render(report):
        click.echo(line)


@cli.command()
@config_option
@click.option("--since", default="7d", show_default=True, callback=duration, help="How far back, e.g. 7d or 12h.")
@click.option("--send", is_flag=True, help="Queue the alerts and deliver them (default: only print them).")
@handle_errors
def replay(config_path: Path, since: timedelta, send: bool) -> None:
    """Alert the stored items of the last --since that never alerted but that the rules match now
    (after adding or fixing a rule). Prints them; --send queues and delivers them like a poll.

    Example: monitor replay --since 7d --send
    """
    from monitor.delivery.console import alert_text

    cfg = load(config_path)
    rt = shell.open_runtime(cfg, deliver=send)
    logs.log_events(rt.bus)
    try:
        start = rt.clock.now() - since
        total = rt.store.items.count(start, unalerted=True)
        items = progress(rt.store.items.stored(start, unalerted=True), total, "replay")
        report = shell.replay(rt, items, send=send)
        delivery = shell.deliver_due(rt) if send else shell.DeliveryReport()
        pending = rt.store.outbox.counts()["pending"]
    finally:
        rt.close()
    if not send:
        for alert in report.alerts:
            click.echo(alert_text(alert, cfg.monitor.timezone))
        click.echo(f"{len(report.alerts)} of {total} never-alerted items would alert; --send to send them", err=True)
        return
    click.echo(
        f"replayed {total} never-alerted items: {len(report.alerts)} alert, {report.queued} outbox rows queued; "
        f"delivered {delivery.delivered}, retrying {delivery.retrying}, dead {delivery.dead}; {pending} pending",
        err=True,
    )
