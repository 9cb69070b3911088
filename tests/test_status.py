"""`monitor status`: the --json contract scripts rely on, and the table people read."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from conftest import article, free_port, rss, write_config
from conftest import run_monitor as run

from monitor.testing import FeedServer

TOP_KEYS = ["version", "generated_at", "config", "database", "daemon", "feeds", "outbox", "dead_letters", "digests"]
FEED_KEYS = ["name", "url", "health", "last_poll", "last_ok", "next_poll", "failures", "error"]
FEED_KEYS += ["failing_since", "moved_to"]


def test_status_json_is_complete_and_stable(tmp_path: Path, feed_server: FeedServer) -> None:
    good = feed_server.add("/wire.xml", rss(article("shengshu_wire.txt", "https://wire.example/a", "w-1")))
    broken = feed_server.url + "/gone.xml"  # 404
    port = free_port()  # nothing listens there: the daemon is not running
    config = write_config(
        tmp_path, {"Wire": good, "Gone": broken, "Later": "http://127.0.0.1:9/never.xml"},
        monitor=f"health_port = {port}",
    )  # fmt: skip
    polled = run("poll", "--config", str(config))
    assert polled.returncode == 0, polled.stderr
    config.write_text(config.read_text().replace('name = "Later"', 'name = "Later!"'))  # a feed never polled

    result = run("status", "--json", "--config", str(config))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert list(report) == TOP_KEYS
    assert report["version"] == 1
    assert report["config"] == str(config)
    assert report["database"] == str(tmp_path / "data" / "monitor.db")
    assert report["daemon"]["url"] == f"http://127.0.0.1:{port}/healthz"
    assert report["daemon"]["state"] == "unreachable" and "no daemon answers" in report["daemon"]["detail"]

    feeds = {feed["name"]: feed for feed in report["feeds"]}
    assert [feed["name"] for feed in report["feeds"]] == ["Wire", "Gone", "Later!"]  # config order
    assert all(list(feed) == FEED_KEYS for feed in report["feeds"])
    wire, gone, later = feeds["Wire"], feeds["Gone"], feeds["Later!"]
    assert (wire["health"], wire["failures"], wire["error"]) == ("ok", 0, None)
    assert datetime.fromisoformat(wire["last_poll"]) == datetime.fromisoformat(wire["last_ok"])
    assert datetime.fromisoformat(wire["next_poll"]) > datetime.fromisoformat(wire["last_poll"])
    assert (gone["health"], gone["failures"], gone["last_ok"]) == ("failing", 1, None)
    assert "404" in gone["error"]
    assert (later["health"], later["last_poll"], later["next_poll"]) == ("new", None, None)

    assert report["outbox"] == {"pending": 0, "delivered": 1, "dead": 0}
    assert report["dead_letters"] == []

    table = run("status", "--config", str(config), env={"COLUMNS": "200"})
    assert table.returncode == 0, table.stderr
    for text in (
        "Daemon: unreachable",
        "Wire",
        "failing",
        "1x: http: HTTP 404",
        "due now",
        "Outbox: 0 pending, 1 delivered",
    ):
        assert text in table.stdout, table.stdout


def test_status_without_health_endpoint(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"A": "http://127.0.0.1:9/a.xml"}, monitor="health_port = 0")
    report = json.loads(run("status", "--json", "--config", str(config)).stdout)
    assert report["daemon"] == {"url": None, "state": "disabled", "detail": "[monitor] health_port = 0"}


def test_the_table_shows_brackets_as_written(tmp_path: Path, feed_server: FeedServer) -> None:
    """Feed names and errors are text, not rich markup: "[fetch] max_bytes" must stay readable."""
    url = feed_server.add("/big.xml", b"<rss>" + b"x" * 5000)
    config = write_config(tmp_path, {"[Tech] News": url}, monitor="health_port = 0")
    config.write_text(config.read_text().replace("connect_timeout = 2", "connect_timeout = 2\nmax_bytes = 1024"))
    assert run("poll", "--config", str(config)).returncode == 3  # its only feed failed
    table = run("status", "--config", str(config), env={"COLUMNS": "250"}).stdout
    assert "[Tech] News" in table and "raise [fetch] max_bytes" in table
    assert "([monitor] health_port = 0)" in table


def test_health_command_fails_without_a_daemon(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, {"A": "http://127.0.0.1:9/a.xml"}, monitor=f"health_port = {port}")
    result = run("health", "--config", str(config))
    assert result.returncode == 1
    assert f"no daemon answers at http://127.0.0.1:{port}/healthz" in result.stdout
    disabled = write_config(tmp_path, {"A": "http://127.0.0.1:9/a.xml"}, monitor="health_port = 0")
    result = run("health", "--config", str(disabled))
    assert result.returncode == 2 and "health_port is 0" in result.stderr
