from datetime import UTC, datetime

import pytest

from monitor.delivery.slack import SlackNotifier
from monitor.errors import DeliveryError
from monitor.model import Alert, Dead, Delivered, RetryAt
from monitor.settings import SlackSettings
from monitor.testing import SlackFault, SlackServer

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ALERT = Alert(
    1,
    3,
    "url:x",
    "alert",
    "slack",
    None,
    "high",
    "deal",
    0,
    {
        "title": "ShengShu raises $290M",
        "url": "https://n.example/a",
        "feed": "Wire",
        "published": NOW.isoformat(),
        "rules": [{"id": "deal", "name": "Deals", "priority": "high"}],
    },
)


def notifier(server: SlackServer, **extra: object) -> SlackNotifier:
    settings = SlackSettings(
        **{"token_env": "TOKEN", "channel": "#alerts", "base_url": server.base_url, "timeout": 2, **extra}
    )
    return SlackNotifier(settings, {"TOKEN": "xoxb-test"})


def test_posts_block_kit_with_metadata_and_no_unfurl(slack_server: SlackServer) -> None:
    result = notifier(slack_server).send(ALERT, None, NOW)
    assert isinstance(result, Delivered) and result.remote_id and result.channel
    body = slack_server.messages[0]
    assert body["channel"] == "#alerts" and body["unfurl_links"] is False and body["unfurl_media"] is False
    assert body["metadata"]["event_type"] == "monitor_alert"
    assert body["metadata"]["event_payload"] == {
        "rule": "deal", "story_id": 3, "url": "https://n.example/a", "deal": None, "other_deals": [],
    }  # fmt: skip
    assert "ShengShu raises $290M" in body["text"]
    assert slack_server.received[0]["headers"]["authorization"] == "Bearer xoxb-test"


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (SlackFault(status=429), RetryAt),
        (SlackFault(status=500), RetryAt),
        (SlackFault(status=503), RetryAt),
        (SlackFault(error="internal_error"), RetryAt),
        (SlackFault(error="channel_not_found"), Dead),
        (SlackFault(error="invalid_auth"), Dead),
        (SlackFault(error="not_in_channel"), Dead),
    ],
    ids=["429", "500", "503", "internal_error", "channel_not_found", "invalid_auth", "not_in_channel"],
)
def test_faults_become_retry_or_dead(slack_server: SlackServer, fault: SlackFault, expected: type) -> None:
    slack_server.fail_next(fault)
    result = notifier(slack_server).send(ALERT, None, NOW)
    assert isinstance(result, expected)
    if fault.status == 429:
        assert (result.when - NOW).total_seconds() == 1  # Retry-After honoured
    if isinstance(result, Dead):
        assert result.reason.startswith(fault.error)


def test_timeout_is_retryable(slack_server: SlackServer) -> None:
    slack_server.fail_next(SlackFault(delay=2))
    result = notifier(slack_server, timeout=0.5).send(ALERT, None, NOW)
    assert isinstance(result, RetryAt)


def test_webhook(slack_server: SlackServer) -> None:
    hook = SlackNotifier(SlackSettings(webhook_url_env="HOOK", timeout=2), {"HOOK": slack_server.webhook_url})
    assert isinstance(hook.send(ALERT, None, NOW), Delivered)
    slack_server.fail_next(SlackFault(status=429))
    assert isinstance(hook.send(ALERT, None, NOW), RetryAt)
    slack_server.fail_next(SlackFault(error="invalid_payload"))
    assert isinstance(hook.send(ALERT, None, NOW), Dead)


def test_missing_token_is_a_clear_error() -> None:
    with pytest.raises(DeliveryError, match="SLACK_BOT_TOKEN"):
        SlackNotifier(SlackSettings(token_env="SLACK_BOT_TOKEN", channel="#a", base_url="http://x/"), {})
