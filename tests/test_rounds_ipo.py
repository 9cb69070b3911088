"""Listings are IPO rounds, in the words several languages use for them. Made-up companies."""

from __future__ import annotations

import pytest

from monitor.matching.deal import extract_deals
from monitor.matching.rounds import find_round


@pytest.mark.parametrize(
    "text",
    [
        "Pelican shares jump in Hong Kong debut",
        "Pelican is going public next month",
        "Pelican estreia na bolsa de Hong Kong",
        "Pelican da el primer paso para salir a bolsa",
        "Pelican abriu capital em São Paulo",
        "鹈鹕机器人赴港上市",
        "Pelican debuted on the Nasdaq exchange",
    ],
)
def test_listings_are_ipos(text):
    assert find_round(text) == "IPO"


@pytest.mark.parametrize("text", ["Our stock of robots grew", "the public library", "a debut album"])
def test_not_a_listing(text):
    assert find_round(text) is None


def test_a_listing_story_without_a_sum_has_a_card():
    deal, _ = extract_deals("Pelican Robotics kicks off IPO preparations", "It hired two banks.", "")
    assert (deal.company, deal.round, deal.status, deal.amount) == ("Pelican Robotics", "IPO", "in_talks", None)
