"""Item identity and the story decision. Pure.

Identity: an item is known if any of its keys is stored: its canonical URL, its GUID within its
feed, or the fingerprint of its normalised title and text. So an item never alerts twice, not
after a restart, not when a feed re-publishes it with the same link or the same words.
"""

from __future__ import annotations

from monitor.model import Item
from monitor.store.base import OpenStory, StoryDecision


def identity_keys(item: Item) -> tuple[str, ...]:
    keys = []
    if item.url:
        keys.append("url:" + item.url)
    if item.guid:
        keys.append(f"guid:{item.feed}:{item.guid}")
    keys.append("fp:" + item.fingerprint)
    return tuple(keys)


def decide(item: Item) -> StoryDecision:
    """Every matched item opens its own story (clustering across outlets comes later)."""
    return OpenStory()
