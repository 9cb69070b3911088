"""`monitor copy`: move a SQLite install to PostgreSQL with everything that dedup depends on.

Every table of the schema is copied row for row, ids included (identity keys, stories, the outbox
and its delivery state, digest periods), from one read snapshot of the SQLite file into one
PostgreSQL transaction: a failed copy leaves the target empty. The target must be empty, so a
copy never merges two histories. Afterwards the identity sequences continue after the highest
copied id. Stop the daemon first: what it writes after the snapshot would not be copied.
"""

from __future__ import annotations

import re
from pathlib import Path

from monitor.errors import StoreError
from monitor.store import postgres
from monitor.store.schema import SCHEMA
from monitor.store.sqlitedb import SQLiteDatabase, SQLiteDialect

TABLES = tuple(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", SCHEMA))  # in dependency order
BATCH = 1000


def copy_sqlite_to_postgres(source: Path, target: str) -> dict[str, int]:
    """Copy ``source`` (a SQLite file) into the empty PostgreSQL database ``target``; returns the
    number of rows per table."""
    if not source.is_file():
        raise StoreError(f"{source} does not exist; give the SQLite file of the install to move")
    sqlite = SQLiteDatabase(source)
    try:
        SQLiteDialect(sqlite).migrate()  # brings an older file up to the current schema first
        pg = postgres.open_postgres(target).db
    except BaseException:
        sqlite.close()
        raise
    try:
        used = [t for t in TABLES if t != "heartbeat" and pg.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()]
        if used:
            raise StoreError(
                f"the database at {pg.where} already has data (in {', '.join(used)}); copy into an empty database"
            )
        counts: dict[str, int] = {}
        with sqlite.atomic(), pg.atomic():  # one snapshot of the source, all or nothing in the target
            for table in TABLES:
                columns = [c["name"] for c in sqlite.query(f"PRAGMA table_info({table})")]
                names, marks = ", ".join(columns), ", ".join("?" * len(columns))
                counts[table] = 0
                for rows in sqlite.batches(f"SELECT {names} FROM {table}", BATCH):
                    pg.executemany(f"INSERT INTO {table}({names}) VALUES ({marks})", rows)
                    counts[table] += len(rows)
                if "id" in columns:
                    pg.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                    )
        return counts
    finally:
        sqlite.close()
        pg.close()
