"""Render the Slack alert for a seed-like article to docs/alert.png (for the README).

The message is the one the monitor really sends (default rule pack, ``render.alert_message``);
only its look is an approximation of Slack's, drawn as HTML and photographed by headless
Chromium. Run from the repository root: ``python docs/alert_screenshot.py``.
"""

from __future__ import annotations

import html
import re
import subprocess
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from monitor.delivery.render import alert_message, alert_payload
from monitor.intake.article import items_from_bytes
from monitor.matching import load_rules
from monitor.model import Alert

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "tests" / "data" / "articles" / "shengshu_wire.txt"
CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]  # fmt: skip
# Slack draws these emoji; the machine has no emoji font, so they are drawn as coloured dots.
EMOJI = {":rotating_light:": "#e01e5a", ":newspaper:": "#1264a3", ":small_blue_diamond:": "#36c5f0"}


def mrkdwn(text: str) -> str:
    """Slack mrkdwn (already escaped for Slack, which is also valid HTML escaping) -> HTML."""
    for code, colour in EMOJI.items():
        text = text.replace(code, f'<span style="color:{colour}">●</span>')
    text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r'<a href="\1">\2</a>', text)
    text = re.sub(r"\*([^*\n]+)\*", r"<b>\1</b>", text)
    text = re.sub(r"(?<!\w)_([^_\n]+)_(?!\w)", r"<i>\1</i>", text)
    return text.replace("\n", "<br>")


def block_html(block: dict) -> str:
    if block["type"] == "section":
        return f'<div class="section">{mrkdwn(block["text"]["text"])}</div>'
    if block["type"] == "context":
        return '<div class="context">' + " ".join(mrkdwn(e["text"]) for e in block["elements"]) + "</div>"
    if block["type"] == "header":
        return f'<div class="header">{html.escape(block["text"]["text"])}</div>'
    return ""


PAGE = """<!doctype html><meta charset="utf-8"><style>
body {{ font: 15px/1.46 -apple-system, "Segoe UI", "Helvetica Neue", Arial, sans-serif; color: #1d1c1d;
       margin: 0; padding: 24px; background: #fff; }}
.msg {{ display: flex; gap: 10px; max-width: 760px; }}
.avatar {{ width: 36px; height: 36px; border-radius: 6px; background: #2c6e49; color: #fff; font-weight: 700;
          display: flex; align-items: center; justify-content: center; flex: none; }}
.name {{ font-weight: 900; }} .app {{ font-size: 10px; background: #e8e8e8; border-radius: 3px; padding: 1px 3px;
       color: #616061; margin-left: 4px; }} .time {{ color: #616061; font-size: 12px; margin-left: 6px; }}
.section {{ margin: 4px 0; }} .context {{ color: #616061; font-size: 13px; margin: 4px 0; }}
a {{ color: #1264a3; text-decoration: none; }} .channel {{ font-weight: 700; margin-bottom: 14px; }}
</style><div class="channel"># world-model-alerts</div><div class="msg"><div class="avatar">M</div><div>
<div><span class="name">monitor</span><span class="app">APP</span><span class="time">9:03 AM</span></div>
{blocks}</div></div>"""


def main() -> None:
    now = datetime.now(UTC)
    item = items_from_bytes(ARTICLE.read_bytes(), "Pacific Tech Wire", now)[0]
    item = replace(item, url="https://wire.example/alibaba-cloud-shengshu-290m")
    matches = load_rules(ROOT / "rules").evaluate(item)
    alert = Alert(1, 1, item.key, "alert", "slack", None, matches[0].priority, matches[0].rule_id, 0,
                  alert_payload(item, matches))  # fmt: skip
    message = alert_message(alert, "#world-model-alerts")
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "alert.html"
        page.write_text(PAGE.format(blocks="\n".join(block_html(b) for b in message.blocks)), encoding="utf-8")
        subprocess.run(
            [*CHROMIUM, f"--user-data-dir={folder}/profile", f"--screenshot={ROOT / 'docs' / 'alert.png'}",
             "--window-size=820,320", page.as_uri()],
            check=True, capture_output=True,
        )  # fmt: skip


if __name__ == "__main__":
    main()
