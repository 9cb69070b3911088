"""The console notifier (no Slack configured), as `monitor poll` prints it: a follow-up names its
story, wherever it lands in the output, and times are local ([monitor] timezone)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from conftest import DATA, rss, write_config
from conftest import run_monitor as run

from monitor.testing import FeedServer

ARTICLES = {a["id"]: a for a in map(json.loads, (DATA / "story_articles.jsonl").read_text("utf-8").splitlines())}


def entry(article: str, link: str) -> dict[str, str]:
    a = ARTICLES[article]
    published = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    return {
        "title": escape(a["title"]),
        "link": link,
        "guid": link,
        "description": escape(a["text"]),
        "pubDate": published,
    }


def test_a_follow_up_names_its_story_and_times_are_local(tmp_path: Path, feed_server: FeedServer) -> None:
    wire = feed_server.add(
        "/wire.xml",
        rss(
            entry("shengshu_wire", "https://wire.example/shengshu"),
            entry("pixverse_a", "https://wire.example/pixverse"),
        ),
    )
    # answered later, so its item (another story's coverage) is printed after both wire alerts
    journal = feed_server.add("/journal.xml", rss(entry("shengshu_explainer", "https://journal.example/s")), delay=0.3)
    config = write_config(tmp_path, {"Wire": wire, "Journal": journal}, monitor='timezone = "Asia/Tokyo"')
    result = run("poll", "--config", str(config))
    assert result.returncode == 0, result.stderr
    blocks = result.stdout.split("\n[")
    assert len(blocks) == 2 and "↳" not in blocks[0], result.stdout
    shengshu, pixverse = blocks[0], blocks[1]
    assert re.search(r"\n  Wire · \d{4}-\d\d-\d\d \d\d:\d\d JST · story #1\n", shengshu), shengshu
    assert "PixVerse" in pixverse.splitlines()[0] and " · story #2\n" in pixverse
    follow_up = next(line for line in pixverse.splitlines() if "↳" in line)
    title = ARTICLES["shengshu_wire"]["title"]
    assert follow_up == f"  ↳ also reported by Journal: {ARTICLES['shengshu_explainer']['title']} (story #1: {title})"
