"""The deal card's company: known companies, names in two scripts, pronouns and the title's subject.

Made-up companies and texts; the company list here is a small one built in the test."""

from __future__ import annotations

import pytest

from monitor.matching.deal import extract_deals
from monitor.matching.entities import Companies, Company

COMPANIES = Companies(
    (
        Company("Quillbot Motion", aliases=("奎尔机器人", "퀼봇모션", "Quill Motion")),
        Company("Larkspur", ambiguous=("Larkspur",), context=("robot",)),
        Company("Halvard Capital", tags=("investor",)),
    )
)


def card(title: str, summary: str = "", body: str = "") -> object:
    deal, _ = extract_deals(title, summary, body or summary, companies=COMPANIES)
    return deal


@pytest.mark.parametrize(
    ("title", "company"),
    [
        ("Robotik-Spezialist Quillbot Motion sammelt 40 Millionen Euro ein", "Quillbot Motion"),
        ("Chinesa Quillbot Motion capta US$ 40 milhões", "Quillbot Motion"),
        ("Founder Ada Moss's Larkspur raises $40 million for robot hands", "Larkspur"),
        ("美 퀼봇모션, 500억 원 투자 유치", "퀼봇모션"),  # no Latin name in the story: as written
    ],
)
def test_a_known_company_is_reported_without_the_words_around_it(title, company):
    assert card(title).company == company


@pytest.mark.parametrize(
    ("title", "summary", "company"),
    [
        ("具身智能公司奎尔机器人完成3亿元融资", "奎尔机器人\uff08Quillbot Motion\uff09表示……", "Quillbot Motion"),
        ("로봇 스타트업 퀼봇모션, 500억 원 투자 유치", "퀼봇모션(Quill Motion)은 이번 투자로……", "Quill Motion"),
        ("新兴公司蓝鲸智造完成2亿元融资", "蓝鲸智造\uff08Bluewhale Works\uff09成立于2023年。", "Bluewhale Works"),
    ],
)
def test_a_name_in_cjk_is_given_in_latin_letters_when_the_story_writes_both(title, summary, company):
    assert card(title, summary).company == company


@pytest.mark.parametrize(
    ("title", "body", "company", "usd"),
    [
        (
            "Quillbot Motion shows off a robot that folds laundry",
            "The demo drew a crowd. The company has raised $45 million from Halvard Capital.",
            "Quillbot Motion",
            45e6,
        ),
        (
            "Pinecrest Dynamics unveils its first warehouse arm",
            "Pinecrest Dynamics is based in Ohio. It also disclosed that it has raised $12 million.",
            "Pinecrest Dynamics",
            12e6,
        ),
        (
            "Quillbot Motion presenta su robot",
            "La empresa, fundada en 2022, recaudó 30 millones de dólares.",
            "Quillbot Motion",
            30e6,
        ),
    ],
)
def test_it_and_the_company_stand_for_the_title_s_company(title, body, company, usd):
    deal = card(title, body, body)
    assert (deal.company, deal.amount_usd) == (company, usd)


def test_a_story_whose_verbs_yield_no_deal_is_about_the_title_s_company():
    deal = card("Quillbot Motion emerges with $80M to build robot hands", "Halvard Capital led the round.")
    assert (deal.company, deal.amount_usd, deal.lead_investors) == ("Quillbot Motion", 80e6, ("Halvard Capital",))


def test_a_description_after_the_title_s_verb_gives_way_to_the_known_company():
    deal = card(
        "Quillbot Motion doubles its value as robot-hand startup lands new backing",
        "The Boston company has closed a new round.",
        "Quillbot Motion has raised $90 million in a round led by Halvard Capital.",
    )
    assert (deal.company, deal.amount_usd) == ("Quillbot Motion", 90e6)


def test_an_investor_in_the_title_is_not_the_story_s_subject():
    deal = card("Halvard Capital weighs a stake as Quillbot Motion eyes $1 billion value", "")
    assert deal.company == "Quillbot Motion"


def test_no_money_and_no_round_no_card():
    assert card("Quillbot Motion shows off a robot that folds laundry", "It folds shirts.") is None


@pytest.mark.parametrize(
    ("title", "body", "company", "leads"),
    [
        (
            "Orvell to acquire Ada Moss's robotics startup Pelican Robotics for $900 million",
            "",
            "Pelican Robotics",
            ("Orvell",),
        ),
        (
            "Pelican Robotics lands $200M Series B to put its robots on the road by 2030",
            "Orvell and Damaro co-led the round for Ada Moss's Toronto startup.",
            "Pelican Robotics",
            ("Orvell", "Damaro"),
        ),
        ("オルベル、米Pelican Roboticsへの5億ドル出資で協議", "", "Pelican Robotics", ("オルベル",)),
        ("베이조스가 찍은 로봇 스타트업 펠리컨, 500억 원 유치", "", "펠리컨", ()),
        (
            "펠리컨, 1억 달러 투자 유치",
            "노르웨이에서 출발한 로봇 기업 펠리컨이 오르벨벤처스 주도로 1억 달러 규모의 투자를 유치했다.",
            "펠리컨",
            ("오르벨벤처스",),
        ),
        ("Orvell to take control of Pelican in $2 billion deal", "", "Pelican", ("Orvell",)),
        ("奥维尔拟取得鹈鹕新材控制权", "交易金额约20亿元。", "鹈鹕新材", ("奥维尔",)),
        (
            "Orvell verhandelt über einen Einstieg bei Pelican Robotics",
            "Es geht um 1 Mrd. Euro.",
            "Pelican Robotics",
            ("Orvell",),
        ),
        (
            "Pelican raccoglie 350 milioni in una Serie A",
            "La società texana dei robot Apollo ha chiuso una Serie A da 350 milioni di dollari guidata da Orvell.",
            "Pelican",
            ("Orvell",),
        ),
        ("Pelican chiude un round da 70 milioni", "La società, guidata da Ada Moss, costruisce robot.", "Pelican", ()),
    ],
)
def test_who_raised_and_who_led(title, body, company, leads):
    deal = card(title, body, body)
    assert (deal.company, deal.lead_investors) == (company, leads)


def test_investors_of_an_earlier_deal_are_not_this_one_s():
    deal = card(
        "Orvell to invest $500m in Pelican Robotics",
        "Orvell had already joined a round led by Damaro in 2024.",
    )
    assert deal.lead_investors == ("Orvell",)


def test_a_first_step_toward_a_listing_is_not_yet_closed():
    assert card("Pelican Robotics takes first step toward an IPO").status == "in_talks"


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        (
            "Quillbot Motion launches its first desk robot",
            "The robot comes from the acquisition of Larkspur last year.",
        ),
        ("Quillbot Motion lance un robot de bureau", "Le robot, issu du rachat de Larkspur, se programme en Python."),
        ("Quillbot Motion says its robot app has $100 million in annualized revenue", "Users doubled."),
        ("Quillbot Motion says its robot app reached $100M ARR", "Users doubled."),
    ],
)
def test_news_of_a_known_company_that_only_recalls_a_deal_or_gives_revenue_has_no_card(title, summary):
    assert card(title, summary) is None
