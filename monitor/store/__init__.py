"""Storage behind one interface (``base.Store``); ``open_store`` picks the backend."""

from __future__ import annotations

from pathlib import Path

from monitor.store.base import Store

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(database: Path | str) -> bool:
    return isinstance(database, str) and database.startswith(POSTGRES_SCHEMES)


def open_store(database: Path | str) -> Store:
    """Open (creating or migrating if needed) the store at ``database``: a ``postgresql://`` URL
    selects PostgreSQL (``store.postgres``), anything else is a SQLite file path."""
    if is_postgres(database):
        from monitor.store.postgres import PostgresStore

        return PostgresStore(database)
    from monitor.store.sqlite import SQLiteStore

    return SQLiteStore(database)


def describe(database: Path | str) -> str:
    """The database for people to read: a SQLite path, or a PostgreSQL host without the login."""
    if is_postgres(database):
        from monitor.store.pgdb import where

        return "PostgreSQL at " + where(database)
    return str(database)
