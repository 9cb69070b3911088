"""Storage behind one interface (``interface.Store``); ``open_store`` picks the engine.

- ``interface``: the protocols each consumer types against (``PollStore``, ``DeliveryStore``, ...);
  ``base``: the values that cross it (``NewItem``, ``PollOutcome``, ``EventRow``, ...).
- ``storage``: the facade, a ``Database`` and a ``Dialect`` (``database``) with the aggregates over
  them: ``feedstate``, ``items``, ``outbox``, ``notices``, ``digests``; ``schema`` holds the tables.
- ``sqlitedb``: SQLite's Database (sqlite-utils) and Dialect; ``pgdb`` and ``postgres``:
  PostgreSQL's (the SQL translation, the pool, advisory locks).
- ``faults``: driver errors to ``StoreError`` with a kind, for both engines.
- ``locks``: the delivery lock file; ``copy``: `monitor copy` from SQLite to PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeGuard

from monitor.store.interface import Store

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(database: Path | str) -> TypeGuard[str]:
    return isinstance(database, str) and database.startswith(POSTGRES_SCHEMES)


def open_store(database: Path | str, pool_size: int = 10) -> Store:
    """Open (creating or migrating if needed) the store at ``database``: a ``postgresql://`` URL
    selects PostgreSQL (``store.postgres``, at most ``pool_size`` connections), anything else is a
    SQLite file path."""
    if is_postgres(database):
        from monitor.store.postgres import open_postgres

        return open_postgres(database, pool_size)
    from monitor.store.sqlitedb import open_sqlite

    return open_sqlite(Path(database))


def describe(database: Path | str) -> str:
    """The database for people to read: a SQLite path, or a PostgreSQL host without the login."""
    if is_postgres(database):
        from monitor.store.pgdb import where

        return "PostgreSQL at " + where(database)
    return str(database)
