"""`monitor backtest` and `monitor replay`, as a user runs them, over items a poll stored."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import monitor_command, rss, slack_section, write_config

from monitor.model import Explanation, Item, Match, NewItem, OpenStory, Outgoing
from monitor.store.sqlitedb import open_sqlite
from monitor.testing import FeedServer, SlackServer

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
MATCH = Match("deal", "Deals", "high", None, False, Explanation())

RULES = Path(__file__).parent / "data" / "ops_rules"
ENTRIES = [
    ("ShengShu raises 2 billion yuan for its world model", "Alibaba Cloud led the round in the Vidu maker."),
    ("PixVerse raises $60 million for video generation", "The video generation start-up raised a round."),
    ("Tripo AI closes a $50 million round for 3D generation", "3D generation start-up Tripo AI raised money."),
    ("A world model of the city's trams", "Planners built a world model of traffic; no money involved."),
    ("Tram line approved", "The council voted for the tram extension."),
    ("Fashion week ends", "Long coats everywhere."),
]
ENV = {"SLACK_BOT_TOKEN": "xoxb-local-test"}


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        monitor_command(*args), capture_output=True, text=True, timeout=120, env={**os.environ, **ENV, **(env or {})}
    )


@pytest.fixture
def polled(tmp_path: Path, feed_server: FeedServer, slack_server: SlackServer) -> Path:
    """A database filled by one poll under a pack that only knows trams (one alert), and a config
    that now uses the world-model pack plus that tram rule."""
    old = tmp_path / "old_rules"
    old.mkdir()
    tram = '[[rule]]\nid = "trams"\nname = "Trams"\nquery = "tram"\n'
    (old / "trams.toml").write_text(tram, encoding="utf-8")
    body = rss(
        *(
            {"title": title, "link": f"https://n.example/{n}", "guid": f"g{n}", "description": text}
            for n, (title, text) in enumerate(ENTRIES)
        )
    )
    url = feed_server.add("/f.xml", body)
    write_config(tmp_path, {"Wire": url}, slack_section(slack_server), rules=old)
    first = run("poll", "--config", str(tmp_path / "config.toml"))
    assert first.returncode == 0, first.stderr
    assert [m["text"].split(" (")[0] for m in slack_server.messages] == [
        "A world model of the city's trams",
        "Tram line approved",
    ]
    new = tmp_path / "new_rules"
    new.mkdir()
    (new / "funding.toml").write_text((RULES / "funding.toml").read_text(encoding="utf-8") + tram, encoding="utf-8")
    return write_config(tmp_path, {"Wire": url}, slack_section(slack_server), rules=new)


def test_backtest_prints_per_rule_and_per_day_counts(polled: Path) -> None:
    result = run("backtest", "--since", "30d", "--rules", str(RULES), "--config", str(polled))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("wm-funding  World-model funding  [high]: 3 alerts on 1 day")
    assert lines[1].split()[1] == "3" and "ShengShu raises" in lines[1]  # the day, its count, a title
    assert sum("(Wire)" in line for line in lines[1:4]) == 3
    assert lines[4].startswith("wm-mentions  World-model mentions  [low, digest only]: 2 matches on 1 day")
    assert lines[-1].startswith("6 items since ")
    assert lines[-1].endswith("4 matched a rule, 3 would alert, 1 digest only")
    assert "Traceback" not in result.stderr


def test_backtest_uses_the_configured_rules_by_default_and_stores_nothing(polled: Path) -> None:
    result = run("backtest", "--since", "1h", "--config", str(polled))
    assert result.returncode == 0, result.stderr
    assert "trams  Trams  [normal]: 2 alerts on 1 day" in result.stdout
    assert run("replay", "--config", str(polled)).stdout.count("[HIGH]") == 3  # backtest queued nothing


def test_progress_bar_goes_to_stderr_on_a_terminal_only(polled: Path) -> None:
    args = ("backtest", "--rules", str(RULES), "--config", str(polled))
    piped = run(*args)
    terminal = run(*args, env={"TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1", "COLUMNS": "100"})
    assert terminal.returncode == 0, terminal.stderr
    assert terminal.stdout == piped.stdout  # the report itself never changes
    assert "backtest" not in piped.stderr and "backtest" in terminal.stderr and "100%" in terminal.stderr


def test_backtest_rejects_a_bad_duration(polled: Path) -> None:
    result = run("backtest", "--since", "lately", "--config", str(polled))
    assert result.returncode == 2 and "'lately' is not a duration" in result.stderr


def test_replay_prints_then_sends_only_what_never_alerted(polled: Path, slack_server: SlackServer) -> None:
    preview = run("replay", "--since", "7d", "--config", str(polled))
    assert preview.returncode == 0, preview.stderr
    assert preview.stdout.count("[HIGH]") == 3 and "Tram" not in preview.stdout  # trams alerted already
    assert "3 of 4 never-alerted items would alert" in preview.stderr
    assert len(slack_server.messages) == 2  # printing sends nothing

    sent = run("replay", "--since", "7d", "--send", "--config", str(polled))
    assert sent.returncode == 0, sent.stderr
    assert "delivered 3" in sent.stderr
    titles = [m["text"].split(" (")[0] for m in slack_server.messages[2:]]
    assert sorted(titles) == sorted(title for title, _ in ENTRIES[:3])

    again = run("replay", "--since", "7d", "--send", "--config", str(polled))
    assert again.returncode == 0, again.stderr
    assert "replayed 1 never-alerted items: 0 alert" in again.stderr  # only the fashion item is left
    assert len(slack_server.messages) == 5
    poll = run("poll", "--config", str(polled))
    assert poll.returncode == 0 and len(slack_server.messages) == 5  # and the items stay known


def test_stored_items_pages_oldest_first_from_since_and_skips_alerted(tmp_path: Path) -> None:
    store = open_sqlite(tmp_path / "m.db")
    try:
        for n in range(5):
            seen = NOW + timedelta(hours=n)
            item = Item("F", f"g{n}", f"https://x.example/{n}", f"T{n}", "s", "c", seen, seen, f"fp{n}")
            outgoing = (Outgoing("slack", None, "high", "deal", {}),) if n == 3 else ()
            story = OpenStory() if n == 3 else None
            store.items.record([NewItem(item, (item.key,), (MATCH,) if n == 3 else (), story, outgoing)], seen)
        seen = NOW + timedelta(hours=2)
        old = Item("F", "g9", "https://x.example/9", "Old", "s", "c", NOW - timedelta(days=30), seen, "fp9")
        store.items.record([NewItem(old, (old.key,))], seen)  # a first poll's old item: never in the window
        since = NOW + timedelta(hours=1)
        assert [i.title for i in store.items.stored(since, page=2)] == ["T1", "T2", "T3", "T4"]
        assert [i.title for i in store.items.stored(since, unalerted=True, page=2)] == ["T1", "T2", "T4"]
        assert store.items.count(since) == 4 and store.items.count(since, unalerted=True) == 3
        (first,) = store.items.stored(NOW + timedelta(hours=4))
        assert (first.content, first.first_seen) == ("c", NOW + timedelta(hours=4))
    finally:
        store.close()
