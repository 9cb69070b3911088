"""Companies in text: names, and ambiguous names that count only with context.

The gating rules are in monitor/matching/entities.py; the first tests pin each rule on a small
made-up list, the tables after them run the shipped rules/entities.toml over sentences written
for this test, in several languages.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitor.matching import RuleSet, load_rules
from monitor.matching.entities import WINDOW, Companies, Company

RULES = Path(__file__).resolve().parent.parent / "rules"

ACME = Companies(
    (
        Company("Acme AI", tags=("world-model",), ambiguous=("Acme",), context=("Roadrunner", "AWS"),
                exclude=("Acme Anvils", "cartoon")),
        Company("Widget", ambiguous=("Widget",), context=("Jane Roe",), shared_context=False),
        Company("Generalist AI", ambiguous=("Generalist AI",)),
        Company("Kuaishou", ("Kling AI",), ambiguous=("Kling", "可灵"), exclude=("可灵活",)),
    ),
    shared_context=("robot", "AI", "视频生成"),
)  # fmt: skip


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        # 1. capital: a listed name with a capital needs one in the text
        (("Acme unveils a robot",), ("Acme AI",)),
        (("ACME UNVEILS A ROBOT",), ("Acme AI",)),
        (("the acme of robot design",), ()),
        # the window: same sentence, at most WINDOW words between, either side
        (("Acme " + "word " * WINDOW + "robot",), ("Acme AI",)),
        (("Acme " + "word " * (WINDOW + 1) + "robot",), ()),
        (("A robot " + "word " * (WINDOW - 1) + "by Acme",), ("Acme AI",)),
        (("Acme sells anvils. A robot walked in.",), ()),
        (("Acme sells anvils; a robot walked in.",), ("Acme AI",)),
        (("Acme, the U.S. robot maker, grows",), ("Acme AI",)),  # no sentence ends after "U.S."
        (("Acme Inc. unveils a robot",), ("Acme AI",)),
        (("Acme发布。robot",), ()),
        (("Acme发布\uff0crobot",), ("Acme AI",)),  # a full-width comma
        (("Acme raises money", "The robot maker is based in Ohio."), ()),  # no window across fields
        (("Acme unveils robots",), ("Acme AI",)),  # plural context
        # 2. exclude words in the window, including ones that contain the name
        (("Acme Anvils unveils a robot",), ()),
        (("Acme unveils a robot cartoon",), ()),
        (("Acme Anvils unveils a robot", "Roadrunner traps sold out"), ()),  # exclusion beats context
        # 3. own context anywhere in the item, shared context only in the window
        (("Acme raises money", "Maker of Roadrunner traps"), ("Acme AI",)),
        (("Acme raises money", "It runs on AWS"), ("Acme AI",)),
        (("Acme raises money", "Aw, shucks"), ()),  # acronyms get no singular or plural
        (("Widget unveils a robot",), ()),  # shared_context = false
        (("Widget unveils a robot", "Jane Roe said so"), ("Widget",)),
        (("Generalist AI wins an award",), ()),  # "AI" is part of the name, not context for it
        (("Generalist AI builds a robot",), ("Generalist AI",)),
        (("generalist AI builds a robot",), ()),
        # CJK names: no capitals, no word boundaries, exclusions that contain the name
        (("可灵视频生成",), ("Kuaishou",)),
        (("模型可灵活视频生成",), ()),
        # unconditional names and their order are as before
        (("Kling AI wins", "Acme unveils a robot"), ("Kuaishou", "Acme AI")),
    ],
)
def test_gating_rules(texts: tuple[str, ...], expected: tuple[str, ...]) -> None:
    assert ACME.find(*texts) == expected


def test_ambiguous_names_resolve_for_rules_and_keep_their_tags() -> None:
    assert ACME.resolve("acme").name == "Acme AI"  # type: ignore[union-attr]
    assert ACME.resolve("可灵").name == "Kuaishou"  # type: ignore[union-attr]
    assert ACME.tagged("world-model") == {"Acme AI"}
    assert ACME.tagged("nothing") == frozenset()


@pytest.fixture(scope="module")
def shipped() -> RuleSet:
    return load_rules(RULES)


def test_the_list_is_big_and_each_field_company_is_tagged(shipped: RuleSet) -> None:
    companies = shipped.companies.companies
    field = [c for c in companies if "world-model" in c.tags]
    assert len(field) >= 200
    kinds = {"video", "world-sim", "3d", "robotics", "humanoid", "embodied", "autonomy"}
    assert all(kinds & set(c.tags) for c in field)


SHIPPED = [
    # video generation
    ("Runway raises $308 million for its video models", "Runway AI"),
    ("Runway's Gen-4.5 tops the leaderboard", "Runway AI"),
    ("New York-based Runway, which builds AI video tools, hires 50", "Runway AI"),
    ("The airport's new runway cost $300 million", None),
    ("The startup has 18 months of cash runway", None),
    ("Startup Extends Cash Runway After $10 Million Bridge Round", None),
    ("Runway to reopen at Heathrow after storm damage", None),
    ("Runway models for spring: what designers sent out in Milan", None),
    ("Pika, an artificial intelligence startup that generates video, has raised $80 million", "Pika Labs"),
    ("Pika, the Pokémon, is a fan favourite", None),
    ("Luma raises $900 million to build world models", "Luma AI"),
    ("Luma the band releases a new album", None),
    ("Kling adds lip sync to AI-generated videos", "Kuaishou"),
    ("Kraftwerk's Kling Klang studio to become a museum", None),
    ("OpenAI shuts down Sora video app", "OpenAI"),
    ("Sora Shiina wins national figure skating title", None),
    ("Captions says it grew fast", None),
    ("MiniMax raises $600 million for Hailuo video model", "MiniMax"),
    ("Minimax algorithm powers chess AI", None),
    # world models, 3D
    ("Odyssey raises $27 million to build interactive video worlds", "Odyssey"),
    ("Honda Odyssey adds AI driver assistance", None),
    ("An AI odyssey through the data centre", None),
    ("Nvidia's Cosmos world foundation models help robots plan", "NVIDIA"),
    ("Cosmos beat Orlando 2-1", None),
    ("Cosmos network upgrade lifts ATOM token", None),
    ("World Labs launches Marble, turning prompts into 3D worlds", "World Labs"),
    ("Marble countertop maker expands factory", None),
    ("Kepler's K2 humanoid robot starts factory work", "Kepler Robotics"),
    ("Kepler telescope finds new planets with AI", None),
    # robots
    ("Figure raises $1 billion for humanoid robots", "Figure AI"),
    ("Figure skating champion wins gold", None),
    ("The $300 million figure makes it the largest AI round", None),
    ("Figure 1 shows the robot's AI model", None),
    ("Genesis raises $105 million to build a physics engine for robots", "Genesis AI"),
    ("Genesis GV80 gets an AI voice assistant", None),
    ("Genesis Mission will use AI to speed up science", None),
    ("Physical Intelligence raises $600 million for robot brains", "Physical Intelligence"),
    ("Coach praises striker's Physical Intelligence after £30m transfer", None),
    ("1X raises $100 million for NEO humanoid", "1X Technologies"),
    ("Play the robot video at 1x speed", None),
    ("Sunday is a day of rest for robots", None),
    ("Sunday Robotics unveils Memo", "Sunday Robotics"),
    ("Humanoid robot startups raise record sums", None),
    ("Humanoid, the London startup founded by Artem Sokolov, unveils HMND 01", "Humanoid"),
    ("Robot Era begins as factories automate", None),
    ("Amazon tests humanoid robots for package delivery", "Amazon"),
    ("Amazon rainforest loses AI-monitored trees", None),
    ("Meta-analysis finds AI tutors help pupils", None),
    ("Tier IV data centers draw AI demand", None),
    # other languages
    ("Die KI-Firma Runway sammelt 308 Millionen Dollar ein", "Runway AI"),
    ("La start-up Runway lève 308 millions de dollars pour ses modèles vidéo d'IA", "Runway AI"),
    ("Runway, la startup de IA, recauda 308 millones", "Runway AI"),
    ("Figure AI levanta US$ 1 bilhão para robôs humanoides", "Figure AI"),
    ("La Figure di pattinaggio artistico", None),
    ("快手可灵发布新版视频生成模型", "Kuaishou"),
    ("模型可灵活部署", None),
    ("学生数量增长", None),
    ("人工智能创造美好未来", None),
    ("好未来领投新一轮", "TAL Education"),
    ("生数完成新一轮融资\uff0c视频大模型Vidu用户增长", "ShengShu"),
    ("宇树科技完成C轮融资", "Unitree"),
    ("런웨이가 AI 영상 생성 모델을 공개했다", "Runway AI"),
    ("런웨이 패션쇼에 모델들이 등장했다", None),
    ("피규어AI가 새 휴머노이드를 공개했다", "Figure AI"),
    ("ユニツリーが新型ロボットを発表", "Unitree"),
]


@pytest.mark.parametrize(("text", "expected"), SHIPPED)
def test_shipped_list(shipped: RuleSet, text: str, expected: str | None) -> None:
    assert shipped.companies.find(text) == ((expected,) if expected else ())


def test_reference_examples_hold(shipped: RuleSet) -> None:
    readme = (RULES.parent / "docs" / "rules.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Ambiguous names: when they count") :]
    table = section[section.index("| text | company |") :].split("\n\n")[0]
    examples = re.findall(r"^\| (.+?) \| (.+?) \|$", table, re.MULTILINE)[2:]
    assert len(examples) >= 10
    for text, company in examples:
        assert shipped.companies.find(text) == (() if company == "none" else (company,)), text


# A watch-listed company plus a deal is a deal alert even when the item never says "AI".
NO_AI_DEALS = [
    ("Humanoid maker Apptronik raises $350 million Series A", ""),
    ("Sunday Robotics closes $35 million Series A", "Tony Zhao's company makes a home robot called Memo."),
    ("Unitree files for Shanghai IPO", ""),
    ("宇树科技完成C轮融资", ""),
    ("Decart lands funding at a $3.1 billion valuation", ""),
    ("Runway acquires a film studio", "The New York company, maker of Gen-4, bought the studio for its library."),
    ("Figure closes funding at $39 billion valuation", "Brett Adcock's company plans to build 100,000 robots."),
    ("Galbot completes RMB 1.1 billion Series A", "The Beijing company's robots work in pharmacies."),
]


@pytest.mark.parametrize(("title", "summary"), NO_AI_DEALS)
def test_a_field_company_with_a_deal_alerts_without_saying_ai(shipped: RuleSet, item, title: str, summary: str) -> None:
    assert "AI" not in title + summary
    matches = shipped.evaluate(item(title, summary))
    assert "world-model-company-deals" in [m.rule_id for m in matches]
    assert matches[0].priority == "high"


@pytest.mark.parametrize(
    "title",
    [
        "Startup extends cash runway after $10 million bridge round",
        "Airport Runway Expansion Wins $300 Million in Funding",
        "Genesis GV80 owners get funding offers from Hyundai Capital",
        "Figure skating federation secures funding from sponsors",
    ],
)
def test_an_ordinary_word_with_a_deal_is_no_company_deal(shipped: RuleSet, item, title: str) -> None:
    assert "world-model-company-deals" not in [m.rule_id for m in shipped.evaluate(item(title))]
