"""`monitor feeds import|export|list`: config.toml stays the file users edit."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import monitor_command, write_config

from monitor import config

OPML = """<?xml version="1.0" encoding="utf-8"?>
<opml version="2.0"><head><title>subs</title></head><body>
  <outline text="AI">
    <outline type="rss" text="Robot &amp; Co &quot;news&quot;" xmlUrl="https://robots.example/feed.xml"/>
    <outline type="rss" title="Known" text="Known" xmlUrl="https://known.example/rss"/>
    <outline type="rss" text="Known" xmlUrl="https://other.example/rss"/>
  </outline>
  <outline text="a folder without feeds"/>
</body></opml>
"""


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(monitor_command(*args), capture_output=True, text=True, input=stdin, timeout=60)


def test_import_appends_tables_and_keeps_the_file_text(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"Known": "https://known.example/rss"}, extra="# my own comment\n")
    before = path.read_text()
    (tmp_path / "subs.opml").write_text(OPML)
    result = run("feeds", "import", str(tmp_path / "subs.opml"), "--config", str(path))
    assert result.returncode == 0, result.stderr
    assert path.read_text().startswith(before)
    feeds = {f.name: f.url for f in config.load(path).feeds}
    assert feeds == {
        "Known": "https://known.example/rss",
        'Robot & Co "news"': "https://robots.example/feed.xml",
        "Known (2)": "https://other.example/rss",
    }
    assert "skipped Known" in result.stdout and "2 feeds added" in result.stderr
    again = run("feeds", "import", str(tmp_path / "subs.opml"), "--config", str(path))
    assert again.returncode == 0 and "0 feeds added" in again.stderr


def test_export_round_trips_and_list_shows_health(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"A & B": "https://a.example/feed?x=1&y=2", "C": "https://c.example/rss"})
    exported = run("feeds", "export", "--config", str(path))
    assert exported.returncode == 0 and exported.stdout.startswith("<?xml")
    (tmp_path / "other").mkdir()
    other = write_config(tmp_path / "other", {})
    (tmp_path / "out.opml").write_text(exported.stdout)
    assert run("feeds", "import", str(tmp_path / "out.opml"), "--config", str(other)).returncode == 0
    assert [(f.name, f.url) for f in config.load(other).feeds] == [(f.name, f.url) for f in config.load(path).feeds]

    listed = run("feeds", "list", "--json", "--config", str(path))
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["health"], r["interval"]) for r in rows] == [
        ("A & B", "new", "0:15:00"),
        ("C", "new", "0:15:00"),
    ]
    plain = run("feeds", "list", "--config", str(path))
    assert "https://c.example/rss" in plain.stdout and "2 feeds" in plain.stderr


def test_bad_opml_or_bad_urls_change_nothing(tmp_path: Path) -> None:
    path = write_config(tmp_path, {})
    before = path.read_text()
    (tmp_path / "dtd.opml").write_text('<!DOCTYPE opml [<!ENTITY x "y">]><opml><body/></opml>')
    (tmp_path / "ftp.opml").write_text('<opml><body><outline text="F" xmlUrl="ftp://files.example/f"/></body></opml>')
    (tmp_path / "html.opml").write_text("<html><body>not opml</body></html>")
    for name, message in (("dtd", "DOCTYPE"), ("ftp", "http(s) URL"), ("html", "not an OPML file")):
        result = run("feeds", "import", str(tmp_path / f"{name}.opml"), "--config", str(path))
        assert result.returncode == 2 and message in result.stderr, (name, result.stderr)
    assert path.read_text() == before
