"""The two cleaners for text from outside: ``clean`` at intake, ``for_terminal`` at each output."""

from __future__ import annotations

import json
import sys
import unicodedata

import pytest

from monitor.textsafety import clean, for_rich, for_terminal

WOMAN_TECHNOLOGIST = "\U0001f469\u200d\U0001f4bb"
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
RAINBOW_FLAG = "\U0001f3f3\ufe0f\u200d\U0001f308"

CLEAN = [
    ("plain ASCII", "World model raises $10M", "World model raises $10M"),
    ("tab and newline stay", "a\tb\nc", "a\tb\nc"),
    ("NUL", "a\x00b", "ab"),
    ("ESC of a colour sequence", "\x1b[31mred\x1b[0m", "[31mred[0m"),
    ("BEL and backspace", "a\x07b\x08c", "abc"),
    ("DEL and C1 (8-bit CSI)", "a\x7fb\x9b31mc", "ab31mc"),
    ("CRLF and CR become newlines", "a\r\nb\rc", "a\nb\nc"),
    ("VT, FF, separators, NEL keep words apart", "a\x0bb\x0cc\x1fd\x85e\u2028f", "a\nb\nc\nd\ne\nf"),
    ("lone surrogates", "a\ud800b\udfffc", "abc"),
    ("right-to-left override", "photo\u202egpj.exe", "photogpj.exe"),
    ("bidi marks", "a\u200eb\u200fc\u061cd", "abcd"),
    ("bidi embeddings and isolates", "\u202aa\u202b\u202c\u2066b\u2067\u2068\u2069", "ab"),
    ("zero-width space hides a word from rules", "world\u200bmodel", "worldmodel"),
    ("zero-width non-joiner and word joiner", "a\u200cb\u2060c", "abc"),
    ("BOM inside text", "\ufeffTitle", "Title"),
    ("soft hyphen", "wor\u00adld", "world"),
    ("tag characters (hidden ASCII)", "hi\U000e0041\U000e0042\U000e007f", "hi"),
    ("zero-width joiner between letters", "ab\u200dcd", "abcd"),
    ("zero-width joiner at the edges of an emoji", "\u200d\U0001f469\u200d", "\U0001f469"),
    ("emoji ZWJ sequence stays", f"team {WOMAN_TECHNOLOGIST} {FAMILY}", f"team {WOMAN_TECHNOLOGIST} {FAMILY}"),
    ("emoji with variation selector stays", RAINBOW_FLAG, RAINBOW_FLAG),
    ("other scripts and emoji stay", "Zürich 東京 مرحبا 😀", "Zürich 東京 مرحبا 😀"),
]


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in CLEAN], ids=[c[0] for c in CLEAN])
def test_clean(raw: str, expected: str) -> None:
    assert clean(raw) == expected
    assert clean(expected) == expected, "clean is idempotent"


def test_clean_removes_every_control_format_and_surrogate_character_this_python_knows() -> None:
    kept = {"\t", "\n"}
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if unicodedata.category(char) in ("Cc", "Cf", "Cs") and char not in kept:
            assert clean(f"a{char}b") in ("ab", "a\nb"), f"U+{code:04X} survives clean"
            assert "\\u" in for_terminal(f"a{char}b"), f"U+{code:04X} reaches a terminal raw"


TERMINAL = [
    ("plain ASCII", "Title [x] = 1", "Title [x] = 1"),
    ("tab and newline stay", "a\tb\nc", "a\tb\nc"),
    ("ESC", "\x1b[31mred", "\\u001b[31mred"),
    ("BEL and NUL", "a\x07\x00", "a\\u0007\\u0000"),
    ("CR would overwrite the line", "safe\rEVIL", "safe\\u000dEVIL"),
    ("C1 CSI", "\x9b2J", "\\u009b2J"),
    ("RLO", "a\u202eb", "a\\u202eb"),
    ("zero-width space", "a\u200bb", "a\\u200bb"),
    ("lone surrogate", "a\ud800", "a\\ud800"),
    ("astral tag character as JSON's surrogate pair", "a\U000e0041", "a\\udb40\\udc41"),
    ("emoji ZWJ sequence stays", WOMAN_TECHNOLOGIST, WOMAN_TECHNOLOGIST),
    ("text stays", "Zürich 東京", "Zürich 東京"),
]


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in TERMINAL], ids=[c[0] for c in TERMINAL])
def test_for_terminal(raw: str, expected: str) -> None:
    assert for_terminal(raw) == expected


def test_for_terminal_keeps_a_json_line_valid_and_lossless() -> None:
    value = "a\x9b\u202e\u2028\U000e0041\x1b"
    line = for_terminal(json.dumps({"title": value}, ensure_ascii=False))
    assert line.isprintable()
    assert json.loads(line) == {"title": value}


def test_for_rich_escapes_markup_and_controls() -> None:
    assert for_rich("[red]x\x1b[0m") == "\\[red]x\\u001b[0m"  # "[0m" is no markup
