"""Items from a local file for `monitor rules test`: a feed file, or one article (text or HTML)."""

from __future__ import annotations

import codecs
import re
import unicodedata
from datetime import datetime, timedelta

from monitor.intake import normalise
from monitor.intake.parse import parse
from monitor.model import Entry, Fetched, FetchFailed, Item
from monitor.textsafety import clean

# An article's <h1> is its headline; <title> often carries the site's name too.
_HEADINGS = tuple(
    re.compile(rf"<({tag})\b[^>]*>(.*?)</{tag}\s*>", re.IGNORECASE | re.DOTALL) for tag in ("h1", "title")
)


# UTF-32 first: its little-endian BOM starts with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (codecs.BOM_UTF8, "utf-8-sig"),
)


def _decode(data: bytes) -> str:
    """Text of an article file: the encoding its byte-order mark names, else UTF-8."""
    codec = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    return data.decode(codec, errors="replace").replace("\x00", "")


def items_from_bytes(data: bytes, name: str, now: datetime) -> tuple[Item, ...]:
    """A feed file gives its entries; anything else is one article whose <h1> (or <title>) is the
    title, or for plain text its ``headline`` line."""
    # feedparser sniffs encodings (UTF-16/32 with or without a BOM) better than a prefix check could
    parsed = parse(Fetched(name, name, 200, {"content-type": "application/xml"}, data, timedelta(0)))
    if not isinstance(parsed, FetchFailed) and parsed.entries:
        return normalise.items(parsed, clean(parsed.title) or name, now)
    text = _decode(data)
    if heading := next(filter(None, (pattern.search(text) for pattern in _HEADINGS)), None):
        title, body = normalise.html_to_text(heading.group(2)), normalise.html_to_text(text[heading.end() :])
    else:
        lines = [line.strip() for line in text.splitlines() if line.strip()] or [""]
        at = headline(lines)
        title, rest = lines[at], lines[:at] + lines[at + 1 :]
        if len(title) > MAX_HEADLINE_CHARS:  # the article starts with its body: its first sentence
            title, rest = first_sentence(title), lines
        body = " ".join(rest)
    entry = Entry(guid=None, link=None, title=title, summary_html=body, content_html="", published=None)
    return (normalise.item(entry, name, now),)


# A saved article often opens with its outlet, section, byline or date before the headline.
LOOK_AT = 8  # lines: the headline is near the top
MIN_HEADLINE_WORDS = 3
MAX_HEADLINE_CHARS = 200  # longer: the body's first paragraph (the article has no headline line)
MAX_OUTLET_WORDS = 4  # "REUTERS", "THE WALL STREET JOURNAL"
MAX_BYLINE_WORDS = 10  # "By Jane Doe and John Roe, Reuters"
WIDE_PER_WORD = 3  # Chinese or Japanese characters counted as one word (a text without spaces)
_BYLINE = re.compile(r"^(by|written by|reporting by|words by)\s+[^\W\d_]", re.IGNORECASE)
_STAMP = re.compile(r"^(published|updated|last updated|posted|modified)\b", re.IGNORECASE)
_DATE_WORD = re.compile(  # months, weekdays, am/pm, time zones, "at", "on"
    r"jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sept?(ember)?|oct(ober)?|"
    r"nov(ember)?|dec(ember)?|mon(day)?|tue(sday)?|wed(nesday)?|thu(rsday)?|fri(day)?|sat(urday)?|"
    r"sun(day)?|[ap]m|utc|gmt|[ecmp][sd]?t|cest?|bst|jst|hkt|sgt|at|on",
    re.IGNORECASE,
)


def headline(lines: list[str]) -> int:
    """Which of an article's lines is its headline: the first of the first ``LOOK_AT`` that is not
    ``furniture``, else the first line."""
    return next((i for i, line in enumerate(lines[:LOOK_AT]) if not furniture(line)), 0)


def first_sentence(paragraph: str) -> str:
    """A paragraph's first sentence, if it is headline-sized; else the paragraph."""
    end = re.search(r"[.!?](\s|$)|[\u3002\uff01\uff1f]", paragraph)  # and the full stops of Chinese and Japanese
    return paragraph[: end.end()].strip() if end and end.end() <= MAX_HEADLINE_CHARS else paragraph


def furniture(line: str) -> bool:
    """A line printed around a headline that is not one: shorter than ``MIN_HEADLINE_WORDS``
    words (an outlet or section name; in Chinese or Japanese every ``WIDE_PER_WORD`` characters
    count as a word), a byline ("By Jane Doe"), a time stamp ("Updated ...", "Nov 22, 2026 10:31
    AM ET": digits and date words only), or an outlet in capitals ("REUTERS")."""
    words = len(line.split()) + sum(unicodedata.east_asian_width(c) in "WF" for c in line) // WIDE_PER_WORD
    if words < MIN_HEADLINE_WORDS or _STAMP.match(line) or (_BYLINE.match(line) and words <= MAX_BYLINE_WORDS):
        return True
    named = [w for w in re.findall(r"[^\W\d_]+", line) if not _DATE_WORD.fullmatch(w)]
    if any(c.isdigit() for c in line) and len(named) <= 1:
        return True
    letters = [c for c in line if c.isalpha()]
    return words <= MAX_OUTLET_WORDS and bool(letters) and all(c.isupper() for c in letters)
