"""`monitor run` as a daemon: feeds claimed by one poll loop (no timer per feed), a delivery job per
destination, and a clean stop on SIGTERM at any moment."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import article, monitor_command, monitor_env, rss, slack_section, write_config

from monitor import config, shell
from monitor.daemon import scheduler
from monitor.errors import StoreError
from monitor.testing import FeedServer, SlackServer


def test_no_timer_per_feed_but_a_delivery_job_per_destination(tmp_path: Path) -> None:
    extra = '[[webhooks]]\nname = "crm"\nurl = "https://crm.example/hook"\nevents = ["alert"]\nsecret_env = "CRM"\n'
    path = write_config(tmp_path, {"A": "https://a.example/f", "B": "https://b.example/f"}, extra)
    rt = shell.open_runtime(config.load(path), deliver=False)
    try:
        jobs = {job.id: job for job in scheduler.build(shell.Live(rt)).get_jobs()}
    finally:
        rt.close()
    assert set(jobs) == {"deliver:console", "deliver:webhook:crm", "notices", "prune"}
    assert all(job.max_instances == 1 and job.coalesce for job in jobs.values())


def test_run_polls_delivers_and_stops_cleanly_on_sigterm(
    tmp_path: Path, feed_server: FeedServer, slack_server: SlackServer
) -> None:
    url = feed_server.add("/w.xml", rss(article("shengshu_wire.txt", "https://wire.example/a", "w-1")))
    path = write_config(tmp_path, {"Wire": url}, slack_section(slack_server), monitor="health_port = 0")
    process = subprocess.Popen(
        monitor_command("run", "--config", str(path)),
        env=monitor_env(SLACK_BOT_TOKEN="xoxb-local"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not slack_server.messages and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        assert len(slack_server.messages) == 1
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "stopped" in stderr and "Traceback" not in stderr
    assert "xoxb-local" not in stderr


def test_a_job_failing_on_the_database_logs_one_line_without_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rt = shell.open_runtime(config.load(write_config(tmp_path, {})))
    daemon = scheduler.build(shell.Live(rt))

    def full() -> None:
        raise StoreError("the database m.db cannot grow (database or disk is full): free space on /data", "full")

    ran = threading.Event()
    daemon.add_job(lambda: ran.set() or full(), "interval", hours=1, id="full", next_run_time=datetime.now(UTC))
    try:
        daemon.start()
        assert ran.wait(10)
        daemon.shutdown(wait=True)
    finally:
        rt.close()
    [failed] = [r for r in caplog.records if r.name == "monitor.scheduler" and r.getMessage().startswith("job failed")]
    assert failed.getMessage() == (
        "job failed job=full kind=full error=the database m.db cannot grow (database or disk is full): "
        "free space on /data"
    )
    assert failed.exc_info is None
