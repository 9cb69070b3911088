"""Logging: one line per event, key=value by default or JSON, secrets redacted.

Every record becomes exactly one line (a traceback rides along as an escaped ``exc`` field), with
a UTC timestamp and stable keys first: ``ts level msg``, then the event's own fields. Control,
bidi and zero-width characters (from feeds, servers) are written as ``\u001b``-style escapes, so a
log line never drives the terminal and a JSON line stays valid JSON. Secrets are
hidden twice: by shape (Slack tokens and webhook URLs) and by value (every secret the config
names, registered with ``hide`` when the config is loaded).

Named ``logs`` so it does not shadow the standard library's ``logging``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from monitor.events import Event, EventBus
from monitor.textsafety import for_terminal

_SECRET = re.compile(r"(xox[abposr]-[A-Za-z0-9-]+|hooks\.slack\.com/services/[A-Za-z0-9/]+)")
_NEEDS_QUOTES = re.compile(r"[\s=\"]")
MIN_SECRET_LENGTH = 4  # shorter values would blank out ordinary words
_hidden: set[str] = set()


def hide(values: Iterable[str]) -> None:
    """Never log these values (secrets read from the environment)."""
    _hidden.update(v for v in values if len(v) >= MIN_SECRET_LENGTH)


def redact(text: str) -> str:
    """Hide anything that looks like a Slack token or webhook URL, and every registered secret."""
    for value in sorted(_hidden, key=len, reverse=True):
        text = text.replace(value, "[redacted]")
    return _SECRET.sub("[redacted]", text)


def _quote(value: object) -> str:
    text = str(value)
    if not text or _NEEDS_QUOTES.search(text):
        return json.dumps(text, ensure_ascii=False)
    return text


def _fields(formatter: logging.Formatter, record: logging.LogRecord) -> dict[str, Any]:
    moment = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
    fields: dict[str, Any] = {"ts": moment.replace("+00:00", "Z"), "level": record.levelname.lower()}
    fields["msg"] = record.getMessage()
    fields.update(getattr(record, "fields", {}))
    if record.exc_info:
        fields["exc"] = formatter.formatException(record.exc_info)
    # before quoting or JSON escaping, which could split a secret's text
    return {key: redact(value) if isinstance(value, str) else value for key, value in fields.items()}


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return for_terminal(redact(" ".join(f"{key}={_quote(value)}" for key, value in _fields(self, record).items())))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return for_terminal(redact(json.dumps(_fields(self, record), default=str, ensure_ascii=False)))


def setup(log_format: str = "text", level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler", "slack_sdk", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
# One line per item seen is 20,000 lines (and ~0.5 s) in a first cycle over 1,000 feeds: at DEBUG;
# the feed's FeedPolled line (one per unit of work) carries the count of new items.
PER_ITEM = frozenset({"ItemSeen"})
# Nothing happened: 1,000 feeds polled every 15 minutes would write 96,000 such lines a day.
QUIET_STATUS = frozenset({"not_modified"})


def log_events(bus: EventBus) -> None:
    """Subscribe a logger that writes one line per domain event."""
    log = logging.getLogger("monitor")

    def write(event: Event) -> None:
        level = logging.WARNING if event.name in ("FeedFailing", "AlertDead", "AlertInterrupted") else logging.INFO
        if event.name in PER_ITEM or getattr(event, "status", None) in QUIET_STATUS:
            level = logging.DEBUG
        if log.isEnabledFor(level):
            log.log(level, event.name, extra={"fields": {"event": event.name, **asdict(event)}})

    bus.subscribe(Event, write)
