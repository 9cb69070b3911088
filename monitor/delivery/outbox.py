"""Delivery policy, pure: when to try an alert again, and when to give up.

Notifiers report what the far side said (``Delivered``, ``RetryAt`` with the server's own
Retry-After when it gave one, or ``Dead`` for permanent errors); ``backoff`` turns a transient
failure without a server hint into the next attempt time: exponential with full jitter, capped.
An alert that keeps failing transiently is never dropped silently: after ``MAX_ATTEMPTS`` it goes
to the dead-letter state with its last error, visible in ``monitor status`` and retryable.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

BASE_DELAY = timedelta(seconds=5)
MAX_DELAY = timedelta(hours=1)
MAX_ATTEMPTS = 50  # about two days of capped retries


def backoff(attempts: int, now: datetime, rng: random.Random | None = None) -> datetime:
    """Next attempt time after ``attempts`` failed attempts (0 = the first failure)."""
    ceiling = min(BASE_DELAY * (2 ** min(attempts, 20)), MAX_DELAY)
    fraction = (rng or random).uniform(0.5, 1.0)
    return now + ceiling * fraction


def exhausted(attempts: int) -> bool:
    return attempts + 1 >= MAX_ATTEMPTS
