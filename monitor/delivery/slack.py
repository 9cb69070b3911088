"""The Slack edge: the real slack_sdk clients; every response or exception becomes a DeliveryResult.

Retries are ours, not the SDK's: the outbox schedules the next attempt (honouring Retry-After)
instead of the SDK sleeping in the calling thread.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError, SlackClientError

from monitor.delivery import policy
from monitor.delivery.render import (
    SECTION_LIMIT,
    SlackMessage,
    alert_message,
    escape,
    follow_up_message,
    summary_message,
    truncate,
)
from monitor.errors import DeliveryError
from monitor.model import Alert, Dead, Delivered, DeliveryResult, RetryAt
from monitor.retry_after import parse_retry_after
from monitor.secrets import secret
from monitor.settings import SlackSettings

log = logging.getLogger("monitor.slack")

# Slack `ok:false` errors that a later attempt can fix; anything else not listed is permanent.
RETRYABLE = {
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "team_added_to_org",
}
PERMANENT_HINTS = {
    "invalid_auth": "the token is invalid; check the env var named by [slack] token_env",
    "not_authed": "no token was sent; set the env var named by [slack] token_env",
    "token_revoked": "the token was revoked; install the app again and update the token",
    "account_inactive": "the token's account is inactive",
    "channel_not_found": "the channel does not exist or the bot cannot see it",
    "not_in_channel": "invite the bot to the channel (/invite @yourbot)",
    "is_archived": "the channel is archived",
    "msg_too_long": "the message was too long",
    "invalid_blocks": "Slack rejected the message blocks",
    "missing_scope": "the token lacks chat:write",
}


class SlackNotifier:
    """Posts alerts with chat.postMessage (bot token) or an incoming webhook."""

    name = "slack"

    def __init__(self, settings: SlackSettings, environ: Mapping[str, str] | None = None) -> None:
        self.channel = settings.channel
        self.client: WebClient | None = None
        self.webhook: WebhookClient | None = None
        # slack_sdk annotates whole seconds but hands the value to urllib, which takes fractions
        timeout: Any = settings.timeout
        if settings.token_env:
            token = secret(settings.token_env, environ)
            if not token:
                raise DeliveryError(
                    f"[slack] token_env names {settings.token_env}, but that environment variable is not set"
                )
            self.client = WebClient(token=token, base_url=settings.base_url, timeout=timeout)
            self.client.retry_handlers.clear()  # the outbox retries, without blocking a thread
        else:
            url = secret(settings.webhook_url_env, environ)
            if not url:
                raise DeliveryError(f"[slack] webhook_url_env names {settings.webhook_url_env}, but it is not set")
            self.webhook = WebhookClient(url, timeout=timeout)
            self.webhook.retry_handlers.clear()

    def message(self, alert: Alert, thread: tuple[str, str] | None) -> SlackMessage:
        channel = alert.channel or self.channel
        if alert.kind == "follow_up" and thread:
            return follow_up_message(alert, thread[0], thread[1])
        return alert_message(alert, channel)

    def send(self, alert: Alert, thread: tuple[str, str] | None, now: datetime) -> DeliveryResult:
        return self.post(self.message(alert, thread), alert.attempts, now)

    def notice(self, channel: str, lines: list[str], attempts: int, now: datetime) -> DeliveryResult:
        """Operational news (feed health) as plain lines to ``channel``, escaped like feed text."""
        text = truncate("\n".join(escape(line) for line in lines), SECTION_LIMIT)
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
        return self.post(SlackMessage(channel=channel, text=text, blocks=blocks), attempts, now)

    def send_summary(self, alerts: Sequence[Alert], channel: str | None, now: datetime) -> DeliveryResult:
        """Several alerts for one channel as one message (a burst)."""
        attempts = max(alert.attempts for alert in alerts)
        return self.post(summary_message(alerts, channel or self.channel), attempts, now)

    def post(self, message: SlackMessage, attempts: int, now: datetime) -> DeliveryResult:
        """Post a ready-made message (an alert, a notice, the digest summary) by the API or the webhook."""
        if self.client is not None:
            return self._post(message, attempts, now)
        return self._webhook(message, attempts, now)

    def _post(self, message: SlackMessage, attempts: int, now: datetime) -> DeliveryResult:
        assert self.client is not None
        kwargs: dict[str, Any] = {
            "channel": message.channel,
            "text": message.text,
            "blocks": message.blocks,
            "unfurl_links": False,
            "unfurl_media": False,
            "link_names": False,  # a plain "@channel" in the fallback text stays text
            "parse": "none",
        }
        if message.metadata:
            kwargs["metadata"] = message.metadata
        if message.thread_ts:
            kwargs["thread_ts"] = message.thread_ts
        try:
            response = self.client.chat_postMessage(**kwargs)
        except SlackApiError as e:
            return classify(e.response.status_code, e.response.get("error"), e.response.headers, attempts, now)
        except (SlackClientError, OSError) as e:  # timeouts, refused connections, TLS
            return policy.transient(f"{type(e).__name__}: {e}", attempts, now)
        return Delivered(remote_id=str(response.get("ts", "")), channel=response.get("channel"))

    def _webhook(self, message: SlackMessage, attempts: int, now: datetime) -> DeliveryResult:
        assert self.webhook is not None
        try:
            response = self.webhook.send(
                text=message.text, blocks=message.blocks, unfurl_links=False, unfurl_media=False
            )
        except (SlackClientError, OSError) as e:
            return policy.transient(f"{type(e).__name__}: {e}", attempts, now)
        if response.status_code == 200:
            return Delivered(remote_id="webhook")
        error = (response.body or "").strip() or f"http_{response.status_code}"
        return classify(response.status_code, error, response.headers, attempts, now)


def classify(
    status: int, error: str | None, headers: Mapping[str, Any], attempts: int, now: datetime
) -> DeliveryResult:
    """Decide retry or dead letter from Slack's HTTP status and `error` code."""
    error = error or f"http_{status}"
    if status == 429 or error in ("ratelimited", "rate_limited"):
        retry = parse_retry_after(_header(headers, "retry-after"), now) or timedelta(seconds=30)
        return RetryAt(now + min(retry, timedelta(hours=1)), f"rate limited by Slack ({error})")
    if status >= 500 or error in RETRYABLE:
        return policy.transient(f"Slack error {error} (HTTP {status})", attempts, now)
    hint = PERMANENT_HINTS.get(error, "Slack refused the message")
    return Dead(f"{error}: {hint}")


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value[0] if isinstance(value, list) else str(value)
    return None
