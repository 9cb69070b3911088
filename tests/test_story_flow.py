"""Each story once, end to end: local feed servers, the local Slack Web API, real SQLite files.

Two outlets carrying the seeds' event make one top-level alert and one threaded reply, whether
they are polled in one cycle, in two cycles minutes apart (with a restart between), or at the
same moment by the scheduler's threads; re-published, edited, re-linked and re-GUIDed entries
never alert again; two deals on one day stay two stories.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from conftest import DATA, monitor_command, rss, slack_section, write_config

from monitor import config, shell
from monitor.clock import FixedClock
from monitor.store.items import Items
from monitor.testing import FeedServer, SlackServer

ARTICLES = {
    a["id"]: a for a in map(json.loads, (DATA / "story_articles.jsonl").read_text(encoding="utf-8").splitlines())
}
WIRE_URL = "https://wire.example/2026/11/alibaba-shengshu"
EXPLAINER_URL = "https://explainer.example/why-alibaba-bets-on-world-models?utm_source=rss"
START = datetime.now(UTC).replace(microsecond=0)  # feeds date their items from the real clock


def entry(
    article: str, link: str, guid: str, title: str | None = None, age: timedelta = timedelta(hours=1)
) -> dict[str, str]:
    a = ARTICLES[article]
    return {
        "title": escape(title or a["title"]),
        "link": escape(link),
        "guid": escape(guid),
        "description": escape(a["text"]),
        "pubDate": format_datetime(datetime.now(UTC) - age, usegmt=True),  # the suite does not age
    }


def unrelated(n: int) -> dict[str, str]:
    return {
        "title": f"Local bakery wins bread award {n}",
        "link": f"https://bakery.example/{n}",
        "guid": f"bakery-{n}",
        "description": "The jury praised the crust.",
    }


def serve(server: FeedServer, path: str, body: str, **options: object) -> str:
    """Serve a feed without validators: a re-published feed within the same second must not be
    answered 304 by If-Modified-Since; the monitor's own body hash still skips unchanged feeds."""
    return server.add(path, body, validators=False, **options)


class Monitor:
    """An in-process monitor on a fixed clock, restartable over the same database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.clock = FixedClock(START)
        self.rt = shell.open_runtime(config.load(path), clock=self.clock)

    def cycle(self) -> list[shell.PollReport]:
        reports = shell.poll_cycle(self.rt)
        for _ in range(3):  # a follow-up waiting for its opening alert goes on the next round
            shell.deliver_due(self.rt)
            self.clock.advance(shell.FOLLOW_UP_WAIT)
        return reports

    def restart(self) -> None:
        self.rt.close()
        self.rt = shell.open_runtime(config.load(self.path), clock=self.clock)

    def stories(self) -> int:
        return self.rt.store.db.execute("SELECT count(*) FROM stories").fetchone()[0]


@pytest.fixture
def make_monitor(
    tmp_path: Path, slack_server: SlackServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Monitor]]:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-local-test")
    made: list[Monitor] = []

    def make(feeds: dict[str, str], monitor: str = "", identity: str = "auto") -> Monitor:
        path = write_config(tmp_path, feeds, slack_section(slack_server), monitor=monitor)
        text = path.read_text(encoding="utf-8")
        for url in feeds.values():
            text = text.replace(f'url = "{url}"', f'url = "{url}"\nidentity = "{identity}"')
        path.write_text(text, encoding="utf-8")
        made.append(Monitor(path))
        return made[-1]

    yield make
    for m in made:
        m.rt.close()


def assert_one_alert_and_one_reply(slack: SlackServer, outlet: str) -> None:
    top, replies = slack.top_level(), slack.replies()
    assert len(top) == 1, [m["text"] for m in top]
    assert "ShengShu" in top[0]["text"]
    assert len(replies) == 1, [m["text"] for m in replies]
    assert replies[0]["thread_ts"] == top[0]["ts"]
    assert replies[0]["channel"] == top[0]["channel_id"]
    assert replies[0]["text"].startswith(f"Also reported by {outlet}: ")
    assert "explainer.example/why-alibaba-bets-on-world-models" in json.dumps(replies[0]["blocks"])
    assert "utm_source" not in json.dumps(replies[0]["blocks"])


def run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-local-test"}
    return subprocess.run(monitor_command(*args), capture_output=True, text=True, timeout=120, env=env)


# --- the seeds: two outlets, one story ------------------------------------------------------------


def test_two_outlets_in_one_cycle_make_one_alert_and_one_reply(
    tmp_path: Path, feed_server: FeedServer, slack_server: SlackServer
) -> None:
    wire = serve(feed_server, "/wire.xml", rss(entry("shengshu_wire", WIRE_URL, "wire-1"), unrelated(1)))
    # Both feeds are fetched at once and settled in the order they arrive: the explainer answers
    # a moment later, so the wire leads (which outlet leads is not what this test is about).
    explainer = serve(
        feed_server, "/explainer.xml", rss(entry("shengshu_explainer", EXPLAINER_URL, "exp-1")), delay=0.3
    )
    path = write_config(tmp_path, {"Wire": wire, "Explainer": explainer}, slack_section(slack_server))

    first = run("poll", "--config", str(path))
    assert first.returncode == 0, first.stderr
    assert_one_alert_and_one_reply(slack_server, "Explainer")

    second = run("poll", "--config", str(path))  # unchanged feeds
    assert second.returncode == 0, second.stderr
    # The feeds re-publish: new GUID, edited title, another tracking parameter, a third outlet
    # carrying the wire's article. Still nothing new.
    serve(
        feed_server,
        "/wire.xml",
        rss(entry("shengshu_wire", WIRE_URL + "/", "wire-1", title="Alibaba Cloud puts $290M into ShengShu")),
    )
    serve(
        feed_server,
        "/explainer.xml",
        rss(entry("shengshu_explainer", EXPLAINER_URL.replace("rss", "twitter") + "&fbclid=x", "exp-1-v2")),
    )
    third = run("poll", "--config", str(path))
    assert third.returncode == 0, third.stderr
    assert len(slack_server.messages) == 2


def test_two_outlets_minutes_apart_across_a_restart(
    make_monitor, feed_server: FeedServer, slack_server: SlackServer
) -> None:
    wire = serve(feed_server, "/wire.xml", rss(entry("shengshu_wire", WIRE_URL, "wire-1")))
    explainer = serve(feed_server, "/explainer.xml", rss(unrelated(1)))
    m = make_monitor({"Wire": wire, "Explainer": explainer})
    m.cycle()
    assert len(slack_server.top_level()) == 1 and not slack_server.replies()

    m.restart()
    m.clock.advance(timedelta(minutes=7))
    serve(feed_server, "/explainer.xml", rss(entry("shengshu_explainer", EXPLAINER_URL, "exp-1"), unrelated(1)))
    m.cycle()
    assert_one_alert_and_one_reply(slack_server, "Explainer")

    m.clock.advance(timedelta(minutes=7))
    m.cycle()
    assert len(slack_server.messages) == 2
    assert m.stories() == 1


def test_a_later_outlet_after_the_window_opens_a_new_story(
    make_monitor, feed_server: FeedServer, slack_server: SlackServer
) -> None:
    wire = serve(feed_server, "/wire.xml", rss(entry("shengshu_wire", WIRE_URL, "wire-1")))
    explainer = serve(feed_server, "/explainer.xml", rss(unrelated(1)))
    m = make_monitor({"Wire": wire, "Explainer": explainer}, monitor='story_window = "2h"')
    m.cycle()
    m.clock.advance(timedelta(hours=3))
    serve(feed_server, "/explainer.xml", rss(entry("shengshu_explainer", EXPLAINER_URL, "exp-1")))
    m.cycle()
    assert len(slack_server.top_level()) == 2 and not slack_server.replies()


class RacingItems(Items):
    """Items whose story read waits (up to 2 s) for a second thread to arrive: without the
    exclusive hold both threads would read "no open story" and open one each."""

    barrier = threading.Barrier(2)

    def open_stories(self, since: datetime) -> list[tuple[int, Mapping[str, Any]]]:
        with contextlib.suppress(threading.BrokenBarrierError):  # broken: the other thread is held outside
            self.barrier.wait(timeout=2)
        return super().open_stories(since)


def test_two_feeds_polled_at_the_same_moment_still_make_one_story(
    make_monitor, feed_server: FeedServer, slack_server: SlackServer
) -> None:
    wire = serve(feed_server, "/wire.xml", rss(entry("shengshu_wire", WIRE_URL, "wire-1")))
    explainer = serve(feed_server, "/explainer.xml", rss(entry("shengshu_explainer", EXPLAINER_URL, "exp-1")))
    m = make_monitor({"Wire": wire, "Explainer": explainer})
    m.rt.store.items = RacingItems(m.rt.store.items.db)
    feeds = {feed.name: feed for feed in m.rt.config.feeds}
    jobs = [threading.Thread(target=shell.poll_feed, args=(m.rt, feeds[name])) for name in ("Wire", "Explainer")]
    for job in jobs:  # two pollers at once (threads here; replicas are processes)
        job.start()
    for job in jobs:
        job.join()
    for _ in range(3):
        shell.deliver_due(m.rt)
        m.clock.advance(shell.FOLLOW_UP_WAIT)
    assert m.stories() == 1
    assert len(slack_server.top_level()) == 1 and len(slack_server.replies()) == 1


class RacingKeys(Items):
    """Items whose key lookup, once read, waits (up to 2 s) for a second process's: both then find
    an article unknown and both store it."""

    barrier = threading.Barrier(2)

    def known_keys(self, keys: Iterable[str]) -> set[str]:
        known = super().known_keys(keys)
        with contextlib.suppress(threading.BrokenBarrierError):
            self.barrier.wait(timeout=2)
        return known


def test_an_unmatched_article_stored_by_two_feeds_at_the_same_moment_is_kept_once(
    make_monitor, feed_server: FeedServer
) -> None:
    """Items that match nothing are stored outside the story decision's exclusive hold; the
    second writer of the same article must find it there, not fail its poll."""
    first = serve(feed_server, "/first.xml", rss(unrelated(1)))
    second = serve(feed_server, "/second.xml", rss({**unrelated(1), "guid": "other-guid"}))
    m = make_monitor({"First": first, "Second": second})
    replica = Monitor(m.path)  # a second process: its own connection to the same file
    reports: list[shell.PollReport] = []
    jobs = []
    for name, runtime in (("First", m.rt), ("Second", replica.rt)):
        runtime.store.items = RacingKeys(runtime.store.items.db)
        feed = next(f for f in runtime.config.feeds if f.name == name)
        jobs.append(threading.Thread(target=lambda rt=runtime, feed=feed: reports.append(shell.poll_feed(rt, feed))))
    for job in jobs:
        job.start()
    for job in jobs:
        job.join()
    assert [r.status for r in reports] == ["ok", "ok"]
    stored = m.rt.store.items.db.query("SELECT feed FROM items WHERE url = 'https://bakery.example/1'")
    assert len(stored) == 1


# --- identity -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "republished",
    [
        entry("shengshu_wire", WIRE_URL, "wire-1-new-guid"),
        entry("shengshu_wire", WIRE_URL + "?utm_source=rss&utm_medium=feed&gclid=abc#comments", "wire-1"),
        entry("shengshu_wire", WIRE_URL, "wire-1", title="UPDATE: Alibaba Cloud puts $290 million into ShengShu"),
        entry("shengshu_wire", "https://wire.example/2026/11/alibaba-shengshu-290m", "wire-1", title="Edited"),
        entry("shengshu_wire", "HTTPS://WIRE.EXAMPLE:443/2026/11/alibaba-shengshu/", "wire-2"),
    ],
    ids=["guid-changed-same-url", "tracking-params", "edited-title", "edited-slug-same-guid", "url-spelling"],
)
def test_a_republished_entry_never_alerts_again(
    make_monitor, feed_server: FeedServer, slack_server: SlackServer, republished: dict[str, str]
) -> None:
    url = serve(feed_server, "/wire.xml", rss(entry("shengshu_wire", WIRE_URL, "wire-1")))
    m = make_monitor({"Wire": url})
    m.cycle()
    serve(feed_server, "/wire.xml", rss(republished, unrelated(2)))
    m.cycle()
    assert len(slack_server.messages) == 1


def test_the_same_article_in_two_feeds_alerts_once(
    make_monitor, feed_server: FeedServer, slack_server: SlackServer
) -> None:
    wire = serve(feed_server, "/wire.xml", rss(entry("shengshu_wire", WIRE_URL, "wire-1")))
    google = "https://news.google.com/news/url?sa=t&fd=R&url=" + WIRE_URL + "?utm_source=gn"
    aggregator = serve(feed_server, "/aggregator.xml", rss(entry("shengshu_wire", google, "tag:google,2026:1")))
    syndicated = serve(feed_server, "/syndicated.xml", rss(entry("shengshu_wire", "https://mirror.example/a", "m-1")))
    m = make_monitor({"Wire": wire, "Aggregator": aggregator, "Mirror": syndicated})
    m.cycle()
    assert len(slack_server.messages) == 1  # the link (unwrapped) or the words are already known


def test_two_deals_on_the_same_day_stay_two_stories(
    make_monitor, feed_server: FeedServer, slack_server: SlackServer
) -> None:
    wire = serve(
        feed_server,
        "/wire.xml",
        rss(
            entry("pixverse_a", "https://wire.example/pixverse", "p-1"),
            entry("tripo_a", "https://wire.example/tripo", "t-1"),
        ),
    )
    journal = serve(
        feed_server,
        "/journal.xml",
        rss(
            entry("pixverse_b", "https://journal.example/pixverse", "jp-1"),
            entry("tripo_b", "https://journal.example/tripo", "jt-1"),
        ),
    )
    m = make_monitor({"Wire": wire, "Journal": journal})
    m.cycle()
    top = slack_server.top_level()
    assert len(top) == 2 and m.stories() == 2
    replies = {r["thread_ts"]: r["text"] for r in slack_server.replies()}
    by_ts = {t["ts"]: t["text"] for t in top}
    assert len(replies) == 2
    for ts, reply in replies.items():
        assert ("PixVerse" in by_ts[ts]) == ("PixVerse" in reply)


@pytest.mark.parametrize("identity", ["auto", "guid"])
def test_numbered_guids_keep_the_new_item(
    make_monitor, feed_server: FeedServer, slack_server: SlackServer, identity: str
) -> None:
    """A feed that numbers its entries gives a new item the GUID of an old one. ``auto`` sees the
    links change GUID and keys on links instead; ``guid`` sees that the new item's title and link
    both differ from the stored item's, so the GUID was reused."""
    older = [unrelated(n) | {"guid": f"item-{i}"} for i, n in enumerate((1, 2, 3), start=1)]
    url = serve(feed_server, "/n.xml", rss(entry("pixverse_a", "https://n.example/p", "item-1"), *older))
    m = make_monitor({"Numbered": url}, identity=identity)
    m.cycle()
    shifted = [item | {"guid": f"item-{i}"} for i, item in enumerate(older, start=3)]
    serve(
        feed_server,
        "/n.xml",
        rss(
            entry("tripo_a", "https://n.example/t", "item-1"),
            entry("pixverse_a", "https://n.example/p", "item-2"),
            *shifted,
        ),
    )
    m.cycle()
    assert len(slack_server.top_level()) == 2


def test_after_retention_an_old_item_still_never_alerts_again(
    make_monitor, feed_server: FeedServer, slack_server: SlackServer
) -> None:
    url = serve(feed_server, "/wire.xml", rss(entry("shengshu_wire", WIRE_URL, "wire-1")))
    m = make_monitor({"Wire": url}, monitor="retention_days = 30")
    m.cycle()
    m.clock.advance(timedelta(days=40))
    assert shell.prune(m.rt) == 1
    texts = m.rt.store.db.execute("SELECT title, summary, content FROM items").fetchall()
    assert texts == [(ARTICLES["shengshu_wire"]["title"], "", "")]
    serve(feed_server, "/wire.xml", rss(entry("shengshu_wire", WIRE_URL + "?utm_source=rss", "wire-1-again")))
    m.cycle()
    assert len(slack_server.messages) == 1


def test_replayed_items_of_two_outlets_make_one_story(
    make_monitor, feed_server: FeedServer, slack_server: SlackServer
) -> None:
    """Items stored without alerting (older than ``first_poll_max_age`` on a feed's first poll)
    and replayed later cluster as a poll would have clustered them."""
    old = timedelta(days=2)
    wire = serve(feed_server, "/wire.xml", rss(entry("shengshu_wire", WIRE_URL, "wire-1", age=old)))
    explainer = serve(feed_server, "/explainer.xml", rss(entry("shengshu_explainer", EXPLAINER_URL, "exp-1", age=old)))
    m = make_monitor({"Wire": wire, "Explainer": explainer})
    m.cycle()
    assert not slack_server.messages
    since = START - timedelta(days=3)  # the window covers when they were published, not only first seen
    report = shell.replay(m.rt, m.rt.store.items.stored(since, unalerted=True), send=True)
    assert [a.kind for a in report.alerts] == ["alert", "follow_up"] and report.queued == 2
    m.cycle()
    (top,), (reply,) = slack_server.top_level(), slack_server.replies()
    assert reply["thread_ts"] == top["ts"]
    assert reply["text"].startswith("Also reported by Wire: ")  # stored items replay oldest first, then by key
