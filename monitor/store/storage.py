"""``Storage``: one database, its dialect and the aggregates over them (``interface.Store``)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime

from monitor.store.database import Database, Dialect
from monitor.store.digests import Digests
from monitor.store.feedstate import Feeds
from monitor.store.items import Items
from monitor.store.notices import Notices
from monitor.store.outbox import Outbox
from monitor.store.schema import iso


def migrated(db: Database, dialect: Dialect) -> Storage:
    """The store over ``db`` once its schema is created or brought up to date (``db`` is closed
    when that fails)."""
    try:
        dialect.migrate()
    except BaseException:
        db.close()
        raise
    return Storage(db, dialect)


class Storage:
    """Composed, not inherited: the aggregates run the same SQL on either ``Database``, and the
    ``Dialect`` supplies what differs between the engines. The methods' contracts are in
    ``interface``."""

    def __init__(self, db: Database, dialect: Dialect) -> None:
        self.db = db
        self.dialect = dialect
        self.feeds = Feeds(db, dialect)
        self.items = Items(db)
        self.outbox = Outbox(db, dialect)
        self.notices = Notices(db)
        self.digests = Digests(db)

    def close(self) -> None:
        self.db.close()

    def heartbeat(self, now: datetime, timeout: float = 2.0) -> None:
        with self.dialect.bounded(timeout):
            self.db.execute(
                "INSERT INTO heartbeat(id, at) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET at = excluded.at",
                (iso(now),),
            )

    def exclusive(self) -> AbstractContextManager[None]:
        return self.dialect.exclusive()

    def delivery_turn(self, destination: str = "slack") -> AbstractContextManager[bool]:
        """Try, without waiting, to become the one process that delivers to ``destination``."""
        return self.dialect.delivery_turn(destination)
