"""APScheduler 3.x wiring for `monitor run`.

The scheduler only says when to look; the store says what is due. One job polls the feeds whose
``next_check_at`` has come (so back-off and restarts need no job state), one delivers the
outbox. Jobs have fixed ids, ``max_instances=1`` and ``coalesce=True``; SIGTERM and SIGINT stop
the scheduler after the running jobs finish. With ``[digest]``, a cron job sends the digest at its
local time, and a check on start-up and every minute sends a digest missed while the monitor was
down (within ``grace``) and retries failed ones; which period is due is decided by
``delivery.digest.due_period`` and the store, never by the trigger.
"""

from __future__ import annotations

import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from types import FrameType

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from monitor import digesting, pipeline

log = logging.getLogger("monitor.scheduler")

POLL_TICK_SECONDS = 5
DELIVERY_TICK_SECONDS = 2
DIGEST_CHECK_SECONDS = 60


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
    common = {"max_instances": 1, "coalesce": True, "replace_existing": True, "misfire_grace_time": 60}
    scheduler.add_job(
        poll_due,
        "interval",
        seconds=POLL_TICK_SECONDS,
        args=(rt, workers),
        id="poll",
        next_run_time=datetime.now(rt.config.monitor["timezone"]),
        **common,
    )
    scheduler.add_job(
        pipeline.deliver_due, "interval", seconds=DELIVERY_TICK_SECONDS, args=(rt,), id="deliver", **common
    )
    if rt.config.digest is not None:
        add_digest_jobs(scheduler, rt)

    def on_problem(event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_ERROR:
            log.error("job failed job=%s", event.job_id, exc_info=event.exception)
        else:
            log.warning("job skipped job=%s code=%s (still running or missed)", event.job_id, event.code)

    scheduler.add_listener(on_problem, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
    return scheduler


def add_digest_jobs(scheduler: BaseScheduler, rt: pipeline.Runtime) -> None:
    """The cron job at [digest] time (a late wake-up still runs, up to ``grace`` late), and the
    start-up/every-minute check: catch-up within ``grace``, retries, and a cron fire that came
    at the wrong instant (APScheduler 3.11.3 can, on DST days)."""
    digest, tz = rt.config.digest, rt.config.monitor["timezone"]
    scheduler.add_job(
        digesting.tick,
        CronTrigger(hour=digest["time"].hour, minute=digest["time"].minute, timezone=tz),
        args=(rt,),
        id="digest",
        max_instances=1,
        coalesce=True,
        replace_existing=True,
        misfire_grace_time=int(digest["grace"].total_seconds()),
    )
    scheduler.add_job(
        digesting.tick,
        "interval",
        seconds=DIGEST_CHECK_SECONDS,
        args=(rt,),
        id="digest-check",
        next_run_time=datetime.now(tz),
        max_instances=1,
        coalesce=True,
        replace_existing=True,
        misfire_grace_time=DIGEST_CHECK_SECONDS,
    )


def run_forever(rt: pipeline.Runtime) -> None:
    scheduler = build(rt)

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("stopping signal=%s", signal.Signals(signum).name)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("started feeds=%d", len(rt.config.feeds))
    scheduler.start()
    log.info("stopped")
