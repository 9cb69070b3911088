"""What a poll or a replay stores for a new item, and what it announces: the item's matches, its
story (decided against the open stories) and its outbox rows, then one event per change.

Shared by ``polling`` and ``replaying``; the store writes each ``NewItem`` in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from monitor import events, stories
from monitor.delivery import alert_destination, webhook
from monitor.delivery.render import alert_payload
from monitor.model import Alert, Item, JoinStory, Match, NewItem, OpenStory, Outgoing, Recorded, highest
from monitor.shell.runtime import Runtime


def open_story_views(rt: Runtime, now: datetime) -> list[stories.OpenStoryView]:
    return stories.open_story_views(rt.store.items.open_stories(now - rt.config.monitor.story_window))


def new_item(
    rt: Runtime,
    item: Item,
    keys: tuple[str, ...],
    matches: Sequence[Match],
    views: Sequence[stories.OpenStoryView],
    now: datetime,
) -> NewItem:
    """What to store for a new item: its matches, its story and the messages to send (Slack or
    the console, and the webhooks)."""
    if not matches:
        return NewItem(item, keys)
    found = stories.features(item, matches)
    story = stories.decide(found, views)
    destination = alert_destination(rt.config)
    title = rt.store.items.story_title(story.story_id) if isinstance(story, JoinStory) else None
    outgoing = tuple(
        Outgoing(
            destination,
            channel,
            _top(matches, channel).priority,
            _top(matches, channel).rule_id,
            alert_payload(item, matches, title),
        )
        for channel in dict.fromkeys(m.channel for m in matches if not m.digest_only)
    )
    event = "alert" if isinstance(story, OpenStory) else "follow_up"
    outgoing += webhook.outgoing(rt.config.webhooks, event, item, matches, now, title)
    return NewItem(item, keys, tuple(matches), story, outgoing, found.to_json())


def announce(rt: Runtime, new: NewItem, rec: Recorded) -> int:
    """Emit the story and alert events of a recorded item; returns how many alerts it queued."""
    if rec.story_id is not None and isinstance(new.story, OpenStory):
        rt.bus.emit(events.StoryOpened(rec.story_id, new.item.title, new.item.url))
    elif rec.story_id is not None:
        rt.bus.emit(events.StoryJoined(rec.story_id, new.item.feed, new.item.title, new.item.url))
    for alert_id, out in zip(rec.alert_ids, new.outgoing, strict=False):
        rt.bus.emit(events.AlertQueued(alert_id, rec.story_id or 0, out.destination))
    return len(rec.alert_ids)


def _top(matches: Sequence[Match], channel: str | None) -> Match:
    """The highest-priority match routed to ``channel``."""
    routed = [m for m in matches if m.channel == channel and not m.digest_only]
    return highest(routed)


def preview(new: NewItem) -> Alert:
    top = highest(new.matches)
    return Alert(
        0,
        0,
        new.key,
        "alert" if isinstance(new.story, OpenStory) else "follow_up",
        "console",
        top.channel,
        top.priority,
        top.rule_id,
        0,
        alert_payload(new.item, new.matches),
    )
