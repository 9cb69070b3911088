"""The SMTP edge against a real SMTP server (aiosmtpd) on 127.0.0.1: plain, STARTTLS and implicit
TLS with certificate verification on, login from the environment, and failures as values."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.delivery import mail, policy
from monitor.model import Delivered, RetryAt
from monitor.settings import SmtpSettings
from monitor.testing import SmtpServer, free_port

NOW = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
LOGIN = {"SMTP_USERNAME": "digest", "SMTP_PASSWORD": "s3cret pass"}


def message() -> Any:
    return mail.compose(
        subject="World-model monitor: 1 story, 2026-11-22",
        sender="monitor@example.org",
        to=["team@example.org", "cfo@example.org"],
        text="plain part",
        html="<p>html part</p>",
        now=NOW,
    )


def smtp(server: SmtpServer, security: str = "none", login: bool = False) -> SmtpSettings:
    settings = SmtpSettings(host=server.host, port=server.port, security=security, timeout=5.0)
    if login:
        settings = replace(settings, username_env="SMTP_USERNAME", password_env="SMTP_PASSWORD")
    return settings


def test_composed_message_is_alternative_with_date_and_message_id() -> None:
    msg = message()
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Date"] == "Sun, 22 Nov 2026 07:00:00 +0000"
    assert msg["Message-ID"].endswith("@example.org>")
    assert msg["Auto-Submitted"] == "auto-generated"  # RFC 3834: no out-of-office replies
    assert msg["List-Id"] == mail.LIST_ID


def test_a_sender_with_a_display_name_is_sent_as_written(smtp_server: SmtpServer) -> None:
    named = mail.compose(
        subject="Digest", sender="World-model monitor <monitor@example.org>", to=["team@example.org"],
        text="t", html="<p>t</p>", now=NOW,
    )  # fmt: skip
    assert named["Message-ID"].endswith("@example.org>")
    assert isinstance(mail.send(named, smtp(smtp_server), None, 0, NOW), Delivered)
    received = smtp_server.messages[0]
    assert received["From"].addresses[0].display_name == "World-model monitor"
    assert smtp_server.envelopes[0]["from"] == "monitor@example.org"


def test_plain_smtp(smtp_server: SmtpServer) -> None:
    result = mail.send(message(), smtp(smtp_server), None, 0, NOW)
    assert isinstance(result, Delivered)
    received = smtp_server.messages[0]
    assert received["Message-ID"] == result.remote_id
    assert smtp_server.envelopes == [{"from": "monitor@example.org", "to": ["team@example.org", "cfo@example.org"]}]


def test_starttls_verifies_the_certificate_and_logs_in(tls_cert: tuple[Path, Path]) -> None:
    with SmtpServer(tls=tls_cert, login=("digest", "s3cret pass")) as server:
        result = mail.send(message(), smtp(server, "starttls", login=True), tls_cert[0], 0, NOW, environ=LOGIN)
        assert isinstance(result, Delivered), result
        assert server.messages[0]["Subject"] == "World-model monitor: 1 story, 2026-11-22"


def test_starttls_refuses_an_unverified_certificate(tls_cert: tuple[Path, Path]) -> None:
    with SmtpServer(tls=tls_cert) as server:
        result = mail.send(message(), smtp(server, "starttls"), None, 0, NOW)
        assert isinstance(result, RetryAt)
        assert "did not verify" in result.reason and "cafile" in result.reason
        assert result.when == NOW + policy.MAX_DELAY
        assert server.messages == []


def test_implicit_tls(tls_cert: tuple[Path, Path]) -> None:
    with SmtpServer(tls=tls_cert, implicit=True, login=("digest", "s3cret pass")) as server:
        result = mail.send(message(), smtp(server, "ssl", login=True), tls_cert[0], 0, NOW, environ=LOGIN)
        assert isinstance(result, Delivered), result
        assert len(server.messages) == 1


def test_plain_connection_to_a_starttls_only_server_is_refused_clearly(tls_cert: tuple[Path, Path]) -> None:
    with SmtpServer(tls=tls_cert) as server:
        result = mail.send(message(), smtp(server, "none"), None, 0, NOW)
        assert isinstance(result, RetryAt) and "530" in result.reason
        assert server.messages == []


def test_wrong_password_is_reported(tls_cert: tuple[Path, Path]) -> None:
    with SmtpServer(tls=tls_cert, login=("digest", "other")) as server:
        result = mail.send(message(), smtp(server, "starttls", login=True), tls_cert[0], 0, NOW, environ=LOGIN)
        assert isinstance(result, RetryAt) and "refused the login" in result.reason
        assert "s3cret" not in result.reason


def test_login_env_vars_missing() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=1, security="none", timeout=1.0)
    settings = replace(settings, username_env="SMTP_USERNAME", password_env="SMTP_PASSWORD")
    result = mail.send(message(), settings, None, 0, NOW, environ={})
    assert isinstance(result, RetryAt) and "SMTP_USERNAME and SMTP_PASSWORD" in result.reason


@pytest.mark.parametrize(
    ("reply", "slow"), [("451 4.3.0 try again later", False), ("554 5.7.1 rejected as spam", True)], ids=["4xx", "5xx"]
)
def test_server_refusals_back_off(smtp_server: SmtpServer, reply: str, slow: bool) -> None:
    smtp_server.fail_next(reply)
    result = mail.send(message(), smtp(smtp_server), None, 3, NOW)
    assert isinstance(result, RetryAt) and reply.split()[0] in result.reason
    assert (result.when == NOW + policy.MAX_DELAY) is slow


def test_nobody_listening() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=free_port(), security="none", timeout=2.0)
    result = mail.send(message(), settings, None, 0, NOW)
    assert isinstance(result, RetryAt) and "ConnectionRefusedError" in result.reason


def test_missing_cafile_is_named(tmp_path: Path) -> None:
    settings = SmtpSettings(host="127.0.0.1", port=1, security="starttls", timeout=1.0)
    result = mail.send(message(), settings, tmp_path / "nope.pem", 0, NOW)
    assert isinstance(result, RetryAt) and "nope.pem does not exist" in result.reason
