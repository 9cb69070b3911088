"""SQLite, the embedded default: ``SQLiteDatabase`` (through sqlite-utils) and ``SQLiteDialect``.

Created on first use, WAL mode, schema version in ``PRAGMA user_version``. One connection shared
by the process's threads behind a lock: SQLite has one writer at a time anyway, every statement is
read in full while the lock is held, and a transaction holds it from BEGIN to COMMIT, so another
thread's statement never lands in it.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlite_utils

from monitor.errors import StoreError
from monitor.store.database import Params, Result
from monitor.store.faults import store_error
from monitor.store.locks import file_lock
from monitor.store.schema import SCHEMA, SCHEMA_VERSION, upgrades
from monitor.store.storage import Storage, migrated

log = logging.getLogger("monitor.store")

BUSY_TIMEOUT_MS = 30_000  # how long a statement waits for another process's write lock
DRIVER_ERRORS = (sqlite3.Error, OSError)


def open_sqlite(path: Path) -> Storage:
    """Open the SQLite file at ``path``, creating it (and its folder) or migrating it if needed.

    An empty file is an empty SQLite database (SQLite says so too) and is set up like a new one;
    but a file that was the monitor's database and lost its content (a crash, a bad copy) looks
    just like that, and a new database alerts recent items again, so it is said, once."""
    with contextlib.suppress(OSError):
        if path.stat().st_size == 0:
            log.warning(
                "the database %s was an empty file and is set up as a new one; if it held the monitor's data, stop "
                "the monitor and put back the latest backup (README, Backups)",
                path,
                extra={"fields": {"event": "EmptyDatabase"}},
            )
    db = SQLiteDatabase(path)
    return migrated(db, SQLiteDialect(db))


def delivery_lock_path(database: Path, destination: str) -> Path:
    """The lock file of a destination's delivery turn, beside the database (Slack's keeps the name it
    always had, so a running older process and a new one still exclude each other)."""
    if destination == "slack":
        return database.with_name(database.name + ".deliver-lock")
    safe = re.sub(r"[^A-Za-z0-9_-]", "-", destination)
    return database.with_name(f"{database.name}.deliver-{safe}.lock")


class SQLiteDatabase:
    """``database.Database`` on one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        self.lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
        except DRIVER_ERRORS as e:
            raise store_error(e, path) from e
        # No sqlite-utils plugins: the store's SQL must not depend on what else is installed
        # (and finding them scans every installed package's entry points: ~25 ms a start).
        self.db = sqlite_utils.Database(conn, execute_plugins=False)

    @property
    def in_transaction(self) -> bool:
        return self.db.conn.in_transaction

    def execute(self, sql: str, params: Params = ()) -> Result:
        with self.lock:
            try:
                cursor = self.db.execute(sql, params)
                return Result(cursor.fetchall() if cursor.description else [], cursor.rowcount, cursor.lastrowid)
            except DRIVER_ERRORS as e:
                raise store_error(e, self.path) from e

    def query(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        with self.lock:
            try:
                return list(self.db.query(sql, params))
            except DRIVER_ERRORS as e:
                raise store_error(e, self.path) from e

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """All the rows or none: in a transaction of its own when it is not in one already."""
        with self.lock, contextlib.nullcontext() if self.in_transaction else self.atomic():
            try:
                self.db.conn.executemany(sql, rows)
            except DRIVER_ERRORS as e:
                raise store_error(e, self.path) from e

    def executescript(self, script: str) -> None:
        with self.lock:
            try:
                self.db.executescript(script)
            except DRIVER_ERRORS as e:
                raise store_error(e, self.path) from e

    @contextlib.contextmanager
    def atomic(self) -> Iterator[None]:
        """sqlite-utils' transaction (a savepoint when nested), holding the lock; a failed BEGIN or
        COMMIT becomes a StoreError, what the block raises passes through as it is."""
        with self.lock:
            failed = False
            try:
                with self.db.atomic():
                    try:
                        yield
                    except BaseException:
                        failed = True
                        raise
            except DRIVER_ERRORS as e:
                if failed:
                    raise
                raise store_error(e, self.path) from e

    def rollback(self) -> None:
        with self.lock:
            try:
                self.db.rollback()
            except DRIVER_ERRORS as e:
                raise store_error(e, self.path) from e

    def batches(self, sql: str, size: int) -> Iterator[list[tuple[Any, ...]]]:
        """The rows of a large read, ``size`` at a time (``monitor copy``); hold ``atomic`` around
        it for one snapshot."""
        with self.lock:
            try:
                cursor = self.db.conn.execute(sql)
                while rows := cursor.fetchmany(size):
                    yield rows
            except DRIVER_ERRORS as e:
                raise store_error(e, self.path) from e

    def close(self) -> None:
        with self.lock:
            self.db.close()


class SQLiteDialect:
    """``database.Dialect`` for SQLite: process locks, SQLite's write lock and a lock file."""

    row_locks = ""  # one writer at a time: a claim's UPDATE holds the database's write lock

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db

    def migrate(self) -> None:
        db = self.db
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{db.path} was written by a newer monitor (schema {version}, this one knows "
                f"{SCHEMA_VERSION}); upgrade monitor",
                "schema",
            )
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA synchronous = NORMAL")
        if 0 < version < SCHEMA_VERSION:
            with self.exclusive():  # the steps and the new version together, one process at a time
                version = db.execute("PRAGMA user_version").fetchone()[0]  # another may have done it
                for statement in upgrades(version):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.executescript(SCHEMA)  # idempotent: every statement is IF NOT EXISTS
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextlib.contextmanager
    def bounded(self, timeout: float) -> Iterator[None]:
        # Bounded twice: by the process's own lock (a job stuck on the database holds it) and by
        # SQLite's busy timeout (another process holding the write lock).
        db = self.db
        if not db.lock.acquire(timeout=timeout):
            raise StoreError(f"the database {db.path} is busy: a write has waited longer than {timeout:g}s", "busy")
        try:
            db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            with db.atomic():
                yield
        finally:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.lock.release()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold this process's lock and SQLite's write lock (BEGIN IMMEDIATE, so another process
        waits too) around a read-decide-write sequence; commit at the end, roll back on error."""
        db = self.db
        with db.lock:
            if db.in_transaction:
                with db.atomic():
                    yield
                return
            db.execute("BEGIN IMMEDIATE")
            try:
                yield
                db.execute("COMMIT")
            except BaseException:
                db.rollback()
                raise

    @contextlib.contextmanager
    def delivery_turn(self, destination: str) -> Iterator[bool]:
        """``<database>.deliver-lock`` (Slack) or ``<database>.deliver-<destination>.lock``, held with
        flock (see ``store.locks.file_lock``)."""
        path = delivery_lock_path(self.db.path, destination)
        with contextlib.ExitStack() as held:
            try:
                taken = held.enter_context(file_lock(path))
            except OSError as e:
                raise store_error(e, path) from e
            yield taken

    def confirm_turn(self) -> None:
        """The lock file stays locked as long as this process lives: nothing to check."""
