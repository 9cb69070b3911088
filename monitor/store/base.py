"""The one narrow interface every stage uses to reach storage.

SQLite (``store.sqlite``) is the embedded default. Every hand-off that must survive a crash
goes through here: feed fetch state, items and their identity keys, matches, stories, and the
alert outbox. ``record_items`` writes an item, its matches, its story and its outbox rows in one
transaction, so a crash leaves either all of them or none.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from monitor.model import Alert, FeedState, Item, Match, Priority
from monitor.settings import FeedConfig


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


class Store(Protocol):
    def close(self) -> None: ...

    def heartbeat(self, now: datetime, timeout: float = 2.0) -> None:
        """Prove the database takes a write, waiting at most ``timeout`` seconds for a lock;
        raise StoreError when it does not (read-only file, full disk, another writer)."""

    def sync_feeds(self, feeds: Sequence[FeedConfig]) -> None:
        """Make the stored feed list match the config (new feeds added, URLs updated)."""

    def feed_state(self, name: str) -> FeedState | None: ...

    def feed_states(self) -> list[FeedState]: ...

    def record_poll(self, name: str, outcome: PollOutcome, now: datetime) -> FeedState:
        """Store a poll's outcome; returns the state before it (for failing/recovered news)."""

    def claim_feed(self, name: str, now: datetime, until: datetime, due_by: datetime | None = None) -> bool:
        """Take the feed for one poll if it is due (by ``due_by``, default ``now``) and nobody holds
        it: leased until ``until`` (or until its poll is recorded), so of several processes exactly
        one polls it; a lease whose holder died expires by itself."""

    def delivery_turn(self) -> AbstractContextManager[bool]:
        """Try (without waiting) to become the one process that delivers; yields whether it did.
        Released on exit, and by the OS or the server when the holder dies."""

    def record_polls(self, polls: Sequence[tuple[str, PollOutcome, datetime]]) -> None:
        """Store many polls' outcomes (feed name, outcome, when) in one transaction."""

    def due_notices(self, now: datetime) -> list[FeedNotice]: ...

    def mark_notices(self, ids: Sequence[int], now: datetime, retry_at: datetime | None, error: str | None) -> None:
        """Sent (``retry_at`` and ``error`` None), to retry at ``retry_at``, or dead (``error`` alone)."""

    def known_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of these identity keys belong to an item already stored."""

    def record_items(self, new_items: Sequence[NewItem], now: datetime) -> list[Recorded]:
        """Items, keys, matches, stories and outbox rows, in one transaction."""

    def replay_items(self, new_items: Sequence[NewItem], now: datetime) -> list[Recorded]:
        """Like ``record_items`` for items already stored (``monitor replay --send``): their
        matches, stories and outbox rows, in one transaction."""

    def count_items(self, since: datetime, unalerted: bool = False) -> int:
        """Stored items first seen and published at or after ``since`` (only never-alerted ones
        if asked). Old items a feed's first poll stored without alerting stay out."""

    def stored_items(self, since: datetime, unalerted: bool = False) -> Iterator[Item]:
        """Those items, oldest first, read page by page. ``unalerted``: no outbox row exists for
        the item or for its story."""

    def queue_event(self, destination: str, key: str, payload: Mapping[str, Any], now: datetime) -> int | None:
        """An outbox row (kind 'event', no story) for a non-alert event; ``key`` makes it idempotent.
        Returns its id, or None when a row with that key and destination exists."""

    def exclusive(self) -> AbstractContextManager[None]:
        """Hold the store for a read-decide-write sequence (the story decision): no other thread
        or process writes in between; all of it commits at the end or none of it."""

    def key_owners(self, keys: Iterable[str]) -> dict[str, tuple[str, str]]:
        """For each of these identity keys that is stored: (the key naming its item, the item's feed)."""

    def guid_changes(self, feed: str) -> int:
        """How many of the feed's links came back under a new GUID (see ``stories``)."""

    def add_guid_changes(self, feed: str, urls: Iterable[str], now: datetime) -> None: ...

    def open_stories(self, since: datetime) -> list[tuple[int, Mapping[str, Any]]]:
        """(story id, story features) of every item in a story opened at or after ``since``."""

    def prune(self, text_before: datetime, stories_before: datetime) -> int:
        """Retention: drop the text of items first seen before ``text_before`` and the story
        features of stories opened before ``stories_before``; identity keys, titles and stories
        stay. Returns how many items lost their text."""

    def due_alerts(self, now: datetime, limit: int = 100) -> list[Alert]: ...

    def story_thread(self, story_id: int, destination: str, channel: str | None) -> tuple[str, str] | None:
        """(channel id, message ts) of the story's opening message at that destination."""

    def opening_alert_pending(self, story_id: int, destination: str, channel: str | None) -> bool:
        """Whether the story's opening alert to that destination is still waiting to be sent."""

    def mark_sending(self, alert_ids: Sequence[int], now: datetime) -> None:
        """Note, committed before the send, that these rows are being sent (see ``in_flight``)."""

    def in_flight(self) -> dict[int, str]:
        """Pending rows a crash interrupted mid-send: alert id -> group token (the rows sent as
        one message share it)."""

    def mark_delivered(self, alert_id: int, remote_id: str, channel: str | None, now: datetime) -> None: ...

    def mark_sent(self, alert_ids: Sequence[int], remote_id: str, channel: str | None, now: datetime) -> None:
        """Mark every row of one message (an alert or a summary) delivered, in one transaction."""

    def mark_retry(self, alert_id: int, when: datetime, reason: str) -> None: ...

    def defer(self, alert_ids: Sequence[int], until: datetime, reason: str) -> None:
        """Not before ``until``, without counting an attempt (quiet hours, a rate-limited channel)."""

    def mark_dead(self, alert_id: int, reason: str, now: datetime) -> None: ...

    def recent_sends(self, since: datetime) -> dict[tuple[str, str | None], list[datetime]]:
        """Send times per (destination, stored channel) since ``since``; a summary counts once."""

    def retry_dead(self, alert_ids: Sequence[int] | None, now: datetime) -> list[int]:
        """Make dead letters (these, or all when None) pending again; returns the ids requeued."""

    def outbox_rows(self, states: Sequence[str], limit: int = 200) -> list[dict[str, Any]]:
        """The newest ``limit`` rows in these states, oldest first, with the alert's title."""

    def outbox_counts(self) -> dict[str, int]:
        """Number of outbox rows per state: pending, delivered, dead."""

    def dead_alerts(self) -> list[dict[str, Any]]: ...

    # --- digests: one row per period, claimed before sending ---

    def stories_first_seen(self, start: datetime, end: datetime) -> list[StoryRecord]:
        """Stories opened in [start, end), each with all its outlets and matches."""

    def count_alerts(self, start: datetime, end: datetime) -> int:
        """Opening alerts queued in [start, end)."""

    def last_scheduled_digest(self) -> str | None:
        """The newest scheduled period (any state), e.g. '2026-11-22'."""

    def last_digest_end(self) -> datetime | None:
        """Where the next period starts: the end of the newest period."""

    def open_digest(
        self, period: str, end: datetime, default_start: datetime, scheduled: bool, now: datetime
    ) -> DigestRow:
        """Create the period's row (pending, due now) unless it exists; it starts where the previous
        period ended (``default_start`` for the first one). Returns the row."""

    def claim_digest(self, period: str, now: datetime, until: datetime) -> DigestRow | None:
        """Claim a pending (or abandoned sending) row that is due: state sending until ``until``.
        None when it is sent, empty, not due or claimed by someone else."""

    def digest_delivered(self, period: str, destination: str) -> None:
        """Record that one destination confirmed the digest (not sent again on a retry)."""

    def finish_digest(self, period: str, state: str, stories: int, now: datetime) -> None:
        """Mark the period sent or empty."""

    def retry_digest(self, period: str, when: datetime, error: str) -> None:
        """Back to pending with the error; tried again from ``when``."""

    def due_digests(self, now: datetime) -> list[DigestRow]:
        """Rows to (re)try now: pending or abandoned sending, next_attempt_at reached."""

    def digests(self, limit: int = 10) -> list[DigestRow]:
        """The newest periods, newest first."""
