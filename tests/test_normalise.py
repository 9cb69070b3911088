from datetime import UTC, datetime, timedelta

import pytest

from monitor.intake import normalise
from monitor.model import Entry

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://Example.com/a/?utm_source=rss&utm_medium=feed", "https://example.com/a"),
        ("HTTP://example.com:80/a#section", "http://example.com/a"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com/a?id=7&fbclid=xyz&gclid=1", "https://example.com/a?id=7"),
        ("https://example.com:8443/a/", "https://example.com:8443/a"),
        ("javascript:alert(1)", None),
        ("/relative/path", None),
        ("", None),
    ],
    ids=[
        "utm",
        "scheme-port-fragment",
        "empty-path",
        "fbclid-gclid",
        "other-port",
        "javascript",
        "relative",
        "empty",
    ],
)
def test_canonical_url(url: str, expected: str | None) -> None:
    assert normalise.canonical_url(url) == expected


def test_html_to_text_separates_words_and_drops_scripts() -> None:
    text = normalise.html_to_text("<p>Hello<b>world</b></p><script>evil()</script><p>AT&amp;T</p>")
    assert text == "Hello world AT&T"


def test_fingerprint_ignores_case_space_and_punctuation() -> None:
    assert normalise.fingerprint("Big News!", "Some  text.") == normalise.fingerprint("big news", "some text")
    assert normalise.fingerprint("Big News", "a") != normalise.fingerprint("Big News", "b")


def test_missing_and_future_dates_become_first_seen() -> None:
    future = Entry("g", "https://x.example/a", "T", "s", "", NOW + timedelta(days=30))
    missing = Entry("g", "https://x.example/a", "T", "s", "", None)
    assert normalise.item(future, "F", NOW).published == NOW
    assert normalise.item(missing, "F", NOW).published == NOW


def test_html_title_becomes_text_and_huge_text_is_capped() -> None:
    entry = Entry(None, None, "A <b>bold</b> move", "<p>" + "word " * 10_000 + "</p>", "", None, title_is_html=True)
    item = normalise.item(entry, "F", NOW)
    assert item.title == "A bold move"
    assert len(item.summary) <= normalise.MAX_TEXT_CHARS + 2
    assert item.content == item.summary
