"""Delivery as a user runs it: `monitor poll` against local feed and Slack servers.

Kill -9 in the middle of delivering, hostile feed text all the way to what Slack receives, and
dead letters through `monitor status` and `monitor outbox retry`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DATA, monitor_command, rss, slack_section, write_config

from monitor.store.sqlitedb import open_sqlite
from monitor.testing import FeedServer, SlackServer

RULES = DATA / "rules_delivery"
ENV = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-local-test"}


def probes(count: int, **extra: str) -> str:
    return rss(
        *(
            {"title": f"Probe number {n}", "link": f"https://wire.example/{n}", "guid": f"p{n}", **extra}
            for n in range(count)
        )
    )


def poll(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        monitor_command("poll", "--config", str(config)), capture_output=True, text=True, timeout=120, env=ENV
    )


def urls(server: SlackServer) -> Counter[str]:
    return Counter(m["metadata"]["event_payload"]["url"] for m in server.messages)


def kill_when(config: Path, ready: Callable[[], bool], after: float = 0.0) -> bool:
    """Start `monitor poll`, SIGKILL it once ``ready()`` (and ``after`` seconds more); False if it
    finished first."""
    run = subprocess.Popen(
        monitor_command("poll", "--config", str(config)), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while not ready() and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.005)
    time.sleep(after)
    killed = run.poll() is None
    run.send_signal(signal.SIGKILL)
    run.wait(10)
    return killed


def twenty_probes(tmp_path: Path, feed_server: FeedServer, slack_server: SlackServer) -> Path:
    """A config polling a feed of 20 matching items, each alerted on its own, unpaced."""
    url = feed_server.add("/wire.xml", probes(20))
    extra = slack_section(slack_server) + "burst_limit = 100\npace = 0\ntimeout = 5\n"
    return write_config(tmp_path, {"Wire": url}, extra, rules=RULES)


def test_kill_9_while_delivering_loses_nothing_and_repeats_at_most_one(
    tmp_path: Path, feed_server: FeedServer, slack_server: SlackServer
) -> None:
    config = twenty_probes(tmp_path, feed_server, slack_server)
    slack_server.latency = 0.15  # each message is posted 0.15 s before Slack confirms it

    # killed when message 8 is posted and its confirmation not yet received
    assert kill_when(config, lambda: len(slack_server.messages) >= 8)
    assert 8 <= len(slack_server.messages) < 20

    store = open_sqlite(tmp_path / "data" / "monitor.db")
    try:
        in_flight = store.outbox.in_flight()  # the one message in flight at the kill (none if between two)
        assert len(in_flight) <= 1
        assert store.outbox.counts()["pending"] + store.outbox.counts()["delivered"] == 20
    finally:
        store.close()

    second = poll(config)
    assert second.returncode == 0, second.stderr
    assert ("AlertInterrupted" in second.stderr) == bool(in_flight)
    received = urls(slack_server)
    assert set(received) == {f"https://wire.example/{n}" for n in range(20)}  # all 20 arrived
    assert sum(received.values()) <= 21 and max(received.values()) <= 2  # at most one twice
    assert "delivered 0" not in second.stderr


def test_kills_at_every_stage_lose_nothing_and_each_repeats_at_most_one(
    tmp_path: Path, feed_server: FeedServer, slack_server: SlackServer
) -> None:
    """Killed while matching and storing the fetched feed, at the first message, mid-delivery."""
    config = twenty_probes(tmp_path, feed_server, slack_server)
    slack_server.latency = 0.05
    kills = sum(
        [
            kill_when(config, lambda: bool(feed_server.requests), after=0.02),
            kill_when(config, lambda: len(feed_server.requests) >= 2, after=0.08),
            kill_when(config, lambda: len(slack_server.messages) >= 1),
            kill_when(config, lambda: len(slack_server.messages) >= 12),
        ]
    )
    final = poll(config)
    assert final.returncode == 0, final.stderr
    received = urls(slack_server)
    assert set(received) == {f"https://wire.example/{n}" for n in range(20)}
    assert sum(received.values()) - 20 <= kills


HOSTILE_TITLES = [
    "Probe &lt;!channel&gt; deal of the year",
    "Probe &lt;!here&gt; look at this",
    "Probe &lt;@U024BE7LH&gt; and &lt;!subteam^S012345|@team&gt;",
    "Probe &lt;http://evil.example/phish|Reuters exclusive&gt;",
    "Probe @channel @here &amp; &lt;!everyone&gt;",
]
# Descriptions are HTML: double-escaped so the text (after HTML -> text) holds the forms literally.
HOSTILE_SUMMARY = (
    "The probe says &amp;lt;!channel&amp;gt; &amp;lt;!here&amp;gt; &amp;lt;@U0BADBAD&amp;gt; "
    "&amp;lt;!subteam^S0BAD&amp;gt; &amp;lt;https://evil.example/x|Bloomberg&amp;gt; probe."
)


def distinct(n: int) -> str:
    """The hostile summary plus words of its own, so each probe is its own story, not a follow-up."""
    return HOSTILE_SUMMARY + " " + " ".join(f"topic{n}word{i}" for i in range(40))


FORBIDDEN = ("<!channel", "<!here", "<!everyone", "<@U", "<!subteam", "<http://evil", "<https://evil")


@pytest.mark.parametrize("burst_limit", [10, 1], ids=["single-alerts", "summary"])
def test_hostile_feed_text_cannot_ping_or_forge_links(
    tmp_path: Path, feed_server: FeedServer, slack_server: SlackServer, burst_limit: int
) -> None:
    items = [
        {"title": title, "link": f"https://wire.example/h{n}", "guid": f"h{n}", "description": distinct(n)}
        for n, title in enumerate(HOSTILE_TITLES)
    ]
    items.append({"title": "Probe with a bad link", "link": "javascript:alert(1)", "guid": "js"})
    url = feed_server.add("/hostile.xml", rss(*items))
    extra = slack_section(slack_server) + f"burst_limit = {burst_limit}\npace = 0\n"
    config = write_config(tmp_path, {"Hostile": url}, extra, rules=RULES)

    result = poll(config)
    assert result.returncode == 0, result.stderr
    kinds = Counter(m["metadata"]["event_type"] for m in slack_server.messages)
    # five normal alerts for #alerts (one summary when bursting), one high-priority deal for #deals
    assert kinds == (
        Counter(monitor_alert=6) if burst_limit == 10 else Counter(monitor_alert_summary=1, monitor_alert=1)
    )
    for message in slack_server.messages:
        visible = json.dumps({k: message[k] for k in ("text", "blocks")}, ensure_ascii=False)
        for form in FORBIDDEN:
            assert form not in visible, (form, visible)
        assert "javascript:" not in visible
        assert message["link_names"] is False
        for block in message["blocks"]:
            for obj in [block.get("text"), *block.get("elements", [])]:
                if obj and obj["type"] == "mrkdwn":
                    assert obj["verbatim"] is True  # Slack will not turn "@channel" into a mention
    everything = json.dumps([m["blocks"] for m in slack_server.messages], ensure_ascii=False)
    for escaped in ("&lt;!channel&gt;", "&lt;!here&gt;", "&lt;@U024BE7LH&gt;", "&lt;!subteam^S012345"):
        assert escaped in everything  # the words are kept, shown as text
    assert "&lt;http://evil.example/phish¦Reuters exclusive&gt;" in everything or (
        "&lt;http://evil.example/phish|Reuters exclusive&gt;" in everything
    )
    if burst_limit == 10:
        assert "&lt;@U0BADBAD&gt;" in everything  # summary text reaches the snippets, escaped


def test_dead_letter_shows_in_status_and_can_be_retried(
    tmp_path: Path, feed_server: FeedServer, slack_server: SlackServer
) -> None:
    feed = rss(
        {"title": "Probe deal: robots raise", "link": "https://wire.example/deal", "guid": "d"},
        {"title": "Probe news", "link": "https://wire.example/news", "guid": "n"},
    )
    url = feed_server.add("/w.xml", feed)
    config = write_config(tmp_path, {"Wire": url}, slack_section(slack_server), rules=RULES)
    slack_server.channel_errors["#deals"] = "not_in_channel"

    assert "dead 1" in poll(config).stderr
    assert urls(slack_server) == Counter(["https://wire.example/news"])
    status = subprocess.run(monitor_command("status", "--config", str(config)), capture_output=True, text=True, env=ENV)
    assert "not_in_channel" in status.stdout and "monitor outbox retry" in status.stdout
    listed = subprocess.run(
        monitor_command("outbox", "list", "--state", "dead", "--config", str(config)),
        capture_output=True,
        text=True,
        env={**ENV, "COLUMNS": "200"},
    )
    assert listed.returncode == 0 and "#deals" in listed.stdout and "Probe deal" in listed.stdout

    wrong = subprocess.run(
        monitor_command("outbox", "retry", "--id", "999", "--config", str(config)), capture_output=True, text=True
    )
    assert wrong.returncode == 1 and "not dead letters: #999" in wrong.stderr
    neither = subprocess.run(
        monitor_command("outbox", "retry", "--config", str(config)), capture_output=True, text=True
    )
    assert neither.returncode == 2 and "--all" in neither.stderr

    del slack_server.channel_errors["#deals"]  # the bot was invited
    retried = subprocess.run(
        monitor_command("outbox", "retry", "--all", "--config", str(config)), capture_output=True, text=True
    )
    assert retried.returncode == 0 and "requeued 1 dead letter " in retried.stdout
    assert "delivered 1" in poll(config).stderr
    assert urls(slack_server) == Counter(["https://wire.example/news", "https://wire.example/deal"])
    assert slack_server.messages[-1]["channel"] == "#deals"
