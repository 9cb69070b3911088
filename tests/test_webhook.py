"""Outgoing webhooks: config, signing, the notifier's retry decisions against a local receiver, and
end to end through the outbox (a receiver outage loses nothing and duplicates nothing)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import rss, slack_section, write_config

from monitor import config, events, shell
from monitor.clock import FixedClock
from monitor.delivery.webhook import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookNotifier,
    body,
    event_rows,
    sign,
    verify,
)
from monitor.errors import ConfigError, DeliveryError
from monitor.model import Alert, Dead, Delivered, RetryAt
from monitor.testing import FeedServer, SlackFault, SlackServer, WebhookReceiver, free_port

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SECRET = "s3cret-for-tests"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server  # type: ignore[misc]


def webhook_config(url: str, events: tuple[str, ...] = ("alert",), timeout: float = 2) -> config.WebhookConfig:
    return config.WebhookConfig("crm", url, events, "HOOK_SECRET", timeout)


@pytest.fixture
def notifier() -> Iterator[Callable[[str], WebhookNotifier]]:
    made: list[WebhookNotifier] = []

    def make(url: str) -> WebhookNotifier:
        made.append(WebhookNotifier(webhook_config(url), {"HOOK_SECRET": SECRET}))
        return made[-1]

    yield make
    for each in made:
        each.close()


def event_row(attempts: int = 0) -> Alert:
    payload = {"event": "alert", "occurred_at": NOW.isoformat(), "data": {"title": "ShengShu raises $290M"}}
    return Alert(7, 3, "url:x", "alert", "webhook:crm", None, "high", "deal", attempts, payload)


# --- config ---------------------------------------------------------------------------------------


def parse(text: str) -> config.Config:
    return config.parse(text, Path("/etc/monitor/config.toml"))


def test_webhooks_parse_with_defaults() -> None:
    cfg = parse(
        '[[webhooks]]\nname = "crm"\nurl = "https://hooks.example/in"\nevents = ["alert", "feed_failing"]\n'
        'secret_env = "CRM_SECRET"\n'
        '[[webhooks]]\nname = "ops"\nurl = "http://127.0.0.1:9/x"\nevents = ["digest_sent"]\n'
        'secret_env = "OPS_SECRET"\ntimeout = 3\n'
    )
    assert [(w.destination, w.events, w.timeout) for w in cfg.webhooks] == [
        ("webhook:crm", ("alert", "feed_failing"), 10.0),
        ("webhook:ops", ("digest_sent",), 3.0),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[[webhooks]]\nname = "crm"\nurl = "https://h.example/"\nevents = ["alerts"]\nsecret_env = "S"\n',
            "config.toml:4: [[webhooks]] #1 events: 'alerts' is not an event; choose from: alert, follow_up",
        ),
        (
            '[[webhooks]]\nname = "crm"\nurl = "https://h.example/"\nevents = []\nsecret_env = "S"\n',
            "config.toml:4: [[webhooks]] #1 events: expected a list of event names",
        ),
        (
            '[[webhooks]]\nname = "CRM hook"\nurl = "https://h.example/"\nevents = ["alert"]\nsecret_env = "S"\n',
            "config.toml:2: [[webhooks]] #1 name: 'CRM hook': use lower-case letters",
        ),
        (
            '[[webhooks]]\nname = "crm"\nurl = "https://h.example/"\nevents = ["alert"]\n',
            "config.toml:1: [[webhooks]] #1 secret_env: missing (required)",
        ),
        (
            '[[webhooks]]\nname = "crm"\nurl = "https://h.example/"\nevents = ["alert"]\nsecret_env = "a b"\n',
            "config.toml:5: [[webhooks]] #1 secret_env: not an environment variable name (value not shown)",
        ),
        (
            '[[webhooks]]\nname = "crm"\nurl = "https://h.example/"\nevents = ["alert"]\nsecret_env = "S"\n'
            "retries = 3\n",
            "config.toml:6: [[webhooks]] #1 retries: unknown key",
        ),
        (
            '[[webhooks]]\nname = "a"\nurl = "https://h.example/"\nevents = ["alert"]\nsecret_env = "S"\n'
            '[[webhooks]]\nname = "a"\nurl = "https://i.example/"\nevents = ["alert"]\nsecret_env = "S"\n',
            "config.toml:7: [[webhooks]] #2 name: 'a' is used by another webhook",
        ),
        ('[webhooks]\nname = "a"\n', "config.toml:1: webhooks: write each webhook as a [[webhooks]] table"),
    ],
)
def test_webhook_config_errors_are_located(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    assert any(expected in str(p) for p in caught.value.problems), [str(p) for p in caught.value.problems]


def test_missing_secret_is_a_clear_error() -> None:
    with pytest.raises(DeliveryError, match="secret_env names HOOK_SECRET, but that environment variable"):
        WebhookNotifier(webhook_config("http://127.0.0.1:9/"), {})


# --- signing and the notifier -------------------------------------------------------------------


def test_receiver_gets_a_signed_event_and_a_wrong_secret_is_detectable(
    notifier: Callable[[str], WebhookNotifier], receiver: WebhookReceiver
) -> None:
    result = notifier(receiver.url + "/in").send(event_row(), None, NOW)
    assert isinstance(result, Delivered)
    (request,) = receiver.accepted()
    headers = request["headers"]
    assert headers[EVENT_HEADER.lower()] == "alert"
    assert headers[DELIVERY_HEADER.lower()] == "7"
    assert headers["content-type"] == "application/json"
    assert request["json"] == {
        "id": "7",
        "event": "alert",
        "occurred_at": NOW.isoformat(),
        "story_id": 3,
        "data": {"title": "ShengShu raises $290M"},
    }
    timestamp, signature = headers[TIMESTAMP_HEADER.lower()], headers[SIGNATURE_HEADER.lower()]
    assert signature.startswith("sha256=")
    assert verify(SECRET, request["body"], timestamp, signature, NOW)
    assert not verify("another-secret", request["body"], timestamp, signature, NOW)
    tampered = request["body"].replace(b"290M", b"990M")
    assert not verify(SECRET, tampered, timestamp, signature, NOW)
    # a captured request replayed later is refused: the timestamp is signed too
    assert not verify(SECRET, request["body"], timestamp, signature, NOW + timedelta(minutes=10))
    forged = sign(SECRET, int((NOW + timedelta(minutes=10)).timestamp()), request["body"])
    assert forged != signature


def test_body_is_the_same_bytes_on_every_attempt() -> None:
    assert body(event_row(0)) == body(event_row(3))
    assert json.loads(body(event_row()))["id"] == "7"


@pytest.mark.parametrize(
    ("status", "expected"),
    [(500, RetryAt), (503, RetryAt), (429, RetryAt), (404, Dead), (401, Dead), (301, Dead), (204, Delivered)],
)
def test_status_decides_retry_or_dead(
    notifier: Callable[[str], WebhookNotifier], receiver: WebhookReceiver, status: int, expected: type
) -> None:
    receiver.fail_next(status)
    result = notifier(receiver.url).send(event_row(), None, NOW)
    assert isinstance(result, expected), result
    if isinstance(result, RetryAt):
        assert NOW < result.when <= NOW + timedelta(hours=1)


def test_retry_after_is_honoured(notifier: Callable[[str], WebhookNotifier], receiver: WebhookReceiver) -> None:
    receiver.fail_next(429, 503)
    receiver.retry_after = "120"
    for _ in range(2):
        result = notifier(receiver.url).send(event_row(), None, NOW)
        assert result == RetryAt(
            NOW + timedelta(seconds=120),
            f"receiver answered HTTP {receiver.received[-1]['status']}, retry after 0:02:00",
        )


def test_unreachable_receiver_is_retried_not_dropped(notifier: Callable[[str], WebhookNotifier]) -> None:
    result = notifier(f"http://127.0.0.1:{free_port()}/in").send(event_row(), None, NOW)
    assert isinstance(result, RetryAt) and "ConnectError" in result.reason


def test_retries_end_in_dead_letter_with_the_last_error(
    notifier: Callable[[str], WebhookNotifier], receiver: WebhookReceiver
) -> None:
    receiver.fail_next(500)
    result = notifier(receiver.url).send(event_row(attempts=49), None, NOW)
    assert isinstance(result, Dead) and "HTTP 500" in result.reason


def test_event_rows_go_to_the_subscribed_webhooks_and_never_announce_a_dead_webhook() -> None:
    hooks = [
        webhook_config("https://a.example/", ("digest_sent",)),
        config.WebhookConfig("ops", "https://b.example/", ("alert_dead",), "HOOK_SECRET", 2),
    ]
    [row] = event_rows(hooks, events.DigestSent("2026-11-22", 3, "email"), NOW)
    assert row.destination == "webhook:crm"
    assert row.payload == {
        "event": "digest_sent",
        "occurred_at": NOW.isoformat(),
        "data": {"period": "2026-11-22", "stories": 3, "destination": "email"},
    }
    assert row.key.startswith(f"event:digest_sent:{NOW.isoformat()}:")  # the same event at the same time: one row
    assert row == event_rows(hooks, events.DigestSent("2026-11-22", 3, "email"), NOW)[0]
    assert [r.destination for r in event_rows(hooks, events.AlertDead(7, "slack", "gone"), NOW)] == ["webhook:ops"]
    assert event_rows(hooks, events.AlertDead(7, "webhook:crm", "HTTP 404"), NOW) == ()  # no loops
    assert event_rows(hooks, events.FeedFailing("Wire", "HTTP 500"), NOW) == ()  # nobody subscribed
    assert event_rows(hooks, events.ItemSeen("Wire", "k", "t"), NOW) == ()  # not a webhook event


# --- end to end: the outbox, the delivery loop, a receiver outage -------------------------------

RULES = Path(__file__).parent / "data" / "ops_rules"
FUNDED = [
    ("ShengShu raises 2 billion yuan for its world model", "Alibaba Cloud led the round in the Vidu maker."),
    ("PixVerse raises $60 million for video generation", "The video generation start-up raised a round."),
    ("Tripo AI closes a $50 million round for 3D generation", "3D generation start-up Tripo AI raised money."),
]
NOISE = [("Tram line approved", "The council voted for the extension."), ("Fashion week ends", "Coats.")]


def feed_body(entries: list[tuple[str, str]]) -> str:
    return rss(
        *(
            {"title": title, "link": f"https://n.example/{n}", "guid": f"g{n}", "description": text}
            for n, (title, text) in enumerate(entries)
        )
    )


def test_receiver_outage_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, feed_server: FeedServer, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    url = feed_server.add("/f.xml", feed_body(FUNDED + NOISE))
    hook = f"""
[[webhooks]]
name = "crm"
url = "{receiver.url}/in"
events = ["alert", "follow_up", "feed_failing", "feed_recovered"]
secret_env = "HOOK_SECRET"
timeout = 2
"""
    cfg = config.load(write_config(tmp_path, {"Wire": url}, hook, rules=RULES))
    clock = FixedClock(NOW)
    rt = shell.open_runtime(cfg, clock=clock)
    try:
        receiver.fail_next(500, 503, 500, 500, 502, 500, 500)  # an outage across several attempts
        (report,) = shell.poll_cycle(rt)
        assert report.matched == 3
        feed_server.resources["/f.xml"].status = 500  # the feed breaks, then recovers
        feed_server.resources["/f.xml"].etag = feed_server.resources["/f.xml"].last_modified = None
        clock.advance(timedelta(minutes=20))
        shell.poll_cycle(rt)
        feed_server.resources["/f.xml"].status = 200
        clock.advance(timedelta(hours=1))
        shell.poll_cycle(rt)
        for _ in range(12):  # the delivery loop, hours apart: every backoff has expired
            shell.deliver_due(rt)
            clock.advance(timedelta(hours=2))
        assert rt.store.outbox.counts()["pending"] == 0
    finally:
        rt.close()

    assert sum(r["status"] >= 500 for r in receiver.received) == 7
    accepted = receiver.accepted()
    ids = [r["json"]["id"] for r in accepted]
    assert len(ids) == len(set(ids)) == 5, ids  # 3 alerts, feed_failing, feed_recovered; each once
    alerts = sorted(r["json"]["data"]["title"] for r in accepted if r["json"]["event"] == "alert")
    assert alerts == sorted(title for title, _ in FUNDED)
    assert [r["json"]["event"] for r in accepted if r["json"]["event"].startswith("feed_")] == [
        "feed_failing",
        "feed_recovered",
    ]
    for request in accepted:
        headers = request["headers"]
        assert verify(
            SECRET,
            request["body"],
            headers["x-monitor-timestamp"],
            headers["x-monitor-signature"],
            datetime.fromtimestamp(int(headers["x-monitor-timestamp"]), UTC),
        )
    first = next(r["json"] for r in accepted if r["json"]["event"] == "alert")
    assert first["story_id"] and first["data"]["rules"][0]["id"] == "wm-funding"
    assert first["data"]["url"].startswith("https://n.example/")


def test_dead_slack_alert_is_an_event_and_a_dead_webhook_is_not(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_server: SlackServer,
    receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-local-test")
    url = feed_server.add("/f.xml", feed_body(FUNDED[:1]))
    hooks = "".join(
        f'[[webhooks]]\nname = "{name}"\nurl = "{receiver.url}/{name}"\nevents = {events}\nsecret_env = "HOOK_SECRET"\n'
        for name, events in (("ops", '["alert_dead"]'), ("crm", '["alert"]'))
    )
    cfg = config.load(write_config(tmp_path, {"Wire": url}, slack_section(slack_server) + hooks, rules=RULES))
    slack_server.fail_next(SlackFault(error="channel_not_found"))
    receiver.fail_next(404)  # the first POST is the crm alert (outbox order): refused for good
    rt = shell.open_runtime(cfg, clock=FixedClock(NOW))
    try:
        shell.poll_cycle(rt)
        first = shell.deliver_due(rt)
        second = shell.deliver_due(rt)
    finally:
        rt.close()
    assert (first.dead, second.delivered) == (2, 1)
    (event,) = [r["json"] for r in receiver.accepted()]
    assert receiver.received[0]["path"] == "/crm" and receiver.received[1]["path"] == "/ops"
    assert event["event"] == "alert_dead" and event["story_id"] is None
    assert event["data"]["destination"] == "slack" and "channel_not_found" in event["data"]["reason"]


def test_webhook_secrets_are_hidden_from_logs() -> None:
    cfg = parse(
        '[[webhooks]]\nname = "crm"\nurl = "https://h.example/"\nevents = ["alert"]\nsecret_env = "CRM_SECRET"\n'
    )
    assert config.secret_values(cfg, {"CRM_SECRET": "hush-hush"}) == ["hush-hush"]
