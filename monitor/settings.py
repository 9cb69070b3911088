"""The typed configuration: one frozen dataclass per config.toml section, one default per key.

Each field is declared with ``setting(parse, default, help)``: the parser that turns the raw TOML
value into the field's type (raising ``ValueError`` with a message for the user), the default,
and one line of help. ``config`` validates a file against these declarations, and the
configuration reference (docs/configuration.md) is generated from them, so the code, the checks
and the docs cannot disagree. Keys marked ``restart=True`` are bound when the daemon starts (the
database, the health endpoint, logging); every other key takes effect on reload.

This module imports only ``events`` (the webhook event names): stages take their section
(``FetchSettings`` is the fetch limits and the back-off policy) without importing ``config``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field
from datetime import time as dtime
from datetime import timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.events import WEBHOOK_EVENTS
from monitor.healthcheck import DEFAULT_HEALTH_HOST, DEFAULT_HEALTH_PORT

IdentityPolicy = Literal["auto", "guid", "link", "content"]
QuietHours = tuple[dtime, dtime] | Mapping[str, tuple[dtime, dtime]]

Parser = Callable[[Any], Any]


def _kind(label: str) -> Callable[[Parser], Parser]:
    """Name what a parser accepts, for the generated reference ("duration", "string"...)."""

    def mark(parse: Parser) -> Parser:
        parse.kind = label  # type: ignore[attr-defined]
        return parse

    return mark


def kind_of(parse: Parser) -> str:
    return getattr(parse, "kind", "value")


def setting(
    parse: Parser,
    default: Any = MISSING,
    help: str = "",
    *,
    factory: Callable[[], Any] | None = None,
    restart: bool = False,
    toml: str | None = None,
    shown_default: str | None = None,
) -> Any:
    """A config key: its parser, default (none: required), help, and whether it needs a restart.
    ``toml`` is the key's name in the file when it is not a Python name (``from``);
    ``shown_default`` is what the reference says when the default comes from elsewhere."""
    metadata = {"parse": parse, "help": help, "restart": restart, "toml": toml, "shown_default": shown_default}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


# --- value parsers: raw TOML value -> typed value, or ValueError with what to write instead ---------

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_DURATION = timedelta(days=3650)


@_kind("duration")
def parse_duration(value: Any) -> timedelta:
    """'90s', '15m', '1.5h', '2d', or compound '1h30m' -> timedelta. A bare number is refused: it
    has no unit, and '30' meaning seconds surprised users."""
    if isinstance(value, int | float):  # bool too
        raise ValueError(f"{value!r} has no unit; write e.g. '{value}s', '15m', '1h30m' or '1d'")
    text = str(value).strip().lower().replace(" ", "")
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{value!r} is not a duration; write e.g. '30s', '15m', '1h30m' or '1d'")
    seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    if not math.isfinite(seconds) or seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{value!r} is longer than {MAX_DURATION.days} days")
    if seconds <= 0:
        raise ValueError("must be greater than zero")
    return timedelta(seconds=seconds)


@_kind("string")
def _string(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty string")
    return value


@_kind("http(s) URL")
def _url(value: Any) -> str:
    text = _string(value)
    if not re.match(r"^https?://[^\s/]+", text):
        raise ValueError(f"{text!r} is not an http(s) URL")
    return text


@_kind("env var name")
def _env_name(value: Any) -> str:
    text = _string(value)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        raise ValueError(  # the value is never echoed: it may be the secret itself, pasted here
            "not an environment variable name (value not shown); put the secret in the environment "
            "and name the variable here, e.g. SLACK_BOT_TOKEN"
        )
    return text


@_kind("channel")
def _channel(value: Any) -> str:
    text = _string(value)
    if not (text.startswith("#") or re.fullmatch(r"[CGD][A-Z0-9]{6,}", text)):
        raise ValueError(f"{text!r}: write a channel name starting with # or a channel ID like C0123ABCD")
    return text


def _int_range(low: int, high: int) -> Parser:
    @_kind(f"integer {low} to {high}")
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"expected a whole number from {low} to {high}")
        return value

    return parse


@_kind("number > 0")
def _positive_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ValueError("expected a number greater than zero")
    return float(value)


@_kind("number 0 to 60")
def _pace(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 60:
        raise ValueError("expected a number of seconds from 0 to 60")
    return float(value)


@_kind("boolean")
def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return value


def _choice(*options: str) -> Parser:
    quoted = [f'`"{o}"`' for o in options]

    @_kind(", ".join(quoted[:-1]) + " or " + quoted[-1])
    def parse(value: Any) -> str:
        if value not in options:
            raise ValueError(f"expected one of {', '.join(repr(o) for o in options)}, got {value!r}")
        return str(value)

    return parse


@_kind("time zone")
def _timezone(value: Any) -> ZoneInfo:
    try:
        return ZoneInfo(_string(value))
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"{value!r} is not a known time zone; write e.g. 'UTC' or 'Europe/Berlin'") from e


@_kind('time of day `"HH:MM"`')
def _clock_time(value: Any) -> dtime:
    found = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", str(value))
    if not found:
        raise ValueError(f"{value!r} is not a time of day; write HH:MM, e.g. '08:00'")
    return dtime(int(found.group(1)), int(found.group(2)))


def _time_range(value: Any) -> tuple[dtime, dtime]:
    start, sep, end = str(value).partition("-")
    if not sep:
        raise ValueError(f"{value!r} is not a range of times; write e.g. '22:00-07:00'")
    return _clock_time(start.strip()), _clock_time(end.strip())


@_kind('`"HH:MM-HH:MM"`, or a table of channel = range')
def _quiet_hours(value: Any) -> QuietHours:
    """One range for every channel ('22:00-07:00'), or a table of channel = range."""
    if isinstance(value, dict):
        return {_channel(channel): _time_range(text) for channel, text in value.items()}
    return _time_range(value)


_ADDRESS = re.compile(r"[^@\s<>]+@[^@\s<>]+")


@_kind("email address or list of them")
def _emails(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ValueError("expected a list of email addresses")
    for address in value:
        if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
            raise ValueError(f"{address!r} is not an email address")
    return tuple(value)


@_kind("email address, or `Name <address>`")
def _sender(value: Any) -> str:
    """An address, or a display name with one: 'World-model monitor <monitor@example.com>'."""
    text = _string(value).strip()
    named = re.fullmatch(r"[^<>@]*<\s*([^<>\s]+)\s*>", text)
    if not _ADDRESS.fullmatch(named.group(1) if named else text):
        raise ValueError(
            f"{text!r} is not an email address; write 'monitor@example.com' or 'Name <monitor@example.com>'"
        )
    return text


@_kind("lower-case name (`a-z`, `0-9`, `-`, `_`; at most 40)")
def _webhook_name(value: Any) -> str:
    text = _string(value)
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", text):
        raise ValueError(f"{text!r}: use lower-case letters, digits, '-' and '_' (at most 40), e.g. 'crm'")
    return text


@_kind("list of event names")
def _webhook_events(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"expected a list of event names from: {', '.join(WEBHOOK_EVENTS)}")
    for name in value:
        if name not in WEBHOOK_EVENTS:
            raise ValueError(f"{name!r} is not an event; choose from: {', '.join(WEBHOOK_EVENTS)}")
    return tuple(dict.fromkeys(value))


@_kind("table of currency = number")
def _rates(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ValueError("expected a table of currency = USD per unit, e.g. { CNY = 0.138 }")
    rates = {}
    for code, rate in value.items():
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise ValueError(f"{code!r} is not a three-letter currency code")
        rates[code] = _positive_number(rate)
    return rates


# --- the sections -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MonitorSettings:
    database: str = setting(
        _string,
        "data/monitor.db",
        "SQLite file (relative to the config file's folder), or a postgresql:// URL.",
        restart=True,
    )
    rules: str = setting(_string, "rules", "Folder of rule packs (*.toml), relative to the config file's folder.")
    timezone: ZoneInfo = setting(_timezone, ZoneInfo("UTC"), "Time zone for the digest time and displayed times.")
    default_interval: timedelta = setting(parse_duration, timedelta(minutes=15), "Poll interval for feeds without one.")
    full_text: bool = setting(
        _bool,
        False,
        "Fetch each new item's article page and match on its text too (for feeds that carry only a headline).",
    )
    first_poll_max_age: timedelta = setting(
        parse_duration, timedelta(hours=24), "On a feed's first poll, older items are stored, not alerted."
    )
    retention_days: int = setting(_int_range(1, 36500), 90, "Keep item text this many days.")
    story_window: timedelta = setting(
        parse_duration, timedelta(hours=72), "How long a story stays open for follow-ups."
    )
    pool_size: int = setting(
        _int_range(2, 100),
        10,
        "PostgreSQL only: most connections each process holds (replicas x pool_size must fit max_connections).",
        restart=True,
    )
    log_format: str = setting(_choice("text", "json"), "text", "Log lines as key=value text or JSON.", restart=True)
    log_level: str = setting(
        _choice("debug", "info", "warning"), "info", "Least severe log lines written.", restart=True
    )
    health_host: str = setting(
        _string, DEFAULT_HEALTH_HOST, "Address of the /healthz and /metrics endpoint.", restart=True
    )
    health_port: int = setting(
        _int_range(0, 65535), DEFAULT_HEALTH_PORT, "Port of the health endpoint (0: none).", restart=True
    )


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """One ``[[feeds]]`` table."""

    name: str = setting(_string, help="Feed name, shown as the outlet.")
    url: str = setting(_url, help="Feed URL (http or https).")
    interval: timedelta = setting(
        parse_duration,
        timedelta(minutes=15),
        "Poll interval.",
        shown_default="[monitor] default_interval",
    )
    identity: IdentityPolicy = setting(_choice("auto", "guid", "link", "content"), "auto", "How items are identified.")
    full_text: bool = setting(
        _bool,
        False,
        "Fetch each new item's article page (once) and match on its text too.",
        shown_default="[monitor] full_text",
    )


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """One ``[[webhooks]]`` table."""

    name: str = setting(_webhook_name, help="Webhook name; its outbox rows go to 'webhook:NAME'.")
    url: str = setting(_url, help="URL that receives the signed JSON POSTs.")
    events: tuple[str, ...] = setting(_webhook_events, help="Events to send, e.g. ['alert', 'follow_up'].")
    secret_env: str = setting(_env_name, help="Env var holding the HMAC-SHA256 signing secret.")
    timeout: float = setting(_positive_number, 10.0, "Seconds per webhook request.")

    @property
    def destination(self) -> str:
        return f"webhook:{self.name}"


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """How feeds are fetched, and how a failing feed backs off: the ``[fetch]`` section."""

    timeout: float = setting(_positive_number, 20.0, "Total seconds for one feed request, body included.")
    connect_timeout: float = setting(_positive_number, 10.0, "Seconds to connect.")
    read_timeout: float = setting(_positive_number, 10.0, "Seconds of silence allowed between two reads.")
    max_bytes: int = setting(_int_range(1024, 1 << 31), 10 * 1024 * 1024, "Largest feed body, decompressed.")
    max_redirects: int = setting(_int_range(0, 20), 5, "Redirects followed per request.")
    concurrency: int = setting(_int_range(1, 1000), 20, "Feeds fetched at once.", restart=True)
    per_host: int = setting(_int_range(1, 100), 2, "Feeds fetched at once from one host.")
    max_backoff: timedelta = setting(parse_duration, timedelta(days=1), "Longest wait before retrying a failing feed.")
    max_hint: timedelta = setting(
        parse_duration,
        timedelta(hours=6),
        "Longest wait a feed's own hints (Retry-After, RSS ttl, Cache-Control max-age) can impose.",
    )
    dead_after: timedelta = setting(parse_duration, timedelta(days=7), "A feed failing this long is reported dead.")


@dataclass(frozen=True, slots=True)
class MoneySettings:
    rates: dict[str, float] = setting(
        _rates, help="USD per unit of a currency, over the built-in rates, e.g. { CNY = 0.138 }.", factory=dict
    )


@dataclass(frozen=True, slots=True)
class SlackSettings:
    token_env: str | None = setting(_env_name, None, "Env var holding the bot token (xoxb-...).")
    webhook_url_env: str | None = setting(
        _env_name, None, "Env var holding an incoming-webhook URL (instead of a token)."
    )
    channel: str | None = setting(_channel, None, "Default channel for alerts.")
    base_url: str = setting(_url, "https://slack.com/api/", "Slack Web API base URL (proxies, tests).")
    ops_channel: str | None = setting(_channel, None, "Channel for feed health announcements.")
    burst_limit: int = setting(
        _int_range(1, 1000), 10, "More new alerts than this per channel per minute are summarised."
    )
    quiet_hours: QuietHours | None = setting(
        _quiet_hours, None, "Hold normal/low priority alerts in this local time range, or a table of channel = range."
    )
    pace: float = setting(_pace, 1.0, "Seconds between two messages to one channel (Slack allows about one a second).")
    timeout: float = setting(_positive_number, 15.0, "Seconds per Slack request.")


@dataclass(frozen=True, slots=True)
class DigestSettings:
    to: tuple[str, ...] = setting(_emails, help="Recipients.")
    sender: str = setting(
        _sender, help="Sender address, optionally with a name: 'Monitor <m@example.com>'.", toml="from"
    )
    time: dtime = setting(_clock_time, dtime(8, 0), "Local time to send the daily digest.")
    send_empty: bool = setting(_bool, False, "Send a digest even when nothing happened.")
    grace: timedelta = setting(
        parse_duration, timedelta(hours=6), "Send a missed digest on start-up within this window."
    )
    slack: bool = setting(_bool, False, "Also post the digest to the Slack channel.")


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str = setting(_string, help="SMTP server.")
    port: int = setting(_int_range(1, 65535), 587, "SMTP port.")
    security: str = setting(_choice("ssl", "starttls", "none"), "starttls", "Transport security.")
    username_env: str | None = setting(_env_name, None, "Env var holding the SMTP user name.")
    password_env: str | None = setting(_env_name, None, "Env var holding the SMTP password.")
    timeout: float = setting(_positive_number, 30.0, "Seconds per SMTP operation.")
    cafile: str | None = setting(_string, None, "Extra CA bundle to trust (self-hosted servers).")


# Every section of config.toml, in the order the reference lists them.
SECTIONS: dict[str, type] = {
    "monitor": MonitorSettings,
    "feeds": FeedConfig,
    "webhooks": WebhookConfig,
    "fetch": FetchSettings,
    "money": MoneySettings,
    "slack": SlackSettings,
    "digest": DigestSettings,
    "smtp": SmtpSettings,
}
OPTIONAL_SECTIONS = frozenset({"slack", "digest", "smtp"})  # present: the feature is on
ARRAY_SECTIONS = frozenset({"feeds", "webhooks"})  # [[name]] tables, validated row by row
