from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.matching import RuleSet, load_rules
from monitor.model import Item

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


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
