"""Output conventions of the commands, as a script sees them (stdout a pipe): nothing wrapped,
durations as the config writes them, counts in the singular when there is one, and --json with
stable keys for status, feeds list, outbox list and backtest."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import article, monitor_command, monitor_env, rss, write_config

from monitor.testing import FeedServer

LONG_NAME = "A feed whose name is long enough on its own to pass eighty columns, which rich would wrap"


def piped(*args: str) -> subprocess.CompletedProcess[str]:
    """The command with stdout a pipe and no COLUMNS set: what `monitor status | grep` gets."""
    env = {k: v for k, v in monitor_env().items() if k not in ("COLUMNS", "LINES")}
    return subprocess.run(monitor_command(*args), capture_output=True, text=True, timeout=120, env=env)


def test_piped_tables_and_lines_are_not_wrapped(tmp_path: Path, feed_server: FeedServer) -> None:
    wire = feed_server.add("/wire.xml", rss(article("shengshu_wire.txt", "https://wire.example/a", "w-1")))
    feed_server.add("/broken.xml", "", status=503)
    config = write_config(tmp_path, {"Wire": wire, LONG_NAME: feed_server.url + "/broken.xml"})
    config.write_text(config.read_text().replace('name = "Wire"', 'name = "Wire"\ninterval = "1h30m"'))
    polled = piped("poll", "--config", str(config))
    assert polled.returncode == 0 and "polled 2 feeds: 1 new item, 1 matched, 1 alert queued;" in polled.stderr

    status = piped("status", "--config", str(config)).stdout
    row = next(line for line in status.splitlines() if "failing" in line)
    assert LONG_NAME in row and "http: HTTP 503 Service Unavailable" in row, status
    outbox = piped("outbox", "list", "--state", "delivered", "--config", str(config)).stdout
    title = next(line for line in outbox.splitlines() if "ShengShu" in line)
    assert "Alibaba Cloud puts $290 million into ShengShu to build a general world model" in title, outbox
    assert "Outbox (1 row)" in outbox

    feeds = piped("feeds", "list", "--config", str(config))
    wire_line, long_line = feeds.stdout.splitlines()
    assert wire_line.endswith("/wire.xml  every 1h30m") and "/broken.xml  every 15m  http: HTTP 503" in long_line
    assert feeds.stderr == "2 feeds\n"


def test_outbox_list_and_backtest_have_json(tmp_path: Path, feed_server: FeedServer) -> None:
    link = "https://wire.example/A/?utm_source=rss"
    wire = feed_server.add("/wire.xml", rss(article("shengshu_wire.txt", link, "w-1")))
    config = write_config(tmp_path, {"Wire": wire})
    assert piped("poll", "--config", str(config)).returncode == 0

    listed = piped("outbox", "list", "--state", "delivered", "--json", "--config", str(config))
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert list(row) == [
        "id", "state", "kind", "destination", "channel", "priority", "story_id", "title", "attempts",
        "next_attempt_at", "last_error", "created_at", "delivered_at",
    ]  # fmt: skip
    assert (row["state"], row["kind"], row["destination"], row["next_attempt_at"]) == (
        "delivered", "alert", "console", None
    )  # fmt: skip
    assert row["title"].startswith("Alibaba Cloud puts $290 million") and row["delivered_at"].endswith("+00:00")

    tested = piped("backtest", "--since", "1d", "--json", "--config", str(config))
    assert tested.returncode == 0, tested.stderr
    report = json.loads(tested.stdout)
    assert list(report) == ["since", "items", "matched_items", "alerting_items", "rules"]
    assert (report["items"], report["matched_items"], report["alerting_items"]) == (1, 1, 1)
    top = report["rules"][0]
    assert list(top) == ["id", "name", "priority", "digest_only", "enabled", "total", "days"]
    (day,) = top["days"]
    assert (top["total"], day["count"], list(day["items"][0])) == (1, 1, ["title", "feed", "url"])
    assert day["items"][0]["url"] == "https://wire.example/A/"  # as published, minus tracking
    text = piped("backtest", "--since", "1d", "--config", str(config)).stdout
    assert f"{top['id']}  " in text and ": 1 alert on 1 day" in text
    assert "1 item since " in text.splitlines()[-1]
