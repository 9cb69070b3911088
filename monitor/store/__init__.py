"""Storage behind one interface (``base.Store``); ``open_store`` picks the backend."""

from __future__ import annotations

from pathlib import Path

from monitor.store.base import Store


def open_store(database: Path | str) -> Store:
    """Open (creating if needed) the store at ``database``: a SQLite file path."""
    from monitor.store.sqlite import SQLiteStore

    return SQLiteStore(database)
