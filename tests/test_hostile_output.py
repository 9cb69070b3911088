"""Every output escapes feed text again (issue 15, 4), whatever the store holds: text stored
before intake cleaned it, or text from elsewhere. Terminal and log output show controls as
visible escapes; Slack and the digest email never carry them."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import NOW, run_monitor, world_model_rules, write_config
from digest_data import Story, match, record
from rich.console import Console

from monitor import logs
from monitor.cli import backtest_view as backtest
from monitor.cli import outbox_view as outbox
from monitor.cli import status_view as status
from monitor.config import load
from monitor.delivery import digest, render
from monitor.delivery.console import ConsoleNotifier, alert_text
from monitor.matching import load_rules
from monitor.model import Alert, Item, PollOutcome
from monitor.store.sqlitedb import open_sqlite

# What must never appear raw in any output (ESC, BEL, NUL, C1 CSI, bidi, zero-width, surrogates).
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff\ud800-\udfff]")


def assert_clean(where: str, text: str) -> None:
    """No traceback and no raw control, bidi, zero-width or surrogate character in ``text``."""
    assert "Traceback" not in text, f"{where}:\n{text}"
    found = RAW.search(text)
    assert not found, f"{where}: raw U+{ord(found.group()):04X} in {text!r}"


HOSTILE = "Acme \x1b[31mRED\x07 \x9b2J \u202egnp.exe\u200b\u200e\u061c\u2066x\u2069 \x00 \ud800 world model"
ALERT = Alert(
    1, 1, "url:x", "alert", "console", None, "high", "r",  0,
    {"title": HOSTILE, "feed": HOSTILE, "url": "https://n.example/\x1b[0m", "published": "2026-03-01T12:00:00+00:00",
     "rules": [{"id": "r", "name": HOSTILE, "priority": "high"}], "terms": [HOSTILE], "amounts": [HOSTILE],
     "companies": [HOSTILE], "round": HOSTILE, "hits": [{"term": "x", "field": "title", "snippet": HOSTILE}]},
)  # fmt: skip


def rich_output(render: Callable[[Console], None]) -> str:
    buffer = io.StringIO()
    render(Console(file=buffer, width=200))
    return buffer.getvalue()


@pytest.mark.parametrize("formatter", [logs.KeyValueFormatter(), logs.JsonFormatter()], ids=["text", "json"])
def test_log_lines_show_controls_as_escapes(formatter: logging.Formatter) -> None:
    """Issue 15, 4: ESC, BEL and C1 in a logged value reached the terminal raw."""
    made = logging.LogRecord("monitor", logging.INFO, __file__, 1, "ItemSeen\x1b[2J", (), None)
    made.fields = {"title": HOSTILE.replace("\ud800", ""), "url": "https://x/\x1b\x9b"}  # type: ignore[attr-defined]
    line = formatter.format(made)
    assert_clean("log line", line)
    if isinstance(formatter, logs.JsonFormatter):
        assert json.loads(line)["url"] == "https://x/\x1b\x9b", "JSON lines keep the text, escaped"


def test_console_notifier_shows_controls_as_escapes() -> None:
    assert_clean("console notifier", alert_text(ALERT))
    buffer = io.StringIO()
    ConsoleNotifier(buffer).send(ALERT, None, datetime(2026, 3, 1, tzinfo=UTC))
    assert_clean("console notifier", buffer.getvalue())
    assert "\\u001b[31mRED" in buffer.getvalue()


def test_outbox_list_and_status_tables_show_controls_as_escapes() -> None:
    row = {"id": 1, "state": "dead", "destination": "slack", "channel": HOSTILE, "priority": "high", "attempts": 3,
           "next_attempt_at": "2026-03-01T12:00:00+00:00", "title": HOSTILE, "last_error": HOSTILE}  # fmt: skip
    assert_clean("outbox list", rich_output(lambda console: outbox.render_rows([row], console)))
    report = {
        "database": HOSTILE,
        "daemon": {"state": "unreachable", "url": None, "detail": HOSTILE},
        "feeds": [{"name": HOSTILE, "health": "failing", "last_poll": None, "next_poll": None, "failures": 2,
                   "error": HOSTILE, "moved_to": HOSTILE}],
        "outbox": {"dead": 1},
        "dead_letters": [row],
        "digests": [{"period": "2026-03-01", "state": "pending", "attempts": 1, "next_attempt_at": None,
                     "last_error": HOSTILE, "stories": 1, "sent_at": None}],
    }  # fmt: skip
    assert_clean("status", rich_output(lambda console: status.render_table(report, console=console)))


def test_backtest_lines_show_controls_as_escapes(tmp_path: Path) -> None:
    seen = datetime(2026, 3, 1, tzinfo=UTC)
    items = [Item(HOSTILE, "g", "https://n.example/1", HOSTILE, "", "", seen, seen, "fp")]
    report = backtest.run(load_rules(world_model_rules(tmp_path)), items, seen - timedelta(days=1), UTC)
    assert_clean("backtest", "\n".join(backtest.render(report)))


def test_slack_messages_carry_no_bidi_or_zero_width_characters() -> None:
    """Issue 15, 4: U+200E/U+200F, U+061C and the zero-width characters reached Slack."""
    for message in (render.alert_message(ALERT, "#c"), render.follow_up_message(ALERT, "#c", "1.2"),
                    render.summary_message([ALERT, ALERT], "#c")):  # fmt: skip
        assert_clean("Slack", json.dumps([message.text, message.blocks], ensure_ascii=False))


def test_digest_email_and_slack_summary_carry_no_controls(tmp_path: Path) -> None:
    """Issue 15, 4: bidi and zero-width characters reached the digest email entirely."""
    end = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
    store = open_sqlite(tmp_path / "m.db")
    text = HOSTILE.replace("\ud800", "")  # a store cannot keep a lone surrogate
    hostile = Story(1, ((text, "https://n.example/\u202e", text),), (match("r", "World model", "high", (text,)),))
    record(store, end, (hostile,))
    built = digest.build(
        store.items.stories_first_seen(end - timedelta(days=1), end), title="Monitor", period="p", day=end.date(),
        start=end - timedelta(days=1), end=end, tz=ZoneInfo("UTC"), alerts=1, feeds=store.feeds.states(),
    )  # fmt: skip
    store.close()
    assert_clean("digest text", digest.render_text(built))
    assert_clean("digest HTML", digest.render_html(built))
    summary = digest.slack_summary(built, "#c")
    assert_clean("digest Slack", json.dumps([summary.text, summary.blocks], ensure_ascii=False))


def test_the_cli_shows_errors_stored_before_intake_cleaned_them_as_escapes(tmp_path: Path) -> None:
    """A database written by an earlier version keeps raw controls in its errors and titles."""
    config = write_config(tmp_path, {"Wire": "https://wire.example/feed.xml"})
    store = open_sqlite(tmp_path / "data" / "monitor.db")
    store.feeds.sync(load(config).feeds)
    store.feeds.record_poll("Wire", PollOutcome("error", error=f"not_a_feed: {HOSTILE.replace(chr(0xD800), '')}"), NOW)
    store.close()
    for command in (["feeds", "list"], ["feeds", "list", "--json"], ["status"], ["status", "--json"], ["poll"]):
        result = run_monitor(*command, "--config", str(config))
        assert_clean(" ".join(command), result.stdout + result.stderr)
