"""APScheduler 3.x wiring for `monitor run`.

The scheduler only says when to look; the store says what is due. One job polls the feeds whose
``next_check_at`` has come (so back-off and restarts need no job state), one delivers the
outbox. Jobs have fixed ids, ``max_instances=1`` and ``coalesce=True``; SIGTERM and SIGINT stop
the scheduler after the running jobs finish.
"""

from __future__ import annotations

import logging
import signal
from datetime import datetime
from types import FrameType

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.blocking import BlockingScheduler

from monitor import pipeline

log = logging.getLogger("monitor.scheduler")

POLL_TICK_SECONDS = 5
DELIVERY_TICK_SECONDS = 2


def due_feeds(rt: pipeline.Runtime, now: datetime) -> list:
    states = {s.name: s for s in rt.store.feed_states()}
    return [
        feed
        for feed in rt.config.feeds
        if (state := states.get(feed.name)) is None
        or state.next_check_at is None
        or state.next_check_at <= now
    ]


def poll_due(rt: pipeline.Runtime) -> None:
    """Poll the feeds that are due, concurrently (limits from [fetch])."""
    feeds = due_feeds(rt, rt.clock.now())
    if feeds:
        pipeline.poll_cycle(rt, feeds)


def build(rt: pipeline.Runtime) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone=rt.config.monitor["timezone"])
    common = {"max_instances": 1, "coalesce": True, "replace_existing": True, "misfire_grace_time": 60}
    scheduler.add_job(
        poll_due,
        "interval",
        seconds=POLL_TICK_SECONDS,
        args=(rt,),
        id="poll",
        next_run_time=datetime.now(rt.config.monitor["timezone"]),
        **common,
    )
    scheduler.add_job(
        pipeline.deliver_due, "interval", seconds=DELIVERY_TICK_SECONDS, args=(rt,), id="deliver", **common
    )

    def on_problem(event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_ERROR:
            log.error("job failed job=%s", event.job_id, exc_info=event.exception)
        else:
            log.warning("job skipped job=%s code=%s (still running or missed)", event.job_id, event.code)

    scheduler.add_listener(on_problem, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
    return scheduler


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
