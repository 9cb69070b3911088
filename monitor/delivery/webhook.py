"""Outgoing webhooks: domain events as signed JSON POSTs, through the same outbox as Slack.

Every event a webhook subscribes to is an outbox row (destination ``webhook:NAME``), written in the
same transaction as the change it reports: ``alert`` and ``follow_up`` rows with the match
(``outgoing``), the other events (``events.WEBHOOK_SOURCES``) with the poll outcome, dead letter or
sent digest that their domain event announces (``event_rows``). The delivery loop sends them with
``WebhookNotifier`` and retries them like Slack alerts, so a receiver outage loses nothing.

Each POST carries (Stripe-style signing, so a receiver can check origin and freshness)::

    X-Monitor-Event:     alert
    X-Monitor-Delivery:  42                  the outbox row id: the same on every retry (dedupe on it)
    X-Monitor-Timestamp: 1795000000          unix seconds when this attempt was made
    X-Monitor-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>

A receiver recomputes the HMAC over the raw body, compares in constant time (``verify``) and
rejects timestamps more than a few minutes off, which stops replays of a captured request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from monitor import __version__
from monitor.delivery import policy
from monitor.delivery.render import alert_payload
from monitor.errors import DeliveryError
from monitor.events import WEBHOOK_SOURCES, AlertDead, Event
from monitor.model import Alert, Dead, Delivered, DeliveryResult, EventRow, Item, Match, Outgoing, RetryAt, highest
from monitor.retry_after import parse_retry_after
from monitor.secrets import secret
from monitor.settings import WebhookConfig

SIGNATURE_HEADER = "X-Monitor-Signature"
TIMESTAMP_HEADER = "X-Monitor-Timestamp"
EVENT_HEADER = "X-Monitor-Event"
DELIVERY_HEADER = "X-Monitor-Delivery"
TOLERANCE = timedelta(minutes=5)
MAX_RETRY_AFTER = timedelta(hours=1)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    now: datetime,
    tolerance: timedelta = TOLERANCE,
) -> bool:
    """What a receiver does: a fresh timestamp and a matching signature over the raw body."""
    try:
        sent = int(timestamp or "")
    except ValueError:
        return False
    if abs(now.timestamp() - sent) > tolerance.total_seconds():
        return False
    return hmac.compare_digest(sign(secret, sent, body), signature or "")


def event_payload(event: str, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """What an outbox row for a webhook stores: the body minus the parts known only at send time."""
    return {"event": event, "occurred_at": now.isoformat(), "data": dict(data)}


def body(alert: Alert) -> bytes:
    """The JSON body of an outbox row, the same bytes on every attempt."""
    p = alert.payload
    document = {
        "id": str(alert.id),
        "event": p["event"],
        "occurred_at": p["occurred_at"],
        "story_id": alert.story_id or None,
        "data": p["data"],
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def outgoing(
    webhooks: Iterable[WebhookConfig],
    event: str,
    item: Item,
    matches: Sequence[Match],
    now: datetime,
    story_title: str | None = None,
) -> tuple[Outgoing, ...]:
    """Outbox rows for an ``alert`` or ``follow_up`` (one per webhook that subscribes to it), written
    with the match. Digest-only matches alert nobody, so they queue nothing here either."""
    alerting = [m for m in matches if not m.digest_only]
    wanted = [w for w in webhooks if event in w.events]
    if not alerting or not wanted:
        return ()
    top = highest(alerting)
    payload = event_payload(event, alert_payload(item, matches, story_title), now)
    return tuple(Outgoing(w.destination, None, top.priority, top.rule_id, payload) for w in wanted)


def event_rows(webhooks: Iterable[WebhookConfig], event: Event, now: datetime) -> tuple[EventRow, ...]:
    """The outbox rows announcing a domain event (``events.WEBHOOK_SOURCES``), one per webhook that
    subscribes to it, for the shell to store in the same call as the change the event reports."""
    name = WEBHOOK_SOURCES.get(type(event))
    if name is None or (isinstance(event, AlertDead) and event.destination.startswith("webhook:")):
        return ()  # not a webhook event; or a dead webhook delivery, which is not news for webhooks: no loops
    wanted = [w for w in webhooks if name in w.events]
    if not wanted:
        return ()
    data = asdict(event)
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]
    key = f"event:{name}:{now.isoformat()}:{digest}"
    return tuple(EventRow(webhook.destination, key, event_payload(name, data, now)) for webhook in wanted)


class WebhookNotifier:
    """POSTs one outbox row as signed JSON; 2xx delivered, 429/5xx/network retried, other 4xx dead."""

    def __init__(self, webhook: WebhookConfig, environ: Mapping[str, str] | None = None) -> None:
        self.name = webhook.destination
        self.url = webhook.url
        key = secret(webhook.secret_env, environ)
        if not key:
            raise DeliveryError(
                f"[[webhooks]] {webhook.name!r}: secret_env names {webhook.secret_env}, "
                "but that environment variable is not set"
            )
        self.secret = key
        import httpx  # imported here: only configured webhooks need it, and it costs every start ~40 ms

        self.client = httpx.Client(
            timeout=webhook.timeout,
            follow_redirects=False,
            headers={"User-Agent": f"monitor/{__version__} (webhook)", "Content-Type": "application/json"},
        )

    def send(self, alert: Alert, thread: tuple[str, str] | None, now: datetime) -> DeliveryResult:
        import httpx

        content = body(alert)
        timestamp = int(now.timestamp())
        headers = {
            EVENT_HEADER: str(alert.payload["event"]),
            DELIVERY_HEADER: str(alert.id),
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self.secret, timestamp, content),
        }
        try:
            response = self.client.post(self.url, content=content, headers=headers)
        except httpx.HTTPError as e:  # timeouts, refused connections, TLS, protocol errors
            return policy.transient(f"{type(e).__name__}: {e}", alert.attempts, now)
        return classify(response.status_code, response.headers.get("retry-after"), alert.attempts, now)

    def close(self) -> None:
        self.client.close()


def classify(status: int, retry_after: str | None, attempts: int, now: datetime) -> DeliveryResult:
    """Retry or dead letter from the receiver's HTTP status."""
    if 200 <= status < 300:
        return Delivered(remote_id=f"http-{status}")
    if status == 429 or status >= 500:
        wait = parse_retry_after(retry_after, now)
        if wait is not None:
            return RetryAt(now + min(wait, MAX_RETRY_AFTER), f"receiver answered HTTP {status}, retry after {wait}")
        return policy.transient(f"receiver answered HTTP {status}", attempts, now)
    if 300 <= status < 400:
        return Dead(f"receiver redirected (HTTP {status}); configure the final URL in [[webhooks]] url")
    return Dead(f"receiver refused the event (HTTP {status}); check its URL and secret, then retry it")
