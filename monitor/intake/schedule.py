"""When to poll a feed next, and how healthy it is. Pure: ``now`` and the random source come in.

- A feed that answered: its interval, lengthened (never shortened) by its own hints, RSS
  ``<ttl>`` and ``Cache-Control: max-age``, up to ``max_hint``.
- A feed that failed: its interval doubled per consecutive failure, with jitter (so feeds that
  failed together do not retry together), capped at ``max_backoff`` (default one day), and never
  sooner than the server's ``Retry-After`` (itself capped at ``max_hint``). The cap means a feed
  that recovers comes back by itself, within a day at most.
- Health: ``ok`` after a success; ``failing`` from the first failure; ``dead`` once it has been
  failing for ``dead_after``. A change of health is announced once (``announcement``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Literal

from monitor.settings import FetchSettings

Health = Literal["ok", "failing", "dead"]
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


def max_age(headers: Mapping[str, str]) -> timedelta | None:
    """Cache-Control max-age, unless the response also says no-cache/no-store."""
    value = headers.get("cache-control", "")
    if "no-cache" in value.lower() or "no-store" in value.lower():
        return None
    found = _MAX_AGE.search(value)
    return timedelta(seconds=int(found.group(1))) if found and len(found.group(1)) < 10 else None


def next_check_ok(
    now: datetime, interval: timedelta, hints: tuple[timedelta | None, ...], policy: FetchSettings
) -> datetime:
    hinted = max((h for h in hints if h), default=timedelta(0))
    return now + max(interval, min(hinted, policy.max_hint))


def next_check_failed(
    now: datetime,
    interval: timedelta,
    failures_before: int,
    retry_after: timedelta | None,
    policy: FetchSettings,
    rng: random.Random | None = None,
) -> datetime:
    ceiling = min(interval * (2 ** min(failures_before, 20)), policy.max_backoff)
    delay = ceiling * (rng or random).uniform(0.5, 1.0)
    if retry_after:
        delay = max(delay, min(retry_after, policy.max_hint))
    return now + min(delay, policy.max_backoff)


def health_after(failed: bool, failing_since: datetime | None, now: datetime, policy: FetchSettings) -> Health:
    if not failed:
        return "ok"
    return "dead" if now - (failing_since or now) >= policy.dead_after else "failing"


def announcement(feed: str, before: str, after: Health, error: str | None, policy: FetchSettings) -> str | None:
    """The one-line ops message for a change of health, or None when nothing changed."""
    if before == after:
        return None
    if after == "ok":
        return f":white_check_mark: Feed {feed} recovered: it answers again."
    if after == "dead":
        days = policy.dead_after.total_seconds() / 86400
        return f":skull: Feed {feed} is dead: failing for {days:g} days. Last error: {error}. Fix or remove it."
    return f":warning: Feed {feed} is failing: {error}. The monitor keeps retrying with back-off."
