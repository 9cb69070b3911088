"""Company and investor names around the words of a deal report, for ``deal.py``. Pure.

Latin-script names are runs of capitalised words ("Physical Intelligence", "1X Technologies",
"a16z"); descriptors before them are dropped ("robotics startup Skild AI", "Das Start-up Figure
AI"), and so is an appositive after them ("Mind Robotics, spun out of Rivian, raises"). Chinese,
Japanese and Korean names have no capitals: the subject is read from the clause's grammar (the
word before は/が or 가/이, the clause before a verb, after the last 的/の/公司/스타트업).
Text must be NFKC-normalised (full-width punctuation is then ASCII).
"""

from __future__ import annotations

import re

from monitor.matching.deal_words import (
    CJK_DESCRIPTOR_ENDS,
    DESCRIPTION_WORDS,
    DESCRIPTORS,
    KOREAN_DESCRIPTORS,
    LIST_JOINS,
    TYPE_NOUNS,
)
from monitor.matching.money_words import alternation

WINDOW = 200  # how far before or after a cue word its names are looked for: keeps long texts linear
_UPPER = "A-ZÀ-ÖØ-Þ"
_LATIN = "A-Za-zÀ-ÖØ-öø-ÿ0-9"  # not \w: a Latin name stops where CJK text starts (VAST完成, ABBの)
_WORD = rf"(?:[{_UPPER}0-9][{_LATIN}.&'\u2019+-]*[{_LATIN}+]|[{_UPPER}]|[a-z]+\d[{_LATIN}]*)"  # Skild, 1X, a16z
_LINK = r"(?:AI|de|del|des|of|la|le|&|for)"
NAME = rf"{_WORD}(?:\s(?:{_WORD}|{_LINK}(?=\s{_WORD})))" + "{0,5}"
_NAME_AT_END = re.compile(rf"({NAME})\s*$")
_ARTICLES = (  # and "fund": "liderada pelo fundo Greenoaks"
    r"(?i:the|a|an|la|le|l'|el|los|las|o|os|il|lo|die|der|das|den|pela|pelo|por|by|par|von|dal|dalla"
    r"|fundo|fund|fonds|fondo)"
)
_NAME_AT_START = re.compile(rf"^\s*(?:{_ARTICLES}\s+)*({NAME})")
_CJK = "\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af"
_IS_CJK = re.compile(f"[{_CJK}]")
CLAUSE_BREAK = re.compile(r'[,、。:;「」『』【】“”"…!?\n]|\.\s')
_PARENS = re.compile(r"\s*\([^()]*\)")
_DESCRIPTOR = re.compile(
    rf"^(?:(?:{alternation(DESCRIPTORS)})\s+)+(?=\S+\s)", re.IGNORECASE
)  # "The" of "The Bot Company" stays
_TYPED = re.compile(rf"^.*(?<![\w-])(?:[\w-]+-)?(?:{alternation(TYPE_NOUNS)})\s+(?=\S)", re.IGNORECASE)
_GERMAN_TYPED = re.compile(r"^.*\b\w+(?:fonds|konzern|hersteller|anbieter|entwickler|investor|riese)\s+(?=[A-Z0-9])")
_POSSESSOR = re.compile(r"^.*['\u2019]s\s+(?=\S)")  # "Yann LeCun's AMI Labs" -> AMI Labs
_BACKED = re.compile(r"^(?:[\w-]+-(?:backed|based|owned)\s+)+", re.IGNORECASE)
_BEFORE_VERB = re.compile(
    r"(?:\s+(?:has|have|had|is|are|was|were|also|now|just|reportedly|officially|ha|hat|a|ya|já"
    r"|ha\s+annunciato\s+di|(?:announced|said|says|disclosed|confirmed|revealed|stated)(?:\s+that)?(?:\s+it)?"
    r"|anunciou\s+que|anunció\s+que|a\s+annoncé|annonce"
    # "X plans to (raise)", "X en discussions pour (lever)", "X in trattative per (raccogliere)"
    r"|(?:plans?|aims?|looks?|seeks?|hopes?|wants?|set|is\s+set|in\s+talks|in\s+advanced\s+talks)\s+to"
    r"|en\s+discussions?\s+pour|en\s+négociations?\s+pour|cherche\s+à|en\s+negociaciones\s+para|busca"
    r"|em\s+negociações\s+para|in\s+trattativ[ae]\s+per|punta\s+a|will|would|could|may|está|estaria|sarebbe"
    r"|è|soll|sollen|könnte|pourrait|podría|poderia|potrebbe))+\s*$",
    re.IGNORECASE,
)
_APPOSITIVE = re.compile(r",\s+(?=[a-zà-ÿ«\"“(])")
_GENERIC = frozenset(
    {"ai", "ia", "ki", "3d", "vr", "ar", "xr", "ml", "llm", "gpu", "ipo", "us", "uk", "eu", "it", "this", "that",
     "company", "startup", "he", "she", "they", "earlier", "meanwhile", "previously", "also", "however", "today",
     "now", "separately", "additionally", "existing", "investors", "in", "on", "the", "its", "their", "both", "new",
     "la", "le", "el", "january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december", "euro", "euros", "dollar", "dollars", "yuan", "yen", "won", "mio", "mrd",
     "millionen", "milliarden", "millions", "millones", "milioni", "milhões", "monday", "tuesday", "wednesday",
     "thursday", "friday", "saturday", "sunday", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "montag",
     "dienstag", "mittwoch", "donnerstag", "freitag", "lunes", "martes", "miércoles", "jueves", "viernes"}
)  # fmt: skip
_CJK_TRAILING = re.compile(r"(?:拟|将|已|再|又|在|正在|正|宣布|正式|今日|近日|此前|日前|の|が|は)+$")
_NOT_CJK_NAME = re.compile(r"通过|方式|协议|要约|により|によると")  # clauses, not names
# Words before a name that make it a complement, not the subject: "ex-CEO of Cruise", "behind Oasis".
_COMPLEMENT = re.compile(
    r"(?:\b(?:of|by|behind|from|de|da|do|dos|das|del|della|dei|degli|delle|di|du|des|von|vom|der|pelo|pela|por"
    r"|par)\s+)$",
    re.IGNORECASE,
)
# Nouns after a name that make it an adjective: "the New York company", "a Paris startup".
_NOUN_AFTER = re.compile(r"^\s*-?\s*(?:company|startup|start-up|firm|maker|group|lab|unicorn|based)\b", re.IGNORECASE)
_DESCRIBED = re.compile(
    rf"^(?:(?:{alternation(DESCRIPTION_WORDS)})\s+)+(?:(?-i:[a-zà-ÿ])[\w-]*\s+){{1,2}}(?=(?-i:[A-Z0-9])[\w-])",
    re.IGNORECASE,
)
_LOWER_WORDS = re.compile(r"^(?:[a-zà-ÿ][\w'\u2019-]*\s+){1,4}(?=[A-Z0-9][\w-])")  # lower-case words before a name
_POSSESSIVE_DESCRIPTION = re.compile(r"['\u2019]s(?:\s+[a-zà-ÿ][\w-]*)+\s*$")  # "'s infrastructure fund"
_LOWER_DESCRIPTION = re.compile(rf"^(?:(?:{alternation(DESCRIPTION_WORDS)})\s+){{1,4}}(?=[A-Z0-9])", re.IGNORECASE)
_OWNED = re.compile(
    r"\s+(?:[\w-]+\s+){0,3}?(?:startup|start-up|company|firm|lab|unicorn|maker|developer|spinout|venture)\b(\s+(?=[A-Z0-9]))?"
)
_JOINTLY = re.compile(r"\s*(?:공동으로|공동|共同で|共同)\s*$")
_LIST_CONJUNCTION = re.compile(r"\s(?:and|&|et|y|e|und)\s")
_KOREAN_TYPE_NOUNS = frozenset({"기업", "스타트업", "업체", "회사", "개발사", "신생기업"})
_KANA = re.compile("[\u3040-\u30ff]")
_HANGUL = re.compile("[\uac00-\ud7af]")
_LIST_ITEM = re.compile(r"[^\s\d]{1,15}(?:\s[^\s\d]{1,15}){0,2}")  # a short name in a CJK list
_LIST_SPLIT = re.compile("|".join(re.escape(j).replace(r"\ ", r"\s+") for j in LIST_JOINS))
_LIST_STOP = re.compile(
    r"[.;:()]|\s(?:which|who|as|to|in|for|at|with|com|con|avec|mit|alongside|while|plus|as well as|among)\s"
    r"|,\s+(?:com|con|avec|mit|with|while|plus)\s|(?:が務め|が参加|が出資|が主導|が共同|も出資|등이|가 참여|이 참여)"
)
_LIST_END = re.compile(r"\s*(?:等|など|등|among others|and others|et d'autres|entre otros|tra gli altri)\b.*$")
_LIST_AT_END = re.compile(rf"((?:{NAME})(?:\s*(?:,|、|&|\band\b|\bet\b|\by\b|\be\b|\bund\b)\s*(?:{NAME}))*)\s*$")


def is_cjk(text: str) -> bool:
    return bool(text) and bool(_IS_CJK.match(text[0]))


def clean(name: str | None) -> str | None:
    """A name without brackets, quotes, descriptors and possessive; None when nothing is left."""
    if not name:
        return None
    name = _PARENS.sub("", name).strip(" ,.;:'\"“”\u2018\u2019-·。、")
    if name and not is_cjk(name):
        name = _BACKED.sub("", _POSSESSOR.sub("", _GERMAN_TYPED.sub("", _TYPED.sub("", name))))
        name = _DESCRIPTOR.sub("", name) if not name.startswith("The ") else name
    name = _japanese_group(re.sub(r"['\u2019]s$", "", name).strip())
    if not name or name.casefold() in _GENERIC or len(name) > 60 or _NOT_CJK_NAME.search(name) or name.isdigit():
        return None
    return name


def _without_cjk_descriptor(clause: str) -> str:
    """深圳具身智能公司自变量机器人 -> 自变量机器人; 汎用ロボット脳のSkild AI -> Skild AI."""
    for end in sorted(CJK_DESCRIPTOR_ENDS, key=len, reverse=True):
        at = clause.rfind(end)
        if at >= 0 and at + len(end) < len(clause):
            clause = clause[at + len(end) :]
    return clause.strip()


def _korean_subject(clause: str) -> str | None:
    """The word marked 가/이 (else 는/은) and the name words before it:
    미국 피지컬 인텔리전스가 -> 피지컬 인텔리전스."""
    words = clause.split()
    for particles in ("가이", "는은"):
        for index, word in enumerate(words):
            if len(word) > 2 and word[-1] in particles and not re.search(r"(?:하는|있는|되는|만드는|라는)$", word):
                following = words[index + 1] if index + 1 < len(words) else ""
                if len(following) >= 2 and re.search(r"(?:은|한|던|운|든|낸)$", following):
                    return None  # the subject of a relative clause: 오픈AI가 찍은 스타트업, 베이조스가 투자한
                if following in KOREAN_DESCRIPTORS or following in _KOREAN_TYPE_NOUNS:
                    continue  # a verb before a noun, not a subject: 오픈AI 투자받은 휴머노이드 기업
                name = [word[:-1]]
                for previous in reversed(words[:index]):
                    if previous in KOREAN_DESCRIPTORS or re.search(r"(?:는|은|을|를|의|한|된|인|에서|로)$", previous):
                        break
                    name.insert(0, previous)
                return clean(" ".join(name[-3:]))
    return None


def cjk_subject(before: str) -> str | None:
    """The subject of the CJK clause that ends at a verb."""
    sentence = _PARENS.sub("", before)
    clauses = [c.strip() for c in CLAUSE_BREAK.split(sentence) if c.strip()]
    if not clauses:
        return None
    if re.search("[\uac00-\ud7af]", sentence):  # Korean: a marked subject, else the headline's first clause
        subject = _korean_subject(sentence)
        if subject:
            return subject
        first = clauses[0]
        typed = any(word in _KOREAN_TYPE_NOUNS for word in first.split()[:-1])  # … 스타트업 피지컬인텔리전스
        if len(clauses) > 1 and (len(first) <= 25 or typed) and not re.search(r"\d\s?(?:만|억|조|달러|원)", first):
            return clean(_korean_descriptor_free(first))
        return clean(_korean_descriptor_free(clauses[-1]).split()[-1]) if clauses[-1].split() else None
    # Japanese: the last topic (は) before the verb, else the last subject (が): in "…の立役者らが設立した
    # スタジオPromiseは…投資を受けた" the company is Promise.
    marked = re.search(r"^(.*)は", sentence) or re.search(r"^(.*)が", sentence)
    if marked and re.search("[\u3040-\u30ff]", sentence):
        clause = CLAUSE_BREAK.split(marked.group(1))[-1]
    elif re.search("[\u3040-\u30ff]", sentence) and len(clauses) > 1:
        clause = clauses[0]  # 汎用ロボット脳のSkild AI、…
    else:
        clause = clauses[-1]
    clause = _CJK_TRAILING.sub("", _without_cjk_descriptor(clause))
    latin = _NAME_AT_END.search(clause)
    if latin and len(latin.group(1)) >= 3:  # …からスピンアウトしたMind Robotics; not ソフトバンクG
        return clean(latin.group(1))
    return clean(clause)


def _korean_descriptor_free(clause: str) -> str:
    """1X 공동창업자의 피지컬 로보틱스 -> 피지컬 로보틱스; 휴머노이드 로봇 스타트업 피규어AI -> 피규어AI."""
    words = clause.split()
    possessive = [index for index, word in enumerate(words) if word.endswith("의")]
    if possessive:
        words = words[possessive[-1] + 1 :] or words
    typed = [index for index, word in enumerate(words[:-1]) if word in _KOREAN_TYPE_NOUNS]
    if typed:  # 오픈AI 투자받은 휴머노이드 기업 1X -> 1X; 로봇 파운데이션 모델 스타트업 리얼월드 -> 리얼월드
        words = words[typed[-1] + 1 :]
    while len(words) > 1 and (words[0] in KOREAN_DESCRIPTORS or words[0].endswith("의")):
        words = words[1:]
    return " ".join(words)


def _in_cjk_clause(before: str) -> bool:
    """Whether the clause that ends ``before`` is written in CJK (a Latin name may end it: Mind Roboticsが)."""
    return bool(_IS_CJK.search(CLAUSE_BREAK.split(before)[-1]))


def words_before(text: str, at: int) -> str:
    """The text before a verb at ``at`` without "has", adverbs and "announced that it"."""
    before = text[max(0, at - WINDOW) : at]
    cut = max(0, len(before) - 90)  # what is stripped is a few words: the pattern need not try the whole window
    return (before[:cut] + _BEFORE_VERB.sub("", before[cut:])).rstrip()


def name_before(text: str, at: int) -> str | None:
    """The name that ends right before ``at``, skipping "has", adverbs, "announced that" and an
    appositive ("ShengShu, the Beijing startup behind Vidu, has raised")."""
    before = words_before(text, at)
    if _in_cjk_clause(before):
        return cjk_subject(before)
    m = _NAME_AT_END.search(before)
    if not m or before.endswith(","):  # an appositive: "Mind Robotics, spun out of Rivian, raises"
        for comma in reversed(list(_APPOSITIVE.finditer(before.rstrip(",")))):
            if _NAME_AT_END.search(before[: comma.start()]):
                before = before[: comma.start()]
                m = _NAME_AT_END.search(before)
                break
    if not m or _COMPLEMENT.search(before[: m.start()]):  # "the ex-CEO of Cruise received"
        return None
    return clean(m.group(1))


def name_after(text: str, at: int) -> str | None:
    """The name that starts at ``at`` (after an article): "acquires *Pollen Robotics*", "收购*上纬新材*"."""
    after = text[at : at + WINDOW].lstrip()
    if _IS_CJK.search(CLAUSE_BREAK.split(after, maxsplit=1)[0][:30]):
        m = re.match(r"([^,。、:;을를에와과及和与]{2,24}?)(?=[的之を을를에,。、]|至少|控股|股份|$)", after)
        if not m:
            return None
        latin = re.match(rf"({NAME})の", m.group(1))  # ABBのロボット事業 -> ABB
        return clean(latin.group(1) if latin else _without_cjk_descriptor(m.group(1)).split("の")[0])
    described = _LOWER_DESCRIPTION.sub("", after)  # "backs AI film studio Promise", "in robotics startup X"
    if not described[:1].isupper() and (m := _DESCRIBED.match(after)):  # "la start-up bordelaise Pollen"
        described = after[m.end() :]
    after = described
    m = _NAME_AT_START.match(after)
    if not m or _NOUN_AFTER.match(after[m.end() :]) or after[m.end() : m.end() + 1] == "-":  # "Paris-based"
        return None
    if m.group(1).endswith(("'s", "\u2019s")) and (owned := _OWNED.match(after, m.end())):
        # "Shashua's humanoid startup Mentee Robotics" -> Mentee Robotics; "Urtasun's Toronto startup" names none
        named = _NAME_AT_START.match(after[owned.end() :])
        return clean(named.group(1)) if named and owned.group(1) else None
    return clean(m.group(1))


def names(text: str) -> list[str]:
    """The names a list starts with: "Alibaba, Tencent and Geely", "美团战投、北汽产投等", "阿里雲と国科投資"."""
    text = _LIST_END.sub("", _LIST_STOP.split(_PARENS.sub("", text), maxsplit=1)[0])
    found: list[str] = []
    for piece in _LIST_SPLIT.split(text):
        piece = re.sub(r"^\s*(?:other|existing|new|investors?|backers?|such as|including|plus)\s+", "", piece).strip()
        if _IS_CJK.search(piece):  # ウィプロ創業家系のPremji Investが -> Premji Invest
            piece = (
                _CJK_TRAILING.sub("", re.split(r"[がはをもに]", piece)[0])
                if re.search("[\u3040-\u30ff]", piece)
                else piece
            )
            name = clean(_without_cjk_descriptor(piece))
        else:
            if not found:  # the list's first name: "battery giant CATL", "la fabricante de baterias CATL"
                piece = _LOWER_WORDS.sub("", piece)
            m = _NAME_AT_START.match(piece)
            if m and found and _POSSESSIVE_DESCRIPTION.search(piece):  # ", Alphabet's independent growth fund"
                continue  # an appositive of the name before it
            name = clean(m.group(1)) if m else None
        if name:
            found.append(name)
    return found


def _japanese_group(name: str) -> str:
    """ソフトバンクG -> ソフトバンクグループ: Japanese papers shorten グループ to G after a name."""
    return re.sub(r"(?<=[\u30a0-\u30ff\u3400-\u9fff])G$", "グループ", name)


def list_before(text: str) -> list[str]:
    """The names that end ``text``: "Earlier, Alibaba and Tencent" -> Alibaba, Tencent; "由A和B" -> A, B."""
    text = _CJK_TRAILING.sub("", _PARENS.sub("", text).rstrip())
    text = _JOINTLY.sub("", text)  # B캐피털과 캐피털팩토리가 공동으로 (주도)
    if _in_cjk_clause(text):
        pieces = re.split(f"({CLAUSE_BREAK.pattern})", text)  # clause, break, clause, ..., clause
        clause = pieces.pop()
        if not _KANA.search(text):  # Chinese and Korean lists: 由A、B领投; 라이트스피드, 코튜, 소프트뱅크가 주도
            korean = bool(_HANGUL.search(text))
            joiner = "," if korean else "、"  # a Chinese "," ends a clause, not a list item
            while len(pieces) >= 2 and pieces[-1] == joiner and _LIST_ITEM.fullmatch(pieces[-2].strip()):
                clause = pieces[-2].strip() + "、" + clause
                del pieces[-2:]
            first = re.split(r"(?:가|이|는|은)\s", pieces[-2])[-1].strip() if korean and len(pieces) >= 2 else ""
            if first and pieces[-1] == joiner and _LIST_ITEM.fullmatch(first):  # 스킬드AI가 라이트스피드, …
                clause = first + "、" + clause
        clause = re.sub(r"^.*(?:由|完成|获得)|^.*?(?:は|가\s|이\s)", "", clause)  # 完成腾讯领投的 -> 腾讯
        if re.search("[\uac00-\ud7af]", clause):  # 이번 투자는 한빛벤처스가 -> 한빛벤처스
            clause = re.split(r"\S(?:는|은|을|를|에서|에|으로|로)\s", clause)[-1]
            clause = _korean_descriptor_free(re.sub(r"가$", "", clause.strip()))
        return names(clause)
    m = _LIST_AT_END.search(_POSSESSIVE_DESCRIPTION.sub("", text))  # "Andreessen Horowitz's growth fund"
    if not m:
        return []
    found = m.group(1)
    if "," in found and not _LIST_CONJUNCTION.search(found):  # "Robotica, Lingotto guida": a topic, then a name
        found = found.rsplit(",", 1)[1]
    return names(found)
