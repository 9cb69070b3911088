"""What the aggregates run their SQL on (``Database``) and what differs between the engines
(``Dialect``).

Every query is written once, in SQLite's spelling, and runs on both engines: ``sqlitedb`` runs it
as it is, ``pgdb`` translates the few SQLite-only spellings for PostgreSQL. So new SQL stays in
what both speak: ``ON CONFLICT ... DO UPDATE`` rather than ``INSERT OR REPLACE``, ``CASE`` rather
than two-argument ``max``/``min``, ``coalesce`` rather than ``ifnull``, an alias on every subquery
in ``FROM``. ``tests/test_store.py`` runs on both.

Both implementations turn every driver error (``sqlite3.Error``, ``psycopg.Error``, ``OSError``)
into a ``StoreError`` at this boundary (``faults.store_error``), so no other module catches one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

Params = Sequence[Any] | dict[str, Any]


class Result:
    """A statement's result, read in full before the call returns (so a shared connection or a
    pooled one is free again at once): the part of a DB-API cursor the aggregates use."""

    __slots__ = ("lastrowid", "rowcount", "rows")

    def __init__(self, rows: list[Any], rowcount: int, lastrowid: int | None) -> None:
        self.rows, self.rowcount, self.lastrowid = rows, rowcount, lastrowid

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Any]:
        return list(self.rows)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)


class Database(Protocol):
    """One engine's connection(s). Outside ``atomic`` each statement commits by itself; inside,
    everything commits at the end or not at all (a nested ``atomic`` is a savepoint)."""

    where: str  # for messages: the file, or the PostgreSQL host and database (never the login)

    def execute(self, sql: str, params: Params = ()) -> Result: ...

    def query(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        """The rows as dicts (column name -> value)."""

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """One statement for many rows: all of them or none, even outside ``atomic``."""

    def atomic(self) -> AbstractContextManager[None]: ...

    def executescript(self, script: str) -> None:
        """Several statements without parameters (the schema)."""

    def close(self) -> None: ...


class Dialect(Protocol):
    """What truly differs between the engines: schema versions, locks and leases."""

    row_locks: str  # what a claim's SELECT adds to lock the rows it takes without waiting for others

    def migrate(self) -> None:
        """Create the schema or bring it up to date; refuse a database from a newer monitor."""

    def bounded(self, timeout: float) -> AbstractContextManager[None]:
        """A transaction that waits at most ``timeout`` seconds for locks (the heartbeat)."""

    def exclusive(self) -> AbstractContextManager[None]:
        """A transaction that no other thread or process writes into meanwhile (the story decision)."""

    def delivery_turn(self, destination: str) -> AbstractContextManager[bool]:
        """Try, without waiting, to become the one process that delivers to ``destination``;
        yields whether it did. Each destination has its own turn: a slow webhook never holds Slack up."""

    def confirm_turn(self) -> None:
        """Raise StoreError if the delivery turn this process holds was lost (a dropped connection)."""
