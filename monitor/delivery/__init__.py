"""Delivery: notifiers behind one protocol, picked by name from a registry.

Built-ins are registered exactly as an extension would be. An outbox row names its notifier
(``destination``); the delivery step looks it up here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from monitor.delivery.console import ConsoleNotifier
from monitor.delivery.webhook import WebhookNotifier
from monitor.model import Alert, DeliveryResult


class Notifier(Protocol):
    name: str

    def send(self, alert: Alert, thread: tuple[str, str] | None, now: datetime) -> DeliveryResult:
        """Deliver one alert; never raise for the far side's failures."""


class SummaryNotifier(Notifier, Protocol):
    """A notifier whose destination is paced (``dispatch.pacing_for``): bursts become summaries."""

    def send_summary(self, alerts: Sequence[Alert], channel: str | None, now: datetime) -> DeliveryResult:
        """Deliver several alerts for one channel as one message."""


def build_notifiers(config: Any) -> dict[str, Notifier]:
    """The notifiers the config switches on: Slack when [slack] is set, else the console; one per
    [[webhooks]] table, named ``webhook:NAME``."""
    notifiers: dict[str, Notifier] = {"console": ConsoleNotifier()}
    if config.slack is not None:
        from monitor.delivery.slack import SlackNotifier  # slack_sdk costs 0.12 s to import: only when used

        notifiers["slack"] = SlackNotifier(config.slack)
    for webhook in config.webhooks:
        notifiers[webhook.destination] = WebhookNotifier(webhook)
    return notifiers


def alert_destination(config: Any) -> str:
    return "slack" if config.slack is not None else "console"
