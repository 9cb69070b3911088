"""Shared fixtures: local feed and Slack servers on 127.0.0.1, temp config files, a clean env,
and rule-pack builders for the rule engine tests."""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.matching import RuleSet, load_rules
from monitor.model import Item
from monitor.testing import FeedServer, SlackServer

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
RULES_DIR = ROOT / "rules"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hermetic tests: no proxies, no real Slack or SMTP credentials, no config from the caller."""
    for name in list(os.environ):
        if name.upper().endswith("_PROXY") or name.startswith(("SLACK_", "SMTP_", "MONITOR_")):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def slack_server() -> Iterator[SlackServer]:
    with SlackServer() as server:
        yield server  # type: ignore[misc]


def write_config(directory: Path, feeds: dict[str, str], extra: str = "", rules: Path | None = None) -> Path:
    """A config.toml in ``directory`` polling ``feeds`` (name -> url) with the project's rule pack."""
    lines = [
        "[monitor]",
        'database = "data/monitor.db"',
        f'rules = "{(rules or ROOT / "rules").as_posix()}"',
        "",
        "[fetch]",
        "timeout = 5",
        "connect_timeout = 2",
    ]
    for name, url in feeds.items():
        lines += ["", "[[feeds]]", f'name = "{name}"', f'url = "{url}"']
    path = directory / "config.toml"
    path.write_text("\n".join(lines) + "\n" + textwrap.dedent(extra), encoding="utf-8")
    return path


def slack_section(server: SlackServer, channel: str = "#world-model-alerts") -> str:
    return f"""
[slack]
token_env = "SLACK_BOT_TOKEN"
channel = "{channel}"
base_url = "{server.base_url}"
"""


def monitor_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "monitor", *args]


def monitor_env(**extra: str) -> dict[str, str]:
    """Environment for a `monitor` subprocess that imports this checkout's package, from any cwd."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def rss(*items: dict[str, str], title: str = "Test feed") -> str:
    """A small RSS 2.0 document; each item is a dict of its child elements (already escaped)."""
    body = "".join(
        "<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in item.items()) + "</item>" for item in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://example.org/</link><description>t</description>"
        f"{body}</channel></rss>"
    )


def make_item(title: str = "", summary: str = "", content: str = "", feed: str = "Test feed") -> Item:
    return Item(
        feed=feed,
        guid=None,
        url=None,
        title=title,
        summary=summary,
        content=content,
        published=NOW,
        first_seen=NOW,
        fingerprint="fp",
    )


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """An empty rules directory holding a copy of the real company list."""
    directory = tmp_path / "rules"
    directory.mkdir()
    shutil.copy(RULES_DIR / "entities.toml", directory / "entities.toml")
    return directory


@pytest.fixture
def write_pack(rules_dir: Path) -> Callable[..., Path]:
    def write(text: str, name: str = "pack.toml") -> Path:
        path = rules_dir / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return write


@pytest.fixture
def one_rule(write_pack: Callable[..., Path], rules_dir: Path) -> Callable[..., RuleSet]:
    """``one_rule('"world model" AND funding', min_amount_usd=1e6)`` -> a RuleSet with rule id 'r'."""

    def build(query: str, **extra: object) -> RuleSet:
        lines = ["[[rule]]", 'id = "r"', f"query = '''{query}'''"]
        lines += [f"{key} = {_toml(value)}" for key, value in extra.items()]
        write_pack("\n".join(lines) + "\n")
        return load_rules(rules_dir)

    return build


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


@pytest.fixture
def item() -> Callable[..., Item]:
    """``item(title, summary="", content="", feed="Test feed")`` -> an Item."""
    return make_item
