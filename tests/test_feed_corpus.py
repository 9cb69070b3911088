"""Every ill-formed or hostile feed in tests/data/feeds is read without an exception, as its own
note says: the note is an XML comment at the top of the file (or a NAME.note sidecar for files
that cannot hold one) with ``tests:``, ``expect: {json}`` and an optional ``content-type:``.

Where the fast path (``xmlfeed``) takes a file, the same file is also read through feedparser
and the items must agree, so the fast path never changes what an item says.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA

from monitor.intake import normalise, xmlfeed
from monitor.intake import parse as parse_module
from monitor.intake.parse import parse
from monitor.model import Fetched, FetchFailed, ParsedFeed

FEEDS = DATA / "feeds"
FEED_URL = "http://feeds.test/news/feed.xml"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
NOTE = re.compile(r"<!--(.*?)-->", re.DOTALL)


def corpus() -> list[Path]:
    return sorted(p for p in FEEDS.iterdir() if p.suffix != ".note")


def note_of(path: Path) -> dict[str, str]:
    sidecar = path.with_name(path.name + ".note")
    text = sidecar.read_text("utf-8") if sidecar.exists() else _decoded_head(path.read_bytes())
    found = NOTE.search(text)
    assert found, f"{path.name}: no note (an XML comment at the top, or {sidecar.name})"
    fields = dict(line.strip().split(": ", 1) for line in found.group(1).strip().splitlines())
    assert {"tests", "expect"} <= fields.keys(), f"{path.name}: the note needs tests: and expect:"
    return fields


def _decoded_head(data: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16", "latin-1"):
        try:
            return data[:4000].decode(encoding)
        except UnicodeDecodeError:
            continue
    return ""


def read(path: Path, content_type: str) -> ParsedFeed | FetchFailed:
    fetched = Fetched(FEED_URL, FEED_URL, 200, {"content-type": content_type}, path.read_bytes(), timedelta(0))
    return parse(fetched)


def test_the_corpus_is_large_enough_and_exercises_both_parsers() -> None:
    assert len(corpus()) >= 25
    assert 10 <= len(fast_path_files()) < len(corpus())


@pytest.mark.parametrize("path", corpus(), ids=lambda p: p.name)
def test_feed_file(path: Path) -> None:
    note = note_of(path)
    expect: dict[str, Any] = json.loads(note["expect"])
    started = time.monotonic()
    result = read(path, note.get("content-type", "application/rss+xml"))
    assert time.monotonic() - started < expect.get("max_seconds", 5), "too slow"
    if expect.get("no_exception"):
        return
    if "failed" in expect:
        assert isinstance(result, FetchFailed), f"expected a failure, got {result}"
        assert result.kind == expect["failed"]
        assert expect.get("message", "") in result.message
        return
    assert isinstance(result, ParsedFeed), f"expected entries, got {result}"
    items = normalise.items(result, "Corpus", NOW)
    if "entries" in expect:
        assert len(items) == expect["entries"]
    assert len(items) >= expect.get("entries_min", 0)
    first = items[0] if items else None
    checks = {
        "title": lambda v: v in first.title,
        "title_not": lambda v: v not in first.title,
        "title_max": lambda v: len(first.title) <= v,
        "summary": lambda v: v in first.summary,
        "summary_not": lambda v: v not in first.summary,
        "summary_max": lambda v: len(first.summary) <= v,
        "url": lambda v: first.url == v,
        "published": lambda v: first.published == (NOW if v == "first_seen" else datetime.fromisoformat(v)),
        "ttl_minutes": lambda v: result.ttl == timedelta(minutes=v),
    }
    for key, value in expect.items():
        if key in checks:
            assert checks[key](value), f"{key}: expected {value!r}, got {first}"


def fast_path_files() -> list[Path]:
    def taken(path: Path) -> bool:
        content_type = note_of(path).get("content-type", "application/rss+xml")
        return xmlfeed.parse(path.read_bytes(), {"content-type": content_type}, FEED_URL) is not None

    return [path for path in corpus() if taken(path)]


@pytest.mark.parametrize("path", fast_path_files(), ids=lambda p: p.name)
def test_fast_path_agrees_with_feedparser(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    content_type = note_of(path).get("content-type", "application/rss+xml")
    fast = read(path, content_type)
    monkeypatch.setattr(parse_module.xmlfeed, "parse", lambda *args: None)
    slow = read(path, content_type)
    assert isinstance(fast, ParsedFeed) and isinstance(slow, ParsedFeed)
    fields = ("title", "url", "guid", "summary", "content", "published")

    def view(parsed: ParsedFeed) -> list[tuple[object, ...]]:
        return [tuple(getattr(i, f) for f in fields) for i in normalise.items(parsed, "Corpus", NOW)]

    assert view(fast) == view(slow)
    assert fast.ttl == slow.ttl
