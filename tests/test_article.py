"""What `monitor rules test` reads: a feed file, or one article in text or HTML."""

from datetime import UTC, datetime

import pytest

from monitor.intake.article import items_from_bytes

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ARTICLE = "ShengShu raises $290 million\nAlibaba Cloud led the round in the maker of Vidu.\n"


@pytest.mark.parametrize("codec", ["utf-8", "utf-8-sig", "utf-16", "utf-32"])
def test_text_article_in_any_unicode_encoding(codec: str) -> None:
    (item,) = items_from_bytes(ARTICLE.encode(codec), "article.txt", NOW)
    assert item.title == "ShengShu raises $290 million"
    assert item.summary == "Alibaba Cloud led the round in the maker of Vidu."


def test_html_article_takes_its_heading() -> None:
    page = b"<html><title>Site</title><h1>PixVerse raises $60M</h1><p>A <b>video</b> model.</p></html>"
    (item,) = items_from_bytes(page, "page.html", NOW)
    assert item.title == "PixVerse raises $60M"
    assert "video model" in item.summary


def test_feed_file_gives_its_entries() -> None:
    feed = (
        '<?xml version="1.0" encoding="utf-16"?><rss version="2.0"><channel><title>T</title>'
        "<item><title>One</title></item><item><title>Two</title></item></channel></rss>"
    ).encode("utf-16")
    assert [item.title for item in items_from_bytes(feed, "feed.xml", NOW)] == ["One", "Two"]
