"""Domain events and the in-process bus that carries them.

Stages emit what happened (an item was seen, a story opened, an alert was delivered, a feed
started failing); logs, metrics and the webhook notifier subscribe. A subscriber's failure is
logged and never breaks the stage that emitted the event.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

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
class AlertDead(Event):
    alert_id: int
    destination: str
    reason: str


@dataclass(frozen=True, slots=True)
class DigestSent(Event):
    period: str
    stories: int
    destination: str


Handler = Callable[[Event], None]


class EventBus:
    """Synchronous publish/subscribe by event type (``Event`` itself receives everything)."""

    def __init__(self) -> None:
        self._handlers: dict[type[Event], list[Handler]] = defaultdict(list)

    def subscribe(self, event_type: type[Event], handler: Handler) -> None:
        self._handlers[event_type].append(handler)

    def emit(self, event: Event) -> None:
        for handler in (*self._handlers.get(type(event), ()), *self._handlers.get(Event, ())):
            try:
                handler(event)
            except Exception:
                log.exception("event subscriber failed event=%s handler=%r", event.name, handler)
