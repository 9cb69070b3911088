"""full_text: a feed that carries only headlines alerts on what its articles say, each page fetched
once, with the page's furniture (navigation, "most read", footer) left out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from conftest import DATA, rss, run_monitor, slack_section, write_config

from monitor.intake.fulltext import ArticleText, NoArticle, article_text
from monitor.testing import FeedServer, SlackServer

PAGE = (DATA / "pages" / "shengshu_article.html").read_bytes()


def test_the_article_text_leaves_the_page_furniture_out() -> None:
    found = article_text(PAGE, "text/html; charset=utf-8")
    assert isinstance(found, ArticleText)
    assert "2 billion yuan ($290 million) in a Series B round led by Alibaba Cloud" in found.text
    for furniture in ("Most read", "Heathrow", "Acme raises", "Privacy policy", "Sign in", "Breaking business news"):
        assert furniture not in found.text


@pytest.mark.parametrize(
    ("page", "content_type", "reason"),
    [
        (PAGE, "application/pdf", "the page is application/pdf, not HTML"),
        (b"", "text/html", "no article text"),
        (b'<?xml version="1.0" encoding="bogus"?><html><p>x</p></html>', "text/html", "could not be read as HTML"),
        (b"<html><body><p>Subscribe to read this article.</p></body></html>", "text/html", "no article text"),
        (b"\x00\xff\xfe garbage \x01" * 50, "", "no article text"),
    ],
    ids=["pdf", "empty", "unknown-encoding", "paywall-stub", "binary"],
)
def test_a_page_without_an_article_gives_a_reason(page: bytes, content_type: str, reason: str) -> None:
    found = article_text(page, content_type)
    assert isinstance(found, NoArticle) and reason in found.reason


def headline(title: str, link: str, guid: str) -> dict[str, str]:
    """A title-only RSS item, published an hour ago."""
    published = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    return {"title": title, "link": link, "guid": guid, "pubDate": published}


def test_a_headline_feed_alerts_the_deal_its_article_tells_fetching_each_page_once(
    tmp_path: Path, feed_server: FeedServer, slack_server: SlackServer
) -> None:
    feed_server.add("/news/vidu-round", PAGE, content_type="text/html; charset=utf-8")
    feed_server.add("/news/other-round", PAGE, content_type="text/html; charset=utf-8")
    teasers = feed_server.add(
        "/teasers.xml", rss(headline("Vidu maker closes new round", feed_server.url + "/news/vidu-round", "t-1"))
    )
    plain = feed_server.add(
        "/plain.xml",
        rss(headline("Kling maker's video model tops a benchmark", feed_server.url + "/news/other-round", "p-1")),
    )
    config = write_config(tmp_path, {"Teasers": teasers, "Plain": plain}, slack_section(slack_server))
    text = config.read_text().replace(f'url = "{teasers}"', f'url = "{teasers}"\nfull_text = true')
    config.write_text(text)
    env = {"SLACK_BOT_TOKEN": "xoxb-local-test"}

    for _ in range(2):
        result = run_monitor("poll", "--config", str(config), env=env)
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr

    deal = next(m for m in slack_server.messages if "Vidu maker" in m["text"])
    assert deal["metadata"]["event_payload"]["rule"] in ("world-model-deals", "world-model-money")  # high priority
    shown = json.dumps(deal["blocks"], ensure_ascii=False)
    assert "2 billion yuan" in shown
    assert "Heathrow" not in shown and "Acme" not in shown  # the "most read" list stayed out
    assert len(feed_server.requests_for("/news/vidu-round")) == 1  # once, across two polls
    assert feed_server.requests_for("/news/other-round") == []  # a feed without full_text fetches nothing extra
