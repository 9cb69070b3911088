"""Domain events and the in-process bus that carries them.

Stages emit what happened (an item was seen, a story opened, an alert was delivered, a feed
started failing); logs, metrics and health subscribe. A subscriber's failure is logged and never
breaks the stage that emitted the event, so nothing durable rides on the bus: webhook events are
queued by the stage itself, in the store call that records the change (``webhook.event_rows``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar, cast

log = logging.getLogger("monitor.events")


@dataclass(frozen=True, slots=True)
class Event:
    @property
    def name(self) -> str:
        return type(self).__name__


@dataclass(frozen=True, slots=True)
class FeedPolled(Event):
    feed: str
    status: str  # ok | not_modified | error
    new_items: int = 0
    error: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class FeedFailing(Event):
    feed: str
    error: str


@dataclass(frozen=True, slots=True)
class FeedDead(Event):
    feed: str
    error: str


@dataclass(frozen=True, slots=True)
class FeedRecovered(Event):
    feed: str


@dataclass(frozen=True, slots=True)
class ItemSeen(Event):
    feed: str
    item_key: str
    title: str


@dataclass(frozen=True, slots=True)
class ItemMatched(Event):
    feed: str
    item_key: str
    rule_id: str


@dataclass(frozen=True, slots=True)
class StoryOpened(Event):
    story_id: int
    title: str
    url: str | None


@dataclass(frozen=True, slots=True)
class StoryJoined(Event):
    story_id: int
    feed: str
    title: str
    url: str | None


@dataclass(frozen=True, slots=True)
class AlertQueued(Event):
    alert_id: int
    story_id: int
    destination: str


@dataclass(frozen=True, slots=True)
class AlertDelivered(Event):
    alert_id: int
    destination: str
    remote_id: str
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class AlertRetrying(Event):
    alert_id: int
    destination: str
    reason: str


@dataclass(frozen=True, slots=True)
class AlertHeld(Event):
    alert_id: int
    destination: str
    reason: str


@dataclass(frozen=True, slots=True)
class AlertInterrupted(Event):
    """The process stopped while this alert was being sent: it is sent again and may show twice."""

    alert_id: int
    destination: str


@dataclass(frozen=True, slots=True)
class AlertDead(Event):
    alert_id: int
    destination: str
    reason: str


@dataclass(frozen=True, slots=True)
class DigestSent(Event):
    period: str
    stories: int
    destination: str


# The event names outgoing webhooks can subscribe to: a stable public contract (README documents
# the payloads). Each is queued in the same transaction as its change: "alert" and "follow_up"
# with the match, the others (``WEBHOOK_SOURCES``) with the change their domain event reports.
WEBHOOK_EVENTS: dict[str, str] = {
    "alert": "a new story matched a rule and alerts (what Slack gets as a new message)",
    "follow_up": "another outlet covered an alerted story (what Slack gets as a thread reply)",
    "alert_dead": "an alert to Slack (or the console) gave up: it is in the dead-letter state",
    "feed_failing": "a feed started failing",
    "feed_recovered": "a failing feed works again",
    "digest_sent": "the daily digest was sent",
}
WEBHOOK_SOURCES: dict[type[Event], str] = {
    AlertDead: "alert_dead",
    FeedFailing: "feed_failing",
    FeedRecovered: "feed_recovered",
    DigestSent: "digest_sent",
}

Handler = Callable[[Event], None]
E = TypeVar("E", bound=Event)


class EventBus:
    """Synchronous publish/subscribe by event type (``Event`` itself receives everything)."""

    def __init__(self) -> None:
        self._handlers: dict[type[Event], list[Handler]] = defaultdict(list)

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        """``handler`` gets every event of ``event_type`` (exactly that type; ``Event``: all)."""
        self._handlers[event_type].append(cast(Handler, handler))

    def emit(self, event: Event) -> None:
        for handler in (*self._handlers.get(type(event), ()), *self._handlers.get(Event, ())):
            try:
                handler(event)
            except Exception:
                log.exception("event subscriber failed event=%s handler=%r", event.name, handler)
