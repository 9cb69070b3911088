import json
from pathlib import Path

import pytest

from monitor.delivery.console import alert_text
from monitor.delivery.render import (
    alert_message,
    alert_payload,
    escape,
    follow_up_message,
    link,
    summary_message,
    truncate,
)
from monitor.matching import load_rules
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
        "event_payload": {
            "rule": "deal", "story_id": 7, "url": "https://news.example/a?x=1&y=2", "deal": None, "other_deals": [],
        },
    }  # fmt: skip
    assert "ShengShu raises $290M" in message.text


def test_follow_up_names_the_outlet() -> None:
    message = follow_up_message(alert("Second take"), "C1", "1700000000.000001")
    assert message.thread_ts == "1700000000.000001"
    assert message.blocks[0]["text"]["text"].startswith("Also reported by Outlet &lt;b&gt;: <https://")


def test_hidden_and_reordering_characters_are_dropped() -> None:
    assert escape("a\u202eb\u2066c\x00d\x1be\ud800f\tg\nh") == "abcdef\tg\nh"


def test_truncate_never_splits_a_link() -> None:
    text = "x" * 2990 + link("https://a.example/long/path", "label")
    cut = truncate(text, 3000)
    assert cut == "x" * 2990 + "…"


def test_long_title_keeps_its_link_and_bold() -> None:
    message = alert_message(alert("word " * 2000), "#c")
    headline = message.blocks[0]["text"]["text"]
    assert headline.startswith(":rotating_light: *<https://news.example/a?x=1&amp;y=2|word")
    assert headline.endswith("…>*") and len(headline) < 400


def test_every_mrkdwn_object_is_verbatim() -> None:
    message = alert_message(alert("@channel hello", hits=[{"term": "t", "field": "summary", "snippet": "@here"}]), "#c")
    texts = [b["text"] for b in message.blocks if "text" in b]
    texts += [e for b in message.blocks for e in b.get("elements", [])]
    assert len(texts) == 4 and all(t["verbatim"] is True for t in texts)


def test_summary_lists_alerts_within_slack_limits() -> None:
    alerts = [alert(f"<!channel> story {n}" + "x" * 400) for n in range(40)]
    message = summary_message(alerts, "#c")
    assert len(message.blocks) <= 50 and message.blocks[0]["type"] == "header"
    assert message.blocks[0]["text"]["text"] == "40 new alerts"
    lines = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
    assert len(lines) == 40 and all(len(line) <= 3000 for line in lines)
    assert all("<!channel>" not in line and "&lt;!channel&gt;" in line for line in lines)
    assert message.metadata["event_payload"]["story_ids"] == [7] * 40
    assert len(message.text) <= 4000


def test_each_sum_is_shown_once_by_its_fullest_mention() -> None:
    from monitor.delivery.render import distinct_amounts
    from monitor.model import Amount

    title = Amount("2 billion yuan", 2e9, "CNY", 2.76e8)
    body = Amount("2 billion yuan ($290 million)", 2e9, "CNY", 2.9e8)
    short = Amount("$290M", 2.9e8, "USD", 2.9e8)
    other = Amount("$60 million", 6e7, "USD", 6e7)
    assert [a.text for a in distinct_amounts([title, short, body, other])] == [
        "2 billion yuan ($290 million)",
        "$60 million",
    ]


def test_the_seed_story_alert_shows_its_deal_card(item) -> None:
    """Metadata carries the card; the visible text shows it once instead of every amount and company."""
    article = (Path(__file__).parent / "data" / "articles" / "alibaba_shengshu.txt").read_text(encoding="utf-8")
    story = item(*article.split("\n", 2))
    matches = load_rules(Path(__file__).resolve().parent.parent / "rules").evaluate(story)
    payload = alert_payload(story, matches)
    alert = Alert(1, 7, story.key, "alert", "slack", None, "high", matches[0].rule_id, 0, payload)
    message = alert_message(alert, "#c")
    event = message.metadata["event_payload"]
    assert event["deal"] == {
        "company": "ShengShu", "amount": "2 billion yuan ($290 million)", "amount_usd": 290e6, "currency": "CNY",
        "round": "Series B", "lead_investors": ["Alibaba Cloud"], "investors": ["TAL Education", "Baidu Ventures"],
        "valuation_usd": None, "status": "closed",
    }  # fmt: skip
    assert [(d["company"], d["amount"]) for d in event["other_deals"]] == [
        ("PixVerse", "$60 million"), ("Tripo AI", "$50 million"),
    ]  # fmt: skip
    assert {"rule", "story_id", "url"} <= set(event)  # what was there stays
    card = (
        "*Deal:* ShengShu raised 2 billion yuan ($290 million) · Series B · led by Alibaba Cloud · also: "
        "TAL Education, Baidu Ventures\nAlso mentioned: PixVerse $60M; Tripo AI $50M"
    )
    assert card in message.blocks[2]["text"]["text"]
    assert "ShengShu raised 2 billion yuan ($290 million)" in message.text
    for shown in (message.text, message.blocks[2]["text"]["text"]):
        assert shown.count("290") == 1 and shown.count("$60") == 1  # each amount once
        assert "Kuaishou" not in shown and "*Amount:*" not in shown  # no list of every company and amount


def test_a_deal_card_from_a_feed_is_escaped() -> None:
    deal = {"company": "<!channel> Corp", "amount": "$5M", "amount_usd": 5e6, "currency": "USD"}
    message = alert_message(alert("x", deal=deal, other_deals=[{"company": "<@U1>", "amount_usd": 2e6}]), "#c")
    dumped = json.dumps(message.blocks) + message.text
    assert "<!channel>" not in dumped and "<@U1>" not in dumped and "&lt;!channel&gt; Corp raised $5M" in dumped


def test_the_matched_languages_are_named() -> None:
    message = alert_message(alert("x", terms=['"levée de fonds"', "humanoïde"], languages=["fr"]), "#c")
    assert '*Matched:* "levée de fonds", humanoïde (fr)' in message.blocks[2]["text"]["text"]


def test_console_shows_the_card() -> None:
    payload = {"title": "T", "feed": "F", "rules": [], "amounts": ["$5M", "$2M"], "companies": ["A", "B"],
               "deal": {"company": "A", "amount": "$5M", "amount_usd": 5e6, "currency": "USD", "round": "seed"},
               "other_deals": [{"company": "B", "amount": "$2M", "amount_usd": 2e6}]}  # fmt: skip
    text = alert_text(Alert(1, 1, "k", "alert", "console", None, "high", "r", 0, payload))
    assert "  deal: A raised $5M · seed" in text and "  also mentioned: B $2M" in text
    assert "amounts:" not in text and "companies:" not in text
