"""PostgreSQL: several `monitor run` replicas on one database, each story still once.

The aggregates run their queries unchanged through ``pgdb.PgDatabase``; ``PostgresDialect`` is
only what must differ:

- the schema version lives in ``monitor_schema`` and migrations run under an advisory lock, so
  replicas starting together do not race;
- ``exclusive`` (the story decision) takes a transaction-level advisory lock: one decision at a
  time across all replicas, released at commit, rollback or when the session dies;
- a feed claim locks the due rows it takes ``FOR UPDATE SKIP LOCKED``: replicas claiming at the same
  moment take different feeds and never wait for each other;
- ``delivery_turn`` is a session-level advisory lock, the counterpart of SQLite's lock file: the
  server drops it when the holder's connection goes, even after kill -9.

Connections come from a psycopg_pool pool, with connect, statement and lock timeouts. Identity
keys and story rows are primary keys and unique constraints in both engines, so even a decision
that slipped past the lock could not store an item twice.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from monitor.errors import DatabaseUnreachable, StoreError
from monitor.store import pgdb
from monitor.store.schema import SCHEMA, SCHEMA_VERSION, upgrades
from monitor.store.storage import Storage, migrated

CONNECT_TIMEOUT = 10  # seconds to reach the server
POOL_TIMEOUT = 30.0  # seconds a thread waits for a free connection
# The server gives up on a client it has not heard from in about 25 s (a replica's host went down
# without closing its connections), which releases that client's locks for the other replicas.
SESSION_OPTIONS = (
    "-c statement_timeout=60s -c lock_timeout=30s -c idle_in_transaction_session_timeout=5min "
    "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3"
)
# ... and a replica notices a server it cannot reach any more as soon.
CLIENT_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}

# Advisory lock keys (any constant bigint; these spell "monitor" + a purpose).
MIGRATE_LOCK = 0x6D6F6E69746F7201
DECIDE_LOCK = 0x6D6F6E69746F7202
DELIVER_LOCK = 0x6D6F6E69746F7203


def open_postgres(dsn: str, pool_size: int = 10) -> Storage:
    """Connect to the PostgreSQL database at ``dsn`` and create or migrate its schema. Raises
    DatabaseUnreachable (naming the host, never the password) when the server cannot be reached."""
    db = connect(dsn, pool_size)
    return migrated(db, PostgresDialect(db))


def connect(dsn: str, pool_size: int = 10) -> pgdb.PgDatabase:
    where = pgdb.where(dsn)  # used in messages; never the DSN itself (it may hold a password)
    kwargs: dict[str, Any] = {
        "autocommit": True,
        "connect_timeout": CONNECT_TIMEOUT,
        "options": SESSION_OPTIONS,
        **CLIENT_KEEPALIVES,
    }
    try:
        psycopg.connect(dsn, **kwargs).close()  # one try first, for a precise message
    except psycopg.Error as e:
        raise DatabaseUnreachable(
            f"cannot connect to PostgreSQL at {where}: {str(e).strip()}; check that the server runs and "
            "that [monitor] database (or $MONITOR_DATABASE_URL) is right"
        ) from e
    pool = ConnectionPool(
        dsn,
        min_size=1,
        max_size=pool_size,
        kwargs=kwargs,
        timeout=POOL_TIMEOUT,
        check=ConnectionPool.check_connection,
        open=False,
        name="monitor",
    )
    try:
        pool.open(wait=True, timeout=CONNECT_TIMEOUT)
    except PoolTimeout as e:
        pool.close()
        raise DatabaseUnreachable(f"cannot open connections to PostgreSQL at {where}: {e}") from e
    return pgdb.PgDatabase(pool, pgdb.id_tables(SCHEMA), where)


def _lock_key(name: str) -> int:
    """A stable advisory lock key (a signed 64-bit integer) for ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class PostgresDialect:
    """``database.Dialect`` for PostgreSQL: advisory locks, row locks, ``monitor_schema``."""

    row_locks = " FOR UPDATE SKIP LOCKED"

    def __init__(self, db: pgdb.PgDatabase) -> None:
        self.db = db
        self._turn: psycopg.Connection | None = None  # the connection holding the delivery turn

    def migrate(self) -> None:
        db = self.db
        with db.atomic():
            db.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATE_LOCK,))
            db.executescript("CREATE TABLE IF NOT EXISTS monitor_schema (version INTEGER NOT NULL)")
            version = db.execute("SELECT max(version) FROM monitor_schema").fetchone()[0] or 0
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"the database at {db.where} was written by a newer monitor (schema {version}, this one "
                    f"knows {SCHEMA_VERSION}); upgrade monitor",
                    "schema",
                )
            for statement in upgrades(version):
                db.execute(pgdb.schema(statement))
            db.executescript(pgdb.schema(SCHEMA))
            if version < SCHEMA_VERSION:
                db.execute("DELETE FROM monitor_schema")
                db.execute("INSERT INTO monitor_schema(version) VALUES (?)", (SCHEMA_VERSION,))

    @contextlib.contextmanager
    def bounded(self, timeout: float) -> Iterator[None]:
        with self.db.atomic(timeout):  # bounded three times: a free connection, locks, the statement
            ms = int(timeout * 1000)
            self.db.execute(f"SET LOCAL lock_timeout = {ms}")
            self.db.execute(f"SET LOCAL statement_timeout = {ms}")
            yield

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """One transaction holding the decision lock: no other replica decides meanwhile."""
        with self.db.atomic():
            self.db.execute("SELECT pg_advisory_xact_lock(?)", (DECIDE_LOCK,))
            yield

    @contextlib.contextmanager
    def delivery_turn(self, destination: str) -> Iterator[bool]:
        key = DELIVER_LOCK if destination == "slack" else _lock_key("deliver:" + destination)
        with self.db.connection() as conn:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            taken = bool(row and row[0])
            self._turn = conn if taken else None
            try:
                yield taken
            finally:
                self._turn = None
                if taken and not conn.closed:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def confirm_turn(self) -> None:
        """If the turn's connection dropped, the server released the lock and another replica may
        be delivering: this round stops."""
        if self._turn is None:
            return
        try:
            self._turn.execute("SELECT 1")
        except psycopg.Error as e:
            raise StoreError(
                f"lost the delivery turn (the connection to PostgreSQL at {self.db.where} dropped); "
                "this delivery round stops, another replica or the next round carries on",
                "unreachable",
            ) from e
