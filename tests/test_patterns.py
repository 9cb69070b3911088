"""The multi-pattern index: whole-word hits, CJK without boundaries, positions, order."""

from __future__ import annotations

import pytest

from monitor.matching.patterns import PatternIndex
from monitor.matching.text import fold

CASES = [
    # id, (form, is_prefix), folded text, expected hits as the matched text
    ("whole-word", ("robot", False), "a robot, robots and robotics", ["robot"]),
    ("not-inside-a-word", ("ai", False), "said the ai-model", ["ai"]),
    ("prefix", ("invest", True), "invest, investment, reinvest", ["invest", "invest"]),
    ("phrase", ("world model", False), "world model; world  model; world models", ["world model"]),
    ("accented-boundary", ("café", False), "cafétéria café", ["café"]),
    ("cjk-inside-text", ("世界模型", False), "发布世界模型了", ["世界模型"]),
    ("latin-next-to-cjk", ("alibaba", False), "阿里巴巴alibaba云", ["alibaba"]),
    ("mixed-script", ("フィジカルai", False), "新フィジカルaiロボ", ["フィジカルai"]),
    ("mixed-needs-latin-boundary", ("フィジカルai", False), "フィジカルaim", []),
    ("apostrophe", ("l'ia", False), "vidéos par l'ia.", ["l'ia"]),
    ("hangul-particle", ("휴머노이드", False), "휴머노이드가", ["휴머노이드"]),
    ("at-both-ends", ("ki", False), "ki", ["ki"]),
]


@pytest.mark.parametrize(("entry", "text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_whole_word_hits(entry, text, expected):
    form, prefix = entry
    hits = PatternIndex([(fold(form), "k", prefix)]).scan(text)
    assert [text[start:end] for _, start, end in hits] == expected


def test_hits_come_in_order_of_their_end_with_every_key():
    index = PatternIndex([("world model", "phrase", False), ("model", "word", False), ("模型", "cjk", False),
                          ("mod", "prefix", True), ("model", "again", False)])  # fmt: skip
    text = "new world model and 世界模型"
    assert index.scan(text) == [
        ("prefix", 10, 13), ("phrase", 4, 15), ("word", 10, 15), ("again", 10, 15), ("cjk", 22, 24),
    ]  # fmt: skip


def test_an_empty_index_finds_nothing():
    assert PatternIndex([]).scan("anything") == []
