"""The digest's imperative shell: open the due period, claim it, build, send, record.

Exactly once per period: ``tick`` opens a row for the period ``digest.due_period`` names (the
row's existence is the memory that survives restarts), then every due row is *claimed* with a
conditional update before anything is sent, so two jobs or two processes never both send it. Each
destination (email or file, and Slack) is recorded as soon as it confirms, so a retry after a
partial failure repeats nothing. A failed attempt puts the row back to pending with its error and
a retry time: it is retried until it goes through, and ``monitor status`` shows it meanwhile. A
process killed mid-send leaves the row claimed; the claim expires after ``LEASE`` and another
attempt sends it (the one case where a digest can arrive twice: the kill fell between the server
accepting it and the store recording that).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from monitor import events
from monitor.config import Config
from monitor.delivery import digest, mail, policy, webhook
from monitor.errors import ConfigError, DeliveryError
from monitor.model import Delivered, DeliveryResult, DigestRow, RetryAt
from monitor.settings import DigestSettings
from monitor.shell.runtime import Runtime

log = logging.getLogger("monitor.digest")

END_OF_TIME = datetime.max.replace(tzinfo=UTC)  # "due by": whenever its retry would be
LEASE = timedelta(minutes=10)  # longer than any attempt: SMTP timeouts are per operation
TITLE = "World-model monitor"


@dataclass(frozen=True)
class DigestReport:
    period: str
    state: str  # sent | empty | pending (failed, will be retried)
    stories: int = 0
    destinations: tuple[str, ...] = ()
    error: str | None = None


def digest_folder(config: Config) -> Path:
    """Where digests go without ``[smtp]``: next to a SQLite database; ``data/`` beside the config
    with PostgreSQL."""
    base = config.resolve("data") if config.database_url else config.database_path.parent
    return base / "digests"


def tick(rt: Runtime) -> list[DigestReport]:
    """Open the due period (if any), then send every due digest. Run by the cron job at
    ``[digest] time``, on start-up (the catch-up within ``grace``) and every minute (retries)."""
    if rt.config.digest is None:
        return []
    now = rt.clock.now()
    s, tz = rt.config.digest, rt.config.monitor.timezone
    last = rt.store.digests.last_scheduled()
    day = digest.due_period(now, tz, s.time, date.fromisoformat(last) if last else None, s.grace)
    if day is not None:
        end = digest.send_instant(day, s.time, tz)
        default_start = digest.send_instant(day - timedelta(days=1), s.time, tz)
        rt.store.digests.open(day.isoformat(), end, default_start, scheduled=True, now=now)
    return [report for row in rt.store.digests.due(now) if (report := attempt(rt, row.period)) is not None]


def send_now(rt: Runtime) -> list[DigestReport]:
    """`monitor digest --send`. A digest that failed and waits for its retry is sent now, with its
    stories (and no second, empty one); otherwise everything since the previous digest, sent now
    even when empty. The next scheduled digest starts where this one ends."""
    _settings(rt)
    now = rt.clock.now()
    unsent = rt.store.digests.due(END_OF_TIME)
    if not unsent:
        local = now.astimezone(rt.config.monitor.timezone)
        period = f"{local:%Y-%m-%d}-manual-{local:%H%M%S}"
        unsent = [rt.store.digests.open(period, now, now - timedelta(days=1), scheduled=False, now=now)]
    return [
        attempt(rt, row.period, due_by=END_OF_TIME)
        or DigestReport(row.period, "sending", error="another process is sending this digest right now")
        for row in unsent
    ]


def _settings(rt: Runtime) -> DigestSettings:
    if rt.config.digest is None:
        raise ConfigError(rt.config.path, None, "[digest]: add a [digest] section (to, from) to send a digest")
    return rt.config.digest


def preview(rt: Runtime) -> digest.Digest:
    """The digest as it would be sent now: everything since the previous digest. Stores nothing."""
    now = rt.clock.now()
    start = rt.store.digests.last_end() or now - timedelta(days=1)
    day = now.astimezone(rt.config.monitor.timezone).date()
    return _build(rt, day.isoformat(), day, start, now)


def write_preview(rt: Runtime, path: Path) -> digest.Digest:
    """`monitor digest --preview PATH`: the preview's HTML part, written to ``path``."""
    d = preview(rt)
    try:
        path.write_text(digest.render_html(d), encoding="utf-8")
    except OSError as e:
        raise DeliveryError(f"cannot write the preview to {path}: {e}") from e
    return d


def attempt(rt: Runtime, period: str, due_by: datetime | None = None) -> DigestReport | None:
    """Claim the period (due by ``due_by``, default now) and send it to each destination not yet
    done. None if not claimed."""
    settings = _settings(rt)
    now = rt.clock.now()
    row = rt.store.digests.claim(period, now, now + LEASE, due_by)
    if row is None:
        return None
    d = _build(rt, row.period, date.fromisoformat(row.period[:10]), row.start, row.end)
    if d.empty and row.scheduled and not settings.send_empty:
        rt.store.digests.finish(row.period, "empty", 0, now)
        log.info("digest period=%s status=empty", row.period)
        return DigestReport(row.period, "empty")
    destinations = _destinations(rt.config, settings)
    failures: list[RetryAt] = []
    for destination in destinations:
        if destination in row.done:
            continue
        result = _deliver(rt, settings, destination, d, row, now)
        if isinstance(result, Delivered):
            rt.store.digests.delivered(row.period, destination)
        else:
            failures.append(result if isinstance(result, RetryAt) else RetryAt(now + policy.MAX_DELAY, result.reason))
    if failures:
        error = "; ".join(f.reason for f in failures)
        rt.store.digests.retry(row.period, min(f.when for f in failures), error, d.story_count)
        log.warning("digest period=%s status=error attempts=%d error=%s", row.period, row.attempts, error)
        return DigestReport(row.period, "pending", d.story_count, destinations, error)
    sent = events.DigestSent(row.period, d.story_count, ",".join(destinations))
    rt.store.digests.finish(row.period, "sent", d.story_count, now, webhook.event_rows(rt.config.webhooks, sent, now))
    rt.bus.emit(sent)
    return DigestReport(row.period, "sent", d.story_count, destinations)


def _build(rt: Runtime, period: str, day: date, start: datetime, end: datetime) -> digest.Digest:
    names = {f.name for f in rt.config.feeds}
    return digest.build(
        rt.store.items.stories_first_seen(start, end),
        title=TITLE,
        period=period,
        day=day,
        start=start,
        end=end,
        tz=rt.config.monitor.timezone,
        alerts=rt.store.outbox.count_alerts(start, end),
        feeds=[f for f in rt.store.feeds.states() if f.name in names],
    )


def _destinations(config: Config, settings: DigestSettings) -> tuple[str, ...]:
    first = "email" if config.smtp is not None else "file"
    return (first, "slack") if settings.slack else (first,)


def _deliver(
    rt: Runtime, s: DigestSettings, destination: str, d: digest.Digest, row: DigestRow, now: datetime
) -> DeliveryResult:
    attempts = row.attempts - 1  # the claim counted this attempt
    if destination == "slack":
        notifier = rt.notifiers.slack
        if notifier is None:
            return RetryAt(now + policy.MAX_DELAY, "[digest] slack = true needs a working [slack] section")
        channel = rt.config.slack.channel if rt.config.slack else None
        return notifier.post(digest.slack_summary(d, channel), attempts, now)
    html = digest.render_html(d)
    message = mail.compose(subject=d.subject, sender=s.sender, to=s.to, text=digest.render_text(d), html=html, now=now)
    smtp = rt.config.smtp
    if destination == "email" and smtp is not None:
        cafile = rt.config.resolve(smtp.cafile) if smtp.cafile else None
        return mail.send(message, smtp, cafile, attempts, now)
    return _write_files(digest_folder(rt.config), d.period, message, html, attempts, now)


def _write_files(
    folder: Path, period: str, message: EmailMessage, html: str, attempts: int, now: datetime
) -> DeliveryResult:
    """No [smtp]: the message as ``.eml`` (opens in any mail client) and its HTML part as ``.html``."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        eml = folder / f"digest-{period}.eml"
        eml.write_bytes(bytes(message))
        (folder / f"digest-{period}.html").write_text(html, encoding="utf-8")
    except OSError as e:
        return RetryAt(policy.backoff(attempts, now), f"cannot write the digest to {folder}: {e}")
    return Delivered(remote_id=str(eml))
