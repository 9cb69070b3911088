"""Folding and snippets: the offsets map back to the source through every length change."""

from __future__ import annotations

import random

import pytest

from monitor.matching.text import _fold_char, fold, fold_text, inflections


@pytest.mark.parametrize(
    ("source", "folded"),
    [
        ("World-Model AI", "world model ai"),  # ASCII fast path keeps offsets
        ("world\n\tmodel  AI", "world model ai"),  # odd whitespace collapses
        ("Die STRASSE, die Straße", "die strasse, die strasse"),
        ("\uff21\uff29 ﬁnance", "ai finance"),  # NFKC: full-width letters, ligature
        ("cafe\u0301 — bar", "café bar"),  # combining accent composed; em dash is a space
    ],
)
def test_fold_text(source, folded):
    result = fold_text(source)
    assert result.text.strip() == folded == fold(source)
    start = result.text.index(folded.split()[-1])
    src_start, src_end = result.source_span(start, start + len(folded.split()[-1]))
    assert result.source[src_start:src_end].casefold().replace("ss", "ß") in source.casefold().replace("ss", "ß")


def test_every_folded_character_maps_back_to_the_one_it_came_from():
    """Random text over characters that fold to one, to two and to a space: whichever way
    fold_text takes, each folded character comes from the source character its offset names."""
    rng = random.Random(5)
    alphabet = "aB -—\t\n\u3000\xa0é\u2019ßﬁ生数\u0301\x07İ\u200b.,"
    for _ in range(3000):
        source = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        result = fold_text(source)
        assert "  " not in result.text and not (result.offsets is not None and result.text.startswith(" "))
        for index, ch in enumerate(result.text):
            start, end = result.source_span(index, index + 1)
            origin = result.source[start:end]
            assert ch in (" " if origin.isspace() or origin in "-—" else _fold_char(origin))


def test_snippet_quotes_the_source_not_the_folded_text():
    result = fold_text("Die Straße ist lang. Die STRASSE ist breit.")
    start = result.text.index("strasse ist breit")
    assert result.snippet(start, start + 7) == "Die Straße ist lang. Die STRASSE ist breit."


@pytest.mark.parametrize(
    ("phrase", "forms"),
    [
        ("model", ("model", "models")),
        ("models", ("models", "model")),
        ("company", ("company", "companies")),
        ("companies", ("companies", "company")),
        ("box", ("box", "boxes")),
        ("world models", ("world models", "world model")),
        ("news", ("news",)),
        ("series", ("series",)),
        ("robotics", ("robotics",)),
        ("ai", ("ai",)),
        ("模型", ("模型",)),
        ("3d", ("3d",)),
    ],
)
def test_inflections(phrase, forms):
    assert inflections(phrase) == forms
