"""The digest end to end: a real store, a real SMTP server (aiosmtpd) and the local Slack server,
driven by a FixedClock through schedules, restarts, outages, DST days and failures."""

from __future__ import annotations

import email
import email.policy
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import ROOT, monitor_command, monitor_env, rss, slack_section, write_config
from digest_data import HOSTILE, HOSTILE_TITLE, HOSTILE_URL, STORIES, feeds, record
from markupsafe import escape
from rich.console import Console

from monitor import config, events, shell
from monitor.cli.status_view import collect, render_table
from monitor.clock import FixedClock
from monitor.daemon import scheduler
from monitor.daemon.metrics import Metrics
from monitor.errors import ConfigError
from monitor.shell import digesting
from monitor.testing import FeedServer, SlackFault, SlackServer, SmtpServer

OUTLETS = list(dict.fromkeys(o[0] for s in STORIES for o in s.outlets))
SEND = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)  # 08:00 in Berlin
BERLIN = ZoneInfo("Europe/Berlin")


def smtp_section(server: SmtpServer, security: str = "none", cafile: Path | None = None) -> str:
    lines = ["[smtp]", f'host = "{server.host}"', f"port = {server.port}", f'security = "{security}"', "timeout = 5"]
    if cafile:
        lines.append(f'cafile = "{cafile.as_posix()}"')
    return "\n".join(lines) + "\n"


def make_config(
    tmp_path: Path, *, at: str = "08:00", smtp: str = "", digest: str = "", extra: str = "", base: str = ""
) -> Path:
    """A config for the OUTLETS in Berlin time; ``base``: serve their feeds from there (monitor run)."""
    tmp_path.mkdir(exist_ok=True)
    section = f'[digest]\ntime = "{at}"\nto = ["team@example.org"]\nfrom = "monitor@example.org"\n{digest}\n'
    base = base or "https://feeds.example"
    path = write_config(tmp_path, {name: f"{base}/{i}" for i, name in enumerate(OUTLETS)})
    text = path.read_text().replace("[monitor]\n", '[monitor]\ntimezone = "Europe/Berlin"\n', 1)
    path.write_text(text + section + smtp + extra)
    return path


def open_rt(path: Path, at: datetime) -> shell.Runtime:
    return shell.open_runtime(config.load(path), clock=FixedClock(at))


def tick_at(path: Path, at: datetime) -> list[digesting.DigestReport]:
    """One short-lived monitor process: start, run the digest check, stop."""
    rt = open_rt(path, at)
    try:
        return digesting.tick(rt)
    finally:
        rt.close()


def seeded(path: Path, end: datetime, stories=(*STORIES, HOSTILE), prefix: str = "") -> None:
    rt = open_rt(path, end)
    record(rt.store, end, stories, prefix)
    feeds(rt.store, end)
    rt.close()


def body(message: EmailMessage, kind: str) -> str:
    return message.get_body((kind,)).get_content()


def test_digest_email_carries_every_story_and_link_and_escapes_hostile_text(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    path = make_config(tmp_path, smtp=smtp_section(smtp_server))
    seeded(path, SEND)
    rt = open_rt(path, SEND)
    sent: list[events.Event] = []
    rt.bus.subscribe(events.DigestSent, sent.append)
    [report] = digesting.tick(rt)
    rt.close()

    assert (report.state, report.stories, report.destinations) == ("sent", 6, ("email",))
    assert sent == [events.DigestSent("2026-11-22", 6, "email")]
    [raw] = smtp_server.messages
    message = email.message_from_bytes(raw.as_bytes(), policy=email.policy.default)
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Subject"] == "World-model monitor: 6 stories, 2026-11-22"
    assert message["Date"] and message["Message-ID"]
    text, html = body(message, "plain"), body(message, "html")
    for story in STORIES:
        for outlet, url, title in story.outlets:
            assert outlet in text and url in text and title in text
            assert str(escape(outlet)) in html and f'href="{url}"' in html and str(escape(title)) in html
    assert "<script>" not in html and "<img" not in html and "<!channel>" not in html
    assert "&lt;script&gt;" in html and "javascript:" not in html
    assert HOSTILE_TITLE in text and HOSTILE_URL not in text


def test_starttls_with_verification_and_login_from_env(
    tmp_path: Path, tls_cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_USERNAME", "digest")
    monkeypatch.setenv("SMTP_PASSWORD", "pw")
    with SmtpServer(tls=tls_cert, login=("digest", "pw")) as server:
        smtp = smtp_section(server, "starttls", tls_cert[0]) + 'username_env = "SMTP_USERNAME"\n'
        path = make_config(tmp_path, smtp=smtp + 'password_env = "SMTP_PASSWORD"\n')
        seeded(path, SEND)
        assert [r.state for r in tick_at(path, SEND)] == ["sent"]
        assert len(server.messages) == 1


def test_restart_after_a_sent_digest_sends_no_second(tmp_path: Path, smtp_server: SmtpServer) -> None:
    path = make_config(tmp_path, smtp=smtp_section(smtp_server))
    seeded(path, SEND)
    assert [r.state for r in tick_at(path, SEND)] == ["sent"]
    for later in (timedelta(minutes=1), timedelta(hours=2), timedelta(hours=5)):
        assert tick_at(path, SEND + later) == []
    assert len(smtp_server.messages) == 1


def test_down_at_send_time_then_started_within_grace_sends_exactly_one(tmp_path: Path, smtp_server: SmtpServer) -> None:
    path = make_config(tmp_path, smtp=smtp_section(smtp_server))
    assert [r.state for r in tick_at(path, SEND - timedelta(days=1))] == ["empty"]  # up yesterday
    seeded(path, SEND)
    # down at 08:00 today; started at 12:00 (grace 6 h), then restarted twice
    assert [r.period for r in tick_at(path, SEND + timedelta(hours=4))] == ["2026-11-22"]
    assert tick_at(path, SEND + timedelta(hours=4, minutes=1)) == []
    assert tick_at(path, SEND + timedelta(hours=5)) == []
    assert [m["Subject"] for m in smtp_server.messages] == ["World-model monitor: 6 stories, 2026-11-22"]


def test_down_beyond_grace_the_next_digest_covers_everything_since_the_last(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    path = make_config(tmp_path, smtp=smtp_section(smtp_server))
    tick_at(path, SEND - timedelta(days=1))  # yesterday's period: claimed (empty)
    seeded(path, SEND)  # stories from yesterday 11:00 to today 06:00 UTC
    assert tick_at(path, SEND + timedelta(hours=6, minutes=1)) == []  # too late for today's
    seeded(path, SEND + timedelta(days=1), STORIES[:1], prefix="next-")  # one more story
    [report] = tick_at(path, SEND + timedelta(days=1))
    assert (report.period, report.stories) == ("2026-11-23", 7)
    assert len(smtp_server.messages) == 1


@pytest.mark.parametrize(
    ("at", "before", "fire", "again"),
    [
        # 02:30 does not exist on 29 March 2026 in Berlin: sent at 03:30 CEST (01:30 UTC), once
        ("02:30", datetime(2026, 3, 28, 1, 30, tzinfo=UTC), datetime(2026, 3, 29, 1, 30, tzinfo=UTC), [1, 60]),
        # 02:30 occurs twice on 25 October 2026: sent at the first (00:30 UTC), not at the second
        ("02:30", datetime(2026, 10, 24, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 0, 30, tzinfo=UTC), [60, 61]),
        # an ordinary time on the spring-forward day: 08:00 CEST is 06:00 UTC, an hour earlier than the day before
        ("08:00", datetime(2026, 3, 28, 7, 0, tzinfo=UTC), datetime(2026, 3, 29, 6, 0, tzinfo=UTC), [1, 60]),
    ],
    ids=["spring-gap", "autumn-twice", "spring-0800"],
)
def test_dst_transition_days_send_once(
    tmp_path: Path, smtp_server: SmtpServer, at: str, before: datetime, fire: datetime, again: list[int]
) -> None:
    path = make_config(tmp_path, at=at, smtp=smtp_section(smtp_server), digest="send_empty = true")
    assert [r.period for r in tick_at(path, before)] == [before.astimezone(BERLIN).date().isoformat()]
    assert tick_at(path, fire - timedelta(minutes=1)) == []
    assert [r.period for r in tick_at(path, fire)] == [fire.astimezone(BERLIN).date().isoformat()]
    for minutes in again:  # e.g. the second 02:30 of the autumn night
        assert tick_at(path, fire + timedelta(minutes=minutes)) == []
    assert len(smtp_server.messages) == 2


def test_failed_send_stays_pending_is_reported_and_retried(tmp_path: Path, smtp_server: SmtpServer) -> None:
    path = make_config(tmp_path, smtp=smtp_section(smtp_server))
    seeded(path, SEND)
    smtp_server.fail_next("451 4.3.0 mailbox busy")
    [report] = tick_at(path, SEND)
    assert report.state == "pending" and "451" in (report.error or "")
    assert smtp_server.messages == []
    status = collect(config.load(path), SEND)
    assert status["digests"][0]["state"] == "pending" and "451" in status["digests"][0]["last_error"]
    console = Console(record=True, width=200)
    render_table(status, console=console)
    assert "Digest 2026-11-22: not sent yet after 1 attempts" in console.export_text()
    rt = open_rt(path, SEND)
    assert "monitor_digests_unsent 1.0" in Metrics(rt.store).exposition()[0].decode()
    rt.close()
    assert tick_at(path, SEND + timedelta(seconds=1)) == []  # backing off, not hammering
    assert [r.state for r in tick_at(path, SEND + timedelta(hours=2))] == ["sent"]
    assert tick_at(path, SEND + timedelta(hours=3)) == []
    assert len(smtp_server.messages) == 1
    assert collect(config.load(path), SEND)["digests"][0]["state"] == "sent"
    rt = open_rt(path, SEND)
    assert "monitor_digests_unsent 0.0" in Metrics(rt.store).exposition()[0].decode()
    rt.close()


def test_digest_send_after_a_failure_sends_that_digest_with_its_stories_and_no_empty_one(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    """A cron-only user: the scheduled send failed; `monitor digest --send` sends it, stories and all."""
    path = make_config(tmp_path, smtp=smtp_section(smtp_server))
    seeded(path, SEND)
    smtp_server.fail_next("451 4.3.0 mailbox busy")
    [failed] = tick_at(path, SEND)
    assert failed.state == "pending" and failed.stories == len(STORIES) + 1
    assert collect(config.load(path), SEND)["digests"][0]["stories"] == len(STORIES) + 1  # status tells it
    rt = open_rt(path, SEND + timedelta(minutes=1))  # long before its retry is due
    try:
        [report] = digesting.send_now(rt)
    finally:
        rt.close()
    assert (report.period, report.state, report.stories) == ("2026-11-22", "sent", len(STORIES) + 1)
    [message] = smtp_server.messages
    assert STORIES[0].outlets[0][2] in body(message, "plain")
    assert [d["period"] for d in collect(config.load(path), SEND)["digests"]] == ["2026-11-22"]  # no extra one


def test_without_smtp_the_digest_is_written_next_to_the_database(tmp_path: Path) -> None:
    path = make_config(tmp_path)
    seeded(path, SEND)
    [report] = tick_at(path, SEND)
    assert report.destinations == ("file",)
    folder = tmp_path / "data" / "digests"
    message = email.message_from_bytes((folder / "digest-2026-11-22.eml").read_bytes(), policy=email.policy.default)
    assert message.get_content_type() == "multipart/alternative"
    assert body(message, "html") == (folder / "digest-2026-11-22.html").read_text(encoding="utf-8")
    assert STORIES[0].outlets[0][2] in body(message, "plain")


def test_slack_summary_is_posted_once_even_when_slack_fails_first(
    tmp_path: Path, smtp_server: SmtpServer, slack_server: SlackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    path = make_config(
        tmp_path, smtp=smtp_section(smtp_server), digest="slack = true", extra=slack_section(slack_server)
    )
    seeded(path, SEND)
    slack_server.fail_next(SlackFault(status=500))
    [report] = tick_at(path, SEND)
    assert report.state == "pending" and "Slack" in (report.error or "")
    assert len(smtp_server.messages) == 1 and slack_server.messages == []
    assert [r.state for r in tick_at(path, SEND + timedelta(hours=2))] == ["sent"]
    assert len(smtp_server.messages) == 1  # the email is not sent again
    [posted] = slack_server.messages
    assert posted["channel"] == "#world-model-alerts"
    assert "<!channel>" not in str(posted["blocks"]) and "javascript:" not in str(posted["blocks"])


def test_empty_period_sends_nothing_unless_asked(tmp_path: Path, smtp_server: SmtpServer) -> None:
    quiet = make_config(tmp_path / "quiet", smtp=smtp_section(smtp_server))
    assert [r.state for r in tick_at(quiet, SEND)] == ["empty"]
    assert smtp_server.messages == []
    loud = make_config(tmp_path / "loud", smtp=smtp_section(smtp_server), digest="send_empty = true")
    assert [r.state for r in tick_at(loud, SEND)] == ["sent"]
    assert smtp_server.messages[0]["Subject"] == "World-model monitor: 0 stories, 2026-11-22"


def test_two_processes_at_the_same_moment_send_one(tmp_path: Path, smtp_server: SmtpServer) -> None:
    path = make_config(tmp_path, smtp=smtp_section(smtp_server))
    seeded(path, SEND)
    runtimes = [open_rt(path, SEND) for _ in range(4)]
    start = threading.Barrier(len(runtimes))

    def run(rt: shell.Runtime) -> None:
        start.wait()
        digesting.tick(rt)

    threads = [threading.Thread(target=run, args=(rt,)) for rt in runtimes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for rt in runtimes:
        rt.close()
    assert len(smtp_server.messages) == 1


def test_scheduler_registers_the_cron_job_in_the_zone(tmp_path: Path) -> None:
    rt = open_rt(make_config(tmp_path, at="02:30"), SEND)
    try:
        jobs = {job.id: job for job in scheduler.build(shell.Live(rt)).get_jobs()}
    finally:
        rt.close()
    cron = jobs["digest"]
    assert cron.misfire_grace_time == 6 * 3600 and cron.coalesce
    spring = cron.trigger.get_next_fire_time(None, datetime(2026, 3, 29, 0, 0, tzinfo=UTC))
    assert spring.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert "digest-check" in jobs


def test_digest_slack_needs_a_slack_section(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[digest\] slack"):
        config.load(make_config(tmp_path, digest="slack = true"))


def test_cli_preview_then_send(tmp_path: Path, smtp_server: SmtpServer) -> None:
    path = make_config(tmp_path, smtp=smtp_section(smtp_server))
    now = datetime.now(UTC)
    seeded(path, now)
    preview = tmp_path / "preview.html"
    done = subprocess.run(
        monitor_command("digest", "--preview", str(preview), "--config", str(path)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    html = preview.read_text(encoding="utf-8")
    assert all(f'href="{url}"' in html for s in STORIES for _, url, _ in s.outlets)
    assert smtp_server.messages == []
    sent = subprocess.run(
        monitor_command("digest", "--send", "--config", str(path)), cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert sent.returncode == 0, sent.stderr
    assert "6 stories" in sent.stderr and len(smtp_server.messages) == 1
    # the next digest starts where the manual one ended: nothing is sent twice
    rt = open_rt(path, now)
    assert digesting.preview(rt).empty
    rt.close()


def run_monitor(path: Path, until: Callable[[str], bool], linger: float) -> str:
    """`monitor run` until ``until(its log so far)`` holds (or 30 s), ``linger`` seconds more, then
    SIGTERM; returns the log."""
    command = monitor_command("run", "--config", str(path))
    lines: list[str] = []
    with subprocess.Popen(command, env=monitor_env(), stderr=subprocess.PIPE, text=True) as process:
        reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
        reader.start()
        try:
            deadline = time.monotonic() + 30
            while not until("".join(lines)) and time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.1)
            time.sleep(linger)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)
            reader.join(timeout=5)
        finally:
            if process.poll() is None:
                process.kill()
    log = "".join(lines)
    assert process.returncode == 0, log
    return log


def test_monitor_run_sends_a_missed_digest_on_start_up_once(
    tmp_path: Path, smtp_server: SmtpServer, feed_server: FeedServer
) -> None:
    now = datetime.now(UTC)
    for i in range(len(OUTLETS)):
        feed_server.add(f"/{i}", rss())
    at = (now - timedelta(minutes=5)).astimezone(BERLIN).strftime("%H:%M")  # we were down at send time
    path = make_config(tmp_path, at=at, smtp=smtp_section(smtp_server), base=feed_server.url)
    seeded(path, now)
    stderr = run_monitor(path, lambda log: bool(smtp_server.messages), linger=0.5)
    assert [m["Subject"].split(",")[0] for m in smtp_server.messages] == ["World-model monitor: 6 stories"]
    assert "DigestSent" in stderr and "Traceback" not in stderr
    # restarted: the start-up check runs right after "started"; give it time, nothing more is sent
    run_monitor(path, lambda log: "started feeds=" in log, linger=2.0)
    assert len(smtp_server.messages) == 1
