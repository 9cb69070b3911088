"""Shared fixtures: local feed and Slack servers on 127.0.0.1, temp config files, a clean env,
and rule-pack builders for the rule engine tests."""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import psycopg
import pytest
from pytest_postgresql.factories import postgresql as postgresql_factory
from pytest_postgresql.factories import postgresql_noproc

from monitor.matching import RuleSet, load_rules
from monitor.model import Item
from monitor.testing import FeedServer, SlackServer, SmtpServer, free_port  # noqa: F401 (tests import it from here)

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
RULES_DIR = ROOT / "rules"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


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


def write_config(
    directory: Path, feeds: dict[str, str], extra: str = "", rules: Path | None = None, monitor: str = ""
) -> Path:
    """A config.toml in ``directory`` polling ``feeds`` (name -> url) with the project's rule pack;
    ``monitor`` adds lines to the [monitor] table. No health endpoint unless ``monitor`` sets
    health_port: a fixed port would collide between tests (and test runs) on one machine."""
    if "health_port" not in monitor:
        monitor += "\nhealth_port = 0"
    lines = [
        "[monitor]",
        'database = "data/monitor.db"',
        f'rules = "{(rules or ROOT / "rules").as_posix()}"',
        textwrap.dedent(monitor).strip(),
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


def monitor_env(**extra: str) -> dict[str, str]:
    """Environment for a `monitor` subprocess that imports this checkout's package, from any cwd."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def rss(*items: dict[str, str], title: str = "Test feed") -> str:
    """A small RSS 2.0 document; each item is a dict of its child elements (already escaped)."""
    body = "".join("<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in item.items()) + "</item>" for item in items)
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://example.org/</link><description>t</description>"
        f"{body}</channel></rss>"
    )


def make_item(title: str = "", summary: str = "", content: str = "", feed: str = "Test feed") -> Item:
    return Item(
        feed=feed,
        guid=None,
        url=None,
        title=title,
        summary=summary,
        content=content,
        published=NOW,
        first_seen=NOW,
        fingerprint="fp",
    )


def world_model_rules(directory: Path) -> Path:
    """A rules folder in ``directory`` with one high-priority rule: the phrase "world model"."""
    rules = directory / "rules"
    rules.mkdir()
    rule = """[[rule]]\nid = "world-model"\nname = "World model"\nquery = '"world model"'\npriority = "high"\n"""
    (rules / "pack.toml").write_text(rule, encoding="utf-8")
    return rules


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """An empty rules directory holding a copy of the real company list."""
    directory = tmp_path / "rules"
    directory.mkdir()
    shutil.copy(RULES_DIR / "entities.toml", directory / "entities.toml")
    return directory


@pytest.fixture
def write_pack(rules_dir: Path) -> Callable[..., Path]:
    def write(text: str, name: str = "pack.toml") -> Path:
        path = rules_dir / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return write


@pytest.fixture
def one_rule(write_pack: Callable[..., Path], rules_dir: Path) -> Callable[..., RuleSet]:
    """``one_rule('"world model" AND funding', min_amount_usd=1e6)`` -> a RuleSet with rule id 'r'."""

    def build(query: str, **extra: object) -> RuleSet:
        lines = ["[[rule]]", 'id = "r"', f"query = '''{query}'''"]
        lines += [f"{key} = {_toml(value)}" for key, value in extra.items()]
        write_pack("\n".join(lines) + "\n")
        return load_rules(rules_dir)

    return build


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


@pytest.fixture
def item() -> Callable[..., Item]:
    """``item(title, summary="", content="", feed="Test feed")`` -> an Item."""
    return make_item


def article(name: str, link: str, guid: str, age: timedelta = timedelta(hours=1)) -> dict[str, str]:
    """An RSS item (for ``rss``) made of one of tests/data/articles (first line: the title),
    published ``age`` ago, so the suite does not age."""
    title, _, body = (DATA / "articles" / name).read_text(encoding="utf-8").partition("\n")
    published = format_datetime(datetime.now(UTC) - age, usegmt=True)
    return {"title": escape(title), "link": link, "guid": guid, "description": escape(body), "pubDate": published}


def run_monitor(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        monitor_command(*args), capture_output=True, text=True, timeout=120, cwd=cwd,
        env=monitor_env(**(env or {})),
    )  # fmt: skip


def wait_for(condition: Callable[[], object], timeout: float = 15.0, what: str = "condition") -> object:
    """Poll ``condition`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


class MonitorProcess:
    """`monitor run` as a subprocess; its stdout and stderr go to files the test can read."""

    def __init__(self, command: list[str], directory: Path, env: dict[str, str] | None = None) -> None:
        self.stdout_path, self.stderr_path = directory / "run.out", directory / "run.err"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(command, stdout=out, stderr=err, env=env)

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def wait_log(self, text: str, timeout: float = 20.0) -> None:
        def found() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"monitor exited with {self.process.returncode}:\n{self.stderr}")
            return text in self.stderr

        wait_for(found, timeout, what=f"{text!r} in the log")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then the exit code (the test fails if it does not stop in time)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail(f"monitor did not stop within {timeout}s of SIGTERM:\n{self.stderr}")


@pytest.fixture
def start_monitor(tmp_path: Path) -> Iterator[Callable[..., MonitorProcess]]:
    """Start `monitor run --config CONFIG` (this checkout); killed at teardown if still running."""
    started: list[MonitorProcess] = []

    def start(config: Path, env: dict[str, str] | None = None) -> MonitorProcess:
        command = monitor_command("run", "--config", str(config))
        started.append(MonitorProcess(command, tmp_path, monitor_env(**(env or {}))))
        return started[-1]

    yield start
    for monitor in started:
        if monitor.process.poll() is None:
            monitor.process.kill()
            monitor.process.wait(10)


# --- PostgreSQL: a real server on the local socket (see docs/operations.md, PostgreSQL) ----------

PG_SERVER = "postgresql:///postgres"
# Named per test run, so two runs on one server (two checkouts) never share a database.
postgresql_local = postgresql_noproc(
    host="/var/run/postgresql", port=5432, user=getpass.getuser(), dbname=f"monitor_template_{os.getpid()}"
)
postgresql_db = postgresql_factory("postgresql_local", dbname=f"monitor_tests_{os.getpid()}")


@pytest.fixture(scope="session")
def postgresql_available() -> str | None:
    """Why PostgreSQL tests cannot run here, or None when a server answers on the local socket."""
    try:
        psycopg.connect(PG_SERVER, connect_timeout=3).close()
    except psycopg.Error as e:
        first = str(e).strip().splitlines()[0]
        return (
            f"PostgreSQL tests not run: no server at {PG_SERVER} ({first}). .ci/run installs and starts one; "
            "see docs/operations.md, PostgreSQL"
        )
    return None


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, postgresql_available: str | None) -> str:
    """A postgresql:// URL to a fresh, empty database for this test (dropped afterwards)."""
    if postgresql_available:
        pytest.skip(postgresql_available)
    conn = request.getfixturevalue("postgresql_db")
    info = conn.info
    return f"postgresql://{info.user}@/{info.dbname}?host={info.host}&port={info.port}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Each backend in turn: a SQLite file path, or a postgresql:// URL (skipped without a server)."""
    if request.param == "sqlite":
        return tmp_path / "sub" / "m.db"
    return request.getfixturevalue("pg_url")
