"""`monitor demo`: the whole pipeline, offline, in a temporary folder.

The bundled sample feeds (``wire.xml``, ``second.xml``: invented outlets and text) are served by
``testing.FeedServer`` on 127.0.0.1; alerts go to ``testing.SlackServer`` (a local Slack Web API
stand-in) and to a signed webhook (``testing.WebhookReceiver``); the digest goes to
``testing.SmtpServer``. The run uses the real config loader, rules, store, delivery loop and
notifiers: only the far sides are local. It prints what each far side received.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from monitor import config, shell
from monitor.delivery.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from monitor.testing import FeedServer, SlackServer, SmtpServer, WebhookReceiver
from monitor.wording import plural

HERE = Path(__file__).resolve().parent
FEEDS = {"Pacific Tech Wire": "wire.xml", "Compute Daily": "second.xml"}
SLACK_TOKEN_ENV = "MONITOR_DEMO_SLACK_TOKEN"
WEBHOOK_SECRET_ENV = "MONITOR_DEMO_WEBHOOK_SECRET"
DEMO_SECRETS = {SLACK_TOKEN_ENV: "xoxb-demo-local-only", WEBHOOK_SECRET_ENV: "demo-webhook-secret"}

CONFIG = """\
[monitor]
database = "data/monitor.db"
rules = "{rules}"

{feeds}
[slack]
token_env = "{slack_env}"
channel = "#world-model-alerts"
base_url = "{slack_url}"

[[webhooks]]
name = "demo"
url = "{webhook_url}"
events = ["alert", "follow_up", "digest_sent"]
secret_env = "{webhook_env}"

[digest]
to = ["team@demo.example"]
from = "monitor@demo.example"

[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
"""


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """The demo's made-up secrets, in the environment only while it runs."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run(out: TextIO) -> None:
    """Run the demo, writing what Slack, the webhook and the mailbox received to ``out``."""
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="monitor-demo-")))
        feeds = stack.enter_context(FeedServer())
        slack = stack.enter_context(SlackServer())
        hooks = stack.enter_context(WebhookReceiver())
        smtp = stack.enter_context(SmtpServer())
        stack.enter_context(_environment(DEMO_SECRETS))
        urls = {name: feeds.add("/" + file, (HERE / file).read_bytes()) for name, file in FEEDS.items()}
        path = folder / "config.toml"
        path.write_text(
            CONFIG.format(
                rules=(HERE / "rules.toml").as_posix(),
                feeds="".join(f'[[feeds]]\nname = "{name}"\nurl = "{url}"\n\n' for name, url in urls.items()),
                slack_env=SLACK_TOKEN_ENV,
                slack_url=slack.base_url,
                webhook_url=hooks.url + "/monitor",
                webhook_env=WEBHOOK_SECRET_ENV,
                smtp_port=smtp.port,
            ),
            encoding="utf-8",
        )
        cfg = config.load(path)
        print("monitor demo: the whole pipeline, offline, on 127.0.0.1", file=out)
        print(f"  feeds    {', '.join(f'{n} ({u})' for n, u in urls.items())}", file=out)
        print(f"  rules    {HERE / 'rules.toml'}", file=out)
        print(f"  Slack    a local stand-in at {slack.base_url}", file=out)
        print(f"  webhook  {hooks.url}/monitor (signed with HMAC-SHA256)", file=out)
        print(f"  email    an SMTP sink at 127.0.0.1:{smtp.port}", file=out)
        print(f"  data     {folder} (deleted at the end)\n", file=out)
        rt = shell.open_runtime(cfg)
        try:
            for feed in cfg.feeds:  # one feed after the other, as two polls minutes apart would
                (report,) = shell.poll_cycle(rt, [feed])
                delivery = shell.deliver_due(rt)
                print(
                    f"polled {report.feed}: {report.new_items} new items, {report.matched} matched, "
                    f"{report.alerts} outbox rows; delivered {delivery.delivered}",
                    file=out,
                )
            _digest(rt, out)
            shell.deliver_due(rt)  # the digest_sent webhook event
        finally:
            rt.close()
        _print_slack(slack, out)
        _print_webhooks(hooks, out)
        _print_mail(smtp, out)


def _digest(rt: shell.Runtime, out: TextIO) -> None:
    from monitor.shell import digesting

    for report in digesting.send_now(rt):
        print(f"digest {report.period}: {report.state}, {plural(report.stories, 'story', 'stories')}", file=out)


# --- what the far sides received, readably -------------------------------------------------------


def _heading(text: str, out: TextIO) -> None:
    print(f"\n── {text} " + "─" * max(0, 72 - len(text)), file=out)


_SLACK_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_EMPHASIS = re.compile(r"(?<!\w)([*_])(\S(?:[^\n]*?\S)?)\1(?!\w)")
_EMOJI = {":rotating_light:": "🚨", ":newspaper:": "📰", ":small_blue_diamond:": "🔹"}


def slack_text(mrkdwn: str) -> str:
    """Slack mrkdwn as a terminal shows it: links as 'label (url)', no */_ markers, entities
    decoded, the priority emoji drawn."""
    links: list[str] = []

    def park(found: re.Match[str]) -> str:  # keep URLs out of the emphasis pattern
        links.append(f"{found.group(2)} ({found.group(1)})")
        return f"\x00{len(links) - 1}\x00"

    text = _EMPHASIS.sub(r"\2", _SLACK_LINK.sub(park, mrkdwn))
    text = re.sub("\x00(\\d+)\x00", lambda found: links[int(found.group(1))], text)
    for code, emoji in _EMOJI.items():
        text = text.replace(code, emoji)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _block_lines(block: Mapping[str, Any]) -> list[str]:
    if block.get("type") == "context":
        return [slack_text(e.get("text", "")) for e in block.get("elements", [])]
    return slack_text(block.get("text", {}).get("text", "")).splitlines()


def _print_slack(slack: SlackServer, out: TextIO) -> None:
    _heading(f"Slack received {len(slack.messages)} messages", out)
    names = {number: name for name, number in slack.channel_ids.items()}  # replies go to the channel ID
    for message in slack.messages:
        reply = bool(message.get("thread_ts"))
        channel = names.get(message["channel"], message["channel"])
        where = f"{channel}, thread reply" if reply else channel
        print(f"\n[{where}]", file=out)
        for block in message.get("blocks") or []:
            for line in _block_lines(block):
                print(("    ↳ " if reply else "  ") + line, file=out)


def _print_webhooks(hooks: WebhookReceiver, out: TextIO) -> None:
    received = hooks.accepted()
    now = datetime.now(UTC)
    valid = sum(
        verify(
            DEMO_SECRETS[WEBHOOK_SECRET_ENV],
            r["body"],
            r["headers"].get(TIMESTAMP_HEADER.lower()),
            r["headers"].get(SIGNATURE_HEADER.lower()),
            now,
        )
        for r in received
    )
    _heading(f"Webhook received {len(received)} events, {valid} with a valid signature", out)
    for request in received:
        event = request["json"]
        title = event["data"].get("title") or event["data"].get("period") or ""
        print(f"  {event['event']:<14} id={event['id']:<3} {title}", file=out)


def _print_mail(smtp: SmtpServer, out: TextIO) -> None:
    count = len(smtp.messages)
    _heading(f"The mailbox received {count} digest email{'s' if count != 1 else ''}", out)
    for message in smtp.messages:
        print(f"From: {message['From']}\nTo: {message['To']}\nSubject: {message['Subject']}\n", file=out)
        plain = message.get_body(preferencelist=("plain",))
        print(plain.get_content().rstrip() if plain else "(no text part)", file=out)
