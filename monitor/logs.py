"""Logging: one line per event, key=value by default or JSON, secrets redacted.

Named ``logs`` so it does not shadow the standard library's ``logging``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from dataclasses import asdict

from monitor.events import Event, EventBus

_SECRET = re.compile(r"(xox[abposr]-[A-Za-z0-9-]+|hooks\.slack\.com/services/[A-Za-z0-9/]+)")


def redact(text: str) -> str:
    """Hide anything that looks like a Slack token or webhook URL."""
    return _SECRET.sub("[redacted]", text)


def _quote(value: object) -> str:
    text = str(value)
    if not text or re.search(r"[\s=\"]", text):
        return json.dumps(text, ensure_ascii=False)
    return text


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname.lower()}
        fields["msg"] = record.getMessage()
        fields.update(getattr(record, "fields", {}))
        line = " ".join(f"{key}={_quote(value)}" for key, value in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname.lower()}
        fields["msg"] = record.getMessage()
        fields.update(getattr(record, "fields", {}))
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(fields, default=str, ensure_ascii=False))


def setup(log_format: str = "text", level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler", "slack_sdk", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def log_events(bus: EventBus) -> None:
    """Subscribe a logger that writes one line per domain event."""
    log = logging.getLogger("monitor")

    def write(event: Event) -> None:
        fields = {"event": event.name, **asdict(event)}
        level = logging.WARNING if event.name in ("FeedFailing", "AlertDead", "AlertInterrupted") else logging.INFO
        log.log(level, event.name, extra={"fields": fields})

    bus.subscribe(Event, write)
