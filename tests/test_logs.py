"""Logs: one line per record in both formats, stable leading keys, and no secret ever written."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import article, free_port, rss, slack_section, write_config

from monitor import config, events, logs
from monitor.testing import FeedServer, SlackFault, SlackServer

TOKEN = "xoxb-4242424242-1717171717-q9Zr7UmC3vXbT2pLk8sWfNdE"


@pytest.fixture
def hidden() -> Iterator[None]:
    yield
    logs._hidden.clear()


def record(message: str, *, fields: dict | None = None, error: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(error), error, error.__traceback__) if error else None
    made = logging.LogRecord("monitor", logging.ERROR, __file__, 1, message, (), exc_info)
    if fields:
        made.fields = fields  # type: ignore[attr-defined]
    return made


def failure() -> BaseException:
    try:
        raise ValueError("bad\nthing")
    except ValueError as e:
        return e


@pytest.fixture
def root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def test_an_unchanged_feed_is_logged_only_at_debug_level(capsys, root_logger) -> None:
    """1,000 feeds every 15 minutes would write 96,000 'nothing happened' lines a day."""
    bus = events.EventBus()
    logs.log_events(bus)
    seen = {}
    for level in ("warning", "info", "debug"):
        logs.setup("text", logs.LEVELS[level])
        bus.emit(events.FeedPolled("Wire", "not_modified"))
        bus.emit(events.FeedPolled("Wire", "ok", new_items=2))
        bus.emit(events.FeedFailing("Wire", "HTTP 500"))
        seen[level] = [
            re.search(r"event=(\w+) .*?(status=\w+|error=)", line)[0] for line in capsys.readouterr().err.splitlines()
        ]
    assert seen["warning"] == ["event=FeedFailing feed=Wire error="]
    assert seen["info"] == ["event=FeedPolled feed=Wire status=ok", "event=FeedFailing feed=Wire error="]
    assert seen["debug"] == ["event=FeedPolled feed=Wire status=not_modified", *seen["info"]]


def test_key_value_is_one_line_with_stable_keys_first() -> None:
    fields = {"event": "FeedFailing", "feed": "Wire Service", "error": "HTTP 500"}
    line = logs.KeyValueFormatter().format(record("feed failed", fields=fields, error=failure()))
    assert "\n" not in line
    assert re.findall(r"(?:^| )(\w+)=", line) == ["ts", "level", "msg", "event", "feed", "error", "exc"]
    assert line.split(" ", 1)[0].endswith("Z")
    assert 'feed="Wire Service"' in line and 'msg="feed failed"' in line
    assert "exc=" in line and "ValueError: bad\\nthing" in line


def test_json_is_one_object_per_line() -> None:
    line = logs.JsonFormatter().format(
        record("polled", fields={"event": "FeedPolled", "new_items": 3}, error=failure())
    )
    assert "\n" not in line
    parsed = json.loads(line)
    assert list(parsed)[:3] == ["ts", "level", "msg"]
    assert parsed["new_items"] == 3 and parsed["event"] == "FeedPolled"
    assert parsed["exc"].startswith("Traceback") and "ValueError" in parsed["exc"]


@pytest.mark.usefixtures("hidden")
@pytest.mark.parametrize("formatter", [logs.KeyValueFormatter(), logs.JsonFormatter()], ids=["text", "json"])
def test_secrets_are_redacted_by_shape_and_by_value(formatter: logging.Formatter) -> None:
    logs.hide(['s3cr3t-pa"ss', "abc"])  # too short to hide: would blank out words
    line = formatter.format(
        record(
            'login as abc with s3cr3t-pa"ss failed',
            fields={"token": TOKEN, "url": "https://hooks.slack.com/services/T0/B0/XyZ", "smtp": 's3cr3t-pa"ss'},
        )
    )
    assert TOKEN not in line and "XyZ" not in line and "s3cr3t" not in line
    assert line.count("[redacted]") == 4
    assert "abc" in line


def test_secret_values_come_from_every_env_key(tmp_path: Path, feed_server: FeedServer) -> None:
    (tmp_path / "password").write_text("from-a-file-Pw\n")
    path = write_config(
        tmp_path, {"A": feed_server.url + "/a.xml"},
        '[slack]\ntoken_env = "SLACK_BOT_TOKEN"\nchannel = "#a"\n\n'
        '[smtp]\nhost = "localhost"\nusername_env = "SMTP_USERNAME"\npassword_env = "SMTP_PASSWORD"\n\n'
        '[[webhooks]]\nname = "crm"\nurl = "https://crm.example/hook"\nevents = ["alert"]\nsecret_env = "CRM_SECRET"\n',
    )  # fmt: skip
    environ = {
        "SLACK_BOT_TOKEN": TOKEN, "SMTP_USERNAME": "robot", "SMTP_PASSWORD_FILE": str(tmp_path / "password"),
        "CRM_SECRET": "hmac-key-for-the-crm",
    }  # fmt: skip
    expected = [TOKEN, "robot", "from-a-file-Pw", "hmac-key-for-the-crm"]
    assert sorted(config.secret_values(config.load(path), environ)) == sorted(expected)


def test_a_real_run_never_logs_the_token(
    tmp_path: Path, feed_server: FeedServer, slack_server: SlackServer, start_monitor
) -> None:
    """The daemon posts with the token; Slack refuses and echoes the token in its error, which
    the dead-letter reason carries into an event log line. Every line is JSON; no secret in any."""
    url = feed_server.add("/wire.xml", rss(article("shengshu_wire.txt", "https://wire.example/a", "w-1")))
    path = write_config(
        tmp_path, {"Wire": url}, slack_section(slack_server),
        monitor=f'log_format = "json"\nhealth_port = {free_port()}',
    )  # fmt: skip
    slack_server.fail_next(SlackFault(error=f"invalid_auth token={TOKEN}"))
    monitor = start_monitor(path, env={"SLACK_BOT_TOKEN": TOKEN})
    monitor.wait_log('"event": "AlertDead"')
    assert monitor.stop() == 0
    assert slack_server.received[0]["headers"]["authorization"] == f"Bearer {TOKEN}"  # the token was used
    lines = monitor.stderr.splitlines()
    dead = [json.loads(line) for line in lines if '"AlertDead"' in line]
    assert dead and "invalid_auth token=[redacted]" in dead[0]["reason"]
    assert all(json.loads(line) for line in lines)
    assert TOKEN not in monitor.stderr and TOKEN not in monitor.stdout
    assert TOKEN.split("-")[-1] not in monitor.stderr
    assert "stopping" in lines[-2] and "stopped" in lines[-1]
