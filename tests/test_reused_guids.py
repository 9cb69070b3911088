"""A GUID reused for another article: a feed that gives a new article the GUID of an earlier one
(a CMS with one id for every entry, or recycled ids) still alerts the new article, and says once
per poll that it reuses GUIDs; an article edited under its GUID still alerts once. Real feed
server, local Slack Web API, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from conftest import rss, slack_section, world_model_rules, write_config

from monitor import config, shell
from monitor.clock import FixedClock
from monitor.shell.runtime import Runtime
from monitor.testing import FeedServer, SlackServer


def entry(guid: str, link: str, title: str, text: str) -> dict[str, str]:
    published = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    return {"guid": guid, "link": link, "title": title, "description": text, "pubDate": published}


FIRST = entry("post", "https://cms.example/lab-world-model", "Lab shows a world model for robots", "Robots learn.")
SECOND = entry("post", "https://cms.example/startup-funding", "Startup raises $20 million for world model", "Money.")
THIRD = entry("post", "https://cms.example/paper", "A paper on world model evaluation", "Benchmarks.")


@pytest.fixture
def monitor(
    tmp_path: Path, feed_server: FeedServer, slack_server: SlackServer, database: Path | str, monkeypatch
) -> Iterator[Runtime]:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    feeds = {"Reusing CMS": feed_server.url + "/cms.xml"}
    path = write_config(tmp_path, feeds, slack_section(slack_server) + "pace = 0\n", rules=world_model_rules(tmp_path))
    path.write_text(path.read_text().replace('"data/monitor.db"', json.dumps(str(database))), encoding="utf-8")
    rt = shell.open_runtime(config.load(path), clock=FixedClock(datetime.now(UTC).replace(microsecond=0)))
    yield rt
    rt.close()


def poll(rt: Runtime, server: FeedServer, *entries: dict[str, str]) -> None:
    server.add("/cms.xml", rss(*entries), validators=False)
    assert [r.status for r in shell.poll_cycle(rt)] == ["ok"]
    shell.deliver_due(rt)


def alerted(slack: SlackServer) -> list[str]:
    return [m["text"].split(" (Reusing CMS)")[0] for m in slack.top_level()]


def reuse_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    lines = [r for r in caplog.records if getattr(r, "fields", {}).get("event") == "GuidReused"]
    caplog.clear()
    return lines


def test_two_articles_under_one_guid_in_two_polls_both_alert(
    monitor: Runtime, feed_server: FeedServer, slack_server: SlackServer, caplog: pytest.LogCaptureFixture
) -> None:
    poll(monitor, feed_server, FIRST)
    assert reuse_lines(caplog) == []
    poll(monitor, feed_server, SECOND, FIRST)
    [line] = reuse_lines(caplog)
    assert line.levelno == logging.WARNING
    assert line.fields == {"event": "GuidReused", "feed": "Reusing CMS", "items": 1}  # type: ignore[attr-defined]
    poll(monitor, feed_server, THIRD, SECOND, FIRST)  # a third one, the second seen again
    assert len(reuse_lines(caplog)) == 1
    poll(monitor, feed_server, SECOND, FIRST, THIRD)  # nothing new: nothing said
    assert reuse_lines(caplog) == []
    assert alerted(slack_server) == [FIRST["title"], SECOND["title"], THIRD["title"]]


def test_one_guid_for_every_entry_of_one_poll_alerts_each(
    monitor: Runtime, feed_server: FeedServer, slack_server: SlackServer, caplog: pytest.LogCaptureFixture
) -> None:
    poll(monitor, feed_server, FIRST, SECOND, THIRD)
    poll(monitor, feed_server, FIRST, SECOND, THIRD, entry("post", "https://cms.example/x", "Other news", "None."))
    assert sorted(alerted(slack_server)) == sorted([FIRST["title"], SECOND["title"], THIRD["title"]])
    assert [line.fields["items"] for line in reuse_lines(caplog)] == [2, 1]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "edited",
    [
        FIRST | {"title": "UPDATE: Lab shows a world model for warehouse robots"},  # the same link
        FIRST | {"link": "https://cms.example/lab-world-model-robots"},  # the same title
        FIRST | {"title": "Lab shows world model", "link": "https://cms.example/lab-wm"},  # the same text
    ],
    ids=["edited-title", "new-link", "edited-title-and-link"],
)
def test_an_article_edited_under_its_guid_alerts_once(
    monitor: Runtime,
    feed_server: FeedServer,
    slack_server: SlackServer,
    caplog: pytest.LogCaptureFixture,
    edited: dict[str, str],
) -> None:
    poll(monitor, feed_server, FIRST)
    poll(monitor, feed_server, edited)
    assert alerted(slack_server) == [FIRST["title"]]
    assert reuse_lines(caplog) == []


def test_a_replay_finds_an_item_stored_under_its_reused_guid(
    tmp_path: Path, feed_server: FeedServer, slack_server: SlackServer, monkeypatch
) -> None:
    """Stored without a match (the rules did not know world models), then replayed: each item
    gets its own story, the second one under the key it was stored with, not the first one's."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    feed_server.add("/cms.xml", rss(FIRST, SECOND), validators=False)
    rules = world_model_rules(tmp_path)
    path = write_config(
        tmp_path, {"Reusing CMS": feed_server.url + "/cms.xml"}, slack_section(slack_server), rules=rules
    )
    path.write_text(path.read_text().replace('/cms.xml"', '/cms.xml"\nidentity = "guid"'), encoding="utf-8")
    pack = rules / "pack.toml"
    world_models = pack.read_text()
    pack.write_text(world_models.replace('"world model"', "trams"), encoding="utf-8")
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    rt = shell.open_runtime(config.load(path), clock=clock)
    shell.poll_cycle(rt)
    rt.close()
    pack.write_text(world_models, encoding="utf-8")
    rt = shell.open_runtime(config.load(path), clock=clock)
    try:
        items = list(rt.store.items.stored(clock.now() - timedelta(days=1), unalerted=True))
        assert shell.replay(rt, items, send=True).queued == 2
        shell.deliver_due(rt)
        rows = rt.store.db.execute("SELECT key, story_id FROM items ORDER BY key").fetchall()
        (first, _), (second, _) = rows
        assert first.startswith("guid:Reusing CMS:") and second == f"{first}#url:{SECOND['link']}"
        assert len({story for _, story in rows} - {None}) == 2
    finally:
        rt.close()
    assert sorted(alerted(slack_server)) == sorted([FIRST["title"], SECOND["title"]])
