"""The backup commands of docs/operations.md, run as written against a live WAL database (writes
not yet checkpointed into the main file, the store still open)."""

from __future__ import annotations

import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import ROOT
from doctext import sections

from monitor.model import PollOutcome
from monitor.settings import FeedConfig
from monitor.store import open_store

SECTION = sections((ROOT / "docs" / "operations.md").read_text(encoding="utf-8"))["Backups"]
COMMANDS = [line for block in re.findall(r"```sh\n(.+?)\n```", SECTION, re.S) for line in block.splitlines()]


@pytest.fixture
def live_database(tmp_path: Path):
    store = open_store(tmp_path / "data" / "monitor.db")
    store.feeds.sync([FeedConfig(f"feed {n}", f"https://{n}.example/feed", timedelta(minutes=15)) for n in range(50)])
    store.feeds.record_poll("feed 7", PollOutcome("error", error="HTTP 500"), datetime.now(UTC))
    assert (tmp_path / "data" / "monitor.db-wal").stat().st_size > 0  # the rows are still in the WAL
    yield store
    store.close()


def assert_is_a_full_copy(backup: Path) -> None:
    copy = sqlite3.connect(backup)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("SELECT count(*) FROM feeds").fetchone() == (50,)
        assert copy.execute("SELECT last_error FROM feeds WHERE name = 'feed 7'").fetchone() == ("HTTP 500",)
    finally:
        copy.close()


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="the sqlite3 program is not installed")
def test_sqlite3_backup_command(tmp_path: Path, live_database) -> None:
    (command,) = [c for c in COMMANDS if c.startswith("sqlite3 ")]
    subprocess.run(shlex.split(command), cwd=tmp_path, check=True, timeout=30)
    assert_is_a_full_copy(tmp_path / "data" / "monitor-backup.db")


def test_container_backup_command(tmp_path: Path, live_database) -> None:
    (command,) = [c for c in COMMANDS if c.startswith("docker exec monitor python -c")]
    code = shlex.split(command)[-1].replace("/data/", f"{tmp_path}/data/")  # the volume, here
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
    assert_is_a_full_copy(tmp_path / "data" / "monitor-backup.db")
