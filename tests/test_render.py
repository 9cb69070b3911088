import json

import pytest

from monitor.delivery.render import alert_message, escape, follow_up_message, link, truncate
from monitor.model import Alert

HOSTILE = [
    "<!channel> deal of the year",
    "<!here> look",
    "<@U024BE7LH> you too",
    "<!subteam^S012345> team",
    "<http://evil.example|Reuters> exclusive",
    "AT&T & friends > everyone",
]


def alert(title: str, url: str | None = "https://news.example/a?x=1&y=2", **payload: object) -> Alert:
    body = {
        "title": title,
        "url": url,
        "feed": "Outlet <b>",
        "published": "2026-11-22T10:00:00+00:00",
        "rules": [{"id": "deal", "name": "Deals", "priority": "high"}],
        "terms": ["world model"],
        **payload,
    }
    return Alert(1, 7, "url:x", "alert", "slack", None, "high", "deal", 0, body)


@pytest.mark.parametrize("title", HOSTILE, ids=["channel", "here", "user", "subteam", "link", "amp"])
def test_feed_text_cannot_ping_or_forge_links(title: str) -> None:
    message = alert_message(alert(title, companies=[title], amounts=[title]), "#c")
    dumped = json.dumps(message.blocks) + message.text
    for forbidden in ("<!channel>", "<!here>", "<@U", "<!subteam", "<http://evil"):
        assert forbidden not in dumped
    assert escape(title).replace("|", "¦") in message.blocks[0]["text"]["text"]


def test_only_http_links_are_linked() -> None:
    assert link("javascript:alert(1)", "x") == "x"
    assert link("https://a.example/p?a=1&b=2", "T") == "<https://a.example/p?a=1&amp;b=2|T>"
    assert "|" not in link("https://a.example/a|b", "T").split("|T>")[0][1:]


def test_truncate_never_splits_an_entity() -> None:
    text = escape("a" * 2997 + "&&&")
    cut = truncate(text, 3000)
    assert len(cut) <= 3000 and cut.endswith("…") and not cut[:-1].endswith(("&", "&a", "&am", "&amp"))


def test_long_titles_fit_slack_limits() -> None:
    message = alert_message(alert("<" * 5000), "#c")
    assert all(len(b["text"]["text"]) <= 3000 for b in message.blocks if b["type"] == "section")
    assert len(message.blocks) <= 50


def test_metadata_and_fallback_text() -> None:
    message = alert_message(alert("ShengShu raises $290M"), "#c")
    assert message.metadata == {
        "event_type": "monitor_alert",
        "event_payload": {"rule": "deal", "story_id": 7, "url": "https://news.example/a?x=1&y=2"},
    }
    assert "ShengShu raises $290M" in message.text


def test_follow_up_names_the_outlet() -> None:
    message = follow_up_message(alert("Second take"), "C1", "1700000000.000001")
    assert message.thread_ts == "1700000000.000001"
    assert message.blocks[0]["text"]["text"].startswith("Also reported by Outlet &lt;b&gt;: <https://")
