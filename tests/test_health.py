"""/healthz and /metrics of `monitor run`: the real scheduler, store and endpoint, in-process,
against a local feed; the clock is the only thing faked (to age the last successful poll)."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, article, free_port, rss, run_monitor, wait_for, write_config
from doctext import sections

import monitor
from monitor import config, events, healthcheck, shell
from monitor.clock import FixedClock
from monitor.config import SCHEMA
from monitor.daemon import scheduler
from monitor.daemon.health import (
    SCHEDULER_STALL,
    LastPoll,
    all_failing,
    diagnose,
    last_success,
    latest_polls,
    poll_deadline,
)
from monitor.daemon.metrics import Metrics
from monitor.model import FeedState
from monitor.store import open_store
from monitor.testing import FeedServer

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DEFAULTS = SCHEMA["monitor"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, []),
        ({"last_ok_poll": None, "now": T0 + HOUR}, []),  # start-up grace
        ({"scheduler_running": False}, ["scheduler not running"]),
        ({"since_dispatch": SCHEDULER_STALL * 2}, ["scheduler stalled: no job dispatched for 120s"]),
        ({"db_error": "disk I/O error"}, ["database not writable: disk I/O error"]),
        (
            {"now": T0 + 3 * HOUR},
            ["no successful poll within 2h00m (last at 2026-11-22T09:30:00+00:00)"],
        ),
        (
            {"last_ok_poll": None, "now": T0 + 3 * HOUR},
            ["no successful poll within 2h00m (none since start at 2026-11-22T09:00:00+00:00)"],
        ),
        (
            {"scheduler_running": False, "db_error": "locked"},
            ["scheduler not running", "database not writable: locked"],
        ),
    ],
    ids=["healthy", "grace", "stopped", "stalled", "db", "stale-poll", "never-polled", "two-reasons"],
)
def test_diagnose(changes: dict, expected: list[str]) -> None:
    state = {
        "now": T0 + HOUR,
        "started": T0,
        "scheduler_running": True,
        "since_dispatch": timedelta(seconds=2),
        "db_error": None,
        "last_ok_poll": T0 + HOUR / 2,
        "deadline": 2 * HOUR,
        "feeds": {"A": LastPoll(T0 + HOUR / 2, True), "B": LastPoll(T0 + HOUR / 2, False, "http: HTTP 500")},
    }
    assert diagnose(**(state | changes)) == expected


DNS = "dns: cannot resolve a.example: check the feed URL, or the machine's DNS and network"
FAILED = LastPoll(T0, False, DNS)


@pytest.mark.parametrize(
    ("feeds", "expected"),
    [
        ({"A": FAILED, "B": LastPoll(T0, True)}, None),  # one failing feed: `monitor status` shows it
        ({"A": FAILED, "B": None}, None),  # B not polled yet: nothing known
        ({}, None),
        ({"A": FAILED}, f"the only feed is failing: {DNS}"),
        (
            {"A": LastPoll(T0, False, "http: HTTP 500 Internal Server Error"), "B": FAILED, "C": FAILED},
            f"all 3 feeds failing; most common error (2 of 3), e.g. feed 'B': {DNS}",
        ),
    ],
    ids=["one-of-two", "not-polled-yet", "no-feeds", "the-only-feed", "all-three"],
)
def test_unhealthy_only_when_every_feed_polled_is_failing(feeds: dict, expected: str | None) -> None:
    assert all_failing(feeds) == expected
    healthy_otherwise = {
        "now": T0, "started": T0, "scheduler_running": True, "since_dispatch": None, "db_error": None,
        "last_ok_poll": None, "deadline": 2 * HOUR,
    }  # fmt: skip
    assert diagnose(**healthy_otherwise, feeds=feeds) == ([expected] if expected else [])


def test_a_feeds_latest_poll_is_the_newer_of_the_store_and_the_bus() -> None:
    stored = [
        FeedState("A", "https://a.example/", consecutive_failures=2, last_error=DNS, last_polled_at=T0),
        FeedState("B", "https://b.example/", last_polled_at=T0 + HOUR, last_ok_at=T0 + HOUR),  # another replica
        FeedState("C", "https://c.example/"),  # in the store, never polled
        FeedState("Gone", "https://gone.example/", last_polled_at=T0 + 2 * HOUR, last_ok_at=T0 + 2 * HOUR),
    ]
    seen = {"A": LastPoll(T0 + HOUR, True), "B": LastPoll(T0, False, DNS)}
    assert latest_polls(["A", "B", "C", "D"], stored, seen) == {
        "A": LastPoll(T0 + HOUR, True),
        "B": LastPoll(T0 + HOUR, True, None),
        "C": None,
        "D": None,
    }
    assert last_success(["A", "B", "C"], stored, seen_ok=None) == T0 + HOUR  # not the unconfigured feed's
    assert last_success(["A"], stored, seen_ok=T0 + HOUR / 2) == T0 + HOUR / 2
    assert last_success(["C"], stored, seen_ok=None) is None


def test_the_deadline_counts_from_start_up_when_the_stored_success_is_older() -> None:
    """A restart a day after the last success is not unhealthy at once: it gets its grace."""
    state = {
        "started": T0, "scheduler_running": True, "since_dispatch": None, "db_error": None,
        "last_ok_poll": T0 - 24 * HOUR, "deadline": 2 * HOUR, "feeds": {},
    }  # fmt: skip
    assert diagnose(now=T0 + HOUR, **state) == []
    assert diagnose(now=T0 + 3 * HOUR, **state) == [
        "no successful poll within 2h00m (last at 2026-11-21T09:00:00+00:00)"
    ]


def test_poll_deadline_is_twice_the_longest_interval_plus_the_fetch_timeout(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"A": "https://a.example/feed", "B": "https://b.example/feed"})
    path.write_text(path.read_text().replace('name = "B"', 'name = "B"\ninterval = "1h"'))
    assert poll_deadline(config.load(path)) == timedelta(hours=2, seconds=5)


@contextlib.contextmanager
def running(rt: shell.Runtime) -> Iterator[scheduler.Daemon]:
    """`monitor run` in a thread on ``rt``, as scheduler.run_forever assembles it."""
    built = scheduler.assemble(rt)
    built.health.db_timeout = 0.2
    thread = threading.Thread(target=built.run, daemon=True)
    thread.start()
    try:
        yield built
    finally:
        built.signals.stop()
        thread.join(10)


def open_runtime(tmp_path: Path, feeds: dict[str, str]) -> shell.Runtime:
    cfg = config.load(write_config(tmp_path, feeds, monitor=f"health_port = {free_port()}"))
    return shell.open_runtime(cfg, clock=FixedClock(datetime.now(UTC)))


@pytest.fixture
def daemon(tmp_path: Path, feed_server: FeedServer) -> Iterator[scheduler.Daemon]:
    """The daemon polling one local feed."""
    url = feed_server.add("/wire.xml", rss(article("shengshu_wire.txt", "https://wire.example/a", "w-1")))
    rt = open_runtime(tmp_path, {"Wire": url})
    with running(rt) as built:
        yield built
    rt.close()


def get(d: scheduler.Daemon, path: str) -> httpx.Response:
    assert d.server is not None
    return httpx.get(d.server.url + path, timeout=5, trust_env=False)


def healthy(d: scheduler.Daemon) -> httpx.Response:
    """Wait until the daemon has polled successfully (it is healthy before that, in its grace time)."""
    return wait_for(
        lambda: (r := get(d, "/healthz")).status_code == 200 and "poll: never" not in r.text and r,
        what="a successful poll",
    )


def test_healthz_ok_after_a_poll_and_metrics_count_it(daemon: scheduler.Daemon) -> None:
    response = healthy(daemon)
    assert response.text.startswith("ok\n")
    assert "last successful poll: 20" in response.text
    delivered = 'monitor_alerts_total{destination="console",state="delivered"} 1.0'
    wait_for(lambda: delivered in get(daemon, "/metrics").text, what="the alert's delivery")
    metrics = get(daemon, "/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    for line in (
        'monitor_polls_total{feed="Wire",status="ok"} 1.0',
        'monitor_new_items_total{feed="Wire"} 1.0',
        'monitor_stories_total{action="opened"} 1.0',
        'monitor_alerts_total{destination="console",state="queued"} 1.0',
        'monitor_outbox_alerts{state="delivered"} 1.0',
        "monitor_fetch_seconds_count 1.0",
        'monitor_delivery_seconds_count{destination="console"} 1.0',
        "monitor_feeds_failing 0.0",
    ):
        assert line in metrics.text, line
    assert 'monitor_matches_total{rule="' in metrics.text
    assert get(daemon, "/nope").status_code == 404
    assert daemon.server is not None
    accept = {"Accept": "application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5"}
    openmetrics = httpx.get(daemon.server.url + "/metrics", headers=accept, timeout=5, trust_env=False)
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text; version=1.0.0")
    assert openmetrics.text.endswith("# EOF\n") and "# TYPE monitor_polls counter" in openmetrics.text
    assert 'monitor_polls_total{feed="Wire",status="ok"} 1.0' in openmetrics.text
    assert "_created" not in openmetrics.text + metrics.text


def test_healthz_shows_dead_letters_and_stays_healthy(daemon: scheduler.Daemon) -> None:
    healthy(daemon)
    store = daemon.live.current.store
    wait_for(lambda: store.outbox.counts()["delivered"] == 1, what="the alert's delivery")
    store.outbox.mark_dead(1, "not_in_channel: invite the bot", daemon.live.current.clock.now())
    response = get(daemon, "/healthz")
    assert response.status_code == 200
    assert response.text.splitlines()[-1] == "dead letters: 1 (see `monitor outbox list --state dead`)"


def test_healthz_shows_a_digest_not_sent_yet_and_stays_healthy(daemon: scheduler.Daemon) -> None:
    healthy(daemon)
    store, now = daemon.live.current.store, daemon.live.current.clock.now()
    store.digests.open("2026-11-22", now, now - timedelta(days=1), scheduled=True, now=now)
    store.digests.claim("2026-11-22", now, now + timedelta(minutes=10))
    store.digests.retry("2026-11-22", now + timedelta(minutes=5), "SMTP 451: try again later", 0)
    response = get(daemon, "/healthz")
    assert response.status_code == 200  # retried by itself; a restart would not help
    assert "digest not sent yet: 2026-11-22: SMTP 451: try again later" in response.text.splitlines()


def test_healthz_503_when_the_scheduler_stopped(daemon: scheduler.Daemon) -> None:
    healthy(daemon)
    daemon.scheduler.shutdown()
    response = get(daemon, "/healthz")
    assert response.status_code == 503
    assert response.text.splitlines()[:2] == ["unhealthy", "scheduler not running"]
    assert len(response.text.splitlines()) == 3


def test_healthz_503_when_the_database_is_not_writable(daemon: scheduler.Daemon) -> None:
    healthy(daemon)
    other = sqlite3.connect(daemon.live.current.config.database_path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        response = get(daemon, "/healthz")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert response.status_code == 503
    unhealthy, problem = response.text.splitlines()[:2]
    # SQLite's own words, or ours when the daemon's poll loop was inside a write at that moment
    assert unhealthy == "unhealthy" and problem.startswith("database not writable:"), problem
    assert "locked" in problem or "busy" in problem
    assert get(daemon, "/healthz").status_code == 200


def test_healthz_503_when_no_poll_succeeded_recently(daemon: scheduler.Daemon, feed_server: FeedServer) -> None:
    healthy(daemon)
    feed_server.resources["/wire.xml"].status = 500  # from now on every poll fails
    clock = daemon.live.current.clock
    assert isinstance(clock, FixedClock)
    clock.advance(poll_deadline(daemon.live.current.config) + timedelta(minutes=1))
    response = get(daemon, "/healthz")
    assert response.status_code == 503
    problems = response.text.splitlines()[1:-1]
    assert len(problems) == 1 and problems[0].startswith("no successful poll within 30m"), problems


def test_healthz_503_once_every_feed_failed_its_first_poll(tmp_path: Path, feed_server: FeedServer) -> None:
    """Offline (every feed failing): unhealthy as soon as each feed has failed once, with the
    reason, long before the no-successful-poll deadline."""
    closed = f"http://127.0.0.1:{free_port()}"
    feed_server.add("/broken.xml", "", status=500)
    feeds = {"A": f"{closed}/a.xml", "B": feed_server.url + "/broken.xml", "C": f"{closed}/c.xml"}
    rt = open_runtime(tmp_path, feeds)
    try:
        with running(rt) as d:
            response = wait_for(lambda: (r := get(d, "/healthz")).status_code == 503 and r, what="unhealthy")
    finally:
        rt.close()
    status, reason, last = response.text.splitlines()
    assert (status, last) == ("unhealthy", "last successful poll: never")
    assert reason.startswith("all 3 feeds failing; most common error (2 of 3), e.g. feed 'A': connect: cannot connect")


def test_the_last_successful_poll_is_the_stores(tmp_path: Path, feed_server: FeedServer) -> None:
    """A `monitor poll` succeeds; then the feed breaks and the daemon starts: it names the poll's
    time (not "never") and is unhealthy because its only feed fails."""
    url = feed_server.add("/wire.xml", rss(article("shengshu_wire.txt", "https://wire.example/a", "w-1")))
    rt = open_runtime(tmp_path, {"Wire": url})
    try:
        polled_at = rt.clock.now()
        assert [r.status for r in shell.poll_cycle(rt)] == ["ok"]
        broken = feed_server.resources["/wire.xml"]
        broken.status, broken.etag, broken.last_modified = 500, None, None  # no 304 either
        assert isinstance(rt.clock, FixedClock)
        rt.clock.advance(timedelta(minutes=16))  # the feed is due again
        with running(rt) as d:
            response = wait_for(lambda: (r := get(d, "/healthz")).status_code == 503 and r, what="unhealthy")
    finally:
        rt.close()
    assert response.text.splitlines() == [
        "unhealthy",
        "the only feed is failing: http: HTTP 500 Internal Server Error",
        f"last successful poll: {polled_at.isoformat()}",
    ]


def test_each_metrics_has_its_own_registry() -> None:
    bus = events.EventBus()
    first, second = Metrics(), Metrics()
    first.subscribe(bus)
    bus.emit(events.FeedPolled("A", "error", error="HTTP 500", seconds=0.3))
    bus.emit(events.AlertDead(7, "slack", "invalid_auth"))
    bus.emit(events.DigestSent("2026-11-22", 3, "email"))
    text = first.exposition()[0].decode()
    assert 'monitor_polls_total{feed="A",status="error"} 1.0' in text
    assert 'monitor_dead_letters_total{destination="slack"} 1.0' in text
    assert 'monitor_digests_sent_total{destination="email"} 1.0' in text
    assert "monitor_polls_total{" not in second.exposition()[0].decode()


def metric_names(exposition: str) -> set[str]:
    return set(re.findall(r"^# TYPE (\S+) ", exposition, re.MULTILINE))


def test_metrics_have_no_created_series_and_carry_the_build_and_process(tmp_path: Path) -> None:
    metrics = Metrics(open_store(tmp_path / "m.db"))
    bus = events.EventBus()
    metrics.subscribe(bus)
    bus.emit(events.FeedPolled("A", "ok", seconds=0.3))
    bus.emit(events.AlertDelivered(1, "console", "console-1", 0.01))
    text, content_type = metrics.exposition()
    assert content_type.startswith("text/plain")
    assert "_created" not in text.decode()
    info = f'monitor_build_info{{python="{platform.python_version()}",version="{monitor.__version__}"}} 1.0'
    assert info in text.decode()
    assert {"process_cpu_seconds_total", "process_resident_memory_bytes", "python_info"} <= metric_names(text.decode())
    assert "monitor_last_successful_poll_timestamp_seconds 0.0" in text.decode()  # no poll in the store


def test_the_operations_guide_lists_every_metric(tmp_path: Path) -> None:
    """docs/operations.md's Metrics table names exactly the metrics a scrape shows."""
    table = sections((ROOT / "docs" / "operations.md").read_text(encoding="utf-8"))["Metrics"]
    documented = set(re.findall(r"^\| `(\w+)` \|", table, re.MULTILINE))
    exposed = metric_names(Metrics(open_store(tmp_path / "m.db")).exposition()[0].decode())
    assert exposed <= documented, exposed - documented
    without_proc = set() if Path("/proc/self/stat").exists() else {n for n in documented if n.startswith("process_")}
    assert documented - exposed == without_proc  # process_* needs Linux's /proc, as in the image


def test_run_says_which_setting_to_change_when_the_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        path = write_config(tmp_path, {"A": "http://127.0.0.1:9/a.xml"}, monitor=f"health_port = {port}")
        result = run_monitor("run", "--config", str(path))
    assert result.returncode == 1
    assert f"cannot serve the health endpoint on 127.0.0.1:{port}" in result.stderr
    assert "health_port" in result.stderr and "Traceback" not in result.stderr


def container_healthcheck(config_path: Path) -> subprocess.CompletedProcess[str]:
    """The image's HEALTHCHECK command as Docker runs it: the config from $MONITOR_CONFIG."""
    return subprocess.run(
        [sys.executable, "-I", "-m", "monitor.healthcheck"], env={**os.environ, "MONITOR_CONFIG": str(config_path)},
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def test_the_container_healthcheck_asks_healthz(daemon: scheduler.Daemon) -> None:
    healthy(daemon)
    result = container_healthcheck(daemon.live.current.config.path)
    assert result.returncode == 0 and result.stdout.startswith("ok\nlast successful poll: 20"), result
    daemon.scheduler.shutdown()
    result = container_healthcheck(daemon.live.current.config.path)
    assert result.returncode == 1 and result.stdout.splitlines()[:2] == ["unhealthy", "scheduler not running"]


def test_the_container_healthcheck_reads_only_the_endpoint_and_says_what_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[monitor]\nhealth_host = "0.0.0.0"\nhealth_port = 9\n\n[[feeds]]\nname = 1\n')
    assert healthcheck.endpoint(str(path)) == ("0.0.0.0", 9)  # the rest is the daemon's to validate
    path.write_text('[[feeds]]\nname = "A"\n')
    assert healthcheck.endpoint(str(path)) == (DEFAULTS["health_host"].default, DEFAULTS["health_port"].default)
    for text, said in [("[monitor]\nhealth_port = 0\n", "health_port = 0: no endpoint"), ("[monitor\n", "cannot read")]:
        path.write_text(text)
        with pytest.raises(ValueError, match=said):
            healthcheck.endpoint(str(path))
    port = free_port()
    path.write_text(f"[monitor]\nhealth_port = {port}\n")
    result = container_healthcheck(path)
    assert result.returncode == 1
    assert result.stdout == f"no daemon answers at http://127.0.0.1:{port}/healthz: Connection refused\n"
    result = container_healthcheck(tmp_path / "missing.toml")
    assert result.returncode == 1 and result.stdout.startswith(f"{tmp_path / 'missing.toml'}: cannot read the config")
