"""Who a deal story is about, for ``deal.py``: known companies, the title's subject, pronouns. Pure.

The grammar of ``deal_names.py`` reads a name where a deal verb puts one, but a report often puts a
description there ("Robot-Brain Startup Lands New Backing", "KI-Videogenerator Runway", "Chinesa
Galbot", "美 어질리티로보틱스") or a pronoun ("The company has raised", "It closed"). The company
list (``rules/entities.toml``) settles the first: a known company's name or alias that ends the
words found is the company, reported by its canonical name (宇树科技 -> Unitree). The title settles
the second: the story is about the first company the title names that is not an investor, else the
name the title starts with.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from monitor.matching.deal_names import NAME, clean
from monitor.matching.entities import Companies, Company

# A nationality mark before a name in CJK headlines: 美 어질리티로보틱스, 英Wayve, 米Skild AI, 中 유니트리;
# only before Latin, kana, Hangul or a space (英伟达 and 美团 are names).
_CJK_NATIONALITY = re.compile(r"^[美英中日韩韓独德法仏米加印以瑞](?:\s+|(?=[A-Za-z\u30a0-\u30ff\uac00-\ud7af]))")
# What a company's name may be followed by and still be that name: "Field AI Inc", "Neura Robotics GmbH".
_LEGAL_SUFFIX = re.compile(
    r"^[\s,.]*(?:Inc|Corp|Corporation|Ltd|Limited|LLC|GmbH|AG|SA|SAS|S\.A|SpA|S\.p\.A|BV|NV|Co|Labs?)?\.?$"
)
# A subject that names the story's company without its name: "The company has raised", "It closed".
_PRONOUNS = (
    r"it|the\s+(?:company|startup|start-up|firm|group|business|maker|developer|lab|unicorn)"
    r"|l['\u2019](?:entreprise|azienda)|la\s+(?:société|start-up|startup|jeune\s+pousse|empresa|compañía|companhia"
    r"|società|azienda)|a\s+(?:empresa|startup|companhia)|el\s+grupo|die\s+firma|das\s+(?:unternehmen|start-up)"
    r"|der\s+(?:konzern|hersteller)|sie|elle|该公司|公司|同社|회사"
)
_PRONOUN = re.compile(rf"(?:^|[\s,;:(\"“])(?:{_PRONOUNS})\s*$", re.IGNORECASE)
# A sentence that opens with one, then says more of it: "La empresa fundada por … ha cerrado".
_PRONOUN_OPENS = re.compile(
    rf"^\s*(?:{_PRONOUNS})(?:\s*,|\s+(?-i:[a-zà-ÿ]))",  # "La società texana dei robot … ha chiuso"
    re.IGNORECASE,
)
_IS_CJK = re.compile("[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_LATIN_IN_PARENS = re.compile(r"\s*\(([A-Za-z0-9][^()]{0,40})\)")
_WORDISH = re.compile(r"[\w-]")
# An investor's verb: the name before it is not the company ("Orvell led …", "Orvell buys …").
_INVESTOR_VERB = re.compile(
    r"^,?\s+(?:co-)?(?:led|leads|backs|backed|invests|invested|acquires|acquired|buys|bought)\b"
)
_SEVERAL_WORDS = re.compile(r"[\s'\u2019-]")
_NAME_FIRST = re.compile(rf"^(?:(?:the|a|an|exclusive|breaking|update|report)\b[:\s]+)*({NAME})")
# A headline verb after a name: "Sunday Robotics shows off", "Foo is raising", "Foo to list"; not
# "Robot maker raises" (a noun) nor a possessive.
_VERB_AFTER_NAME = re.compile(
    r"^,?\s+(?:[a-z]+[^s\W]s|[a-z]+ed|is|has|to|will|gets|hits|wins|nets"
    r"|soll|sollen|plant|könnte|pourrait|podría|poderia|potrebbe|sarebbe|está|estaria)\b"
)


def known(name: str, companies: Companies | None) -> tuple[Company, str] | None:
    """The known company ``name`` is, and its name as written there: all of ``name``, or its last
    words ("Chinesa Galbot" -> Galbot, "Fei-Fei Li's World Labs" -> World Labs, "具身智能公司银河通用"
    -> 银河通用), or its first before a legal suffix ("Field AI Inc" -> Field AI)."""
    if companies is None or not name:
        return None
    if company := companies.resolve(name):
        return company, name
    if not _IS_CJK.search(name) and not _SEVERAL_WORDS.search(name):
        return None  # one Latin word: only all of it could be a known name
    for company, start, end in reversed(companies.within(name)):
        rest = name[end:]
        if not rest.strip(" '\u2019s") or _LEGAL_SUFFIX.match(rest):
            return company, name[start:end]
    return None


def as_written(name: str, companies: Companies | None, story: str) -> str:
    """The name to report for ``name`` as found in ``story``: as the story writes it, without the
    descriptors around a known company's name (see :func:`known`) or a CJK nationality mark (美,
    英); a name in CJK or Hangul is given in Latin letters when the story also writes it so
    ("银河通用(Galbot)", "앱트로닉(Apptronik)", or a known company's Latin name anywhere)."""
    name = (clean(stripped) or name) if (stripped := _CJK_NATIONALITY.sub("", name)) != name else name
    found = known(name, companies)
    if found is not None:
        name = found[1]
    if not _IS_CJK.search(name):
        return name
    at = story.find(name)
    while at >= 0:  # 银河通用(Galbot)
        latin = _LATIN_IN_PARENS.match(story, at + len(name))
        if latin and (written := clean(latin.group(1))) and (written[0].isupper() or written[0].isdigit()):
            return written
        at = story.find(name, at + 1)
    if found is not None:  # a known company's Latin name anywhere in the story, as written there
        folded = story.casefold()
        for form in (found[0].name, *found[0].aliases):
            start = folded.find(form.casefold()) if not _IS_CJK.search(form) else -1
            end = start + len(form)
            if start >= 0 and not _WORDISH.match(story[start - 1 : start]) and not _WORDISH.match(story[end : end + 1]):
                return story[start:end]
    return name


def is_pronoun(before: str, sentence_start: bool = False) -> bool:
    """Whether ``before`` (the text before a deal verb) ends with a pronoun or "the company", or
    (``sentence_start``: it starts its sentence) opens with one that the words after describe ("The
    startup, which builds …", "La empresa fundada por …")."""
    return bool(_PRONOUN.search(before[-40:]) or (sentence_start and _PRONOUN_OPENS.match(before)))


def title_subject(title: str, companies: Companies | None) -> tuple[str | None, str | None]:
    """The company a title is about: the first known one it names that is not only an investor,
    and the name it starts with when a verb follows ("Sunday Robotics shows off Memo")."""
    first_known = None
    if companies is not None:
        first_known = next((c.name for c, _, _ in companies.within(title) if "investor" not in c.tags), None)
    m = _NAME_FIRST.match(title)
    verb = _VERB_AFTER_NAME.match(title[m.end() :]) if m else None
    leading = clean(m.group(1)) if m and verb and not _INVESTOR_VERB.match(title[m.end() :]) else None
    return first_known, leading


def one_per_company(names: Sequence[str], companies: Companies | None) -> tuple[str, ...]:
    """``names`` with one name per known company, the longest ("a16z" and "Andreessen Horowitz")."""
    if len(names) < 2:
        return tuple(names)
    kept: dict[object, str] = {}
    for name in names:
        found = known(name, companies)
        key: object = found[0].name if found is not None else name
        if len(name) > len(kept.get(key, "")):
            kept[key] = name
    return tuple(kept.values())
