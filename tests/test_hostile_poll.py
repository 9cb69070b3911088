"""One `monitor poll` over a fault-injecting feed server: slow, dripping endless body, 500, 404,
429, redirect loop, gzip bomb, 50 MB body, invalid XML, an HTML page, and one good feed.

The cycle finishes within the configured timeouts, prints no traceback, alerts the good feed's
story, announces each failing feed once to the ops channel, and `monitor status` names every
failing feed with its reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import monitor_command, rss, slack_section, write_config

from monitor.testing import FeedServer, SlackServer, gzip_bomb

RULE = """
[[rule]]
id = "world-model"
name = "World model"
query = '"world model"'
priority = "high"
"""

# feed name -> (what `monitor status` must say about it, FeedServer options)
BROKEN: dict[str, tuple[str, dict[str, object]]] = {
    "Slow": ("timeout", {"body": "<rss/>", "delay": 6}),
    "Dripping": ("timeout", {"body": "<rss><channel>", "drip": 0.2}),
    "Error 500": ("HTTP 500", {"body": "oops", "status": 500}),
    "Busy 429": ("HTTP 429", {"body": "", "status": 429, "headers": {"Retry-After": "3600"}}),
    "Gzip bomb": ("larger than", {"body": gzip_bomb(64 * 1024 * 1024), "gzip": True}),
    "Huge": ("larger than", {"body": b"<rss>", "filler": 50 * 1024 * 1024, "declare_length": False}),
    "Invalid XML": ("invalid XML", {"body": b"<rss><channel><title>x</titl\x00\xff\xfe garbage"}),
    "HTML page": (
        "advertises a feed at",
        {
            "body": '<html><head><link rel="alternate" type="application/rss+xml" href="/real.xml"></head></html>',
            "content_type": "text/html",
        },
    ),
}


@pytest.fixture
def hostile(feed_server: FeedServer, slack_server: SlackServer, tmp_path: Path) -> Path:
    good = rss(
        {"title": "Startup trains a world model for robots", "link": "https://news.example/wm", "guid": "wm-1"},
        {"title": "Nothing to see", "link": "https://news.example/other", "guid": "o-1"},
    )
    feeds = {"Good": feed_server.add("/good.xml", good)}
    for name, (_, options) in BROKEN.items():
        path = "/" + name.lower().replace(" ", "-")
        feeds[name] = feed_server.add(path, validators=False, **options)  # type: ignore[arg-type]
    feeds["Missing 404"] = feed_server.url + "/nothing-here"
    feed_server.add("/loop", "", redirect_to=feed_server.url + "/loop", status=302, validators=False)
    feeds["Redirect loop"] = feed_server.url + "/loop"
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "pack.toml").write_text(RULE, encoding="utf-8")
    extra = slack_section(slack_server) + 'ops_channel = "#feed-health"\n'
    config = write_config(tmp_path, feeds, extra=extra, rules=rules)
    text = config.read_text().replace("timeout = 5\n", "timeout = 3\nread_timeout = 2\n")
    config.write_text(text, encoding="utf-8")
    return config


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test"}
    return subprocess.run(monitor_command(*args), capture_output=True, text=True, timeout=60, env=env)


def test_one_poll_survives_every_fault(hostile: Path, slack_server: SlackServer) -> None:
    started = time.monotonic()
    poll = run("poll", "--config", str(hostile))
    elapsed = time.monotonic() - started
    output = poll.stdout + poll.stderr
    assert poll.returncode == 0, output
    assert "Traceback" not in output
    assert elapsed < 3 + 6, f"the cycle took {elapsed:.1f}s; the total deadline is 3s per feed"
    assert f"{len(BROKEN) + 2} feeds failing" in poll.stderr

    alerts = [m for m in slack_server.messages if m["channel"] == "#world-model-alerts"]
    assert len(alerts) == 1 and "world model" in alerts[0]["text"]
    [ops] = [m for m in slack_server.messages if m["channel"] == "#feed-health"]
    for name in [*BROKEN, "Missing 404", "Redirect loop"]:
        assert f"Feed {name} is failing" in ops["text"]
    assert "Good" not in ops["text"]

    status = run("status", "--json", "--config", str(hostile))
    assert status.returncode == 0, status.stderr
    feeds = {f["name"]: f for f in json.loads(status.stdout)["feeds"]}
    assert feeds["Good"]["health"] == "ok" and feeds["Good"]["error"] is None
    expected = {name: reason for name, (reason, _) in BROKEN.items()}
    expected |= {"Missing 404": "HTTP 404", "Redirect loop": "redirects"}
    for name, reason in expected.items():
        assert feeds[name]["health"] == "failing", name
        assert reason in feeds[name]["error"], (name, feeds[name]["error"])
    assert "/real.xml" in feeds["HTML page"]["error"]
    busy = feeds["Busy 429"]
    waited = datetime.fromisoformat(busy["next_poll"]) - datetime.fromisoformat(busy["last_poll"])
    assert waited >= timedelta(hours=1), "Retry-After: 3600 is honoured"

    table = run("status", "--config", str(hostile))
    assert table.returncode == 0 and all(name in table.stdout for name in expected)

    again = run("poll", "--config", str(hostile))
    assert again.returncode == 0 and "Traceback" not in again.stdout + again.stderr
    assert len([m for m in slack_server.messages if m["channel"] == "#feed-health"]) == 1, "announced once"
    assert len([m for m in slack_server.messages if m["channel"] == "#world-model-alerts"]) == 1
