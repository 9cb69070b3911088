"""Hostile text from feeds, end to end: `monitor poll` over feeds whose titles, links and summaries
carry NUL, terminal escapes (ESC, BEL), bidi overrides, zero-width characters and a lone
surrogate, a JSON Feed with the same, and a page that advertises a ``javascript:`` "feed"; on
SQLite and on PostgreSQL.

Nothing raw reaches standard output, standard error, the logs, Slack or the digest email; no
traceback; every good item alerts once; the cycle stays within its time bound.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from conftest import run_monitor, slack_section, world_model_rules, write_config
from test_hostile_output import assert_clean

from monitor.testing import FeedServer, SlackServer, SmtpServer

# (title as the feed writes it, a word of it that must reach Slack): each alerts once
XML_ITEMS = [
    ("Acme trains a world model &#27;[31mRED&#7; for robots", "Acme"),
    ("Bolt&#0; shows a world model \x00 for drones", "Bolt"),
    ("Cobalt world model \u202egnitset\u202c reverses", "Cobalt"),
    ("Dynamo hides a world\u200b model? No: world model \u200e\u061c\u2066here\u2069", "Dynamo"),
    ("Ember world model &#xD800; breaks feedparser", "Ember"),
    ("Falcon world model with a clean title", "Falcon"),
]
JSON_ITEMS = [
    ("Gamma world model \u001b]0;pwned\u0007 from JSON", "Gamma"),
    ("Helix world model \u0000\ud800 from JSON", "Helix"),
]


def hostile_rss() -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>https://news.example/{word.lower()}&#27;[0m</link>"
        f"<guid>{word}</guid><description>&lt;p&gt;{word} text &amp;#27;[2J&#x202E;&#x200B;&lt;/p&gt;</description>"
        "</item>"
        for title, word in XML_ITEMS
    )
    items += "<item><title>Nothing to see</title><link>https://news.example/other</link></item>"
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Hostile &#27;[5m</title>'
    return (head + items + "</channel></rss>").encode("utf-8", "surrogatepass")


def hostile_json() -> str:
    items = [
        {"id": word, "url": f"https://json.example/{word.lower()}", "title": title, "content_text": f"{word} \u202e"}
        for title, word in JSON_ITEMS
    ]
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "JSON\u001b[31m", "items": items})


@pytest.fixture
def hostile(
    feed_server: FeedServer, slack_server: SlackServer, smtp_server: SmtpServer, tmp_path: Path, database: Path | str
) -> Path:
    feeds = {
        "Hostile XML": feed_server.add("/hostile.xml", hostile_rss(), headers={"ETag": '"e\x1b[31m"'}),
        "Hostile JSON": feed_server.add("/hostile.json", hostile_json(), content_type="application/feed+json"),
        "Script page": feed_server.add(
            "/page",
            '<html><head><link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">'
            '<link rel="alternate" type="application/atom+xml" href="data:text/xml,&lt;feed/&gt;"></head></html>',
            content_type="text/html\x1b[31m",
        ),
    }
    rules = world_model_rules(tmp_path)
    digest = (
        '[digest]\nto = ["team@example.org"]\nfrom = "monitor@example.org"\n\n'
        f'[smtp]\nhost = "{smtp_server.host}"\nport = {smtp_server.port}\nsecurity = "none"\n'
    )
    config = write_config(tmp_path, feeds, extra=slack_section(slack_server) + "pace = 0\n" + digest, rules=rules)
    text = config.read_text().replace('"data/monitor.db"', json.dumps(str(database)))
    config.write_text(text.replace("[monitor]\n", '[monitor]\nlog_level = "debug"\n', 1), encoding="utf-8")
    return config


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_monitor(*args, env={"SLACK_BOT_TOKEN": "xoxb-test"})


def test_hostile_text_reaches_no_output_raw_and_every_good_item_alerts_once(
    hostile: Path, slack_server: SlackServer, smtp_server: SmtpServer
) -> None:
    started = time.monotonic()
    poll = run("poll", "--config", str(hostile))
    elapsed = time.monotonic() - started
    assert poll.returncode == 0, poll.stdout + poll.stderr
    assert_clean("poll", poll.stdout + poll.stderr)
    assert elapsed < 20, f"the poll took {elapsed:.1f}s"  # a hang guard (it takes ~0.5 s), not a target
    assert "1 feed failing" in poll.stderr, poll.stderr  # the script page only

    alerts = [m for m in slack_server.messages if m["channel"] == "#world-model-alerts"]
    shown = json.dumps([m["text"] for m in alerts] + [m["blocks"] for m in alerts], ensure_ascii=False)
    assert_clean("Slack", shown)
    assert len(alerts) == len(XML_ITEMS) + len(JSON_ITEMS), [m["text"] for m in alerts]
    for _, word in XML_ITEMS + JSON_ITEMS:
        assert sum(word in m["text"] for m in alerts) == 1, (word, [m["text"] for m in alerts])
    assert "gnitset" in shown and "world model" in shown

    status = run("status", "--json", "--config", str(hostile))
    assert_clean("status --json", status.stdout + status.stderr)
    feeds = {f["name"]: f for f in json.loads(status.stdout)["feeds"]}
    assert feeds["Hostile XML"]["error"] is None and feeds["Hostile JSON"]["error"] is None
    assert "not a feed" in feeds["Script page"]["error"]
    assert "javascript" not in feeds["Script page"]["error"] and "data:" not in feeds["Script page"]["error"]

    for command in (["status"], ["outbox", "list"], ["backtest", "--since", "30d"], ["feeds", "list"]):
        result = run(*command, "--config", str(hostile))
        assert result.returncode == 0, result.stderr
        assert_clean(" ".join(command), result.stdout + result.stderr)

    digest = run("digest", "--send", "--config", str(hostile))
    assert digest.returncode == 0, digest.stderr
    assert_clean("digest --send", digest.stdout + digest.stderr)
    [message] = smtp_server.messages
    for kind in ("plain", "html"):
        body = message.get_body((kind,)).get_content()
        assert_clean(f"digest email ({kind})", body.replace("\r\n", "\n") + str(message["Subject"]))  # CRLF: MIME
        assert all(word in body for _, word in XML_ITEMS + JSON_ITEMS)

    again = run("poll", "--config", str(hostile))
    assert again.returncode == 0 and "Traceback" not in again.stderr
    assert len([m for m in slack_server.messages if m["channel"] == "#world-model-alerts"]) == len(alerts)
