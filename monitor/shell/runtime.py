"""The shell's state: one immutable ``Runtime`` per config snapshot, and ``Live``, the daemon's
reference to the current one.

A ``Runtime`` holds what every step needs: the config with its rules and notifiers, and the
process's edges (the store, the clock, the event bus). A reload builds a new one and swaps one
reference; a job takes the current one once, when it starts, so a poll never mixes two configs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

from monitor import events
from monitor.clock import Clock, SystemClock
from monitor.config import Config
from monitor.delivery import Notifiers, build_notifiers
from monitor.matching import RuleSet, load_rules
from monitor.store import Store, open_store


@dataclass(frozen=True)
class Runtime:
    """What every step needs: one config snapshot with its rules and notifiers, and the process's
    edges (store, clock, bus). Immutable: a reload builds a new one (``Live.swap``), and a job
    takes the current one once, at its start, so a poll never mixes two configs."""

    config: Config
    store: Store
    rules: RuleSet
    clock: Clock = field(default_factory=SystemClock)
    bus: events.EventBus = field(default_factory=events.EventBus)
    notifiers: Notifiers = field(default_factory=Notifiers)
    # Held while one feed's items are matched, given their story and stored: the daemon polls
    # feeds from several scheduler threads, and story decisions must not interleave.
    settling: threading.Lock = field(default_factory=threading.Lock)

    def close(self) -> None:
        self.notifiers.close()
        self.store.close()


class Live:
    """The daemon's current runtime: one reference, replaced whole by a reload."""

    def __init__(self, runtime: Runtime) -> None:
        self.current = runtime

    def swap(self, config: Config, rules: RuleSet, notifiers: Notifiers) -> Runtime:
        """Jobs already running keep the runtime they took; the next ones take this one."""
        self.current = replace(self.current, config=config, rules=rules, notifiers=notifiers)
        return self.current


def open_runtime(config: Config, clock: Clock | None = None, deliver: bool = True) -> Runtime:
    """Load rules, open the store, build notifiers. Raises MonitorError subclasses."""
    rules = load_rules(config.rules_path, rates=config.money.rates)
    notifiers = build_notifiers(config) if deliver else Notifiers()
    store = open_store(config.database, config.monitor.pool_size)
    store.feeds.sync(config.feeds)
    return Runtime(config=config, store=store, rules=rules, clock=clock or SystemClock(), notifiers=notifiers)
