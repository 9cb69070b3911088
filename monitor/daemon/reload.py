"""Reload config.toml and the rule packs into a running daemon, without a restart.

Triggered by SIGHUP and by a change of any watched file (the config file and every ``*.toml``
under the rules folder, compared by modification time and size). The new config and rules go
through the same validation as `monitor check`; if anything fails, every problem is logged as
``file:line: what is wrong`` and the daemon keeps the set it had. Checking the rules is bounded
(``query.MAX_TERMS``, ``MAX_DEPTH``, ``rulepack.MAX_TOTAL_TERMS``: well under a second), so no
pack can hold the watch job, or SIGTERM waiting for it. On success the feeds, rules and
(when their sections changed) the notifiers are swapped in; the next poll uses them.

The keys declared ``restart=True`` in ``settings`` are bound when the daemon starts (the database,
the health endpoint, logging, the fetch concurrency that sizes the poll threads): a change to
those is logged as needing a restart and otherwise ignored. Every other key, ``[fetch]`` timeouts
and limits included, applies from the next poll.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from monitor import config, logs
from monitor.delivery import build_notifiers
from monitor.errors import ConfigError, MonitorError, RuleErrors
from monitor.matching import load_rules
from monitor.shell import Live

log = logging.getLogger("monitor.reload")

NOT_DELIVERY = {"path", "monitor", "feeds", "fetch", "money", "lines"}


def _delivery(cfg: config.Config) -> tuple:
    """The config sections notifiers are built from (whatever sections exist besides the core)."""
    return tuple(getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name not in NOT_DELIVERY)


def _problems(error: MonitorError) -> list[str]:
    if isinstance(error, ConfigError | RuleErrors):
        return [str(p) for p in error.problems]
    return [str(error)]


class Reloader:
    def __init__(self, live: Live, on_reload: Callable[[], None] | None = None) -> None:
        self.live = live
        self.on_reload = on_reload  # e.g. re-sync the scheduler's feed jobs
        self._lock = threading.Lock()
        self._seen = self.signature()

    def signature(self) -> tuple:
        """What the watched files look like now: (path, mtime, size) of each."""
        cfg = self.live.current.config
        paths = [cfg.path]
        if cfg.rules_path.is_dir():
            paths += sorted(cfg.rules_path.rglob("*.toml"))
        found = []
        for path in paths:
            try:
                stat = Path(path).stat()
            except OSError:
                continue
            found.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(found)

    def reload_if_changed(self) -> bool:
        """The scheduler's watch job: reload when a watched file changed since the last look."""
        if self.signature() == self._seen:
            return False
        return self.reload("file change")

    def reload(self, reason: str = "SIGHUP") -> bool:
        """Validate and swap in the config and rules on disk; True if they were taken."""
        with self._lock:
            current = self.live.current
            old = current.config
            self._seen = self.signature()  # taken before reading: a write during the load triggers again
            try:
                new = config.load(old.path)
                logs.hide(config.secret_values(new))
                rules = load_rules(new.rules_path, rates=new.money.rates)
                notifiers = build_notifiers(new) if _delivery(new) != _delivery(old) else current.notifiers
            except MonitorError as e:
                for problem in _problems(e):
                    log.error("reload rejected: %s", problem, extra={"fields": {"event": "reload", "status": "error"}})
                log.error(
                    "kept the previous config and rules",
                    extra={"fields": {"event": "reload", "status": "kept", "reason": reason}},
                )
                return False
            changed = config.changed_keys(old, new)
            restart = [label for label, needs_restart in changed if needs_restart]
            if restart:
                log.warning(
                    "these settings change only on restart",
                    extra={"fields": {"event": "reload", "status": "restart_needed", "keys": ",".join(restart)}},
                )
            current.store.feeds.sync(new.feeds)
            self.live.swap(new, rules, notifiers)
            if self.on_reload is not None:
                self.on_reload()
            if new.rules_path != old.rules_path:
                self._seen = self.signature()
            log.info(
                "reloaded config and rules; changed settings apply from the next poll or delivery",
                extra={
                    "fields": {
                        "event": "reload", "status": "ok", "reason": reason,
                        "feeds": len(new.feeds), "rules": len(rules.rules),
                        "applied": ",".join(label for label, needs_restart in changed if not needs_restart),
                    }
                },
            )  # fmt: skip
            return True
