"""Driver errors become one StoreError line naming the database, the cause (``kind``) and the fix:
a full disk, a folder this user cannot write, a damaged file, a lock held too long."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from conftest import run_monitor, write_config

from monitor.errors import StoreError
from monitor.model import Item, NewItem
from monitor.settings import FeedConfig
from monitor.store import open_store

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
NOBODY = 65534


def items(count: int) -> list[NewItem]:
    return [
        NewItem(
            Item("F", f"g{n}", f"https://x.example/{n}", f"Title {n}", "s" * 400, "c" * 400, NOW, NOW, f"fp{n}"),
            (f"k{n}",),
        )
        for n in range(count)
    ]


def failure(action: Callable[[], object]) -> StoreError:
    with pytest.raises(StoreError) as caught:
        action()
    assert "\n" not in str(caught.value)
    return caught.value


def test_a_full_disk_names_the_file_and_where_to_free_space(tmp_path: Path) -> None:
    path = tmp_path / "data" / "monitor.db"
    store = open_store(path)
    try:
        pages = store.db.execute("PRAGMA page_count").fetchone()[0]
        store.db.execute(f"PRAGMA max_page_count = {pages}")  # the file cannot grow: SQLITE_FULL
        error = failure(lambda: store.items.record(items(200), NOW))
        assert store.items.count(NOW) == 0  # nothing half-written
    finally:
        store.close()
    assert error.kind == "full"
    assert str(error) == (
        f"the database {path} cannot grow (database or disk is full): free space on the disk holding {path.parent}"
    )


def as_user(uid: int, action: Callable[[], str]) -> str:
    """``action()`` in a forked child running as ``uid`` (what it returns, or its error)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: everything it runs is imported already
        try:
            os.setgid(uid)
            os.setuid(uid)
            answer = action()
        except BaseException as e:
            answer = f"{type(e).__name__}: {e}"
        os.write(write, answer.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        answer = pipe.read().decode()
    os.waitpid(pid, 0)
    return answer


def test_a_folder_owned_by_another_user_names_both_uids_and_the_fix() -> None:
    """The container runs as uid 10001; a root-owned bind mount for /data is the usual cause."""

    def try_open(path: Path) -> str:
        try:
            open_store(path).close()
        except StoreError as e:
            return f"{e.kind}: {e}"
        return "opened"

    if os.geteuid() != 0:  # a folder of root's that this user cannot write
        assert try_open(Path("/usr/monitor-test.db")) == (
            f"permission: cannot write the database /usr/monitor-test.db: /usr is owned by uid 0 and the monitor "
            f"runs as uid {os.geteuid()}: chown -R {os.geteuid()} /usr on the host, or run the container with --user 0"
        )
        return
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data"
        data.mkdir(mode=0o755)  # root's, like a bind mount the host's root created
        os.chmod(folder, 0o755)
        assert as_user(NOBODY, lambda: try_open(data / "monitor.db")) == (
            f"permission: cannot write the database {data}/monitor.db: {data} is owned by uid 0 and the monitor "
            f"runs as uid {NOBODY}: chown -R {NOBODY} {data} on the host, or run the container with --user 0"
        )
        assert as_user(NOBODY, lambda: try_open(data / "sub" / "monitor.db")).endswith(
            f"{data} is owned by uid 0 and the monitor runs as uid {NOBODY}: mkdir -p {data}/sub && chown {NOBODY} "
            f"{data}/sub on the host, or run the container with --user 0"
        )


def test_a_damaged_file_says_so_and_how_to_restore_it_without_a_traceback(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"F": "http://127.0.0.1:9/feed"})
    path = tmp_path / "data" / "monitor.db"
    store = open_store(path)
    store.feeds.sync([FeedConfig("F", "http://127.0.0.1:9/feed", timedelta(minutes=5))])
    store.items.record(items(300), NOW)
    store.close()
    data = path.read_bytes()
    page = 4096  # garbage over every page but the first: the schema survives, the rows do not
    path.write_bytes(data[:page] + b"\xde\xad\xbe\xef" * ((len(data) - page) // 4))

    def read() -> object:
        damaged = open_store(path)
        try:
            return list(damaged.items.stored(NOW))
        finally:
            damaged.close()

    error = failure(read)
    assert error.kind == "corrupt"
    assert str(error) == (
        f"the database {path} is damaged (database disk image is malformed): stop the monitor, put back the latest "
        "backup (README, Backups) and delete monitor.db-wal and monitor.db-shm beside it"
    )
    status = run_monitor("status", "--config", str(config))
    assert (status.returncode, status.stderr) == (1, f"error: {error}\n")


def test_a_write_lock_held_too_long_is_busy(tmp_path: Path) -> None:
    path = tmp_path / "monitor.db"
    store = open_store(path)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        error = failure(lambda: store.heartbeat(NOW, timeout=0.1))
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.heartbeat(NOW, timeout=0.1)
    store.close()
    assert error.kind == "busy"
    assert str(error).startswith(f"the database {path} is locked by another process (database is locked): ")


def test_postgres_errors_are_mapped_too(pg_url: str) -> None:
    store = open_store(pg_url)
    try:
        store.heartbeat(NOW)
        with psycopg.connect(pg_url, autocommit=False) as other:
            other.execute("SELECT * FROM heartbeat FOR UPDATE")  # holds the heartbeat row
            busy = failure(lambda: store.heartbeat(NOW, timeout=0.2))
        assert busy.kind == "busy"
        assert str(busy).startswith("PostgreSQL at /var/run/postgresql:5432/monitor_tests_")
        assert "timeout" in str(busy)
    finally:
        store.close()
    assert failure(lambda: store.feeds.states()).kind == "unreachable"  # the pool is closed


def cut_short(tmp_path: Path) -> bytes:
    """The first 50 bytes of a SQLite database: the start of its header, no page."""
    whole = tmp_path / "whole.db"
    with contextlib.closing(sqlite3.connect(whole)) as conn, conn:
        conn.execute("CREATE TABLE t(x)")
    return whole.read_bytes()[:50]


@pytest.mark.parametrize(
    ("content", "cause"),
    [(b"just some text, not a database\n", "file is not a database"), (None, "database disk image is malformed")],
    ids=["not-sqlite", "cut-short"],
)
@pytest.mark.parametrize("command", ["poll", "status", "run", "outbox list", "feeds list"])
def test_a_file_that_is_not_a_sqlite_database_is_one_line_and_left_as_it_is(
    tmp_path: Path, content: bytes | None, cause: str, command: str
) -> None:
    content = content or cut_short(tmp_path)
    config = write_config(tmp_path, {"F": "http://127.0.0.1:9/feed"})
    path = tmp_path / "data" / "monitor.db"
    path.parent.mkdir()
    path.write_bytes(content)
    result = run_monitor(*command.split(), "--config", str(config))
    assert result.returncode == 1
    assert result.stderr == f"error: the database {path} is damaged ({cause}): stop the monitor, put back the latest " \
        "backup (README, Backups) and delete monitor.db-wal and monitor.db-shm beside it\n"  # fmt: skip
    assert path.read_bytes() == content
    assert sorted(p.name for p in path.parent.iterdir()) == ["monitor.db"]


def test_an_empty_file_is_set_up_as_a_new_database_and_said_once(tmp_path: Path) -> None:
    """SQLite reads an empty file as an empty database, so the monitor sets it up; but it may be a
    database that lost its content, so the first command says so, naming the file."""
    config = write_config(tmp_path, {"F": "http://127.0.0.1:9/feed"})
    path = tmp_path / "data" / "monitor.db"
    path.parent.mkdir()
    path.touch()
    first = run_monitor("status", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert first.stderr == (
        f"the database {path} was an empty file and is set up as a new one; if it held the monitor's data, stop the "
        "monitor and put back the latest backup (README, Backups)\n"
    )
    assert path.read_bytes().startswith(b"SQLite format 3\x00")
    again = run_monitor("status", "--config", str(config))
    assert (again.returncode, again.stderr) == (0, "")
