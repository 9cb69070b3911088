"""Reloading config and rules in a running daemon: SIGHUP and file changes, and the old set kept
when the new one does not pass `monitor check`."""

from __future__ import annotations

import logging
import shutil
import signal
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import ROOT, article, free_port, rss, wait_for, write_config

from monitor import config, shell
from monitor.daemon import scheduler
from monitor.daemon.reload import Reloader
from monitor.testing import FeedServer

BROKEN_RULE = '\n[[rule]]\nid = "broken"\nname = "Broken"\nquery = \'robot AND (\'\n'
NEW_RULE = '\n[[rule]]\nid = "trains"\nname = "Trains"\nquery = \'train OR railway\'\n'


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    return Path(shutil.copytree(ROOT / "rules", tmp_path / "rules"))


def add_to(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_reload_swaps_valid_files_and_keeps_the_old_set_otherwise(
    tmp_path: Path, rules: Path, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_config(tmp_path, {"A": feed_server.url + "/a.xml"}, rules=rules)
    rt = shell.open_runtime(config.load(path))
    live = shell.Live(rt)
    try:
        jobs = scheduler.build(live)
        reloader = Reloader(live, on_reload=lambda: scheduler.reschedule(jobs, live, threading.Event()))

        def due_feeds_and_digest_jobs() -> set[str]:
            """The feeds the poll loop would claim now, and the digest jobs."""
            due = rt.store.feeds.claim_due(datetime.now(UTC), datetime.now(UTC), 100)  # a lease that ends at once
            return {f"feed:{s.name}" for s in due} | {job.id for job in jobs.get_jobs() if job.id.startswith("digest")}

        assert reloader.reload_if_changed() is False  # nothing changed
        old_rules, old_config = live.current.rules, live.current.config

        add_to(rules / "world_models.toml", BROKEN_RULE)
        with caplog.at_level(logging.ERROR, "monitor.reload"):
            assert reloader.reload_if_changed() is False
        assert live.current.rules is old_rules and live.current.config is old_config
        problems = [r.getMessage() for r in caplog.records if r.getMessage().startswith("reload rejected")]
        assert problems and all(f"{rules / 'world_models.toml'}:" in p for p in problems), problems
        assert reloader.reload_if_changed() is False  # the same broken files are not retried in a loop

        (rules / "world_models.toml").write_text((ROOT / "rules" / "world_models.toml").read_text() + NEW_RULE)
        assert reloader.reload_if_changed() is True
        assert len(live.current.rules.rules) == len(old_rules.rules) + 1
        assert rt.rules is old_rules  # a job that took the old runtime keeps it whole

        add_to(path, '\n[[feeds]]\nname = "B"\nurl = "http://127.0.0.1:9/b.xml"\n')
        assert reloader.reload() is True
        assert [f.name for f in live.current.config.feeds] == ["A", "B"]
        assert rt.store.feeds.state("B") is not None
        assert due_feeds_and_digest_jobs() == {"feed:A", "feed:B"}

        add_to(path, '\n[[feeds]]\nname = "B"\nurl = "not a url"\n')
        assert reloader.reload() is False
        assert [f.name for f in live.current.config.feeds] == ["A", "B"]

        head = path.read_text().split("[[feeds]]")[0]
        only_b = '[[feeds]]\nname = "B"\nurl = "http://127.0.0.1:9/b.xml"\ninterval = "1h"\n'
        digest = '\n[digest]\ntime = "09:00"\nto = ["team@example.org"]\nfrom = "monitor@example.org"\n'
        path.write_text(head + only_b + digest)
        assert reloader.reload() is True
        assert due_feeds_and_digest_jobs() == {"feed:B", "digest", "digest-check"}  # A is no longer polled
        assert live.current.config.feeds[0].interval == timedelta(hours=1)

        path.write_text(head + only_b)
        assert reloader.reload() is True
        assert due_feeds_and_digest_jobs() == {"feed:B"}
    finally:
        rt.close()


def test_daemon_reloads_on_sighup_and_on_file_change(
    tmp_path: Path, rules: Path, feed_server: FeedServer, start_monitor
) -> None:
    first = feed_server.add("/first.xml", rss(article("unrelated_trains.txt", "https://a.example/t", "t-1")))
    path = write_config(tmp_path, {"First": first}, rules=rules, monitor=f"health_port = {free_port()}")
    monitor = start_monitor(path)
    monitor.wait_log("event=FeedPolled feed=First")

    add_to(rules / "world_models.toml", BROKEN_RULE)
    monitor.process.send_signal(signal.SIGHUP)
    monitor.wait_log("status=kept reason=SIGHUP")
    assert f"reload rejected: {rules / 'world_models.toml'}:" in monitor.stderr

    (rules / "world_models.toml").write_text((ROOT / "rules" / "world_models.toml").read_text())
    second = feed_server.add("/second.xml", rss(article("shengshu_wire.txt", "https://b.example/s", "s-1")))
    add_to(path, f'\n[[feeds]]\nname = "Second"\nurl = "{second}"\n')  # no signal: the watch job sees it
    monitor.wait_log('reason="file change"')
    wait_for(lambda: feed_server.requests_for("/second.xml"), what="a poll of the added feed")
    wait_for(lambda: "ShengShu" in monitor.stdout, what="the added feed's alert on the console")
    assert monitor.stop() == 0
    assert "Traceback" not in monitor.stderr


def test_a_reloaded_fetch_timeout_applies_to_the_next_poll_and_the_log_says_so(
    tmp_path: Path, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    """README and the reload log say [fetch] settings apply from the next poll; so does behaviour."""
    slow = feed_server.add("/slow.xml", rss(article("unrelated_trains.txt", "https://a.example/t", "t-1")), delay=1.5)
    path = write_config(tmp_path, {"Slow": slow})  # [fetch] timeout = 5
    rt = shell.open_runtime(config.load(path))
    live = shell.Live(rt)
    try:
        assert shell.poll_feed(live.current, live.current.config.feeds[0]).status == "ok"
        path.write_text(path.read_text().replace("timeout = 5", "timeout = 1"))
        with caplog.at_level(logging.INFO, "monitor.reload"):
            assert Reloader(live).reload() is True
        [line] = [r for r in caplog.records if r.getMessage().startswith("reloaded")]
        assert "apply from the next poll" in line.getMessage()
        assert line.fields["applied"] == "[fetch] timeout"  # type: ignore[attr-defined]
        assert not [r for r in caplog.records if "restart" in r.getMessage()]
        feed_server.resources["/slow.xml"].etag = feed_server.resources["/slow.xml"].last_modified = None
        report = shell.poll_feed(live.current, live.current.config.feeds[0])
        assert report.status == "error" and "timeout" in (report.error or "")
    finally:
        rt.close()
