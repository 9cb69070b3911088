"""Hostile text at intake, one defect of issue 15 each: a NUL that PostgreSQL refuses, one bad
entry that blanked its feed, a "not a feed" hint that recommended a ``javascript:`` URL; and every
text field and URL of an item cleaned once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import run_monitor, world_model_rules, write_config

from monitor.intake import normalise
from monitor.intake.parse import parse
from monitor.model import Entry, Fetched, FetchFailed, ParsedFeed
from monitor.testing import FeedServer
from monitor.textsafety import clean


def test_a_nul_in_a_title_no_longer_breaks_the_poll_on_postgresql(
    feed_server: FeedServer, tmp_path: Path, pg_url: str
) -> None:
    """Issue 15, 1: `&#0;` or a raw 0x00 byte reached PostgreSQL, which refused the whole poll."""
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>Acme&#0; world model</title><link>https://n.example/a</link></item>"
        "<item><title>Bolt world\x00 model</title><link>https://n.example/b</link>"
        "<description>raw \x00 NUL</description></item></channel></rss>"
    )
    rules = world_model_rules(tmp_path)
    config = write_config(tmp_path, {"Nul": feed_server.add("/nul.xml", feed)}, rules=rules)
    config.write_text(config.read_text().replace('"data/monitor.db"', json.dumps(pg_url)), encoding="utf-8")
    poll = run_monitor("poll", "--config", str(config))
    assert poll.returncode == 0, poll.stderr
    assert "Traceback" not in poll.stderr
    assert "Acme world model" in poll.stdout and "Bolt world model" in poll.stdout  # the console notifier


def read_feed(body: bytes, content_type: str = "application/rss+xml") -> ParsedFeed | FetchFailed:
    url = "https://site.example/news/"
    return parse(Fetched(url, url, 200, {"content-type": content_type}, body, timedelta(0)))


def test_one_bad_entry_costs_only_itself() -> None:
    """Issue 15, 5: one `&#xD800;` made feedparser raise, and none of the feed's entries was read."""
    titles = ["Good one", "Bad &#xD800; surrogate", "Good two", "Beyond Unicode &#x110000;", "Good three"]
    items = "".join(f"<item><title>{t}</title><link>https://n.example/{n}</link></item>" for n, t in enumerate(titles))
    parsed = read_feed(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()
    )
    assert isinstance(parsed, ParsedFeed), parsed
    assert [clean(e.title) for e in parsed.entries] == ["Good one", "Bad \ufffd surrogate", "Good two",
                                                        "Beyond Unicode \ufffd", "Good three"]  # fmt: skip


def page(*hrefs: str) -> bytes:
    links = "".join(f'<link rel="alternate" type="application/rss+xml" href="{href}">' for href in hrefs)
    return f"<html><head>{links}</head><body>news</body></html>".encode()


@pytest.mark.parametrize("href", ["javascript:alert(1)", "data:text/xml,<rss/>", "file:///etc/passwd", " JaVaScRiPt:x"])
def test_the_not_a_feed_hint_suggests_only_http_urls(href: str) -> None:
    """Issue 15, 8: the hint recommended whatever a hostile page advertised."""
    alone = read_feed(page(href), "text/html")
    assert isinstance(alone, FetchFailed) and alone.kind == "not_a_feed"
    assert "advertises" not in alone.message and href.strip()[:4] not in alone.message
    beside = read_feed(page(href, "../rss.xml"), "text/html")
    assert isinstance(beside, FetchFailed)
    assert beside.message.endswith("the page advertises a feed at https://site.example/rss.xml: use that URL")


def test_every_text_field_and_url_of_an_item_is_cleaned() -> None:
    hostile = "\x1b[31m\x07\x00\ud800\u202e\u200b\u200e\u061c\u2066\ufeff"
    entry = Entry(
        guid=f"g{hostile}1",
        link=f"https://n.example/a{hostile}b",
        title=f"World{hostile} model",
        summary_html=f"<p>Sum{hostile}mary &#27;&#x202E;&#x200B;x</p>",
        content_html=f"Con{hostile}tent",
        published=None,
    )
    item = normalise.item(entry, "Feed", datetime(2026, 3, 1, tzinfo=UTC))
    assert (item.guid, item.url, item.title) == ("g[31m1", "https://n.example/a[31mb", "World[31m model")
    assert (item.summary, item.content) == ("Sum[31mmary x", "Con[31mtent")
