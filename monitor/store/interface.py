"""What each consumer needs from the store, as narrow protocols; ``Store`` is all of them.

The store is a facade (``storage.Storage``) whose aggregates are attributes: ``feeds`` (fetch
state, claims, poll outcomes), ``items`` (items, identity keys, stories, retention), ``outbox``
(alerts and webhook events, their delivery), ``notices`` (feed-health announcements) and
``digests`` (digest periods). A consumer's signature names the protocol below that it needs.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from monitor.store.digests import Digests
from monitor.store.feedstate import Feeds
from monitor.store.items import Items
from monitor.store.notices import Notices
from monitor.store.outbox import Outbox


class PollStore(Protocol):
    """The poll shell (``pipeline`` polls and replays, ``scheduler`` claims, ``ops.reload`` syncs):
    feed state, items and stories decided under the exclusive hold, feed-health notices."""

    @property
    def feeds(self) -> Feeds: ...

    @property
    def items(self) -> Items: ...

    @property
    def notices(self) -> Notices: ...

    def exclusive(self) -> AbstractContextManager[None]:
        """Hold the store for a read-decide-write sequence (the story decision): no other thread
        or process writes in between; all of it commits at the end or none of it."""


class DeliveryStore(Protocol):
    """The delivery loop (``shell.delivering``): the outbox, one process at a time."""

    @property
    def outbox(self) -> Outbox: ...

    def delivery_turn(self, destination: str = "slack") -> AbstractContextManager[bool]:
        """Try (without waiting) to become the one process that delivers to ``destination``; yields
        whether it did. Released on exit, and by the OS or the server when the holder dies."""


class DigestStore(Protocol):
    """The digest (``digesting``): its periods, the stories and alert count of a period, and the
    feeds' health."""

    @property
    def digests(self) -> Digests: ...

    @property
    def items(self) -> Items: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def feeds(self) -> Feeds: ...


class StatusStore(Protocol):
    """What `monitor status`, `feeds list`, /healthz and /metrics read (status syncs the feed list
    first), and the heartbeat that proves the database takes a write."""

    @property
    def feeds(self) -> Feeds: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def digests(self) -> Digests: ...

    def heartbeat(self, now: datetime, timeout: float = 2.0) -> None:
        """Prove the database takes a write, waiting at most ``timeout`` seconds for a lock;
        raise StoreError when it does not (read-only file, full disk, another writer)."""


class Store(PollStore, DeliveryStore, DigestStore, StatusStore, Protocol):
    """The whole store, as a process opens it (``open_store``)."""

    def close(self) -> None: ...
