"""Delivery: pure policy (``policy``: pacing, bursts, quiet hours, retries) and the adapters that
talk to the far side (``slack``, ``webhook``, ``mail``, ``console``), plus the message formats
(``render``, ``digest``).

``Notifiers`` holds the adapters a config switches on, each typed with what it can do: every one
sends an alert (``Notifier``); Slack also sends summaries, ops notices and the digest post. An
outbox row names its destination; ``Notifiers.for_destination`` finds its adapter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from monitor.delivery.console import ConsoleNotifier
from monitor.delivery.webhook import WebhookNotifier
from monitor.model import Alert, DeliveryResult

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.delivery.slack import SlackNotifier


class Notifier(Protocol):
    name: str

    def send(self, alert: Alert, thread: tuple[str, str] | None, now: datetime) -> DeliveryResult:
        """Deliver one alert; never raise for the far side's failures."""


@dataclass(frozen=True)
class Notifiers:
    """The notifiers a config switches on: Slack when [slack] is set (else alerts go to the
    console), and one per [[webhooks]] table, by its destination ``webhook:NAME``."""

    console: ConsoleNotifier = field(default_factory=ConsoleNotifier)
    slack: SlackNotifier | None = None
    webhooks: Mapping[str, WebhookNotifier] = field(default_factory=dict)

    def for_destination(self, destination: str) -> Notifier | None:
        if destination == "console":
            return self.console
        if destination == "slack":
            return self.slack
        return self.webhooks.get(destination)

    def close(self) -> None:
        for webhook in self.webhooks.values():
            webhook.close()


def build_notifiers(config: Config) -> Notifiers:
    """Raises DeliveryError (or SecretError) when a configured notifier cannot work."""
    slack = None
    if config.slack is not None:
        from monitor.delivery.slack import SlackNotifier  # slack_sdk costs 0.12 s to import: only when used

        slack = SlackNotifier(config.slack)
    webhooks = {w.destination: WebhookNotifier(w) for w in config.webhooks}
    return Notifiers(ConsoleNotifier(zone=config.monitor.timezone), slack, webhooks)


def alert_destination(config: Config) -> str:
    return "slack" if config.slack is not None else "console"
