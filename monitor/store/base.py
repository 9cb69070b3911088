"""The values that cross the store's interface (``store.interface`` has the protocols).

Every hand-off that must survive a crash is one of these, stored in one transaction with what it
belongs to: ``Items.record`` writes an item, its matches, its story and its outbox rows together;
a ``PollOutcome`` carries its feed-health notice and webhook events; a dead letter and a sent
digest carry their webhook events. A crash leaves either all of one call's rows or none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.model import Item, Match, Priority


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

    @property
    def key(self) -> str:
        """The key the item is stored under: the first of its identity keys."""
        return self.keys[0] if self.keys else self.item.key


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
    events: tuple[EventRow, ...] = ()  # webhook events (feed_failing, feed_recovered), likewise


@dataclass(frozen=True, slots=True)
class EventRow:
    """A webhook event to queue (an outbox row of kind 'event', no story) in the same transaction
    as the change it reports. ``key`` makes it idempotent: one row per key and destination."""

    destination: str  # "webhook:NAME"
    key: str
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class FeedNotice:
    """A feed-health announcement (failing, dead, recovered) waiting for the ops channel."""

    feed: str
    health: str
    channel: str
    text: str
    id: int = 0
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class Coverage:
    """One outlet's item in a story."""

    feed: str
    title: str
    url: str | None
    first_seen: datetime


@dataclass(frozen=True, slots=True)
class StoryRecord:
    """A stored story with all its coverage and matches (what the digest shows)."""

    story_id: int
    title: str
    url: str | None
    priority: Priority
    first_seen: datetime
    items: tuple[Coverage, ...]
    matches: tuple[Match, ...]


@dataclass(frozen=True, slots=True)
class DigestRow:
    """One digest period. ``state``: pending (to send; ``last_error`` says why an attempt failed),
    sending (claimed until ``next_attempt_at``), sent, or empty (nothing to send)."""

    period: str
    scheduled: bool
    start: datetime
    end: datetime
    state: str
    attempts: int
    next_attempt_at: datetime
    done: tuple[str, ...]  # destinations that confirmed: "email", "file", "slack"
    last_error: str | None = None
    stories: int = 0
    sent_at: datetime | None = None
