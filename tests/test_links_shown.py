"""People are shown an article's link as published, minus tracking parameters; the canonical form
(trailing slash removed, case folded, query re-encoded) is an identity key only. Slack, webhooks
and the digest, end to end on local servers; the store's migration on both engines."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import escape

import pytest
from conftest import article, rss, slack_section, write_config

from monitor import config, shell
from monitor.clock import FixedClock
from monitor.intake.links import publisher_link, unwrap
from monitor.intake.normalise import canonical_url, display_link
from monitor.model import Item, NewItem, OpenStory
from monitor.shell import digesting
from monitor.store import open_store
from monitor.store.schema import SCHEMA_VERSION
from monitor.testing import FeedServer, SlackServer, WebhookReceiver

PUBLISHED = "https://Wire.example/2026/11/Alibaba-ShengShu/?id=7&utm_source=rss&q=a%20b&fbclid=x1#top"
SHOWN = "https://Wire.example/2026/11/Alibaba-ShengShu/?id=7&q=a%20b#top"
CANONICAL = "https://wire.example/2026/11/Alibaba-ShengShu?id=7&q=a+b"
PUBLISHER = "https://Journal.example/News/ShengShu/?utm_campaign=gn&page=2"
GOOGLE = "https://news.google.com/news/url?sa=t&url=" + quote(PUBLISHER, safe="")


@pytest.mark.parametrize(
    ("link", "shown"),
    [
        (PUBLISHER, "https://Journal.example/News/ShengShu/?page=2"),
        ("https://a.example/x?utm_source=a&utm_medium=b", "https://a.example/x"),
        ("https://a.example/x/?b=2&a=1", "https://a.example/x/?b=2&a=1"),  # untouched: order, slash
        ("https://a.example/x#frag?utm_source=a", "https://a.example/x#frag?utm_source=a"),  # a fragment
        ("  https://a.example/\u200bx  ", "https://a.example/x"),  # cleaned like all text from outside
        ("javascript:alert(1)", None),
        ("", None),
    ],
)
def test_the_display_link_drops_only_tracking_parameters(link: str, shown: str | None) -> None:
    assert display_link(link) == shown


def test_the_canonical_url_is_the_identity_form_of_the_display_link() -> None:
    assert display_link(PUBLISHED) == SHOWN
    assert canonical_url(PUBLISHED) == canonical_url(SHOWN) == CANONICAL


def test_an_aggregator_link_shows_the_publishers_as_published() -> None:
    assert publisher_link(GOOGLE) == "https://Journal.example/News/ShengShu/?page=2"
    assert unwrap(GOOGLE) == "https://journal.example/News/ShengShu?page=2"
    guid = "https://Journal.example/a/?utm_source=x"
    assert publisher_link("https://feedproxy.google.com/~r/j/~3/abc/", guid) == "https://Journal.example/a/"


def test_slack_webhooks_and_the_digest_link_the_article_as_published(
    tmp_path: Path, feed_server: FeedServer, slack_server: SlackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-local-test")
    monkeypatch.setenv("HOOK_SECRET", "s3cret")
    wire = feed_server.add("/wire.xml", rss(article("shengshu_wire.txt", escape(PUBLISHED), "w-1")))
    aggregator = feed_server.add("/gn.xml", rss(article("shengshu_explainer.txt", escape(GOOGLE), "gn-1")))
    with WebhookReceiver() as receiver:
        extra = slack_section(slack_server) + (
            f'\n[[webhooks]]\nname = "crm"\nurl = "{receiver.url}/in"\nevents = ["alert", "follow_up"]\n'
            'secret_env = "HOOK_SECRET"\n\n[digest]\ntime = "08:00"\nto = ["team@example.org"]\n'
            'from = "monitor@example.org"\n'
        )
        cfg = config.load(write_config(tmp_path, {"Wire": wire, "Aggregator": aggregator}, extra))
        clock = FixedClock(datetime.now(UTC))
        rt = shell.open_runtime(cfg, clock=clock)
        try:
            shell.poll_cycle(rt)
            for _ in range(3):  # a follow-up waits for its story's first message
                shell.deliver_due(rt)
                clock.advance(shell.FOLLOW_UP_WAIT)
            preview = digesting.write_preview(rt, tmp_path / "digest.html")
        finally:
            rt.close()
        hooks = {r["json"]["data"]["url"] for r in receiver.accepted()}
        data = {r["json"]["event"]: r["json"]["data"] for r in receiver.accepted()}
    assert data["follow_up"]["story_title"] == data["alert"]["story_title"] == data["alert"]["title"]

    journal = "https://Journal.example/News/ShengShu/?page=2"
    slack = [m["metadata"]["event_payload"]["url"] for m in slack_server.messages]
    assert sorted(slack) == sorted(hooks) == sorted([SHOWN, journal])
    assert any(f"<{SHOWN}|" in str(m["blocks"]).replace("&amp;", "&") for m in slack_server.messages)
    (story,) = [story for group in preview.groups for rule in group.rules for story in rule.stories]
    assert {story.url} | {outlet.url for outlet in story.outlets} == {SHOWN, journal}
    html = (tmp_path / "digest.html").read_text(encoding="utf-8")
    assert f'href="{SHOWN.replace("&", "&amp;")}"' in html and f'href="{journal}"' in html


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_database_from_before_links_is_migrated_and_shows_its_urls(
    tmp_path: Path, engine: str, request: pytest.FixtureRequest
) -> None:
    database = tmp_path / "m.db" if engine == "sqlite" else request.getfixturevalue("pg_url")
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    old = Item("F", "g1", "https://x.example/old", "Old", "s", "s", now, now, "fp1")
    store = open_store(database)
    store.items.record([NewItem(old, ("url:https://x.example/old",), (), OpenStory())], now)
    for table, column in [("items", "link"), ("stories", "link"), ("feeds", "active"), ("feeds", "synced")]:
        store.db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")  # the schema of version 1
    if engine == "sqlite":
        store.db.execute("PRAGMA user_version = 1")
    else:
        store.db.execute("UPDATE monitor_schema SET version = 1")
    store.close()

    store = open_store(database)  # migrated on open
    try:
        new = Item("F", "g2", "https://x.example/new", "New", "s", "s", now, now, "fp2", link="https://x.example/new/")
        store.items.record([NewItem(new, ("url:https://x.example/new",), (), OpenStory())], now)
        stories = store.items.stories_first_seen(now, now.replace(hour=13))
        stored = {item.title: item.link for item in store.items.stored(now.replace(hour=0))}
        if engine == "sqlite":
            version = store.db.execute("PRAGMA user_version").fetchone()[0]
        else:
            version = store.db.execute("SELECT version FROM monitor_schema").fetchone()[0]
    finally:
        store.close()
    assert version == SCHEMA_VERSION == 2
    assert [(s.title, s.url, [c.url for c in s.items]) for s in stories] == [
        ("Old", "https://x.example/old", ["https://x.example/old"]),
        ("New", "https://x.example/new/", ["https://x.example/new/"]),
    ]
    assert stored == {"Old": None, "New": "https://x.example/new/"}
    assert open_store(database).close() is None  # opening again changes nothing
