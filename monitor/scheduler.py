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
"""

from __future__ import annotations

import logging
import signal
from datetime import datetime, timedelta
from types import FrameType

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from monitor import digesting, pipeline
from monitor.model import FeedConfig

log = logging.getLogger("monitor.scheduler")

DELIVERY_TICK_SECONDS = 2
DIGEST_CHECK_SECONDS = 60
MAX_JITTER_SECONDS = 60
START_SPREAD_SECONDS = 0.2  # first polls are staggered by this much per feed


def is_due(rt: pipeline.Runtime, feed: FeedConfig, now: datetime) -> bool:
    state = rt.store.feed_state(feed.name)
    return state is None or state.next_check_at is None or state.next_check_at <= now


def poll_if_due(rt: pipeline.Runtime, feed: FeedConfig) -> None:
    if is_due(rt, feed, rt.clock.now()):
        pipeline.poll_feed(rt, feed)


def build(rt: pipeline.Runtime) -> BlockingScheduler:
    timezone = rt.config.monitor["timezone"]
    scheduler = BlockingScheduler(
        timezone=timezone, executors={"default": ThreadPoolExecutor(rt.config.fetch["concurrency"])}
    )
    common = {"max_instances": 1, "coalesce": True, "replace_existing": True, "misfire_grace_time": 300}
    start = datetime.now(timezone)
    for number, feed in enumerate(rt.config.feeds):
        seconds = feed.interval.total_seconds()
        scheduler.add_job(
            poll_if_due,
            "interval",
            seconds=seconds,
            jitter=min(seconds / 10, MAX_JITTER_SECONDS),
            args=(rt, feed),
            id=f"feed:{feed.name}",
            next_run_time=start + timedelta(seconds=number * START_SPREAD_SECONDS),
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
        misfire_grace_time=max(1, int(digest["grace"].total_seconds())),
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
