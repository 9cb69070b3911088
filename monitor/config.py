"""config.toml -> a validated, frozen ``Config``.

Every key the monitor understands is declared once, in ``SCHEMA``, with its type, default and a
line of help. Parsing, ``monitor check`` and the README's reference all come from that table.
All problems are reported at once, each located as ``config.toml:LINE: [section] key: problem``.

Secrets are never values in the file: keys ending in ``_env`` name an environment variable, and
``secret()`` reads it (or the file named by ``NAME_FILE``) at the moment it is needed.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import time as dtime
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.errors import ConfigError, LocatedError
from monitor.events import WEBHOOK_EVENTS
from monitor.healthcheck import CONFIG_ENV, DEFAULT_CONFIG_PATH, DEFAULT_HEALTH_HOST, DEFAULT_HEALTH_PORT
from monitor.model import FeedConfig
from monitor.store import is_postgres

DATABASE_URL_ENV = "MONITOR_DATABASE_URL"  # a postgresql:// URL; wins over [monitor] database

# --- value parsers: each takes the raw TOML value and returns the parsed one or raises ValueError ---

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> timedelta:
    """'90s', '15m', '1.5h', '2d' (or a number of seconds) -> timedelta."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like '15m'")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        found = _DURATION.match(str(value))
        if not found:
            raise ValueError(f"{value!r} is not a duration; write e.g. '30s', '15m', '1h' or '1d'")
        seconds = float(found.group(1)) * _UNITS[found.group(2)]
    if seconds <= 0:
        raise ValueError("must be greater than zero")
    return timedelta(seconds=seconds)


def _string(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty string")
    return value


def _url(value: Any) -> str:
    text = _string(value)
    if not re.match(r"^https?://[^\s/]+", text):
        raise ValueError(f"{text!r} is not an http(s) URL")
    return text


def _env_name(value: Any) -> str:
    text = _string(value)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        raise ValueError(
            f"{text!r} is not an environment variable name; put the secret in the environment "
            "and name the variable here"
        )
    return text


def _channel(value: Any) -> str:
    text = _string(value)
    if not (text.startswith("#") or re.fullmatch(r"[CGD][A-Z0-9]{6,}", text)):
        raise ValueError(f"{text!r}: write a channel name starting with # or a channel ID like C0123ABCD")
    return text


def _int_range(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"expected a whole number from {low} to {high}")
        return value

    return parse


def _positive_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError("expected a number greater than zero")
    return float(value)


def _pace(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 60:
        raise ValueError("expected a number of seconds from 0 to 60")
    return float(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return value


def _choice(*options: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if value not in options:
            raise ValueError(f"expected one of {', '.join(repr(o) for o in options)}, got {value!r}")
        return value

    return parse


def _timezone(value: Any) -> ZoneInfo:
    try:
        return ZoneInfo(_string(value))
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"{value!r} is not a known time zone; write e.g. 'UTC' or 'Europe/Berlin'") from e


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


def _quiet_hours(value: Any) -> tuple[dtime, dtime] | dict[str, tuple[dtime, dtime]]:
    """One range for every channel ('22:00-07:00'), or a table of channel = range."""
    if isinstance(value, dict):
        return {_channel(channel): _time_range(text) for channel, text in value.items()}
    return _time_range(value)


def _emails(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ValueError("expected a list of email addresses")
    for address in value:
        if not isinstance(address, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+", address):
            raise ValueError(f"{address!r} is not an email address")
    return tuple(value)


def _email(value: Any) -> str:
    return _emails(value)[0]


def _webhook_name(value: Any) -> str:
    text = _string(value)
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", text):
        raise ValueError(f"{text!r}: use lower-case letters, digits, '-' and '_' (at most 40), e.g. 'crm'")
    return text


def _webhook_events(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"expected a list of event names from: {', '.join(WEBHOOK_EVENTS)}")
    for name in value:
        if name not in WEBHOOK_EVENTS:
            raise ValueError(f"{name!r} is not an event; choose from: {', '.join(WEBHOOK_EVENTS)}")
    return tuple(dict.fromkeys(value))


def _rates(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ValueError("expected a table of currency = USD per unit, e.g. { CNY = 0.138 }")
    rates = {}
    for code, rate in value.items():
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise ValueError(f"{code!r} is not a three-letter currency code")
        rates[code] = _positive_number(rate)
    return rates


@dataclass(frozen=True)
class Key:
    parse: Callable[[Any], Any]
    default: Any
    help: str
    required: bool = False


# The whole configuration surface. Sections not present in the file take their defaults, except
# the optional sections (slack, digest, smtp) that switch a feature on by being present.
SCHEMA: dict[str, dict[str, Key]] = {
    "monitor": {
        "database": Key(
            _string,
            "data/monitor.db",
            "SQLite file (relative to the config file's folder), or a postgresql:// URL.",
        ),
        "rules": Key(_string, "rules", "Folder of rule packs (*.toml), relative to the config file's folder."),
        "timezone": Key(_timezone, ZoneInfo("UTC"), "Time zone for the digest time and displayed times."),
        "default_interval": Key(parse_duration, timedelta(minutes=15), "Poll interval for feeds without one."),
        "first_poll_max_age": Key(
            parse_duration, timedelta(hours=24), "On a feed's first poll, older items are stored, not alerted."
        ),
        "retention_days": Key(_int_range(1, 36500), 90, "Keep item text this many days."),
        "story_window": Key(parse_duration, timedelta(hours=72), "How long a story stays open for follow-ups."),
        "log_format": Key(_choice("text", "json"), "text", "Log lines as key=value text or JSON."),
        "log_level": Key(_choice("debug", "info", "warning"), "info", "Least severe log lines written."),
        "health_host": Key(_string, DEFAULT_HEALTH_HOST, "Address of the /healthz and /metrics endpoint."),
        "health_port": Key(_int_range(0, 65535), DEFAULT_HEALTH_PORT, "Port of the health endpoint (0: none)."),
    },
    "feeds": {
        "name": Key(_string, None, "Feed name, shown as the outlet.", required=True),
        "url": Key(_url, None, "Feed URL (http or https).", required=True),
        "interval": Key(parse_duration, None, "Poll interval; default [monitor] default_interval."),
        "identity": Key(_choice("auto", "guid", "link", "content"), "auto", "How items are identified."),
    },
    "webhooks": {
        "name": Key(_webhook_name, None, "Webhook name; its outbox rows go to 'webhook:NAME'.", required=True),
        "url": Key(_url, None, "URL that receives the signed JSON POSTs.", required=True),
        "events": Key(_webhook_events, None, "Events to send, e.g. ['alert', 'follow_up'].", required=True),
        "secret_env": Key(_env_name, None, "Env var holding the HMAC-SHA256 signing secret.", required=True),
        "timeout": Key(_positive_number, 10.0, "Seconds per webhook request."),
    },
    "fetch": {
        "timeout": Key(_positive_number, 20.0, "Total seconds for one feed request, body included."),
        "connect_timeout": Key(_positive_number, 10.0, "Seconds to connect."),
        "read_timeout": Key(_positive_number, 10.0, "Seconds of silence allowed between two reads."),
        "max_bytes": Key(_int_range(1024, 1 << 31), 10 * 1024 * 1024, "Largest feed body, decompressed."),
        "max_redirects": Key(_int_range(0, 20), 5, "Redirects followed per request."),
        "concurrency": Key(_int_range(1, 1000), 20, "Feeds fetched at once."),
        "per_host": Key(_int_range(1, 100), 2, "Feeds fetched at once from one host."),
        "max_backoff": Key(parse_duration, timedelta(days=1), "Longest wait before retrying a failing feed."),
        "max_hint": Key(
            parse_duration,
            timedelta(hours=6),
            "Longest wait a feed's own hints (Retry-After, RSS ttl, Cache-Control max-age) can impose.",
        ),
        "dead_after": Key(parse_duration, timedelta(days=7), "A feed failing this long is reported dead."),
    },
    "money": {
        "rates": Key(_rates, {}, "USD per unit of a currency, over the built-in rates, e.g. { CNY = 0.138 }."),
    },
    "slack": {
        "token_env": Key(_env_name, None, "Env var holding the bot token (xoxb-...)."),
        "webhook_url_env": Key(_env_name, None, "Env var holding an incoming-webhook URL (instead of a token)."),
        "channel": Key(_channel, None, "Default channel for alerts."),
        "base_url": Key(_url, "https://slack.com/api/", "Slack Web API base URL (proxies, tests)."),
        "ops_channel": Key(_channel, None, "Channel for feed health announcements."),
        "burst_limit": Key(_int_range(1, 1000), 10, "More new alerts than this per channel per minute are summarised."),
        "quiet_hours": Key(
            _quiet_hours,
            None,
            "Hold normal/low priority alerts in this local time range, or a table of channel = range.",
        ),
        "pace": Key(_pace, 1.0, "Seconds between two messages to one channel (Slack allows about one a second)."),
        "timeout": Key(_positive_number, 15.0, "Seconds per Slack request."),
    },
    "digest": {
        "time": Key(_clock_time, dtime(8, 0), "Local time to send the daily digest."),
        "to": Key(_emails, None, "Recipients.", required=True),
        "from": Key(_email, None, "Sender address.", required=True),
        "send_empty": Key(_bool, False, "Send a digest even when nothing happened."),
        "grace": Key(parse_duration, timedelta(hours=6), "Send a missed digest on start-up within this window."),
        "slack": Key(_bool, False, "Also post the digest to the Slack channel."),
    },
    "smtp": {
        "host": Key(_string, None, "SMTP server.", required=True),
        "port": Key(_int_range(1, 65535), 587, "SMTP port."),
        "security": Key(_choice("ssl", "starttls", "none"), "starttls", "Transport security."),
        "username_env": Key(_env_name, None, "Env var holding the SMTP user name."),
        "password_env": Key(_env_name, None, "Env var holding the SMTP password."),
        "timeout": Key(_positive_number, 30.0, "Seconds per SMTP operation."),
        "cafile": Key(_string, None, "Extra CA bundle to trust (self-hosted servers)."),
    },
}
OPTIONAL_SECTIONS = {"slack", "digest", "smtp"}
ARRAY_SECTIONS = {"feeds", "webhooks"}  # [[name]] tables, validated row by row


@dataclass(frozen=True)
class WebhookConfig:
    name: str
    url: str
    events: tuple[str, ...]
    secret_env: str
    timeout: float = 10.0

    @property
    def destination(self) -> str:
        return f"webhook:{self.name}"


@dataclass(frozen=True)
class Config:
    path: Path
    monitor: Mapping[str, Any]
    feeds: tuple[FeedConfig, ...]
    fetch: Mapping[str, Any]
    money: Mapping[str, Any]
    slack: Mapping[str, Any] | None = None
    digest: Mapping[str, Any] | None = None
    smtp: Mapping[str, Any] | None = None
    webhooks: tuple[WebhookConfig, ...] = ()
    lines: Mapping[str, int] = field(default_factory=dict, repr=False)

    def resolve(self, relative: str) -> Path:
        """A path from the config, taken relative to the config file's folder."""
        path = Path(relative)
        return path if path.is_absolute() else self.path.parent / path

    @property
    def database_path(self) -> Path:
        return self.resolve(self.monitor["database"])

    @property
    def database_url(self) -> str | None:
        """The PostgreSQL URL ($MONITOR_DATABASE_URL, or a postgresql:// ``database``); None: SQLite."""
        url = os.environ.get(DATABASE_URL_ENV) or self.monitor["database"]
        return url if is_postgres(url) else None

    @property
    def database(self) -> Path | str:
        """What ``store.open_store`` opens: the PostgreSQL URL, else the SQLite file."""
        return self.database_url or self.database_path

    @property
    def rules_path(self) -> Path:
        return self.resolve(self.monitor["rules"])


def secret(env_name: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """Read a secret from the environment variable ``env_name``, or from the file that
    ``env_name + '_FILE'`` names (Docker/Kubernetes secrets). None when neither is set."""
    if not env_name:
        return None
    environ = os.environ if environ is None else environ
    value = environ.get(env_name)
    if value:
        return value.strip()
    file_name = environ.get(env_name + "_FILE")
    if file_name:
        return Path(file_name).read_text(encoding="utf-8").strip()
    return None


def _env_names(value: Any) -> list[str]:
    """Every ``*_env`` value inside a config value: tables, lists of tables, dataclasses."""
    if is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in fields(value)}
    if isinstance(value, Mapping):
        names = [v for k, v in value.items() if isinstance(k, str) and k.endswith("_env") and isinstance(v, str)]
        return names + [n for v in value.values() for n in _env_names(v)]
    if isinstance(value, list | tuple):
        return [n for v in value for n in _env_names(v)]
    return []


def secret_values(config: Config, environ: Mapping[str, str] | None = None) -> list[str]:
    """The values of every secret the config names (any ``*_env`` key, in any section), so logs
    can hide them. A secret that cannot be read is skipped: the feature using it reports that."""
    values = [database_password(config)]
    for name in dict.fromkeys(_env_names(config)):
        try:
            values.append(secret(name, environ))
        except (OSError, UnicodeDecodeError):
            continue
    return [v for v in values if v]


def database_password(config: Config) -> str | None:
    """The password inside a PostgreSQL URL, if it has one (hidden from logs like any secret)."""
    if config.database_url is None:
        return None
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        return conninfo_to_dict(config.database_url).get("password")
    except ProgrammingError:
        return None


def _line_index(text: str) -> dict[str, int]:
    """Map 'section.key' (and 'feeds[N].key', 'section') to its line number in the raw TOML."""
    index: dict[str, int] = {}
    table = ""
    counts: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if header := re.match(r"^\[\[\s*([\w.-]+)\s*\]\]", stripped):
            name = header.group(1)
            counts[name] = counts.get(name, 0) + 1
            table = f"{name}[{counts[name] - 1}]"
            index.setdefault(table, number)
        elif header := re.match(r"^\[\s*([\w.-]+)\s*\]", stripped):
            table = header.group(1)
            index.setdefault(table, number)
        elif key := re.match(r"^([\w-]+|\"[^\"]+\")\s*=", stripped):
            index.setdefault(f"{table}.{key.group(1).strip(chr(34))}" if table else key.group(1), number)
    return index


class _Problems:
    def __init__(self, path: Path, lines: Mapping[str, int]) -> None:
        self.path, self.lines, self.found = path, lines, []

    def add(self, where: str, message: str) -> None:
        line = self.lines.get(where) or self.lines.get(where.rsplit(".", 1)[0])
        self.found.append(LocatedError(self.path, line, message))


def _section(raw: Mapping[str, Any], name: str, where: str, label: str, problems: _Problems) -> dict[str, Any]:
    schema = SCHEMA[name]
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in schema:
            known = ", ".join(schema)
            problems.add(f"{where}.{key}", f"{label} {key}: unknown key (known keys: {known})")
            continue
        try:
            values[key] = schema[key].parse(value)
        except ValueError as e:
            problems.add(f"{where}.{key}", f"{label} {key}: {e}")
    for key, spec in schema.items():
        if key not in raw and spec.required:
            problems.add(where, f"{label} {key}: missing (required)")
        values.setdefault(key, spec.default)  # also for invalid values, so checking can go on
    return values


def parse(text: str, path: Path) -> Config:
    """Validate config text; raise ConfigError carrying every problem found."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        line = re.search(r"line (\d+)", str(e))
        raise ConfigError(path, int(line.group(1)) if line else None, f"not valid TOML: {e}") from e
    lines = _line_index(text)
    problems = _Problems(path, lines)
    for name in raw:
        if name not in SCHEMA:
            problems.add(name, f"[{name}]: unknown section (known: {', '.join(SCHEMA)})")

    sections: dict[str, Any] = {}
    for name in SCHEMA:
        if name in ARRAY_SECTIONS:
            continue
        value = raw.get(name)
        if value is None and name in OPTIONAL_SECTIONS:
            sections[name] = None
        elif value is not None and not isinstance(value, dict):
            problems.add(name, f"{name}: expected a [{name}] table")
        else:
            sections[name] = _section(value or {}, name, name, f"[{name}]", problems)

    feeds = _feeds(raw.get("feeds", []), sections.get("monitor") or {}, problems)
    webhooks = _webhooks(raw.get("webhooks", []), problems)
    slack = sections.get("slack")
    if slack is not None:
        if bool(slack["token_env"]) == bool(slack["webhook_url_env"]):
            problems.add("slack", "[slack]: set exactly one of token_env or webhook_url_env")
        if slack["token_env"] and not slack["channel"]:
            problems.add("slack", "[slack] channel: required with token_env")
    digest = sections.get("digest")
    if digest is not None and digest["slack"] and slack is None:
        problems.add("digest.slack", "[digest] slack: true needs a [slack] section to post to")
    if problems.found:
        first = problems.found[0]
        raise ConfigError(first.file, first.line, first.message, problems.found)
    return Config(path=path, feeds=feeds, webhooks=webhooks, lines=lines, **sections)


def _feeds(raw: Any, monitor: Mapping[str, Any], problems: _Problems) -> tuple[FeedConfig, ...]:
    if not isinstance(raw, list):
        problems.add("feeds", "feeds: write each feed as a [[feeds]] table")
        return ()
    feeds, names = [], set()
    for number, table in enumerate(raw):
        where = f"feeds[{number}]"
        if not isinstance(table, dict):
            problems.add(where, f"feeds #{number + 1}: expected a [[feeds]] table")
            continue
        label = f"[[feeds]] #{number + 1}"
        values = _section(table, "feeds", where, label, problems)
        if not values["name"] or not values["url"]:
            continue
        if values["name"] in names:
            problems.add(f"{where}.name", f"{label} name: {values['name']!r} is used by another feed")
        names.add(values["name"])
        interval = (
            values["interval"] or monitor.get("default_interval") or SCHEMA["monitor"]["default_interval"].default
        )
        feeds.append(FeedConfig(values["name"], values["url"], interval, values["identity"]))
    return tuple(feeds)


def _webhooks(raw: Any, problems: _Problems) -> tuple[WebhookConfig, ...]:
    if not isinstance(raw, list):
        problems.add("webhooks", "webhooks: write each webhook as a [[webhooks]] table")
        return ()
    webhooks: list[WebhookConfig] = []
    for number, table in enumerate(raw):
        where, label = f"webhooks[{number}]", f"[[webhooks]] #{number + 1}"
        if not isinstance(table, dict):
            problems.add(where, f"{label}: expected a [[webhooks]] table")
            continue
        values = _section(table, "webhooks", where, label, problems)
        if not all(values[key] for key in ("name", "url", "events", "secret_env")):
            continue
        if any(w.name == values["name"] for w in webhooks):
            problems.add(f"{where}.name", f"{label} name: {values['name']!r} is used by another webhook")
            continue
        webhooks.append(WebhookConfig(**values))
    return tuple(webhooks)


def config_path(given: str | os.PathLike[str] | None = None) -> Path:
    """The config file to use: the given path, else $MONITOR_CONFIG, else ./config.toml."""
    return Path(given or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH)


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the config file. Raises ConfigError."""
    resolved = config_path(path)
    try:
        text = resolved.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise ConfigError(
            resolved, None, "config file not found; copy config.toml from the project or pass --config PATH"
        ) from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(resolved, None, f"cannot read the config file: {e}") from e
    return parse(text, resolved.absolute())
