"""Shared fixtures: local feed and Slack servers on 127.0.0.1, temp config files, a clean env."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.testing import FeedServer, SlackServer, SmtpServer

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hermetic tests: no proxies, no real Slack or SMTP credentials, no config from the caller."""
    for name in list(os.environ):
        if name.upper().endswith("_PROXY") or name.startswith(("SLACK_", "SMTP_", "MONITOR_")):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def slack_server() -> Iterator[SlackServer]:
    with SlackServer() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert, key), made with openssl for this run."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def write_config(directory: Path, feeds: dict[str, str], extra: str = "", rules: Path | None = None) -> Path:
    """A config.toml in ``directory`` polling ``feeds`` (name -> url) with the project's rule pack."""
    lines = [
        "[monitor]",
        'database = "data/monitor.db"',
        f'rules = "{(rules or ROOT / "rules").as_posix()}"',
        "",
        "[fetch]",
        "timeout = 5",
        "connect_timeout = 2",
    ]
    for name, url in feeds.items():
        lines += ["", "[[feeds]]", f'name = "{name}"', f'url = "{url}"']
    path = directory / "config.toml"
    path.write_text("\n".join(lines) + "\n" + textwrap.dedent(extra), encoding="utf-8")
    return path


def slack_section(server: SlackServer, channel: str = "#world-model-alerts") -> str:
    return f"""
[slack]
token_env = "SLACK_BOT_TOKEN"
channel = "{channel}"
base_url = "{server.base_url}"
"""


def monitor_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "monitor", *args]


def rss(*items: dict[str, str], title: str = "Test feed") -> str:
    """A small RSS 2.0 document; each item is a dict of its child elements (already escaped)."""
    body = "".join(
        "<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in item.items()) + "</item>" for item in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://example.org/</link><description>t</description>"
        f"{body}</channel></rss>"
    )
