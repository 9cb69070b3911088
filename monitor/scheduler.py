"""APScheduler 3.x wiring for `monitor run`.

The scheduler only says when to look; the store says what is due. One job polls the feeds whose
``next_check_at`` has come (so back-off and restarts need no job state), one delivers the
outbox. Jobs have fixed ids, ``max_instances=1`` and ``coalesce=True``; SIGTERM and SIGINT stop
the scheduler after the running jobs finish.

``run_forever`` also serves /healthz and /metrics (``ops.health``), and reloads config and rules
(``ops.reload``) on SIGHUP and when a watched file changes (the "watch" job).
"""

from __future__ import annotations

import logging
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from types import FrameType

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.blocking import BlockingScheduler

from monitor import pipeline
from monitor.ops.health import Health, HealthServer
from monitor.ops.metrics import Metrics
from monitor.ops.reload import Reloader

log = logging.getLogger("monitor.scheduler")

POLL_TICK_SECONDS = 5
DELIVERY_TICK_SECONDS = 2
WATCH_SECONDS = 3
JOB_DEFAULTS = {"max_instances": 1, "coalesce": True, "replace_existing": True, "misfire_grace_time": 60}


def due_feeds(rt: pipeline.Runtime, now: datetime) -> list:
    states = {s.name: s for s in rt.store.feed_states()}
    return [
        feed
        for feed in rt.config.feeds
        if (state := states.get(feed.name)) is None
        or state.next_check_at is None
        or state.next_check_at <= now
    ]


def poll_due(rt: pipeline.Runtime, workers: int) -> None:
    feeds = due_feeds(rt, rt.clock.now())
    if not feeds:
        return
    with ThreadPoolExecutor(max_workers=min(workers, len(feeds))) as pool:
        list(pool.map(lambda feed: pipeline.poll_feed(rt, feed), feeds))


def build(rt: pipeline.Runtime) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone=rt.config.monitor["timezone"])
    workers = rt.config.fetch["concurrency"]
    scheduler.add_job(
        poll_due,
        "interval",
        seconds=POLL_TICK_SECONDS,
        args=(rt, workers),
        id="poll",
        next_run_time=datetime.now(rt.config.monitor["timezone"]),
        **JOB_DEFAULTS,
    )
    scheduler.add_job(
        pipeline.deliver_due, "interval", seconds=DELIVERY_TICK_SECONDS, args=(rt,), id="deliver", **JOB_DEFAULTS
    )

    def on_problem(event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_ERROR:
            log.error("job failed job=%s", event.job_id, exc_info=event.exception)
        else:
            log.warning("job skipped job=%s code=%s (still running or missed)", event.job_id, event.code)

    scheduler.add_listener(on_problem, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
    return scheduler


@dataclass
class Daemon:
    """Everything `monitor run` runs: the scheduler with its jobs, and the ops around it."""

    scheduler: BlockingScheduler
    health: Health
    metrics: Metrics
    reloader: Reloader
    server: HealthServer | None


def assemble(rt: pipeline.Runtime) -> Daemon:
    """Build the scheduler, subscribe metrics and health to the bus, add the watch job, and start
    the health endpoint (unless ``health_port`` is 0). The scheduler is not started."""
    scheduler = build(rt)
    metrics = Metrics(rt.store)
    metrics.subscribe(rt.bus)
    health = Health(rt)
    health.watch(rt.bus)
    health.attach(scheduler)
    reloader = Reloader(rt)
    scheduler.add_job(reloader.reload_if_changed, "interval", seconds=WATCH_SECONDS, id="watch", **JOB_DEFAULTS)
    server = None
    if port := rt.config.monitor["health_port"]:
        server = HealthServer(health, metrics, rt.config.monitor["health_host"], port).start()
        log.info("serving health=%s/healthz metrics=%s/metrics", server.url, server.url)
    return Daemon(scheduler, health, metrics, reloader, server)


def run_forever(rt: pipeline.Runtime) -> None:
    daemon = assemble(rt)

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("stopping signal=%s", signal.Signals(signum).name)
        daemon.scheduler.shutdown(wait=True)

    def reload(signum: int, frame: FrameType | None) -> None:
        # off the signal handler: it may have interrupted the scheduler while it holds its locks
        threading.Thread(target=daemon.reloader.reload, name="reload", daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reload)
    log.info("started feeds=%d", len(rt.config.feeds))
    try:
        daemon.scheduler.start()
    finally:
        if daemon.server is not None:
            daemon.server.stop()
    log.info("stopped")
