"""The one narrow interface every stage uses to reach storage.

SQLite (``store.sqlite``) is the embedded default. Every hand-off that must survive a crash
goes through here: feed fetch state, items and their identity keys, matches, stories, and the
alert outbox. ``record_items`` writes an item, its matches, its story and its outbox rows in one
transaction, so a crash leaves either all of them or none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from monitor.model import Alert, FeedConfig, FeedState, Item, Match, Priority


@dataclass(frozen=True, slots=True)
class OpenStory:
    """The item starts a new story."""


@dataclass(frozen=True, slots=True)
class JoinStory:
    """The item is more coverage of an existing story."""

    story_id: int


StoryDecision = OpenStory | JoinStory


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An outbox row to create for an item's story: who gets which message."""

    destination: str  # notifier name: "slack", "console", "webhook:NAME"
    channel: str | None
    priority: Priority
    rule_id: str
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class NewItem:
    """Everything the pipeline decided about one never-seen item, stored atomically."""

    item: Item
    keys: tuple[str, ...]  # every identity key of the item
    matches: tuple[Match, ...] = ()
    story: StoryDecision | None = None  # None: not matched, kept only for dedup
    outgoing: tuple[Outgoing, ...] = ()
    story_info: Mapping[str, Any] = field(default_factory=dict)  # companies, amounts: for clustering


@dataclass(frozen=True, slots=True)
class Recorded:
    item_key: str
    story_id: int | None
    alert_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """What one poll of a feed changes in its stored state."""

    status: str  # ok | not_modified | error
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    error: str | None = None
    new_url: str | None = None  # after a permanent redirect
    next_check_at: datetime | None = None
    health: str | None = None  # ok | failing | dead; None: ok on success, failing on error
    notice: FeedNotice | None = None  # an ops announcement to queue in the same transaction


@dataclass(frozen=True, slots=True)
class FeedNotice:
    """A feed-health announcement (failing, dead, recovered) waiting for the ops channel."""

    feed: str
    health: str
    channel: str
    text: str
    id: int = 0
    attempts: int = 0


class Store(Protocol):
    def close(self) -> None: ...

    def sync_feeds(self, feeds: Sequence[FeedConfig]) -> None:
        """Make the stored feed list match the config (new feeds added, URLs updated)."""

    def feed_state(self, name: str) -> FeedState | None: ...

    def feed_states(self) -> list[FeedState]: ...

    def record_poll(self, name: str, outcome: PollOutcome, now: datetime) -> FeedState:
        """Store a poll's outcome; returns the state before it (for failing/recovered news)."""

    def due_notices(self, now: datetime) -> list[FeedNotice]: ...

    def mark_notices(self, ids: Sequence[int], now: datetime, retry_at: datetime | None, error: str | None) -> None:
        """Sent (``retry_at`` and ``error`` None), to retry at ``retry_at``, or dead (``error`` alone)."""

    def known_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of these identity keys belong to an item already stored."""

    def record_items(self, new_items: Sequence[NewItem], now: datetime) -> list[Recorded]:
        """Items, keys, matches, stories and outbox rows, in one transaction."""

    def due_alerts(self, now: datetime, limit: int = 100) -> list[Alert]: ...

    def story_thread(self, story_id: int, destination: str, channel: str | None) -> tuple[str, str] | None:
        """(channel id, message ts) of the story's opening message at that destination."""

    def opening_alert_pending(self, story_id: int, destination: str, channel: str | None) -> bool:
        """Whether the story's opening alert to that destination is still waiting to be sent."""

    def mark_delivered(self, alert_id: int, remote_id: str, channel: str | None, now: datetime) -> None: ...

    def mark_retry(self, alert_id: int, when: datetime, reason: str) -> None: ...

    def mark_dead(self, alert_id: int, reason: str, now: datetime) -> None: ...

    def outbox_counts(self) -> dict[str, int]:
        """Number of outbox rows per state: pending, delivered, dead."""

    def dead_alerts(self) -> list[dict[str, Any]]: ...
