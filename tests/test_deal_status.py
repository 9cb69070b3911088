"""The deal card's status and valuation in the ways nine languages write them. Made-up companies."""

from __future__ import annotations

import pytest

from monitor.matching.deal import extract_deals

CASES = [
    ("Pelican Robotics is in talks to raise $40M at a $400M valuation", "in_talks", 400e6),
    ("Pelican Robotics is reportedly raising $40M", "in_talks", None),
    ("Pelican Robotics nears $40M round at $400M valuation", "in_talks", 400e6),
    ("Pelican Robotics raises $40M at a $400 million valuation", "closed", 400e6),
    ("Pelican Robotics raises $40M, valued at $400M", "closed", 400e6),
    ("Pelican Robotics raises $40M at $400M post-money", "closed", 400e6),
    ("Pelican Robotics sammelt 40 Mio. Euro bei einer Bewertung von 400 Mio. Euro ein", "closed", 460e6),
    ("鹈鹕机器人完成4亿元融资\uff0c投后估值40亿元", "closed", 4e9 * 0.139),
    ("ペリカンが40億円を調達、評価額は400億円", "closed", 4e10 * 0.0066),
    ("펠리컨로보틱스, 400억 원 투자 유치…기업가치 4000억 원", "closed", 4e11 * 0.00071),
    ("Pelican Robotics está em negociações para captar US$ 40 milhões", "in_talks", None),
    ("Pelican Robotics sarebbe in trattative per raccogliere 40 milioni di euro", "in_talks", None),
    ("Pelican Robotics soll 40 Mio. Euro einsammeln", "in_talks", None),
    ("Pelican Robotics拟融资4亿元", "in_talks", None),
    ("ペリカン、40億円の調達を検討", "in_talks", None),
    ("펠리컨로보틱스, 400억 원 투자 유치 추진", "in_talks", None),
]


@pytest.mark.parametrize(("title", "status", "valuation"), CASES)
def test_status_and_valuation(title, status, valuation):
    deal, _ = extract_deals(title, "", "")
    assert deal is not None
    assert deal.status == status
    if valuation is not None:
        assert deal.valuation_usd == pytest.approx(valuation, rel=0.03)


def test_a_currency_word_is_no_company():
    deal, _ = extract_deals("Pelican Robotics soll 40 Mio. Euro einsammeln", "", "")
    assert (deal.company, deal.status) == ("Pelican Robotics", "in_talks")
