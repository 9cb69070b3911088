"""The daemon's health, served with its metrics on ``[monitor] health_host:health_port``.

``GET /healthz`` answers 200 when all of these hold, else 503 with one reason per line:

- the scheduler is running and its loop dispatched a job within ``SCHEDULER_STALL`` (the
  delivery job is due every few seconds, so a longer silence means the loop is wedged);
- the database takes a write (a heartbeat row, waiting at most ``DB_TIMEOUT`` for a lock);
- not every feed is failing: once each configured feed has a latest poll (this process's, seen
  on the bus, or the newer one the store holds, from before start or from another replica) and
  all of them failed, the daemon is unhealthy, with the count and the most common error. A
  single failing feed does not make it unhealthy (``monitor status`` shows it);
- a poll succeeded (fetched, or not modified) within ``poll_deadline``: twice the longest feed
  interval plus the fetch timeout, counted from the newest success in the store, or from
  start-up if that is later. This catches polls that hang, which leave no failure behind.

"Last successful poll" is the newest ``last_ok_at`` of the configured feeds in the store (or a
success this process saw since), so it is right after a restart and after a `monitor poll`.

``GET /metrics`` is the Prometheus text format, or OpenMetrics when the scraper asks for it
(``daemon.metrics``). ``probe`` is what `monitor health` and `monitor status` use to ask a running
daemon; the container's HEALTHCHECK asks the same way without loading the application
(``monitor.healthcheck``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_SUBMITTED
from apscheduler.schedulers.base import BaseScheduler

from monitor import events, healthcheck
from monitor.config import Config
from monitor.daemon.metrics import Metrics
from monitor.daemon.serving import BackgroundServer
from monitor.errors import MonitorError, StoreError
from monitor.model import FeedState

if TYPE_CHECKING:
    from monitor.shell import Live

SCHEDULER_STALL = timedelta(seconds=60)
DB_TIMEOUT = 2.0


def poll_deadline(config: Config) -> timedelta:
    """How long the daemon may go without one successful poll before it is unhealthy."""
    longest = max((feed.interval for feed in config.feeds), default=config.monitor.default_interval)
    return 2 * longest + timedelta(seconds=config.fetch.timeout)


@dataclass(frozen=True, slots=True)
class LastPoll:
    """A feed's latest poll: when, whether it worked (fetched or not modified), and its error."""

    at: datetime
    ok: bool
    error: str | None = None


def latest_polls(
    configured: Sequence[str], stored: Iterable[FeedState], seen: Mapping[str, LastPoll]
) -> dict[str, LastPoll | None]:
    """Each configured feed's latest poll (None: never polled): the newer of the store's (any
    process's, before or since start) and the one this process ``seen`` on the bus."""
    states = {state.name: state for state in stored}
    latest: dict[str, LastPoll | None] = {}
    for name in configured:
        state = states.get(name)
        polls = [seen[name]] if name in seen else []
        if state is not None and state.last_polled_at is not None:
            polls.append(LastPoll(state.last_polled_at, state.consecutive_failures == 0, state.last_error))
        latest[name] = max(polls, key=lambda poll: poll.at, default=None)
    return latest


def last_success(configured: Sequence[str], stored: Iterable[FeedState], seen_ok: datetime | None) -> datetime | None:
    """The newest successful poll of a configured feed: the store's ``last_ok_at``, or a success
    this process saw since."""
    names = set(configured)
    times = [s.last_ok_at for s in stored if s.name in names and s.last_ok_at is not None]
    return max([*times, *([seen_ok] if seen_ok else [])], default=None)


def diagnose(
    *,
    now: datetime,
    started: datetime,
    scheduler_running: bool,
    since_dispatch: timedelta | None,
    db_error: str | None,
    last_ok_poll: datetime | None,
    deadline: timedelta,
    feeds: Mapping[str, LastPoll | None],
) -> list[str]:
    """Every reason the daemon is unhealthy; empty when it is healthy. ``feeds``: each configured
    feed's latest poll (``latest_polls``)."""
    problems = []
    if not scheduler_running:
        problems.append("scheduler not running")
    elif since_dispatch is not None and since_dispatch > SCHEDULER_STALL:
        problems.append(f"scheduler stalled: no job dispatched for {since_dispatch.total_seconds():.0f}s")
    if db_error:
        problems.append(f"database not writable: {db_error}")
    if failing := all_failing(feeds):
        problems.append(failing)
    since = max(last_ok_poll, started) if last_ok_poll else started
    if now - since > deadline:
        what = f"last at {last_ok_poll.isoformat()}" if last_ok_poll else f"none since start at {started.isoformat()}"
        problems.append(f"no successful poll within {_span(deadline)} ({what})")
    return problems


def all_failing(feeds: Mapping[str, LastPoll | None]) -> str | None:
    """The reason when every configured feed has been polled and its latest poll failed, naming
    the most common kind of error (``dns``, ``timeout``, ``http``: what precedes the colon) with
    its first feed's error as the example; else None."""
    polls = [(name, poll) for name, poll in feeds.items() if poll is not None and not poll.ok]
    if not polls or len(polls) < len(feeds):
        return None
    kinds = Counter(_kind(poll.error) for _, poll in polls)
    kind, count = kinds.most_common(1)[0]
    name, example = next((name, poll.error) for name, poll in polls if _kind(poll.error) == kind)
    if len(polls) == 1:
        return f"the only feed is failing: {example or 'unknown error'}"
    return (
        f"all {len(polls)} feeds failing; most common error ({count} of {len(polls)}), "
        f"e.g. feed {name!r}: {example or 'unknown error'}"
    )


def _kind(error: str | None) -> str:
    return (error or "").partition(":")[0].strip()


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
    """Watches the bus for polls and the scheduler for dispatches; ``check`` reads the store and
    decides."""

    def __init__(self, live: Live, db_timeout: float = DB_TIMEOUT) -> None:
        self.live = live
        self.db_timeout = db_timeout
        self.started = live.current.clock.now()
        self.seen: dict[str, LastPoll] = {}  # each feed's latest poll by this process
        self.seen_ok: datetime | None = None  # this process's latest successful poll
        self.scheduler: BaseScheduler | None = None
        self._dispatched: float | None = None

    def watch(self, bus: events.EventBus) -> None:
        bus.subscribe(events.FeedPolled, self._polled)

    def attach(self, scheduler: BaseScheduler) -> None:
        self.scheduler = scheduler
        scheduler.add_listener(self._dispatch, EVENT_JOB_SUBMITTED | EVENT_JOB_MAX_INSTANCES)

    def _polled(self, event: events.FeedPolled) -> None:
        now = self.live.current.clock.now()
        self.seen[event.feed] = LastPoll(now, event.status != "error", event.error)
        if event.status != "error":
            self.seen_ok = now

    def _dispatch(self, event: object) -> None:
        self._dispatched = time.monotonic()

    def check(self) -> HealthReport:
        rt = self.live.current
        now = rt.clock.now()
        stored: list[FeedState] = []
        try:
            rt.store.heartbeat(now, timeout=self.db_timeout)
            stored = rt.store.feeds.states()
            db_error = None
        except StoreError as e:
            db_error = str(e.__cause__ or e)
        since_dispatch = None if self._dispatched is None else timedelta(seconds=time.monotonic() - self._dispatched)
        configured = [feed.name for feed in rt.config.feeds]
        last_ok = last_success(configured, stored, self.seen_ok)
        problems = diagnose(
            now=now,
            started=self.started,
            scheduler_running=self.scheduler is not None and self.scheduler.running,
            since_dispatch=since_dispatch,
            db_error=db_error,
            last_ok_poll=last_ok,
            deadline=poll_deadline(rt.config),
            feeds=latest_polls(configured, stored, self.seen),
        )
        if db_error:
            return HealthReport(tuple(problems), last_ok)
        unsent = tuple(
            f"{row.period}: {row.last_error}"
            for row in rt.store.digests.recent(5)
            if row.state == "pending" and row.last_error
        )
        return HealthReport(tuple(problems), last_ok, rt.store.outbox.counts()["dead"], unsent)


# --- the HTTP endpoint ---------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    owner: HealthServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            report = self.owner.health.check()
            self._answer(200 if report.ok else 503, report.text().encode(), "text/plain; charset=utf-8")
        elif path == "/metrics":
            self._answer(200, *self.owner.metrics.exposition(self.headers.get("Accept")))
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
