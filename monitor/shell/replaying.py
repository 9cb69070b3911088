"""Replay: stored items that never alerted, matched again by the rules as they are now."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable
from dataclasses import dataclass

from monitor import stories
from monitor.model import Alert, Item
from monitor.shell.recording import announce, new_item, open_story_views, preview
from monitor.shell.runtime import Runtime


@dataclass(frozen=True)
class ReplayReport:
    alerts: tuple[Alert, ...]  # what alerts (previews, oldest first); queued too when sent
    queued: int = 0


def replay(rt: Runtime, items: Iterable[Item], send: bool = False) -> ReplayReport:
    """Alert the stored ``items`` that never alerted and that the rules now match (a new rule, a
    fixed one). Without ``send`` nothing is written; with it their stories and outbox rows are
    stored in one transaction, exactly as a poll would have, for ``deliver_due`` to send."""
    now = rt.clock.now()
    chosen, recorded = [], []
    # As in a poll: each item's story is decided against the open stories and stored before the
    # next item's, under the store's exclusive hold, so two replayed items of one event share it.
    policies = {feed.name: feed.identity for feed in rt.config.feeds}
    trusted = functools.cache(lambda feed: stories.trusts_guids(rt.store.items.guid_changes(feed)))  # constant here
    with rt.store.exclusive() if send else contextlib.nullcontext():
        views = open_story_views(rt, now)
        for item in items:
            matches = rt.rules.evaluate(item)
            if not any(not m.digest_only for m in matches):
                continue
            # the identity keys it was stored with, by its feed's policy
            keys = stories.identity_keys(item, policies.get(item.feed, "auto"), trusted(item.feed))
            if (guid := stories.guid_key(item)) in keys:  # stored under its reused GUID key?
                [(_, keys)], _ = stories.separate_reused_guids([(item, keys)], rt.store.items.key_owners([guid]))
            chosen.append(new_item(rt, item, keys, matches, views, now))
            if send:
                recorded.append(rt.store.items.replay([chosen[-1]], now)[0])
                if (story_id := recorded[-1].story_id) is not None:
                    views = stories.with_member(views, story_id, chosen[-1].story_info)
    queued = sum(announce(rt, new, rec) for new, rec in zip(chosen, recorded, strict=False))
    return ReplayReport(tuple(preview(new) for new in chosen), queued)
