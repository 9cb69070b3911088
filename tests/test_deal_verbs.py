"""The deal card from headlines in the grammar of deal reports, one verb or cue at a time, in nine
languages: raises in all their verbs, talks, acquisitions, spin-outs, listings, leads. Made-up
companies; no company list, so names are read from grammar alone."""

from __future__ import annotations

import pytest

from monitor.matching.deal import extract_deals

CASES = [
    (
        "Pelican Robotics lands $40M Series A led by Orvell Capital",
        "Pelican Robotics",
        40e6,
        "Series A",
        ("Orvell Capital",),
        "closed",
    ),
    ("Pelican Robotics closes $40M seed round", "Pelican Robotics", 40e6, "seed", (), "closed"),
    ("Pelican Robotics secures $40 million to scale", "Pelican Robotics", 40e6, None, (), "closed"),
    ("Pelican bags $40M to build robot hands", "Pelican", 40e6, None, (), "closed"),
    ("Pelican nabs $40M from Orvell", "Pelican", 40e6, None, (), "closed"),
    ("Pelican snags $40M", "Pelican", 40e6, None, (), "closed"),
    ("Pelican pulls in $40M in fresh funding", "Pelican", 40e6, None, (), "closed"),
    ("Pelican in talks to raise $40M at a $400M valuation", "Pelican", 40e6, None, (), "in_talks"),
    ("Pelican seeks $40M in new funding", "Pelican", 40e6, None, (), "in_talks"),
    ("Pelican is said to be raising $40M", "Pelican", 40e6, None, (), "in_talks"),
    ("Orvell buys Pelican Robotics for $40M", "Pelican Robotics", 40e6, "acquisition", ("Orvell",), "closed"),
    (
        "Orvell agrees to buy Pelican Robotics for $40 million",
        "Pelican Robotics",
        40e6,
        "acquisition",
        ("Orvell",),
        "closed",
    ),
    ("Orvell to acquire Pelican Robotics", "Pelican Robotics", None, "acquisition", ("Orvell",), "closed"),
    ("Orvell spins out Pelican Robotics with $250 million", "Pelican Robotics", 250e6, None, (), "closed"),
    ("Pelican raises $40M, valuing it at $400M", "Pelican", 40e6, None, (), "closed"),
    ("Pelican files for IPO on Nasdaq", "Pelican", None, "IPO", (), "in_talks"),
    ("Pelican makes Nasdaq debut", "Pelican", None, "IPO", (), "closed"),
    ("Orvell to invest $1 billion in Pelican", "Pelican", 1e9, None, ("Orvell",), "closed"),
    (
        "Pelican raises $40M in a round co-led by Orvell and Damaro",
        "Pelican",
        40e6,
        None,
        ("Orvell", "Damaro"),
        "closed",
    ),
    ("Pelican raises $40M; Orvell headed the round", "Pelican", 40e6, None, ("Orvell",), "closed"),
    ("Pelican raises $40M in a round headed by Orvell", "Pelican", 40e6, None, ("Orvell",), "closed"),
    ("Pelican gets strategic investment from Orvell", "Pelican", None, "strategic investment", (), "closed"),
    (
        "鹈鹕机器人完成4亿元B轮融资\uff0c由奥维尔资本领投",
        "鹈鹕机器人",
        4e8 * 0.139,
        "Series B",
        ("奥维尔资本",),
        "closed",
    ),
    ("奥维尔收购鹈鹕机器人", "鹈鹕机器人", None, "acquisition", ("奥维尔",), "closed"),
    ("鹈鹕机器人正洽谈新一轮融资\uff0c估值约10亿美元", "鹈鹕机器人", None, None, (), "in_talks"),
    ("鹈鹕机器人获得3亿元战略投资", "鹈鹕机器人", 3e8 * 0.139, "strategic investment", (), "closed"),
    (
        "ペリカンがシリーズBで40億円を調達、オルベルが主導",
        "ペリカン",
        4e9 * 0.0066,
        "Series B",
        ("オルベル",),
        "closed",
    ),
    ("オルベルがペリカンを買収", "ペリカン", None, "acquisition", ("オルベル",), "closed"),
    ("ペリカン、50億円の資金調達で協議", "ペリカン", 5e9 * 0.0066, None, (), "in_talks"),
    ("펠리컨로보틱스, 400억 원 규모 시리즈B 투자 유치", "펠리컨로보틱스", 4e10 * 0.00071, "Series B", (), "closed"),
    ("오르벨, 펠리컨로보틱스 인수", "펠리컨로보틱스", None, "acquisition", ("오르벨",), "closed"),
    ("펠리컨로보틱스, 400억 원 투자 유치 협상 중", "펠리컨로보틱스", 4e10 * 0.00071, None, (), "in_talks"),
    ("Pelican Robotics sammelt 40 Mio. Euro ein", "Pelican Robotics", 40e6 * 1.15, None, (), "closed"),
    ("Pelican Robotics erhält 40 Millionen Euro von Orvell", "Pelican Robotics", 40e6 * 1.15, None, (), "closed"),
    ("Orvell übernimmt Pelican Robotics", "Pelican Robotics", None, "acquisition", ("Orvell",), "closed"),
    (
        "Pelican Robotics führt Gespräche über eine Finanzierung von 40 Mio. Euro",
        "Pelican Robotics",
        40e6 * 1.15,
        None,
        (),
        "in_talks",
    ),
    ("Pelican lève 40 millions d'euros auprès d'Orvell", "Pelican", 40e6 * 1.15, None, (), "closed"),
    ("Orvell rachète Pelican", "Pelican", None, "acquisition", ("Orvell",), "closed"),
    ("Pelican en discussions pour lever 40 millions d'euros", "Pelican", 40e6 * 1.15, None, (), "in_talks"),
    (
        "Pelican recauda 40 millones de euros en una ronda liderada por Orvell",
        "Pelican",
        40e6 * 1.15,
        None,
        ("Orvell",),
        "closed",
    ),
    ("Orvell compra Pelican por 40 millones de euros", "Pelican", 40e6 * 1.15, "acquisition", ("Orvell",), "closed"),
    ("Pelican en negociaciones para recaudar 40 millones de euros", "Pelican", 40e6 * 1.15, None, (), "in_talks"),
    ("Pelican capta R$ 40 milhões em rodada liderada pela Orvell", "Pelican", 7.2e6, None, ("Orvell",), "closed"),
    ("Pelican levanta US$ 40 milhões", "Pelican", 40e6, None, (), "closed"),
    ("Pelican em negociações para levantar US$ 40 milhões", "Pelican", 40e6, None, (), "in_talks"),
    (
        "Pelican raccoglie 40 milioni di euro in un round guidato da Orvell",
        "Pelican",
        40e6 * 1.15,
        None,
        ("Orvell",),
        "closed",
    ),
    ("Orvell acquisisce Pelican", "Pelican", None, "acquisition", ("Orvell",), "closed"),
    ("Pelican in trattative per raccogliere 40 milioni di euro", "Pelican", 40e6 * 1.15, None, (), "in_talks"),
]


@pytest.mark.parametrize(("title", "company", "usd", "round_", "leads", "status"), CASES)
def test_a_headline_s_card(title, company, usd, round_, leads, status):
    deal, _ = extract_deals(title, "", "")
    assert deal is not None
    assert (deal.company, deal.round, deal.lead_investors, deal.status) == (company, round_, leads, status)
    assert deal.amount_usd == (None if usd is None else pytest.approx(usd, rel=0.03))
