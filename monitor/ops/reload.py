"""Reload config.toml and the rule packs into a running daemon, without a restart.

Triggered by SIGHUP and by a change of any watched file (the config file and every ``*.toml``
under the rules folder, compared by modification time and size). The new config and rules go
through the same validation as `monitor check`; if anything fails, every problem is logged as
``file:line: what is wrong`` and the daemon keeps the set it had. On success the feeds, rules and
(when their sections changed) the notifiers are swapped in; the next poll uses them.

Some settings are bound when the daemon starts (database, health endpoint, log format, fetch
limits): a change to those is logged as needing a restart and otherwise ignored.
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
from monitor.pipeline import Runtime

log = logging.getLogger("monitor.reload")

RESTART_KEYS = ("database", "health_host", "health_port", "log_format", "log_level")
NOT_DELIVERY = {"path", "monitor", "feeds", "fetch", "money", "lines"}


def _delivery(cfg: config.Config) -> tuple:
    """The config sections notifiers are built from (whatever sections exist besides the core)."""
    return tuple(getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name not in NOT_DELIVERY)


def _problems(error: MonitorError) -> list[str]:
    if isinstance(error, ConfigError | RuleErrors):
        return [str(p) for p in error.problems]
    return [str(error)]


class Reloader:
    def __init__(self, rt: Runtime, on_reload: Callable[[], None] | None = None) -> None:
        self.rt = rt
        self.on_reload = on_reload  # e.g. re-sync the scheduler's feed jobs
        self._lock = threading.Lock()
        self._seen = self.signature()

    def signature(self) -> tuple:
        """What the watched files look like now: (path, mtime, size) of each."""
        cfg = self.rt.config
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
            old = self.rt.config
            self._seen = self.signature()  # taken before reading: a write during the load triggers again
            try:
                new = config.load(old.path)
                logs.hide(config.secret_values(new))
                rules = load_rules(new.rules_path, rates=new.money["rates"])
                notifiers = build_notifiers(new) if _delivery(new) != _delivery(old) else self.rt.notifiers
            except MonitorError as e:
                for problem in _problems(e):
                    log.error("reload rejected: %s", problem, extra={"fields": {"event": "reload", "status": "error"}})
                log.error(
                    "kept the previous config and rules",
                    extra={"fields": {"event": "reload", "status": "kept", "reason": reason}},
                )
                return False
            restart = [k for k in RESTART_KEYS if new.monitor[k] != old.monitor[k]]
            restart += ["fetch"] if new.fetch != old.fetch else []
            if restart:
                log.warning(
                    "these settings change only on restart",
                    extra={"fields": {"event": "reload", "status": "restart_needed", "keys": ",".join(restart)}},
                )
            self.rt.store.feeds.sync(new.feeds)
            self.rt.config, self.rt.rules, self.rt.notifiers = new, rules, notifiers
            if self.on_reload is not None:
                self.on_reload()
            if new.rules_path != old.rules_path:
                self._seen = self.signature()
            log.info(
                "reloaded config and rules",
                extra={
                    "fields": {
                        "event": "reload", "status": "ok", "reason": reason,
                        "feeds": len(new.feeds), "rules": len(rules.rules),
                    }
                },
            )  # fmt: skip
            return True
