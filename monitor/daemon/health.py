"""The daemon's health, served with its metrics on ``[monitor] health_host:health_port``.

``GET /healthz`` answers 200 when all three hold, else 503 with one reason per line:

- the scheduler is running and its loop dispatched a job within ``SCHEDULER_STALL`` (the
  delivery job is due every few seconds, so a longer silence means the loop is wedged);
- the database takes a write (a heartbeat row, waiting at most ``DB_TIMEOUT`` for a lock);
- a poll succeeded (fetched, or not modified) within ``poll_deadline``: twice the longest feed
  interval plus the fetch timeout, counted from start-up until the first success. A single
  feed that keeps failing does not make the daemon unhealthy (``monitor status`` shows it);
  every feed failing, or polls that hang, does.

``GET /metrics`` is the Prometheus text format (``ops.metrics``). ``probe`` is what
`monitor health` and `monitor status` use to ask a running daemon; the container's HEALTHCHECK
asks the same way without loading the application (``monitor.healthcheck``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_SUBMITTED
from apscheduler.schedulers.base import BaseScheduler
from prometheus_client import CONTENT_TYPE_LATEST

from monitor import events, healthcheck
from monitor.config import Config
from monitor.daemon.metrics import Metrics
from monitor.daemon.serving import BackgroundServer
from monitor.errors import MonitorError, StoreError

if TYPE_CHECKING:
    from monitor.shell import Live

SCHEDULER_STALL = timedelta(seconds=60)
DB_TIMEOUT = 2.0


def poll_deadline(config: Config) -> timedelta:
    """How long the daemon may go without one successful poll before it is unhealthy."""
    longest = max((feed.interval for feed in config.feeds), default=config.monitor.default_interval)
    return 2 * longest + timedelta(seconds=config.fetch.timeout)


def diagnose(
    *,
    now: datetime,
    started: datetime,
    scheduler_running: bool,
    since_dispatch: timedelta | None,
    db_error: str | None,
    last_ok_poll: datetime | None,
    deadline: timedelta,
) -> list[str]:
    """Every reason the daemon is unhealthy; empty when it is healthy."""
    problems = []
    if not scheduler_running:
        problems.append("scheduler not running")
    elif since_dispatch is not None and since_dispatch > SCHEDULER_STALL:
        problems.append(f"scheduler stalled: no job dispatched for {since_dispatch.total_seconds():.0f}s")
    if db_error:
        problems.append(f"database not writable: {db_error}")
    since = last_ok_poll or started
    if now - since > deadline:
        what = f"last at {last_ok_poll.isoformat()}" if last_ok_poll else f"none since start at {started.isoformat()}"
        problems.append(f"no successful poll within {_span(deadline)} ({what})")
    return problems


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


@dataclass(frozen=True)
class HealthReport:
    problems: tuple[str, ...]
    last_ok_poll: datetime | None
    dead_letters: int = 0  # shown, but not unhealthy: a restart cannot fix them, a person can
    unsent_digests: tuple[str, ...] = ()  # "PERIOD: last error", shown, not unhealthy (retried)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        last = self.last_ok_poll.isoformat() if self.last_ok_poll else "never"
        lines = ["ok" if self.ok else "unhealthy", *self.problems, f"last successful poll: {last}"]
        if self.dead_letters:
            lines.append(f"dead letters: {self.dead_letters} (see `monitor outbox list --state dead`)")
        lines += [f"digest not sent yet: {digest}" for digest in self.unsent_digests]
        return "\n".join(lines) + "\n"


class Health:
    """Watches the bus for successful polls and the scheduler for dispatches; ``check`` decides."""

    def __init__(self, live: Live, db_timeout: float = DB_TIMEOUT) -> None:
        self.live = live
        self.db_timeout = db_timeout
        self.started = live.current.clock.now()
        self.last_ok_poll: datetime | None = None
        self.scheduler: BaseScheduler | None = None
        self._dispatched: float | None = None

    def watch(self, bus: events.EventBus) -> None:
        bus.subscribe(events.FeedPolled, self._polled)

    def attach(self, scheduler: BaseScheduler) -> None:
        self.scheduler = scheduler
        scheduler.add_listener(self._dispatch, EVENT_JOB_SUBMITTED | EVENT_JOB_MAX_INSTANCES)

    def _polled(self, event: events.FeedPolled) -> None:
        if event.status != "error":
            self.last_ok_poll = self.live.current.clock.now()

    def _dispatch(self, event: object) -> None:
        self._dispatched = time.monotonic()

    def check(self) -> HealthReport:
        rt = self.live.current
        now = rt.clock.now()
        try:
            rt.store.heartbeat(now, timeout=self.db_timeout)
            db_error = None
        except StoreError as e:
            db_error = str(e.__cause__ or e)
        since_dispatch = None if self._dispatched is None else timedelta(seconds=time.monotonic() - self._dispatched)
        problems = diagnose(
            now=now,
            started=self.started,
            scheduler_running=self.scheduler is not None and self.scheduler.running,
            since_dispatch=since_dispatch,
            db_error=db_error,
            last_ok_poll=self.last_ok_poll,
            deadline=poll_deadline(rt.config),
        )
        if db_error:
            return HealthReport(tuple(problems), self.last_ok_poll)
        unsent = tuple(
            f"{row.period}: {row.last_error}"
            for row in rt.store.digests.recent(5)
            if row.state == "pending" and row.last_error
        )
        return HealthReport(tuple(problems), self.last_ok_poll, rt.store.outbox.counts()["dead"], unsent)


# --- the HTTP endpoint ---------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    owner: HealthServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            report = self.owner.health.check()
            self._answer(200 if report.ok else 503, report.text().encode(), "text/plain; charset=utf-8")
        elif path == "/metrics":
            self._answer(200, self.owner.metrics.exposition(), CONTENT_TYPE_LATEST)
        else:
            self._answer(404, b"not found: try /healthz or /metrics\n", "text/plain; charset=utf-8")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # scrapes every few seconds: not news
        pass


class HealthServer(BackgroundServer):
    """/healthz and /metrics, served from a daemon thread until ``stop``."""

    handler = _Handler

    def __init__(self, health: Health, metrics: Metrics, host: str, port: int) -> None:
        self.health, self.metrics = health, metrics
        try:
            super().__init__(host, port)
        except OSError as e:
            raise MonitorError(
                f"cannot serve the health endpoint on {host}:{port}: {e}; "
                "change [monitor] health_host/health_port or set health_port = 0"
            ) from e


def probe(config: Config, timeout: float = 5.0) -> tuple[int | None, str]:
    """Ask a running daemon's /healthz: (HTTP status, body), or (None, why it could not be asked)."""
    return healthcheck.ask(config.monitor.health_host, config.monitor.health_port, timeout)
