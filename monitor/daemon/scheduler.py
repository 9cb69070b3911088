"""`monitor run`: one poll loop that claims due feeds from the store, and APScheduler for the rest.

Feeds are rows with a next check time, not timers. The main thread runs the poll loop: a cycle
(``shell.poll_cycle`` with ``claim``) takes due feeds from the store in batches, the longest due
first, and keeps the fetch edge busy up to ``[fetch] concurrency``; when no feed is due it ends,
and the loop sleeps until the next one falls due. Everything that decides when a feed is polled
again (its interval, its hints, back-off, Retry-After) is its stored ``next_check_at``, so it
survives restarts, start-up costs one batched write (none when the feed list is unchanged), and
several replicas on one PostgreSQL database share the feeds without a timer per feed each.

A BackgroundScheduler runs what timers are good at: one delivery job per destination (each with
its own turn, so a slow webhook never holds Slack up), the digest's cron job and its check every
minute, pruning, and the watch for changed config and rule files (``daemon.reload``; a reload swaps
the runtime and wakes the loop, so new feeds are polled at once).

Signals are handled from the first instruction (``install_signals``, called by the CLI before it
reads the config): SIGTERM or SIGINT sets ``stopping``. The loop then starts no fetch, lets the
running ones finish and gives back the feeds it claimed and did not fetch; each delivery job
finishes the message it is sending and lets go of its turn; the scheduler shuts down from the main
thread; the process exits 0. SIGHUP asks for a reload.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import FrameType

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from monitor import shell
from monitor.daemon.health import Health, HealthServer
from monitor.daemon.metrics import Metrics
from monitor.daemon.reload import Reloader
from monitor.delivery import alert_destination
from monitor.errors import StoreError
from monitor.model import FeedState
from monitor.settings import FeedConfig
from monitor.shell import digesting

log = logging.getLogger("monitor.scheduler")

DELIVERY_TICK_SECONDS = 2
PRUNE_TICK_SECONDS = 3600
DIGEST_CHECK_SECONDS = 60
WATCH_SECONDS = 3  # how often the watch job looks for changed config and rule files
IDLE_SECONDS = 5.0  # the longest the loop sleeps without looking at the store again
RETRY_SECONDS = 5.0  # after a database error, before the loop tries again
JOB_DEFAULTS = {"max_instances": 1, "coalesce": True, "replace_existing": True, "misfire_grace_time": 300}


@dataclass
class Signals:
    """What the signal handlers set: stop (SIGTERM, SIGINT) and reload (SIGHUP) requests, and
    ``wake``, which cuts the poll loop's sleep short (a stop, or a reload that added feeds)."""

    stopping: threading.Event = field(default_factory=threading.Event)
    reload: threading.Event = field(default_factory=threading.Event)
    wake: threading.Event = field(default_factory=threading.Event)

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()


def install_signals() -> Signals:
    """Handle SIGTERM/SIGINT (stop) and SIGHUP (reload) from now on: the handlers only set events,
    so they are safe at any moment, start-up included."""
    signals = Signals()

    def stop(signum: int, frame: FrameType | None) -> None:
        if not signals.stopping.is_set():
            log.info("stopping signal=%s", signal.Signals(signum).name)
        signals.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, lambda signum, frame: signals.reload.set())
    return signals


def feed_lease(rt: shell.Runtime) -> timedelta:
    """How long a claimed feed stays with its poller: a fetch (``[fetch] timeout``, body included),
    link following and the decision fit well inside three timeouts. A poller that died is replaced
    after this long."""
    return timedelta(seconds=3 * rt.config.fetch.timeout)


def claimer(rt: shell.Runtime, stopping: threading.Event) -> shell.Claim:
    """``poll_cycle``'s source of due feeds: claims from the store, for this runtime's feed list."""
    configured = {feed.name: feed for feed in rt.config.feeds}

    def claim(room: int) -> Sequence[tuple[FeedConfig, FeedState]]:
        if stopping.is_set():
            return []
        now = rt.clock.now()
        states = rt.store.feeds.claim_due(now, now + feed_lease(rt), room)
        strangers = [state.name for state in states if state.name not in configured]
        if strangers:  # another replica's config lists them: theirs to poll
            rt.store.feeds.release(strangers)
        return [(configured[state.name], state) for state in states if state.name in configured]

    return claim


def poll_loop(live: shell.Live, signals: Signals) -> None:
    """Poll due feeds until ``stopping``; between cycles, sleep until the next feed is due (or
    ``wake``). A database error is one log line, then a pause, then another try."""
    while not signals.stopping.is_set():
        rt = live.current
        signals.wake.clear()
        try:
            shell.poll_cycle(rt, claim=claimer(rt, signals.stopping), halt=signals.stopping)
            now = rt.clock.now()
            due = rt.store.feeds.next_due(now)
            pause = IDLE_SECONDS if due is None else min(max((due - now).total_seconds(), 0.2), IDLE_SECONDS)
        except StoreError as e:
            log.error("poll loop paused: %s", e, extra={"fields": {"event": "PollLoop", "kind": e.kind}})
            pause = RETRY_SECONDS
        signals.wake.wait(pause)


def on_current(step: Callable[..., object], *args: object) -> Callable[[shell.Live], None]:
    """A job that runs ``step`` on the runtime current when the job starts (reloads swap it)."""

    def job(live: shell.Live) -> None:
        step(live.current, *args)

    job.__name__ = step.__name__
    return job


def destinations(rt: shell.Runtime) -> list[str]:
    """Every destination the config sends to: Slack (or the console) and each webhook."""
    return [alert_destination(rt.config), *(webhook.destination for webhook in rt.config.webhooks)]


def sync_delivery_jobs(scheduler: BaseScheduler, live: shell.Live, stopping: threading.Event) -> None:
    """One delivery job per destination (each takes that destination's turn), and none for
    destinations no longer configured; the first also sends the feed-health notices."""
    wanted = {f"deliver:{name}": name for name in destinations(live.current)}
    for job in scheduler.get_jobs():
        if job.id.startswith("deliver:") and job.id not in wanted:
            job.remove()
    for job_id, name in wanted.items():
        if scheduler.get_job(job_id) is None:
            scheduler.add_job(
                on_current(shell.deliver_due, 100, name, stopping),
                "interval",
                seconds=DELIVERY_TICK_SECONDS,
                args=(live,),
                id=job_id,
                next_run_time=datetime.now(live.current.config.monitor.timezone),
                **JOB_DEFAULTS,
            )


def build(live: shell.Live, stopping: threading.Event | None = None) -> BackgroundScheduler:
    """The scheduler with its jobs (not started)."""
    rt = live.current
    stopping = stopping or threading.Event()
    scheduler = BackgroundScheduler(timezone=rt.config.monitor.timezone, executors={"default": ThreadPoolExecutor(8)})
    sync_delivery_jobs(scheduler, live, stopping)
    scheduler.add_job(
        on_current(shell.deliver_notices), "interval", seconds=DELIVERY_TICK_SECONDS, args=(live,), id="notices",
        **JOB_DEFAULTS,
    )  # fmt: skip
    scheduler.add_job(
        on_current(shell.prune), "interval", seconds=PRUNE_TICK_SECONDS, args=(live,), id="prune", **JOB_DEFAULTS
    )
    if rt.config.digest is not None:
        add_digest_jobs(scheduler, live)

    def on_problem(event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_ERROR and isinstance(event.exception, StoreError):
            error = event.exception  # the database, not a bug: one line, no traceback
            log.error("job failed job=%s kind=%s error=%s", event.job_id, error.kind, error)
        elif event.code == EVENT_JOB_ERROR:
            log.error("job failed job=%s", event.job_id, exc_info=event.exception)
        else:
            log.warning("job skipped job=%s code=%s (still running or missed)", event.job_id, event.code)

    scheduler.add_listener(on_problem, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
    return scheduler


def reschedule(scheduler: BaseScheduler, live: shell.Live, stopping: threading.Event) -> None:
    """After a reload: delivery jobs for the new destinations, digest jobs for the new [digest]."""
    sync_delivery_jobs(scheduler, live, stopping)
    if live.current.config.digest is not None:
        add_digest_jobs(scheduler, live)
        return
    for job_id in ("digest", "digest-check"):
        if scheduler.get_job(job_id) is not None:
            scheduler.remove_job(job_id)


def add_digest_jobs(scheduler: BaseScheduler, live: shell.Live) -> None:
    """The cron job at [digest] time (a late wake-up still runs, up to ``grace`` late), and the
    start-up/every-minute check: catch-up within ``grace``, retries, and a cron fire that came
    at the wrong instant (APScheduler 3.11.3 can, on DST days)."""
    digest, tz = live.current.config.digest, live.current.config.monitor.timezone
    assert digest is not None
    tick = on_current(digesting.tick)
    scheduler.add_job(
        tick,
        CronTrigger(hour=digest.time.hour, minute=digest.time.minute, timezone=tz),
        args=(live,),
        id="digest",
        **{**JOB_DEFAULTS, "misfire_grace_time": max(1, int(digest.grace.total_seconds()))},
    )
    scheduler.add_job(
        tick,
        "interval",
        seconds=DIGEST_CHECK_SECONDS,
        args=(live,),
        id="digest-check",
        next_run_time=datetime.now(tz),
        **{**JOB_DEFAULTS, "misfire_grace_time": DIGEST_CHECK_SECONDS},
    )


@dataclass
class Daemon:
    """Everything `monitor run` runs: the poll loop's runtime, the scheduler, and the ops around it."""

    live: shell.Live
    scheduler: BackgroundScheduler
    health: Health
    metrics: Metrics
    reloader: Reloader
    server: HealthServer | None
    signals: Signals

    def run(self) -> None:
        """Start the scheduler and run the poll loop until a stop; then stop it all, in order."""
        self.scheduler.start()
        try:
            poll_loop(self.live, self.signals)
        finally:
            if self.scheduler.running:
                self.scheduler.shutdown(wait=True)  # each job finishes what it is sending
            if self.server is not None:
                self.server.stop()


def assemble(rt: shell.Runtime, signals: Signals | None = None) -> Daemon:
    """Build the scheduler, subscribe metrics and health to the bus, add the watch job, and start
    the health endpoint (unless ``health_port`` is 0). Neither the scheduler nor the loop runs yet."""
    signals = signals or Signals()
    live = shell.Live(rt)
    scheduler = build(live, signals.stopping)
    metrics = Metrics(rt.store)
    metrics.subscribe(rt.bus)
    health = Health(live)
    health.watch(rt.bus)
    health.attach(scheduler)

    def reloaded() -> None:
        reschedule(scheduler, live, signals.stopping)
        signals.wake.set()  # new feeds are due at once

    reloader = Reloader(live, on_reload=reloaded)

    def watch() -> None:
        if signals.reload.is_set():
            signals.reload.clear()
            reloader.reload()
        else:
            reloader.reload_if_changed()

    scheduler.add_job(watch, "interval", seconds=WATCH_SECONDS, id="watch", **JOB_DEFAULTS)
    server = None
    if port := rt.config.monitor.health_port:
        server = HealthServer(health, metrics, rt.config.monitor.health_host, port).start()
        log.info("serving health=%s/healthz metrics=%s/metrics", server.url, server.url)
    return Daemon(live, scheduler, health, metrics, reloader, server, signals)


def run_forever(rt: shell.Runtime, signals: Signals) -> None:
    """Run until SIGTERM or SIGINT, then stop as the module docstring says."""
    if signals.stopping.is_set():  # the signal came during start-up
        log.info("stopped before starting")
        return
    daemon = assemble(rt, signals)
    log.info("started feeds=%d", len(rt.config.feeds))
    daemon.run()
    log.info("stopped")
