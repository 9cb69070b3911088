"""The deal card's lead investors, amounts and status in the ways reports write them, in several
languages. Made-up companies and texts."""

from __future__ import annotations

import pytest

from monitor.matching.amounts import amount_spans
from monitor.matching.deal import extract_deals
from monitor.matching.entities import Companies, Company

COMPANIES = Companies((Company("Halvard Capital", aliases=("HC7",), tags=("investor",)),))


def card(title: str, body: str = ""):
    deal, _ = extract_deals(title, body, body, companies=COMPANIES)
    return deal


@pytest.mark.parametrize(
    ("title", "body", "leads"),
    [
        ("Pelican Robotics raises $40M", "The round was led by battery giant Voltaro.", ("Voltaro",)),
        (
            "Pelican Robotics raises $40M",
            "The round was led by Brightfield, Mercator's early-stage fund, with others.",
            ("Brightfield",),
        ),
        ("Pelican Robotics raises $40M", "Orvell Capital's growth fund led the round.", ("Orvell Capital",)),
        ("Pelican Robotics raises $40M in an Orvell-led Series B", "", ("Orvell",)),
        (
            "Pelican Robotics cierra una ronda de 40 millones de dólares con Orvell y Damaro al frente",
            "",
            ("Orvell", "Damaro"),
        ),
        (
            "Pelican Robotics capta 40 millones de dólares",
            "La ronda está codirigida por Orvell y Damaro.",
            ("Orvell", "Damaro"),
        ),
        (
            "Pelican Robotics sammelt 40 Mio. Euro ein",
            "Das Start-up hat in einer von Orvell Capital angeführten Runde 40 Mio. Euro eingesammelt.",
            ("Orvell Capital",),
        ),
        (
            "Pelican Robotics sammelt 40 Mio. Euro ein",
            "Angeführt wird die Runde von Orvell Capital.",
            ("Orvell Capital",),
        ),
        (
            "Pelican Robotics sammelt 40 Mio. Euro ein",
            "Die Runde wurde angeführt von Mercators Wachstumsfonds Orvell.",
            ("Orvell",),
        ),
        ("Robotica, Orvell guida il round da 40 milioni di euro di Pelican Robotics", "", ("Orvell",)),
        (
            "펠리컨로보틱스, 500억 원 투자 유치",
            "이번 투자는 오르벨캐피털과 다마로벤처스가 공동으로 주도했다.",
            ("오르벨캐피털", "다마로벤처스"),
        ),
        ("ペリカン、トリトンG主導で50億円を調達", "", ("トリトングループ",)),
        ("鹈鹕机器人完成3亿元融资", "本轮由天衡资本及其旗下青石基金领投。", ("天衡资本", "青石基金")),
        ("Pelican Robotics raises $40M led by HC7", "Halvard Capital led the round.", ("Halvard Capital",)),
    ],
)
def test_lead_investors(title, body, leads):
    assert card(title, body).lead_investors == leads


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Talks to back Pelican at about $14 billion value", "valuation"),
        ("a round that would value it at about $5 billion", "valuation"),
        ("Pelican ist jetzt 5 Mrd. Dollar wert", "valuation"),
        ("Il round vale 70 milioni di euro", "deal"),
        ("Pelican vale 700 milioni di euro", "valuation"),
        ("cerró una ronda que la valoró en más de 9.000 millones de yuanes", "valuation"),
        ("con una valutazione pre-money superiore ai 9 miliardi di yuan", "valuation"),
    ],
)
def test_the_kind_of_an_amount(text, kind):
    ((_, _, amount),) = amount_spans(text)
    assert amount.kind == kind


@pytest.mark.parametrize(
    "title",
    [
        "Orvell signs letter of intent to put $50m into Pelican's next round",
        "Pelican Robotics is said to be raising $50 million",
        "オルベル、米Pelicanへの5億ドル出資で協議",
        "Pelican Robotics kicks off IPO preparations",
    ],
)
def test_deals_not_yet_closed(title):
    assert card(title).status == "in_talks"


@pytest.mark.parametrize(
    ("title", "leads", "investors"),
    [
        ("Orvell to invest $1 billion in Pelican Robotics", ("Orvell",), ()),
        ("Orvell prêt à investir 500 millions de dollars dans le français Pelican", ("Orvell",), ()),
        ("Orvell's venture fund backs robot maker Pelican", (), ("Orvell",)),
        ("Orvell and Damaro in talks to back Pelican Robotics at a $2 billion valuation", (), ("Orvell", "Damaro")),
    ],
)
def test_an_investor_that_puts_in_the_sum_leads(title, leads, investors):
    deal = card(title)
    assert (deal.lead_investors, deal.investors) == (leads, investors)


def test_the_title_s_round_and_sum_come_first_and_an_earlier_deal_s_never():
    deal = card(
        "Pelican Robotics hits $9 billion valuation after raising over $700 million",
        "The company said the money came from a Series C. It previously raised a Series B when it raised $300 million.",
    )
    assert (deal.amount_usd, deal.round) == (700e6, "Series C")
    deal = card(
        "ペリカン、新たな資金調達ラウンドを完了",
        "ペリカンは1億ドルを調達した。同社は2023年にシリーズAで2000万ドルを調達していた。",
    )
    assert (deal.amount_usd, deal.round) == (100e6, None)


def test_a_sentence_that_opens_with_the_company_described():
    deal = card(
        "Pelican, la startup de robots, capta 80 millones de dólares",
        "La empresa fundada por dos ingenieros de Valencia ha cerrado una ronda liderada por Orvell Capital.",
    )
    assert (deal.company, deal.lead_investors) == ("Pelican", ("Orvell Capital",))


@pytest.mark.parametrize(
    "body",
    [
        "Orvell leads the round.",
        "The round, led by Orvell, closed on Monday.",
        "Orvell was the lead investor.",
        "Orvell served as lead investor.",
        "Lead investor Orvell joined the board.",
        "The round was anchored by Orvell.",
        "The company raised the money with Orvell leading the round.",
        "Orvell took the lead in the round.",
        "Orvell led the round, with Damaro joining.",
        "The round had Orvell as lead investor.",
        "Orvell a mené le tour de table.",
        "Orvell lideró la ronda.",
        "Orvell liderou a rodada.",
        "Orvell ha guidato il round.",
        "Lead-Investor ist Orvell.",
        "Die Runde führt Orvell an.",
    ],
)
def test_the_ways_a_lead_is_named(body):
    assert card("Pelican raises $40M", body).lead_investors == ("Orvell",)


@pytest.mark.parametrize(
    ("title", "body", "lead"),
    [
        ("鹈鹕机器人完成4亿元融资", "本轮由奥维尔资本独家投资。", "奥维尔资本"),
        ("ペリカンが40億円を調達", "オルベルがリード投資家を務めた。", "オルベル"),
        ("펠리컨, 400억 원 투자 유치", "오르벨이 리드했다.", "오르벨"),
    ],
)
def test_the_ways_a_lead_is_named_in_cjk(title, body, lead):
    assert card(title, body).lead_investors == (lead,)
