"""The deal card extractor, table-driven: one deal report per language, written for this test
(made-up companies: the extractor must not need to know them), and the seed story."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.matching.deal import extract_deals
from monitor.model import Deal

ARTICLES = Path(__file__).parent / "data" / "articles"

CARDS = [
    # id, (title, summary, body), expected (company, amount, currency, round, leads, investors, status)
    (
        "en-round",
        ("Robotics startup Nimbus Labs raises $40 million Series A",
         "The round was led by Acme Ventures, with participation from Beta Capital and Gamma Fund.", ""),
        ("Nimbus Labs", "$40 million", "USD", "Series A", ("Acme Ventures",), ("Beta Capital", "Gamma Fund"), "closed"),
    ),
    (
        "en-acquisition",
        ("Orbit Robotics acquires Vela AI for $120 million", "The deal adds a robot learning team.", ""),
        ("Vela AI", "$120 million", "USD", "acquisition", ("Orbit Robotics",), (), "closed"),
    ),
    (
        "en-talks",
        ("Helix Motion is in talks to raise $200 million", "The humanoid maker would be valued at $2 billion, "
         "people familiar with the matter said.", ""),
        ("Helix Motion", "$200 million", "USD", None, (), (), "in_talks"),
    ),
    (
        "en-amount-in-body",
        ("Kestrel Robotics closes its Series B", "The warehouse robot maker will hire in Europe.",
         "The round totals $75 million and was led by Northwind Partners."),
        ("Kestrel Robotics", "$75 million", "USD", "Series B", ("Northwind Partners",), (), "closed"),
    ),
    (
        "en-appositive",
        ("Lumo, the maker of a home robot, has raised $18M", "Existing investor Pine Fund led the seed round.", ""),
        ("Lumo", "$18M", "USD", "seed", ("Pine Fund",), (), "closed"),
    ),
    (
        "fr",
        ("La start-up Lumen Robotique lève 30 millions d'euros",
         "Le tour de table a été mené par Alto Capital, avec la participation de Bpifrance.", ""),
        ("Lumen Robotique", "30 millions d'euros", "EUR", None, ("Alto Capital",), ("Bpifrance",), "closed"),
    ),
    (
        "de",
        ("Falke Robotics sammelt 25 Mio. Euro ein",
         "Die Serie-A-Runde des Kölner Start-ups wurde angeführt von Rheinland Ventures.", ""),
        ("Falke Robotics", "25 Mio. Euro", "EUR", "Series A", ("Rheinland Ventures",), (), "closed"),
    ),
    (
        "es",
        ("Ondas AI levanta 12 millones de euros", "La ronda semilla fue liderada por Sierra Capital.", ""),
        ("Ondas AI", "12 millones de euros", "EUR", "seed", ("Sierra Capital",), (), "closed"),
    ),
    (
        "pt",
        ("Garra Robótica capta R$ 50 milhões", "A rodada Série A foi liderada pela Ipê Ventures.", ""),
        ("Garra Robótica", "R$ 50 milhões", "BRL", "Series A", ("Ipê Ventures",), (), "closed"),
    ),
    (
        "it",
        ("Ardesia Robotics raccoglie 15 milioni di euro", "Il round è stato guidato da Lago Ventures.", ""),
        ("Ardesia Robotics", "15 milioni di euro", "EUR", None, ("Lago Ventures",), (), "closed"),
    ),
    (
        "zh",
        ("星河机器人完成2亿元A轮融资", "本轮由红山资本领投，蓝湖创投跟投，资金将用于人形机器人研发。", ""),  # noqa: RUF001
        ("星河机器人", "2亿元", "CNY", "Series A", ("红山资本",), ("蓝湖创投",), "closed"),
    ),
    (
        "ja",
        ("ヒカリ・ダイナミクス、30億円を調達", "東京のロボット新興ヒカリ・ダイナミクスは、シリーズBで30億円を調達した。"
         "リード投資家は桜キャピタルが務めた。", ""),
        ("ヒカリ・ダイナミクス", "30億円", "JPY", "Series B", ("桜キャピタル",), (), "closed"),
    ),
    (
        "ko",
        ("누리로보틱스, 200억원 시리즈A 유치",
         "휴머노이드 스타트업 누리로보틱스가 시리즈A에서 200억원 투자를 유치했다. "
         "이번 투자는 한빛벤처스가 주도했다.", ""),
        ("누리로보틱스", "200억원", "KRW", "Series A", ("한빛벤처스",), (), "closed"),
    ),
]  # fmt: skip


@pytest.mark.parametrize(("texts", "expected"), [c[1:] for c in CARDS], ids=[c[0] for c in CARDS])
def test_the_principal_deal(texts, expected):
    title, summary, body = texts
    deal, _ = extract_deals(title, summary, body or summary)
    assert deal is not None
    company, amount, currency, round_, leads, investors, status = expected
    assert (deal.company, deal.amount, deal.currency, deal.round) == (company, amount, currency, round_)
    assert (deal.lead_investors, deal.investors, deal.status) == (leads, investors, status)


def test_the_seed_story_card_and_the_deals_it_mentions_in_passing():
    title, summary, body = (ARTICLES / "alibaba_shengshu.txt").read_text(encoding="utf-8").split("\n", 2)
    deal, others = extract_deals(title, summary, body)
    assert deal == Deal(
        "ShengShu", "2 billion yuan ($290 million)", 290e6, "CNY", "Series B", ("Alibaba Cloud",),
        ("TAL Education", "Baidu Ventures"), None, "closed",
    )  # fmt: skip
    assert [(d.company, d.amount, d.lead_investors) for d in others] == [
        ("PixVerse", "$60 million", ("Alibaba",)),
        ("Tripo AI", "$50 million", ()),
    ]
    assert deal.line() == (
        "ShengShu raised 2 billion yuan ($290 million) · Series B · led by Alibaba Cloud · also: TAL Education, "
        "Baidu Ventures"
    )
    assert "; ".join(d.short() for d in others) == "PixVerse $60M; Tripo AI $50M"


def test_each_amount_once_and_valuations_apart():
    deal, others = extract_deals(
        "Alibaba bets $290M on Vidu maker ShengShu",
        "Alibaba Cloud led a 2 billion yuan ($290 million) round in ShengShu at a $2 billion valuation.",
        "Alibaba Cloud led a 2 billion yuan ($290 million) round in ShengShu at a $2 billion valuation.",
    )
    assert deal is not None and deal.company == "ShengShu" and deal.amount_usd == 290e6
    assert deal.valuation_usd == 2e9 and others == ()


def test_the_story_sum_again_in_dollars_is_not_another_deal():
    """A bulleted recap under a heading repeats the sum in dollars: it is the same deal, shown once."""
    deal, others = extract_deals(
        "Northwind Labs raises 1 billion yuan for its world model",
        "Harbor Capital led the 1 billion yuan round in Northwind Labs, a video generation start-up.",
        "- Direct Investment in Video Generation: Harbor Capital led the $138 million round.\n"
        "- Harbor Capital also led a $40 million round in Quill Robotics.",
    )
    assert deal is not None and deal.company == "Northwind Labs"
    assert [(d.company, d.amount_usd) for d in others] == [("Quill Robotics", 40e6)]


def test_two_companies_raising_the_same_sum_are_both_mentioned():
    _, others = extract_deals(
        "Northwind Labs raises $200 million for robot foundation models",
        "Northwind Labs raised $200 million in a round led by Harbor Capital.",
        "Earlier this year Quill Robotics raised $30 million. Ember AI raised $30 million in March.",
    )
    assert sorted(d.company for d in others) == ["Ember AI", "Quill Robotics"]


def test_news_without_a_deal_has_no_card():
    assert extract_deals("Google shows Genie 3", "The world model generates worlds in real time.", "") == (None, ())
