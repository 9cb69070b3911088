"""`monitor` as a user runs it: a subprocess against local feed and Slack servers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from conftest import DATA, article, free_port, rss, slack_section, write_config
from conftest import run_monitor as run

from monitor.testing import FeedServer, SlackServer


def test_poll_alerts_once_with_metadata_and_uses_conditional_get(
    tmp_path: Path, feed_server: FeedServer, slack_server: SlackServer
) -> None:
    feed = rss(
        article("shengshu_wire.txt", "https://wire.example/alibaba-shengshu", "wire-1"),
        article("unrelated_fashion.txt", "https://wire.example/fashion", "wire-2"),
        article("unrelated_trains.txt", "https://wire.example/trains", "wire-3"),
    )
    url = feed_server.add("/wire.xml", feed)
    config = write_config(tmp_path, {"Wire": url}, slack_section(slack_server))
    env = {"SLACK_BOT_TOKEN": "xoxb-local-test"}

    first = run("poll", "--config", str(config), env=env)
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    assert len(slack_server.messages) == 1, slack_server.messages
    message = slack_server.messages[0]
    assert message["channel"] == "#world-model-alerts"
    assert "ShengShu" in message["text"]
    assert message["metadata"]["event_type"] == "monitor_alert"
    payload = message["metadata"]["event_payload"]
    assert payload["url"] == "https://wire.example/alibaba-shengshu"
    assert payload["rule"] and isinstance(payload["story_id"], int)
    assert message["unfurl_links"] is False

    second = run("poll", "--config", str(config), env=env)
    assert second.returncode == 0, second.stderr
    assert len(slack_server.messages) == 1
    conditional = feed_server.requests_for("/wire.xml")[1]["headers"]
    assert "if-none-match" in conditional and "if-modified-since" in conditional


def test_unchanged_body_without_validators_posts_nothing_new(
    tmp_path: Path, feed_server: FeedServer, slack_server: SlackServer
) -> None:
    feed = rss(article("shengshu_explainer.txt", "https://explainer.example/a?utm_source=rss", "e-1"))
    url = feed_server.add("/e.xml", feed, validators=False)
    config = write_config(tmp_path, {"Explainer": url}, slack_section(slack_server))
    env = {"SLACK_BOT_TOKEN": "xoxb-local-test"}
    for _ in range(2):
        assert run("poll", "--config", str(config), env=env).returncode == 0
    assert len(slack_server.messages) == 1
    assert slack_server.messages[0]["metadata"]["event_payload"]["url"] == "https://explainer.example/a"


def test_console_alerts_without_slack_and_dry_run_stores_nothing(tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.add("/w.xml", rss(article("shengshu_wire.txt", "https://wire.example/a", "w-1")))
    config = write_config(tmp_path, {"Wire": url})
    dry = run("poll", "--dry-run", "--config", str(config))
    assert dry.returncode == 0, dry.stderr
    assert "ShengShu" in dry.stdout
    real = run("poll", "--config", str(config))
    assert "ShengShu" in real.stdout and "https://wire.example/a" in real.stdout  # dry run did not mark it seen
    again = run("poll", "--config", str(config))
    assert "ShengShu" not in again.stdout


def test_check_reports_config_problems_with_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[monitor]\ndefault_interval = "often"\n\n[[feeds]]\nname = "A"\n', encoding="utf-8")
    result = run("check", "--config", str(config))
    assert result.returncode == 2
    assert f"{config}:2: [monitor] default_interval" in result.stderr
    assert f"{config}:4: [[feeds]] #1 url: missing" in result.stderr


def test_config_from_environment_variable(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"A": "https://a.example/feed"})
    result = run("check", env={"MONITOR_CONFIG": str(config)}, cwd=tmp_path.parent)
    assert result.returncode == 0, result.stderr
    assert "(1 feed, " in result.stdout


def test_rules_test_explains_an_article() -> None:
    result = run(
        "rules",
        "test",
        str(DATA / "articles" / "shengshu_explainer.txt"),
        "--config",
        str(Path(__file__).parent.parent / "config.toml"),
    )
    assert result.returncode == 0, result.stderr
    assert "ShengShu" in result.stdout
    assert "290" in result.stdout


def test_missing_slack_token_is_exit_2(tmp_path: Path, slack_server: SlackServer) -> None:
    config = write_config(tmp_path, {"A": "https://a.example/feed"}, slack_section(slack_server))
    result = run("poll", "--config", str(config))
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr and "Traceback" not in result.stderr


def test_first_poll_does_not_flood_with_old_items(tmp_path: Path, feed_server: FeedServer) -> None:
    old = article("shengshu_wire.txt", "https://wire.example/old", "w-old", age=timedelta(days=3))
    url = feed_server.add("/w.xml", rss(old))
    config = write_config(tmp_path, {"Wire": url})
    first = run("poll", "--config", str(config))
    assert first.returncode == 0 and "ShengShu" not in first.stdout
    fresh = article("shengshu_explainer.txt", "https://wire.example/new", "w-new")
    feed_server.add("/w.xml", rss(old, fresh))
    second = run("poll", "--config", str(config))
    assert "https://wire.example/new" in second.stdout and "https://wire.example/old" not in second.stdout


def test_poll_exits_3_when_every_feed_failed(tmp_path: Path, feed_server: FeedServer) -> None:
    good = feed_server.add("/w.xml", rss(article("shengshu_wire.txt", "https://wire.example/a", "w-1")))
    feed_server.add("/broken.xml", "", status=500)
    broken = feed_server.url + "/broken.xml"
    some = run("poll", "--config", str(write_config(tmp_path, {"Wire": good, "Broken": broken})))
    assert some.returncode == 0, some.stderr
    assert "polled 2 feeds: 1 new item, 1 matched, 1 alert queued;" in some.stderr
    assert "; 1 feed failing" in some.stderr
    offline = tmp_path / "offline"
    offline.mkdir()
    closed = f"http://127.0.0.1:{free_port()}/a.xml"
    every = run("poll", "--config", str(write_config(offline, {"Broken": broken, "Closed": closed})))
    assert every.returncode == 3, every.stderr
    assert "; 2 feeds failing" in every.stderr and "feed 'Closed': connect: cannot connect" in every.stderr
    assert "Traceback" not in every.stderr


def test_rules_test_lists_every_item_of_a_feed_file(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_text(
        rss(
            article("unrelated_fashion.txt", "https://wire.example/fashion", "w-1"),
            article("shengshu_wire.txt", "https://wire.example/shengshu", "w-2"),
            article("unrelated_trains.txt", "https://wire.example/trains", "w-3"),
        ),
        encoding="utf-8",
    )
    result = run("rules", "test", str(feed), "--config", str(Path(__file__).parent.parent / "config.toml"))
    assert result.returncode == 0, result.stderr
    headings = [line for line in result.stdout.splitlines() if line.startswith("== ")]
    assert len(headings) == 3 and "ShengShu" in headings[1]
    assert result.stdout.count("   no rule matched") == 2
    assert result.stderr.endswith(" in 3 items\n")


def test_rules_test_finds_the_headline_under_an_outlet_and_a_byline(tmp_path: Path) -> None:
    saved = tmp_path / "saved.txt"
    body = (DATA / "articles" / "shengshu_wire.txt").read_text(encoding="utf-8").partition("\n")[2]
    saved.write_text(f"REUTERS\nBy Jane Doe\nNovember 22, 2026 9:03 AM GMT\nShengShu lands $290M\n{body}")
    result = run("rules", "test", str(saved), "--config", str(Path(__file__).parent.parent / "config.toml"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("== ShengShu lands $290M\n")
