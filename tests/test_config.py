from datetime import time, timedelta
from pathlib import Path

import pytest

from monitor import config
from monitor.errors import ConfigError, SecretError
from monitor.secrets import secret


def parse(text: str) -> config.Config:
    return config.parse(text, Path("/etc/monitor/config.toml"))


def test_minimal_config_takes_defaults() -> None:
    cfg = parse('[[feeds]]\nname = "A"\nurl = "https://a.example/feed"\n')
    assert cfg.feeds[0].interval == timedelta(minutes=15)
    assert cfg.database_path == Path("/etc/monitor/data/monitor.db")
    assert cfg.slack is None and cfg.smtp is None


def test_feed_interval_and_default_interval() -> None:
    cfg = parse(
        '[monitor]\ndefault_interval = "5m"\n'
        '[[feeds]]\nname = "A"\nurl = "https://a.example/"\ninterval = "90s"\n'
        '[[feeds]]\nname = "B"\nurl = "https://b.example/"\n'
    )
    assert [f.interval for f in cfg.feeds] == [timedelta(seconds=90), timedelta(minutes=5)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[monitor]\ndatabse = 'x'\n", "config.toml:2: [monitor] databse: unknown key"),
        (
            "[monitor]\n\ndefault_interval = 'soon'\n",
            "config.toml:3: [monitor] default_interval: 'soon' is not a duration",
        ),
        (
            "[[feeds]]\nname = 'A'\nurl = 'ftp://x'\n",
            "config.toml:3: [[feeds]] #1 url: 'ftp://x' is not an http(s) URL",
        ),
        ("[[feeds]]\nname = 'A'\n", "config.toml:1: [[feeds]] #1 url: missing (required)"),
        (
            "[slack]\ntoken_env = 'xoxb-123'\nchannel = '#a'\n",
            "config.toml:2: [slack] token_env: not an environment variable name (value not shown)",
        ),
        (
            "[slack]\nchannel = '#a'\n",
            "config.toml:1: [slack]: set exactly one of token_env or webhook_url_env",
        ),
        ("[smtp]\nhost = 'h'\nsecurity = 'tls'\n", "config.toml:3: [smtp] security: expected one of"),
        (
            "[monitor]\ntimezone = 'Mars/Olympus'\n",
            "config.toml:2: [monitor] timezone: 'Mars/Olympus' is not a known time zone",
        ),
        ("[surprise]\nx = 1\n", "config.toml:1: [surprise]: unknown section"),
        ("[monitor\n", "config.toml:1: not valid TOML"),
    ],
    ids=[
        "unknown-key",
        "bad-duration",
        "bad-url",
        "missing-url",
        "secret-in-config",
        "slack-no-auth",
        "bad-choice",
        "bad-zone",
        "unknown-section",
        "bad-toml",
    ],
)
def test_problems_are_located(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    messages = [str(p) for p in caught.value.problems]
    assert any(m.startswith("/etc/monitor/" + expected) for m in messages), messages


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        parse("[monitor]\nfoo = 1\nbar = 2\n[[feeds]]\nname = 'A'\nurl = 'nope'\n")
    assert len(caught.value.problems) == 3


def test_duplicate_feed_names_rejected() -> None:
    with pytest.raises(ConfigError, match="used by another feed"):
        parse("[[feeds]]\nname = 'A'\nurl = 'https://a/'\n[[feeds]]\nname = 'A'\nurl = 'https://b/'\n")


def test_secret_from_env_or_file(tmp_path: Path) -> None:
    assert secret("TOKEN", {"TOKEN": " xoxb-1 "}) == "xoxb-1"
    (tmp_path / "t").write_text("xoxb-2\n")
    assert secret("TOKEN", {"TOKEN_FILE": str(tmp_path / "t")}) == "xoxb-2"
    assert secret("TOKEN", {}) is None


def test_example_config_is_valid() -> None:
    cfg = config.load(Path(__file__).parent.parent / "config.toml")
    assert 8 <= len(cfg.feeds) <= 15
    assert all(f.url.startswith("https://") for f in cfg.feeds)


SLACK = '[slack]\ntoken_env = "T"\nchannel = "#a"\n'


def test_quiet_hours_for_every_channel_or_per_channel() -> None:
    assert parse(SLACK + 'quiet_hours = "22:00-07:00"\n').slack.quiet_hours == (time(22), time(7))
    per_channel = parse(SLACK + 'quiet_hours = { "#deals" = "23:30-06:00" }\n').slack.quiet_hours
    assert per_channel == {"#deals": (time(23, 30), time(6))}
    assert parse(SLACK).slack.pace == 1.0


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('quiet_hours = { deals = "22:00-07:00" }', "'deals': write a channel name starting with #"),
        ('quiet_hours = "22:00"', "is not a range of times"),
        ("pace = 61", "pace: expected a number of seconds from 0 to 60"),
    ],
    ids=["channel", "range", "pace"],
)
def test_delivery_settings_are_checked(line: str, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse(SLACK + line + "\n")
    assert expected in str(error.value)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("1.5h", 5400), ("1h30m", 5400), ("2d", 172800), (" 1d 12h ", 129600)],
)
def test_durations_take_units_and_compounds(text: str, seconds: int) -> None:
    assert config.settings.parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (30, "30 has no unit; write e.g. '30s'"),
        (1.5, "has no unit"),
        ("99999999999d", "longer than 3650 days"),
        ("1h30", "is not a duration"),
        ("0s", "greater than zero"),
    ],
)
def test_bad_durations_say_what_to_write(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config.settings.parse_duration(value)


def test_a_pasted_token_is_never_echoed() -> None:
    with pytest.raises(ConfigError) as raised:
        parse("[slack]\ntoken_env = 'xoxb-1234-5678-abcdefgh'\nchannel = '#a'\n")
    assert "xoxb" not in "\n".join(str(p) for p in raised.value.problems)


def test_deeply_nested_toml_is_a_located_error_not_a_traceback() -> None:
    with pytest.raises(ConfigError, match="nested too deeply"):
        parse("x = " + "[" * 5000 + "]" * 5000 + "\n")


def test_digest_sender_may_carry_a_display_name() -> None:
    cfg = parse('[digest]\nto = ["team@example.com"]\nfrom = "World-model monitor <monitor@example.com>"\n')
    assert cfg.digest is not None and cfg.digest.sender == "World-model monitor <monitor@example.com>"


def test_restart_keys_are_the_declared_ones() -> None:
    old = parse("[monitor]\nhealth_port = 8787\n[fetch]\ntimeout = 20\n")
    new = parse("[monitor]\nhealth_port = 9000\nretention_days = 30\n[fetch]\ntimeout = 5\nconcurrency = 50\n")
    assert config.restart_needed(old, new) == ["[monitor] health_port", "[fetch] concurrency"]


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda d: d / "missing", "does not exist"),
        (lambda d: d, "is a folder, not a file"),
        (lambda d: (d / "latin1").write_bytes(b"caf\xe9 \xff") and d / "latin1", "is not UTF-8 text"),
    ],
    ids=["missing", "folder", "not-utf8"],
)
def test_a_bad_secret_file_is_one_clear_error_without_the_value(tmp_path: Path, make, problem: str) -> None:
    path = make(tmp_path)
    with pytest.raises(SecretError, match=f"TOKEN_FILE names {path}, which {problem}"):
        secret("TOKEN", {"TOKEN_FILE": str(path)})


def test_check_fails_on_an_unreadable_secret_file_and_notes_an_unset_one(tmp_path: Path) -> None:
    from conftest import run_monitor, write_config

    path = write_config(tmp_path, {}, '[slack]\ntoken_env = "SLACK_BOT_TOKEN"\nchannel = "#a"\n')
    unset = run_monitor("check", "--config", str(path))
    assert unset.returncode == 0 and "note: SLACK_BOT_TOKEN is not set" in unset.stdout, unset.stderr
    broken = run_monitor("check", "--config", str(path), env={"SLACK_BOT_TOKEN_FILE": str(tmp_path)})
    assert broken.returncode == 2 and "Traceback" not in broken.stderr
    assert f"SLACK_BOT_TOKEN_FILE names {tmp_path}, which is a folder" in broken.stderr
    polled = run_monitor("poll", "--config", str(path), env={"SLACK_BOT_TOKEN_FILE": str(tmp_path)})
    assert polled.returncode == 2 and "Traceback" not in polled.stderr and "is a folder" in polled.stderr
