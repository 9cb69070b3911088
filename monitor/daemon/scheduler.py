"""APScheduler 3.x wiring for `monitor run`.

One interval job per feed (with jitter, so feeds spread out), one delivery job. The scheduler only
says when to look; the store says whether the feed is due: a failing feed backs off through its
stored ``next_check_at``, so back-off survives restarts and needs no job state. Jobs have fixed
ids, ``max_instances=1`` and ``coalesce=True``; SIGTERM and SIGINT stop the scheduler after the
running jobs finish.

With ``[digest]``, a cron job sends the digest at its local time, and a check on start-up and
every minute sends a digest missed while the monitor was down (within ``grace``) and retries
failed ones; which period is due is decided by ``delivery.digest.due_period`` and the store,
never by the trigger.

``run_forever`` also serves /healthz and /metrics (``daemon.health``), and reloads config and rules
(``daemon.reload``) on SIGHUP and when a watched file changes (the "watch" job); ``reschedule`` then
brings the feed and digest jobs in line with the new config.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import FrameType

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from monitor import shell
from monitor.daemon.health import Health, HealthServer
from monitor.daemon.metrics import Metrics
from monitor.daemon.reload import Reloader
from monitor.errors import StoreError
from monitor.shell import digesting

log = logging.getLogger("monitor.scheduler")

DELIVERY_TICK_SECONDS = 2
PRUNE_TICK_SECONDS = 3600
DIGEST_CHECK_SECONDS = 60
MAX_JITTER_SECONDS = 60
START_SPREAD_SECONDS = 0.2  # first polls are staggered by this much per feed (at most one interval in all)
WATCH_SECONDS = 3  # how often the watch job looks for changed config and rule files
JOB_DEFAULTS = {"max_instances": 1, "coalesce": True, "replace_existing": True, "misfire_grace_time": 300}


def feed_lease(rt: shell.Runtime) -> timedelta:
    """How long a claimed feed stays with its poller: a fetch (``[fetch] timeout``, body included),
    link following and the decision fit well inside three timeouts. A poller that died is replaced
    after this long."""
    return timedelta(seconds=3 * rt.config.fetch.timeout)


def on_current(step: Callable[[shell.Runtime], object]) -> Callable[[shell.Live], None]:
    """A job that runs ``step`` on the runtime current when the job starts (reloads swap it)."""

    def job(live: shell.Live) -> None:
        step(live.current)

    job.__name__ = step.__name__
    return job


def poll_if_due(live: shell.Live, name: str) -> None:
    """A feed job: poll the feed (as the current config has it) if it is due and this process
    claims it (``Feeds.claim``: of several replicas on one database, exactly one polls it)."""
    rt = live.current
    feed = next((f for f in rt.config.feeds if f.name == name), None)
    if feed is None:
        return
    now = rt.clock.now()
    # A feed's next check is set when its last poll ended, while its job comes back one interval
    # (plus up to one jitter) after that poll started: so a feed counts as due up to one jitter
    # early, or every so often it would wait a whole extra interval.
    due_by = now + timedelta(seconds=feed_jitter(feed.interval))
    if rt.store.feeds.claim(feed.name, now, now + feed_lease(rt), due_by):
        shell.poll_feed(rt, feed)


def feed_jitter(interval: timedelta) -> float:
    """Seconds by which a feed job may fire early or late (spreads the feeds out)."""
    return min(interval.total_seconds() / 10, MAX_JITTER_SECONDS)


def sync_feed_jobs(scheduler: BaseScheduler, live: shell.Live) -> None:
    """One interval job per configured feed: add new feeds' jobs, drop removed ones, and
    reschedule a feed whose interval changed."""
    rt = live.current
    wanted = {f"feed:{feed.name}": feed for feed in rt.config.feeds}
    for job in scheduler.get_jobs():
        if job.id.startswith("feed:") and job.id not in wanted:
            job.remove()
    start = datetime.now(rt.config.monitor.timezone)
    for number, (job_id, feed) in enumerate(wanted.items()):
        seconds = feed.interval.total_seconds()
        spread = min(START_SPREAD_SECONDS, seconds / len(wanted))  # every first poll within one interval
        existing = scheduler.get_job(job_id)
        if existing is not None and existing.trigger.interval == feed.interval:
            continue
        if existing is not None:  # removed first: before start, replace_existing would leave both pending
            existing.remove()
        scheduler.add_job(
            poll_if_due,
            "interval",
            seconds=seconds,
            jitter=feed_jitter(feed.interval),
            args=(live, feed.name),
            id=job_id,
            next_run_time=start + timedelta(seconds=number * spread),
            **JOB_DEFAULTS,
        )


def build(live: shell.Live) -> BlockingScheduler:
    rt = live.current
    scheduler = BlockingScheduler(
        timezone=rt.config.monitor.timezone,
        executors={"default": ThreadPoolExecutor(rt.config.fetch.concurrency)},
    )
    sync_feed_jobs(scheduler, live)
    scheduler.add_job(
        on_current(shell.deliver_due),
        "interval",
        seconds=DELIVERY_TICK_SECONDS,
        args=(live,),
        id="deliver",
        **JOB_DEFAULTS,
    )
    scheduler.add_job(
        on_current(shell.prune), "interval", seconds=PRUNE_TICK_SECONDS, args=(live,), id="prune", **JOB_DEFAULTS
    )
    if rt.config.digest is not None:
        add_digest_jobs(scheduler, live)

    def on_problem(event: JobExecutionEvent) -> None:
        if isinstance(event.exception, StoreError):  # the database's fault, explained: no traceback
            log.error("job failed job=%s kind=%s error=%s", event.job_id, event.exception.kind, event.exception)
        elif event.code == EVENT_JOB_ERROR:
            log.error("job failed job=%s", event.job_id, exc_info=event.exception)
        else:
            log.warning("job skipped job=%s code=%s (still running or missed)", event.job_id, event.code)

    scheduler.add_listener(on_problem, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
    return scheduler


def reschedule(scheduler: BaseScheduler, live: shell.Live) -> None:
    """After a reload: feed jobs for the new feed list, digest jobs for the new [digest]."""
    sync_feed_jobs(scheduler, live)
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
    """Everything `monitor run` runs: the scheduler with its jobs, and the ops around it."""

    live: shell.Live
    scheduler: BlockingScheduler
    health: Health
    metrics: Metrics
    reloader: Reloader
    server: HealthServer | None


def assemble(rt: shell.Runtime) -> Daemon:
    """Build the scheduler, subscribe metrics and health to the bus, add the watch job, and start
    the health endpoint (unless ``health_port`` is 0). The scheduler is not started."""
    live = shell.Live(rt)
    scheduler = build(live)
    metrics = Metrics(rt.store)
    metrics.subscribe(rt.bus)
    health = Health(live)
    health.watch(rt.bus)
    health.attach(scheduler)
    reloader = Reloader(live, on_reload=lambda: reschedule(scheduler, live))
    scheduler.add_job(reloader.reload_if_changed, "interval", seconds=WATCH_SECONDS, id="watch", **JOB_DEFAULTS)
    server = None
    if port := rt.config.monitor.health_port:
        server = HealthServer(health, metrics, rt.config.monitor.health_host, port).start()
        log.info("serving health=%s/healthz metrics=%s/metrics", server.url, server.url)
    return Daemon(live, scheduler, health, metrics, reloader, server)


def run_forever(rt: shell.Runtime) -> None:
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
