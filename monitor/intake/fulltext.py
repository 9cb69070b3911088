"""An item's article page -> the article's own text, for feeds that carry only a headline or a
teaser (``full_text = true``). Pure: the shell fetches the page through the fetch edge.

readability (Arc90's algorithm, readability-lxml) picks the element that holds the article's
paragraphs, so navigation, "most read" lists, share bars and footers stay out; BeautifulSoup turns
that element into text, one space between blocks. A page that is not HTML, or in which no article
can be found, gives a reason instead of text, and the item is matched on what its feed gave.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from monitor.intake.normalise import MAX_TEXT_CHARS
from monitor.textsafety import clean

MAX_PAGE_BYTES = 1_000_000  # readability takes about 1 s per MB of markup; articles fit well inside
MIN_ARTICLE_CHARS = 200  # less is a cookie wall, a paywall stub or a page of links, not an article
HTML_TYPES = ("text/html", "application/xhtml+xml")
_MARKUP = re.compile(rb"<(html|head|body|article|main|div|p)\b", re.IGNORECASE)  # sniffed when no type is given


@dataclass(frozen=True, slots=True)
class ArticleText:
    text: str


@dataclass(frozen=True, slots=True)
class NoArticle:
    reason: str


def article_text(page: bytes, content_type: str) -> ArticleText | NoArticle:
    """The main text of an HTML page (at most ``MAX_TEXT_CHARS``), or why there is none."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media and media not in HTML_TYPES:
        return NoArticle(f"the page is {media}, not HTML")
    if not _MARKUP.search(page[:65536]):
        return NoArticle("no article text on the page (it is not HTML)")
    from bs4 import BeautifulSoup  # ~60 ms of imports: only for feeds that want full text
    from readability import Document

    # it logs its candidates at INFO and a failure as a traceback at ERROR: the reason is ours to give
    logging.getLogger("readability.readability").setLevel(logging.CRITICAL)
    try:
        html = Document(page[:MAX_PAGE_BYTES]).summary(html_partial=True)
    except ValueError as e:  # readability's Unparseable: lxml found no document in the bytes
        return NoArticle(f"the page could not be read as HTML ({e})")
    text = " ".join(clean(BeautifulSoup(html, "lxml").get_text(" ", strip=True)).split())
    if len(text) < MIN_ARTICLE_CHARS:
        return NoArticle("no article text on the page")
    return ArticleText(text[:MAX_TEXT_CHARS])
