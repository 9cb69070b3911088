"""The one imperative shell: every store call and clock read of polling, delivery and the digest.

The stages (``intake``, ``matching``, ``stories``, ``delivery``) decide, as pure functions over
the values in ``model``; the shell moves their results through the store, in an order that makes
a crash cheap, and emits one domain event per unit of work. Its rooms:

- ``runtime``    the immutable ``Runtime`` a job runs on, and ``Live`` (swapped by a reload)
- ``polling``    feeds -> new items -> matches -> stories -> the store (``poll_cycle``)
- ``recording``  what a new item stores and announces (shared with ``replaying``)
- ``delivering`` due outbox rows -> notifiers, one message at a time (``deliver_due``)
- ``digesting``  the daily digest, exactly once per period (``digesting.tick``)
- ``replaying``  stored items the rules match now (``replay``)

The CLI, the daemon and the tests use the names below.
"""

from monitor.shell import digesting
from monitor.shell.delivering import FOLLOW_UP_WAIT, DeliveryReport, deliver_due, deliver_notices
from monitor.shell.polling import Claim, PollReport, poll_cycle, poll_feed, prune
from monitor.shell.replaying import ReplayReport, replay
from monitor.shell.runtime import Live, Runtime, open_runtime

__all__ = [
    "FOLLOW_UP_WAIT",
    "Claim",
    "DeliveryReport",
    "Live",
    "PollReport",
    "ReplayReport",
    "Runtime",
    "deliver_due",
    "deliver_notices",
    "digesting",
    "open_runtime",
    "poll_cycle",
    "poll_feed",
    "prune",
    "replay",
]
