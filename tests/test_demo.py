"""`monitor demo`, as a newcomer runs it first: offline, no config, exit 0, alerts shown."""

from __future__ import annotations

import subprocess

from conftest import monitor_command, monitor_env

from monitor.demo import slack_text


def test_demo_runs_offline_and_shows_what_slack_the_webhook_and_the_mailbox_received(tmp_path) -> None:
    result = subprocess.run(
        monitor_command("demo"), capture_output=True, text=True, timeout=120, cwd=tmp_path, env=monitor_env()
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout
    slack = out.split("── Slack received", 1)[1].split("── Webhook", 1)[0]
    assert "🚨 Alibaba Cloud leads 2 billion yuan round in ShengShu, the maker of Vidu (https://wire.demo" in slack
    assert "PixVerse raises $60 million" in slack and "Tripo AI closes $50 million" in slack
    assert "Deal: ShengShu raised 2 billion yuan ($290 million) · led by Alibaba Cloud" in slack  # the deal card
    assert "Also mentioned: PixVerse $60M; Tripo AI $50M" in slack
    assert "[#world-model-alerts, thread reply]\n    ↳ Also reported by Compute Daily: Vidu developer ShengShu" in slack
    assert "tram" not in slack.lower() and "fashion" not in slack.lower()  # the noise stays quiet
    webhook = out.split("── Webhook received", 1)[1].split("\n── ", 1)[0]
    received, valid = webhook.split(" events, ")[0], webhook.split(" events, ")[1].split(" with")[0]
    assert received.strip() == valid.strip() != "0"
    assert "alert          id=" in webhook and "follow_up" in webhook and "digest_sent" in webhook
    mail = out.split("── The mailbox received 1 digest email", 1)[1]
    assert "Subject: World-model monitor: " in mail and "To: team@demo.example" in mail
    assert "HIGH PRIORITY" in mail and "Tripo AI closes $50 million Series B" in mail
    assert list(tmp_path.iterdir()) == []  # nothing left behind in the working folder


def test_slack_text_is_readable() -> None:
    assert slack_text(":rotating_light: *<https://a.example/x_y|Deal &amp; more>*") == (
        "🚨 Deal & more (https://a.example/x_y)"
    )
    assert slack_text("*Rule:* Deals (high)\n_summary:_ …a_b…") == "Rule: Deals (high)\nsummary: …a_b…"
