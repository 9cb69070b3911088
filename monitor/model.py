"""The typed values that cross stage boundaries.

Every stage of the flow (intake -> matching -> stories -> store -> delivery) takes and returns
these frozen dataclasses; none of them does I/O. Datetimes are always timezone-aware UTC.
This module imports nothing from ``monitor``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

Priority = Literal["high", "normal", "low"]
PRIORITIES: tuple[Priority, ...] = ("high", "normal", "low")
TextField = Literal["title", "summary", "content", "feed"]


# --- intake ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the store remembers about a feed between polls."""

    name: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    consecutive_failures: int = 0
    last_error: str | None = None
    last_polled_at: datetime | None = None
    last_ok_at: datetime | None = None
    next_check_at: datetime | None = None
    failing_since: datetime | None = None
    health: str = "ok"  # ok | failing | dead
    moved_to: str | None = None  # the URL a permanent redirect pointed to, when it differs from config


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str  # the URL that was requested
    final_url: str  # after redirects
    status: int
    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    elapsed: timedelta
    permanent_redirect: bool = False


@dataclass(frozen=True, slots=True)
class NotModified:
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FetchFailed:
    url: str
    kind: str  # timeout | connect | tls | dns | http | too_large | redirects | not_a_feed
    message: str  # for humans: what happened and, where we know it, what to do
    status: int | None = None
    retry_after: timedelta | None = None


FetchResult = Fetched | NotModified | FetchFailed


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed entry as the feed gave it (after feedparser), before normalisation."""

    guid: str | None
    link: str | None
    title: str
    summary_html: str
    content_html: str
    published: datetime | None  # aware UTC, or None when the feed gives no usable date
    title_is_html: bool = False  # Atom type="html" titles keep their markup


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    entries: tuple[Entry, ...]
    warnings: tuple[str, ...] = ()
    ttl: timedelta | None = None  # RSS <ttl>, a hint for the poll interval


@dataclass(frozen=True, slots=True)
class Item:
    """A normalised entry: plain text, canonical URL, UTC dates.

    ``url`` is the canonical form, an identity key only; ``link`` is what people are shown and
    follow (Slack, the digest, webhooks): the article's address as published, minus tracking
    parameters (the publisher's, for an aggregator's link). ``shown_link`` falls back to ``url``.
    """

    feed: str  # the feed's configured name (the outlet)
    guid: str | None
    url: str | None  # canonical URL: identity, never shown
    title: str
    summary: str  # plain text
    content: str  # plain text (may repeat the summary when the feed has only one)
    published: datetime  # aware UTC; first_seen when the feed has none
    first_seen: datetime
    fingerprint: str  # hash of normalised title + text
    link: str | None = None  # as published, minus tracking parameters; None: not known (use url)

    @property
    def shown_link(self) -> str | None:
        return self.link or self.url

    @property
    def key(self) -> str:
        """The item's primary identity key: canonical URL, else GUID, else fingerprint."""
        if self.url:
            return "url:" + self.url
        if self.guid:
            return f"guid:{self.feed}:{self.guid}"
        return "fp:" + self.fingerprint

    def text_of(self, name: TextField) -> str:
        if name == "feed":
            return self.feed
        return getattr(self, name)


# --- matching -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Amount:
    text: str  # as written, e.g. "2 billion yuan ($290 million)"
    value: float  # in the written currency
    currency: str  # ISO code: USD, CNY, EUR, ...
    usd: float | None  # converted with the configured rates; None when no rate is known
    kind: str = "deal"  # deal | valuation | market_cap | revenue (from the surrounding words)


@dataclass(frozen=True, slots=True)
class TermHit:
    term: str
    field: TextField
    snippet: str


@dataclass(frozen=True, slots=True)
class Explanation:
    hits: tuple[TermHit, ...] = ()
    amounts: tuple[Amount, ...] = ()
    companies: tuple[str, ...] = ()
    round: str | None = None  # "Series B", "seed", ...

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(hit.term for hit in self.hits))

    @property
    def largest_usd(self) -> float | None:
        values = [a.usd for a in self.amounts if a.usd is not None and a.kind == "deal"]
        return max(values) if values else None


@dataclass(frozen=True, slots=True)
class Match:
    rule_id: str
    rule_name: str
    priority: Priority
    channel: str | None
    digest_only: bool
    explanation: Explanation


def highest(matches: Iterable[Match]) -> Match:
    """The match with the highest priority (the first of equals)."""
    return min(matches, key=lambda m: PRIORITIES.index(m.priority))


# --- delivery -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Alert:
    """One row of the outbox: a message to deliver to one destination."""

    id: int
    story_id: int
    item_key: str
    kind: Literal["alert", "follow_up", "event"]  # event: a webhook event without a story (story_id 0)
    destination: str  # notifier name: "slack", "console", "webhook:NAME"
    channel: str | None
    priority: Priority
    rule_id: str
    attempts: int
    payload: Mapping[str, Any]  # JSON: what the renderer needs (title, url, feed, published, ...)


@dataclass(frozen=True, slots=True)
class Delivered:
    remote_id: str  # Slack ts, SMTP message id, ...
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class RetryAt:
    when: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Dead:
    reason: str


DeliveryResult = Delivered | RetryAt | Dead


# --- stories, and the hand-offs the store keeps ---------------------------------------------------
# Every hand-off that must survive a crash is one of these, stored in one transaction with what it
# belongs to: the store writes an item, its matches, its story and its outbox rows together; a
# ``PollOutcome`` carries its feed-health notice and webhook events; a dead letter and a sent
# digest carry their webhook events. A crash leaves either all of one call's rows or none.


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
    url: str | None  # the link to show (``Item.shown_link``), not the canonical form
    first_seen: datetime


@dataclass(frozen=True, slots=True)
class StoryRecord:
    """A stored story with all its coverage and matches (what the digest shows)."""

    story_id: int
    title: str
    url: str | None  # the link to show, as its first item's
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
