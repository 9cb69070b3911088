"""The deal card from a story's sentences, with and without a headline that names the deal: the
ways articles write who raised, how much, what round and who led, in nine languages. Made-up
companies; no company list."""

from __future__ import annotations

import pytest

from monitor.matching.deal import extract_deals

E, J, K = 1.15, 0.0066, 0.00071  # the default rates of EUR, JPY, KRW
CASES = [
    (
        "Pelican, a Boston-based robotics startup, said on Tuesday it had raised $40 million in a Series B round "
        "led by Orvell.",
        "Pelican",
        40e6,
        "Series B",
        ("Orvell",),
        "closed",
    ),
    (
        "Pelican has closed a $40 million Series B round led by Orvell Capital, with participation from Damaro.",
        "Pelican",
        40e6,
        "Series B",
        ("Orvell Capital",),
        "closed",
    ),
    (
        "Pelican raised $40 million. The funding round, which values Pelican at $1 billion, was led by Orvell.",
        "Pelican",
        40e6,
        None,
        ("Orvell",),
        "closed",
    ),
    (
        "Pelican said it raised $40 million from investors including Orvell and Damaro.",
        "Pelican",
        40e6,
        None,
        (),
        "closed",
    ),
    ("Orvell led Pelican's $40 million Series B.", "Pelican", 40e6, "Series B", ("Orvell",), "closed"),
    ("Pelican, which makes robot arms, raised $40 million.", "Pelican", 40e6, None, (), "closed"),
    (
        "Robotics startup Pelican raised $40 million at a valuation of $400 million.",
        "Pelican",
        40e6,
        None,
        (),
        "closed",
    ),
    (
        "Pelican is raising a new round of about $40 million, according to people familiar with the matter.",
        "Pelican",
        40e6,
        None,
        (),
        "in_talks",
    ),
    ("Pelican Robotics announced a $40 million Series A.", "Pelican Robotics", 40e6, "Series A", (), "closed"),
    (
        "Pelican Robotics has secured €30 million in Series A funding led by Orvell Ventures.",
        "Pelican Robotics",
        30e6 * E,
        "Series A",
        ("Orvell Ventures",),
        "closed",
    ),
    (
        "Das Münchner Start-up Pelican hat 30 Millionen Euro eingesammelt. Angeführt wird die Runde von Orvell.",
        "Pelican",
        30e6 * E,
        None,
        ("Orvell",),
        "closed",
    ),
    (
        "La start-up parisienne Pelican annonce une levée de fonds de 30 millions d'euros menée par Orvell.",
        "Pelican",
        30e6 * E,
        None,
        ("Orvell",),
        "closed",
    ),
    (
        "La startup Pelican ha cerrado una ronda de 30 millones de euros liderada por Orvell.",
        "Pelican",
        30e6 * E,
        None,
        ("Orvell",),
        "closed",
    ),
    (
        "A startup Pelican captou R$ 100 milhões em uma rodada liderada pela Orvell.",
        "Pelican",
        None,
        None,
        ("Orvell",),
        "closed",
    ),
    (
        "La startup Pelican ha chiuso un round da 30 milioni di euro guidato da Orvell.",
        "Pelican",
        30e6 * E,
        None,
        ("Orvell",),
        "closed",
    ),
    (
        "鹈鹕机器人近日完成5000万美元A轮融资\uff0c本轮由奥维尔资本领投\uff0c达马罗跟投。",
        "鹈鹕机器人",
        50e6,
        "Series A",
        ("奥维尔资本",),
        "closed",
    ),
    (
        "ペリカン・ロボティクスは、シリーズAラウンドで総額30億円の資金調達を実施したと発表した。リード投資家はオルベル・キャピタル。",
        "ペリカン・ロボティクス",
        3e9 * J,
        "Series A",
        ("オルベル・キャピタル",),
        "closed",
    ),
    (
        "펠리컨로보틱스가 300억 원 규모의 시리즈A 투자를 유치했다고 밝혔다. 이번 투자는 오르벨인베스트먼트가 주도했다.",
        "펠리컨로보틱스",
        3e10 * K,
        "Series A",
        ("오르벨인베스트먼트",),
        "closed",
    ),
    (
        "Pelican Robotics, the maker of warehouse arms, has raised $40 million.",
        "Pelican Robotics",
        40e6,
        None,
        (),
        "closed",
    ),
    ("Former Google engineers' startup Pelican raised $40 million.", "Pelican", 40e6, None, (), "closed"),
    (
        "Orvell Capital and Damaro Ventures co-led Pelican's $40 million round.",
        "Pelican",
        40e6,
        None,
        ("Orvell Capital", "Damaro Ventures"),
        "closed",
    ),
    (
        "Pelican raised $40 million in a round led by Orvell at a $400 million post-money valuation.",
        "Pelican",
        40e6,
        None,
        ("Orvell",),
        "closed",
    ),
]


@pytest.mark.parametrize("title", ["", "Pelican news"])
@pytest.mark.parametrize(("text", "company", "usd", "round_", "leads", "status"), CASES)
def test_a_story_s_card(title, text, company, usd, round_, leads, status):
    deal, _ = extract_deals(title, text, text)
    assert deal is not None
    assert (deal.company, deal.round, deal.lead_investors, deal.status) == (company, round_, leads, status)
    if usd is not None:
        assert deal.amount_usd == pytest.approx(usd, rel=0.03)


@pytest.mark.parametrize(
    "title",
    [
        "Pelican announced a 10% drop in revenue of $40 million",
        "Pelican announced a new robot",
        "Orvell led the development of Pelican's arm, which cost $40 million",
        "Pelican unveils $299 robot",
        "Pelican Robotics shows off a robot that folds laundry",
    ],
)
def test_no_deal_no_card(title):
    assert extract_deals(title, "", "")[0] is None
