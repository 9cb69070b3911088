"""Text from outside (feeds, pages, HTTP headers, servers' replies): cleaned once at intake, made
visible again at every terminal output.

``clean`` runs once where text enters (``monitor.intake``), on every text field and URL, so the
store, the rules, Slack and the digest never see these characters:

- NUL and the other C0/C1 control characters, but tab and newline. The ones that separate lines
  (CR, VT, FF, the information separators U+001C-U+001F, NEL, U+2028, U+2029) become a newline so
  that the words on either side stay apart; the rest (ESC, BEL, backspace, ...) are dropped.
- Lone surrogates (``&#xD800;`` in a feed, ``"\\ud800"`` in JSON): they are not characters, and
  neither UTF-8 nor PostgreSQL can store them.
- Every format character (Unicode category Cf), all invisible by design: the bidi marks,
  embeddings, overrides and isolates (U+200E, U+200F, U+061C, U+202A-U+202E, U+2066-U+2069),
  the zero-width characters (U+200B-U+200D, U+2060, U+FEFF), the soft hyphen, the invisible math
  operators and the tag characters (U+E0000 block, which can smuggle whole hidden sentences).
  They can reorder what a reader sees (``U+202E`` turns "exe.txt" around), hide words from a rule
  ("world\\u200bmodel"), or hide text altogether.

One exception, deliberately: the zero-width joiner (U+200D) between two emoji stays, because
there it only joins pictures into one (👩\u200d💻 "woman technologist", family and flag
sequences) and cannot hide letters. Anywhere else it is dropped; so is ZWNJ (U+200C) everywhere,
at the price of Persian and Indic words losing a joining hint (they stay readable and matchable).
Tag-character flags (England, Scotland, Wales) become a plain black flag.

``for_terminal`` is for everything written to a terminal or a log: the same characters, and CR
(which would let a line overwrite itself), are shown as ``\\u001b``-style escapes instead of being
written raw; tab and newline stay.
The escapes are JSON's own, so a JSON log line stays valid JSON and decodes to the original text.
"""

from __future__ import annotations

import re

# Pictographs and the marks that may sit beside a zero-width joiner inside an emoji sequence.
_EMOJI = "\u00a9\u00ae\u2190-\u2bff\ufe0f\U0001f000-\U0001faff"
_LINE_BREAKS = "\x0b\x0c\x1c-\x1f\x85\u2028\u2029"  # besides CR: they separate lines or words
# Controls that are not whitespace, surrogates and every format character (Cf as of Unicode 15.1)
# but the zero-width joiner, which _LONE_JOINER handles.
_INVISIBLE = (
    "\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"
    "\u180e\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff"
    "\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"
)
_LONE_JOINER = f"(?<![{_EMOJI}])\u200d|\u200d(?![{_EMOJI}])"
_DROP = re.compile(f"[{_INVISIBLE}]")
_JOINER = re.compile(_LONE_JOINER)
_BREAK = re.compile(f"\r\n?|[{_LINE_BREAKS}]")
_UNSAFE = re.compile(f"[{_INVISIBLE}\r{_LINE_BREAKS}]|{_LONE_JOINER}")


def clean(text: str) -> str:
    """Text from outside without control, surrogate or invisible format characters (see above)."""
    if text.isprintable():  # none of them is printable: most text is done in ~1 ns a character
        return text
    text = _DROP.sub("", _BREAK.sub("\n", text))
    return _JOINER.sub("", text) if "\u200d" in text else text


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    if code > 0xFFFF:  # as JSON writes it: a surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def for_terminal(text: str) -> str:
    """Text for a terminal or a log line: what ``clean`` would remove (and CR), as visible
    ``\\u001b``-style escapes; tab and newline stay."""
    if text.isprintable():
        return text
    return _UNSAFE.sub(_escape, text)


def for_rich(text: str) -> str:
    """Text for a rich Console: ``for_terminal``, then ``[brackets]`` escaped from rich markup."""
    from rich.markup import escape  # rich costs every command's start ~20 ms: imported by its users

    return escape(for_terminal(text))
