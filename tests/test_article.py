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


BODY = "Alibaba Cloud led the 2 billion yuan round in ShengShu, the maker of the Vidu video model."
PARAGRAPH = "World models are the next frontier. " + BODY * 3


@pytest.mark.parametrize(
    ("top", "title"),
    [
        (["ShengShu raises $290 million"], "ShengShu raises $290 million"),
        (["Reuters", "ShengShu raises $290 million"], "ShengShu raises $290 million"),
        (["TECHNOLOGY | AI", "REUTERS", "ShengShu raises $290 million"], "ShengShu raises $290 million"),
        (
            ["THE WALL STREET JOURNAL", "By Jane Doe and John Roe", "Nov 22, 2026 10:31 AM ET",
             "Alibaba leads $290 million round in ShengShu"],
            "Alibaba leads $290 million round in ShengShu",
        ),
        (["Updated 3 hours ago", "2026-11-22", "Alibaba bets on world models"], "Alibaba bets on world models"),
        (["22 November 2026", "Alibaba bets on AI on 22 November"], "Alibaba bets on AI on 22 November"),
        (["By 2030, world models will run every robot"], "By 2030, world models will run every robot"),
        (["新华社", "阿里云领投生数科技20亿元融资"], "阿里云领投生数科技20亿元融资"),
        (["Reuters", PARAGRAPH], "World models are the next frontier."),  # no headline line
        (["新华社", "世界模型是下一个前沿。" + BODY * 3], "世界模型是下一个前沿。"),
    ],
    ids=["plain", "outlet", "section-and-caps", "wsj", "stamps", "date-line", "by-a-year", "chinese", "paragraph",
         "chinese-paragraph"],
)  # fmt: skip
def test_a_text_articles_headline_skips_outlet_byline_and_date_lines(top: list[str], title: str) -> None:
    (item,) = items_from_bytes("\n\n".join([*top, BODY]).encode(), "article.txt", NOW)
    assert item.title == title
    assert item.summary.endswith(BODY)


def test_an_article_of_furniture_only_takes_its_first_line() -> None:
    (item,) = items_from_bytes(b"Reuters\nTech\n", "article.txt", NOW)
    assert (item.title, item.summary) == ("Reuters", "Tech")
