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
    lang: str | None = None  # the [vocabulary.LANG] the term comes from, e.g. "fr"; None for [define] terms


DealStatus = Literal["closed", "in_talks"]


@dataclass(frozen=True, slots=True)
class Deal:
    """One deal as a story tells it: who raised (or was bought), how much, from whom.

    The fields are those of the Slack metadata ``event_payload.deal``; see :meth:`as_dict`.
    """

    company: str | None  # the company that raised money or was bought
    amount: str | None = None  # as written: "2 billion yuan ($290 million)"
    amount_usd: float | None = None
    currency: str | None = None  # ISO code of the amount as written
    round: str | None = None  # pre-seed, seed, angel, Series A.., strategic, acquisition, IPO, debt
    lead_investors: tuple[str, ...] = ()  # or the buyer, for an acquisition
    investors: tuple[str, ...] = ()  # the others who took part
    valuation_usd: float | None = None
    status: DealStatus = "closed"

    def as_dict(self) -> dict[str, object]:
        return {
            "company": self.company,
            "amount": self.amount,
            "amount_usd": self.amount_usd,
            "currency": self.currency,
            "round": self.round,
            "lead_investors": list(self.lead_investors),
            "investors": list(self.investors),
            "valuation_usd": self.valuation_usd,
            "status": self.status,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Deal:
        """The inverse of :meth:`as_dict`; unknown keys are ignored, missing ones take their defaults."""
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        for name in ("lead_investors", "investors"):
            if name in known:
                known[name] = tuple(known[name])  # type: ignore[arg-type]
        return cls(**known)  # type: ignore[arg-type]

    @property
    def money(self) -> str | None:
        """The amount as written, with its US dollar value when the text does not give one:
        "2 billion yuan ($290 million)", "120 Mio. Euro ($130M)", "$60 million"."""
        if self.amount is None:
            return None
        if self.currency == "USD" or self.amount_usd is None or "$" in self.amount:
            return self.amount
        return f"{self.amount} ({format_usd(self.amount_usd)})"

    def line(self) -> str:
        """The card on one line: "ShengShu raised 2 billion yuan ($290 million) · Series B · led by
        Alibaba Cloud · also: TAL Education, Baidu Ventures"."""
        name, money = self.company or "Deal", self.money
        if self.round == "acquisition":
            head = f"{name} acquired" + (f" by {', '.join(self.lead_investors)}" if self.lead_investors else "")
            head += f" for {money}" if money else ""
        elif self.status == "in_talks":
            head = f"{name} in talks to raise {money}" if money else f"{name} in talks to raise money"
        else:
            head = f"{name} raised {money}" if money else name
        parts = [head]
        if self.round and self.round != "acquisition":
            parts.append(self.round)
        if self.lead_investors and self.round != "acquisition":
            parts.append("led by " + ", ".join(self.lead_investors))
        if self.investors:
            parts.append("also: " + ", ".join(self.investors))
        if self.valuation_usd is not None:
            parts.append(f"valued at {format_usd(self.valuation_usd)}")
        return " · ".join(parts)

    def short(self) -> str:
        """A deal mentioned in passing: "PixVerse $60M"."""
        size = format_usd(self.amount_usd) if self.amount_usd is not None else self.amount or ""
        return f"{self.company or 'Deal'} {size}".strip()


def format_usd(value: float) -> str:
    """``290000000`` -> ``$290M``; ``1.2e9`` -> ``$1.2B``."""
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if value >= scale:
            return f"${value / scale:,.2f}".rstrip("0").rstrip(".") + suffix
    return f"${value:,.0f}"


@dataclass(frozen=True, slots=True)
class Explanation:
    hits: tuple[TermHit, ...] = ()
    amounts: tuple[Amount, ...] = ()
    companies: tuple[str, ...] = ()
    round: str | None = None  # "Series B", "seed", ...
    deal: Deal | None = None  # the story's principal deal, when it reports one
    other_deals: tuple[Deal, ...] = ()  # deals mentioned in passing

    @property
    def languages(self) -> tuple[str, ...]:
        """The vocabulary languages of the terms that matched, in order."""
        return tuple(dict.fromkeys(hit.lang for hit in self.hits if hit.lang))

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
class KeyOwner:
    """The stored item an identity key belongs to: its key, feed, title and canonical URL; for a
    GUID key, its text too (empty once retention dropped it)."""

    item_key: str
    feed: str
    title: str
    url: str | None
    text: str = ""


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
