"""Companies in text: names, and ambiguous names that count only with context.

The gating rules are in monitor/matching/entities.py; these tests pin each rule on a small
made-up list.
"""

from __future__ import annotations

import pytest

from monitor.matching.entities import WINDOW, Companies, Company

ACME = Companies(
    (
        Company("Acme AI", tags=("world-model",), ambiguous=("Acme",), context=("Roadrunner",),
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
