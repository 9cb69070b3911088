"""The deal card: the principal deal a story reports, and the deals it mentions in passing. Pure.

A story about money usually names one deal ("ShengShu raised 2 billion yuan ($290 million) in a
Series B led by Alibaba Cloud") and often recalls others ("Alibaba earlier led a $60 million round
in PixVerse"). :func:`extract_deals` reads the title, summary and content sentence by sentence
and finds deal *events* in the grammar deal reports use, in nine languages (words in
``deal_words.py``, names in ``deal_names.py``):

- a company and a raise verb: "X raises / secures / lève / recauda / capta / raccoglie / sammelt",
  "X完成…融资", "Xが…億円を調達", "X, … 투자 유치";
- an investor, an investment verb and the company after a preposition: "A led a $60M round in X",
  "A invests in X", "A investit dans X", "X에 투자";
- an amount, a deal noun and the company: "a $50 million investment in X";
- an acquisition: "A acquires X", "X acquired by A", "A rachète X", "A收购X", "AがXを買収", "X 지분".

Around them it reads the lead investors ("led by", "mené par", "liderada por", "angeführt von",
"guidato da", "由A领投", "Aが主導", "A 주도"), the other investors ("with participation from",
"A and B also took part", "跟投"), the round (``rounds.py``), the valuation (amounts of kind
``valuation``) and whether the deal is only "in talks". Companies need not be known.

The principal deal is the one the title reports, or else the first one in the text; its amount is
the one next to its verb, else the first deal amount of the title, the summary, then the body
(so money mentioned only in the body still counts). Every other company's deal with an amount is
"also mentioned"; an amount is never given twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from monitor.matching.amounts import DEAL_FLOOR_USD, DEFAULT_RATES_USD
from monitor.matching.deal_investors import about_money, investor_lists
from monitor.matching.deal_names import WINDOW, clean, list_before, name_after, name_before, words_before
from monitor.matching.deal_subject import as_written, is_pronoun, known, one_per_company, title_subject
from monitor.matching.deal_text import LED_WORDS, Sentence, key, sentences
from monitor.matching.deal_text import same as _same
from monitor.matching.deal_words import DEAL_NOUNS, GERMAN_DEAL_NOUN_ENDS, INTO
from monitor.matching.entities import Companies
from monitor.matching.money_words import alternation
from monitor.matching.rounds import round_name
from monitor.model import Amount, Deal

_INTO = re.compile(rf"(?<![\w-])(?:{alternation(INTO)})\s+", re.IGNORECASE)
_PREPOSITION = rf"(?:{alternation(INTO)}|of)"  # "a $50 million investment in X"; not "for 3D generation"
_NOUN = (
    rf"(?:(?<![\w-])(?:{alternation(DEAL_NOUNS)})|(?<![\w-])\w*(?:{alternation(GERMAN_DEAL_NOUN_ENDS)}))(?:\s+round)?"
)
_AFTER_AMOUNT = re.compile(rf"^[^.;:]{{0,40}}?{_NOUN}\s+{_PREPOSITION}\s+", re.IGNORECASE)
_BY = re.compile(r"\s+(?:by|von|par|por|da)\b", re.IGNORECASE)
_NOUN_IN = re.compile(  # "Milliardeninvestition in X", "investment in X"
    rf"{_NOUN}(?:\s+\w+){{0,2}}?\s+(?:in|an|bei)\s+(?=[A-Z0-9])", re.IGNORECASE
)
_NOUN_FOR = re.compile(  # "funding round for X", "un financement record pour X": weaker, "a round for 3D generation"
    rf"{_NOUN}(?:\s+\w+){{0,2}}?\s+(?:for|pour|para|per|für)\s+(?=[A-Z0-9])", re.IGNORECASE
)
# Between an investor and its verb: "SoftBank, Nvidia in Talks to (back)", "Disney to (invest)", "A signs a
# letter of intent to (put)", "A prêt à (investir)".
_INTENT = re.compile(
    r"\s+(?:(?:is|are|was|were|has|have)\s+)?(?:(?:reportedly|also|now|said|set|poised|plans?|planning|agreed|agrees"
    r"|in\s+talks|in\s+advanced\s+talks|signs?\s+(?:a\s+)?letter\s+of\s+intent|prêt|prête|dispuesto|pronto)\s+)*"
    r"(?:to|à|a)?\s*$",
    re.IGNORECASE,
)
_OWNER_OF = re.compile(r"\s+([A-Z0-9][^\s,;:]*(?:\s[A-Z0-9][^\s,;:]*){0,3}?(?:['\u2019]s|s['\u2019]))\s")  # whose round
# What a company announces when it announces a deal: "a $40 million Series A", "une levée de fonds".
_ANNOUNCED_DEAL = re.compile(
    r"\s+(?:(?:a|an|its|une|un|sa|son|una|uma|eine|einen)\s+)?(?:new\s+|nouvelle\s+)?"
    r"(?:series|seed|funding|financing|round|levée|tour|ronda|rodada|finanziamento|finanzierung|investment)\b",
    re.IGNORECASE,
)
_MONEY_VERBS = frozenset({"put", "puts", "pour", "pours", "inject", "injects"})  # invest verbs only with a sum
_HANGUL = re.compile("[\uac00-\ud7af]")
_KOREAN_INTO = re.compile(r"(\S+?)에\s(?=.{0,80}투자)")  # 스킬드AI에 … 투자
_CJK_CONTROL = re.compile(
    r"取得([^,。、的]{2,20}?)(?:公司)?(?:的)?(?:控制权|控股权)"
)  # text is NFKC: no full-width comma
_KOREAN_STAKE = re.compile(r"(\S+)\s지분")  # 레인보우로보틱스 지분을
_ROUND_OF = re.compile(r"\s+\S+\s+(?:round|ronda|rodada|tour)\b[^.;:]{0,60}?\s(?:di|de|da|do)\s+(?=[A-Z])")
_JAPANESE_INTO = re.compile(r"([^、,。がは「」]{2,30}?)への[^、。]{0,25}?(?:出資|投資)")


@dataclass(slots=True)
class _Event:
    company: str
    sentence: int
    at: int  # where its anchor is in the sentence
    amount: Amount | None = None
    leads: list[str] = field(default_factory=list)
    investors: list[str] = field(default_factory=list)
    acquisition: bool = False
    written: str = ""  # the company's name as the story writes it, when the card reports another

    def add(self, leads: Iterable[str] = (), investors: Iterable[str] = ()) -> None:
        """Add names not yet here ("深创投" and "深创投集团" are one), never the company itself."""
        for name in leads:
            if not any(_same(name, n) for n in (self.company, self.written, *self.leads)):
                self.leads.append(name)
        for name in investors:
            if not any(_same(name, n) for n in (self.company, self.written, *self.leads, *self.investors)):
                self.investors.append(name)


# --- events in one sentence ----------------------------------------------------------------------------


def _acquisitions(sentence: Sentence, index: int) -> Iterable[_Event]:
    text = sentence.text
    for start, end, _ in sentence.cue("acquired_by"):
        if (company := name_before(text, start)) and (buyer := name_after(text, end)):
            yield _Event(company, index, start, leads=[buyer], acquisition=True)
    for start, end, _ in sentence.cue("acquire"):
        if company := name_after(text, end):
            buyer = name_before(text, start)
            yield _Event(company, index, start, leads=[buyer] if buyer else [], acquisition=True)
    for start, end, word in sentence.cue("cjk_acquire"):
        before = text[max(0, start - WINDOW) : start]
        if "を" in before[-30:]:  # AがXを…買収, A、Xを…買収
            company = _japanese_object(before)
            buyer = name_before(before, before.find("が")) if "が" in before else name_before(before, before.find("、"))
        elif word == "인수":  # A, X 인수; A가 X를 인수
            company, buyer = _korean_acquired(before)
        else:  # A收购X
            company, buyer = name_after(text, end), name_before(text, start)
        if company:
            yield _Event(company, index, start, leads=[buyer] if buyer else [], acquisition=True)
    if "控制权" in text or "控股权" in text:  # A拟取得X控制权
        for m in _CJK_CONTROL.finditer(text):
            if company := name_after(m.group(1), 0):
                buyer = name_before(text, m.start())
                yield _Event(company, index, m.start(), leads=[buyer] if buyer else [], acquisition=True)
    if "최대주주" in text:
        for m in _KOREAN_STAKE.finditer(text):  # 삼성전자가 … 레인보우로보틱스 지분을 늘려 최대주주에
            if company := name_after(m.group(1), 0):
                buyer = name_before(text, m.start())
                yield _Event(company, index, m.start(), leads=[buyer] if buyer else [], acquisition=True)


def _korean_acquired(before: str) -> tuple[str | None, str | None]:
    """The company bought and the buyer before 인수: "오르벨, 펠리컨 인수", "오르벨이 펠리컨을 인수"."""
    clauses = [c for c in re.split(r"[,、…]", before) if c.strip()]
    words = clauses[-1].split() if clauses else []
    if not words:
        return None, None
    company = clean(re.sub(r"(?:을|를)$", "", words[-1]))
    if len(words) > 1 and words[0][-1] in "가이는은":
        return company, clean(words[0][:-1])
    return company, name_before(before, before.rfind(",")) if len(clauses) > 1 and "," in before else None


def _japanese_object(before: str) -> str | None:
    """The object of を, after the previous 、, が, は or から: ABBのロボット事業を…で買収 -> ABB."""
    end = before.rfind("を")
    starts = [at + len(mark) for mark in ("、", "が", "は", "から", ",") if (at := before.rfind(mark, 0, end)) >= 0]
    return name_after(before[:end], max(starts, default=0))


def _events(sentence: Sentence, index: int, subject: str | None) -> list[_Event]:
    """The deal events of one sentence; ``subject``: the company "it" and "the company" stand for."""
    text = sentence.text
    events = list(_acquisitions(sentence, index))
    for start, end, amount in sentence.amounts:  # "a $50 million investment in Tripo AI"
        after = _AFTER_AMOUNT.match(text[end : end + WINDOW])
        if amount.kind == "deal" and after and (company := name_after(text, end + after.end())):
            events.append(_Event(company, index, start, amount))
    lowered = text.lower()
    nouns = bool(sentence.cue("noun")) or any(ending in lowered for ending in GERMAN_DEAL_NOUN_ENDS)
    noun_events = []
    if nouns:
        for m in _NOUN_IN.finditer(text):
            if company := name_after(text, m.end()):
                noun_events.append(_Event(company, index, m.start()))
    events += noun_events
    for start, end, word in sentence.cue("invest"):  # "Alibaba led a round in PixVerse"
        into = _INTO.search(text, end, min(len(text), end + 90)) or _ROUND_OF.match(text, end, min(len(text), end + 90))
        if into and not _BY.match(text, end) and (company := name_after(text, into.end())):  # not "led by A on …"
            event = _Event(company, index, start)
            investors = list_before(_INTENT.sub("", text[max(0, start - WINDOW) : start]))  # "A and B invest"
            # They lead when they lead the round or put in the sum: "Disney to invest $1 billion in OpenAI"
            sums = any(a.kind == "deal" and end <= at < into.start() for at, _, a in sentence.amounts)
            if word in _MONEY_VERBS and not sums:
                continue  # "put trucks on the road": only "put $500m into X" is an investment
            event.add(investors, []) if word in LED_WORDS or sums else event.add([], investors)
            events.append(event)
        elif (
            word in LED_WORDS  # "Orvell led Pelican's $40M round"
            and (owner := _OWNER_OF.match(text, end))
            and (company := name_after(owner.group(1), 0))
        ):
            events.append(_Event(company, index, start, leads=list_before(text[max(0, start - WINDOW) : start])))
    for start, end, _ in sentence.cue("announce"):  # "Pelican announced a $40 million Series A"
        sums = any(a.kind == "deal" and end <= at <= end + 12 for at, _, a in sentence.amounts)  # "announced a $40M"
        if (sums or _ANNOUNCED_DEAL.match(text, end)) and (company := name_before(text, start)):
            events.append(_Event(company, index, start))
    for start, end, _ in sentence.cue("direct"):  # "SoftBank in talks to back Skild AI", not "backed by a16z"
        if not _INTO.match(text, end) and not _BY.match(text, end) and (company := name_after(text, end)):
            event = _Event(company, index, start)  # the backers named before: "SoftBank, Nvidia in talks to back"
            event.add([], list_before(_INTENT.sub("", text[max(0, start - WINDOW) : start])))
            events.append(event)
    for _, end, _ in sentence.cue("spin_out"):  # "Niantic spins out Niantic Spatial with $250 million"
        if company := name_after(text, end):
            events.append(_Event(company, index, end))
    if "への" in text:  # AがXへの…出資: A invests in X
        for m in _JAPANESE_INTO.finditer(text):
            if company := name_after(m.group(1), 0):
                event = _Event(company, index, m.start(1))
                before = text[: m.start(1)].rstrip("、, ")  # "ソフトバンクG、米Skild AIへの…"
                investor = name_before(before, len(before))
                event.add([investor] if investor else [], [])
                events.append(event)
    if _HANGUL.search(text):
        for m in _KOREAN_INTO.finditer(text):
            if company := name_after(m.group(1), 0):
                events.append(_Event(company, index, m.start()))
    taken = {n for e in events for n in (*e.leads, *e.investors)}
    raised = []  # "X raises", after the events above: their company is surer ("A verhandelt über Investition in X")
    for start, _, _ in sentence.cue("raise"):
        company = (subject if subject and _pronoun_before(text, start) else None) or name_before(text, start)
        if company and company not in taken:
            raised.append(_Event(company, index, start))
    for m in _NOUN_FOR.finditer(text) if nouns else ():
        if company := name_after(text, m.end()):
            raised.append(_Event(company, index, m.start()))
    for event in list(raised):  # "Tether verhandelt über einen Einstieg bei Neura": Tether invests, Neura raises
        stake = next((n for n in noun_events if n.at > event.at and not _same(n.company, event.company)), None)
        if stake is not None and sentence.cue("in_talks"):
            stake.add([event.company], [])
            raised.remove(event)
    surer = _merged(events, sentence)
    return surer + [e for e in _merged(raised, sentence) if not any(_same(e.company, o.company) for o in surer)]


def _pronoun_before(text: str, at: int) -> bool:
    """Whether the subject of a verb at ``at`` is "it" or "the company", also before an appositive
    ("The startup, which builds world models, raised")."""
    return is_pronoun(words_before(text, at), sentence_start=at <= WINDOW)


def _merged(events: list[_Event], sentence: Sentence) -> list[_Event]:
    """One event per company, by first mention, with everything the mentions say; amounts go to
    the nearest event after which they stand."""
    by_company: dict[str, _Event] = {}
    for event in sorted(events, key=lambda e: e.at):
        kept = next((k for k in by_company.values() if _same(k.company, event.company)), None)
        if kept is None:
            by_company[key(event.company)] = event
            continue
        kept.amount = kept.amount or event.amount
        kept.add(event.leads, event.investors)
        kept.acquisition = kept.acquisition or event.acquisition
    merged = list(by_company.values())
    claimed = {id(e.amount) for e in merged if e.amount}
    for event in merged:
        if event.amount is None:
            event.amount = next(
                (a for s, _, a in sentence.amounts if s >= event.at and a.kind == "deal" and id(a) not in claimed),
                None,
            )
            claimed.add(id(event.amount))
    return merged


def _owner(events: Sequence[_Event], index: int, at: int) -> _Event | None:
    """The event investors named at ``at`` in sentence ``index`` belong to: the nearest in the
    sentence, else the last one before it ("TAL and Baidu also took part.")."""
    here = [e for e in events if e.sentence == index]
    if here:
        return min(here, key=lambda e: abs(e.at - at))
    earlier = [e for e in events if e.sentence < index]
    return earlier[-1] if earlier else None


# --- the card ----------------------------------------------------------------------------------------------


def extract_deals(
    title: str,
    summary: str,
    content: str,
    rates: Mapping[str, float] = DEFAULT_RATES_USD,
    min_usd: float = DEAL_FLOOR_USD,
    companies: Companies | None = None,
) -> tuple[Deal | None, tuple[Deal, ...]]:
    """The principal deal of a story (None when it reports none) and the deals it mentions in passing.
    ``companies``: the company list, whose canonical names the card reports."""
    read = sentences(title, summary, content, rates, min_usd)
    known_subject, leading = title_subject(title, companies)
    events: list[_Event] = []
    for index, sentence in enumerate(read):
        subject = known_subject or (events[0].company if events else None) or leading
        events += _events(sentence, index, subject)
    story = "\n".join(s.text for s in read)
    for event in events:
        event.company, event.written = as_written(event.company, companies, story), event.company
    events = _with_subject_first(events, read, known_subject or leading, companies)
    if not events:
        return None, ()
    for index, sentence in enumerate(read):
        on_money = about_money(sentence) or (index > 0 and about_money(read[index - 1]))
        for at, lead, found in investor_lists(sentence, on_money):
            if (owner := _owner(events, index, at)) and not (sentence.past and owner.sentence != index):  # 2024
                owner.add(found, []) if lead else owner.add([], found)
    principal = _principal(events, read)
    for event in events:
        event.leads = list(one_per_company(event.leads, companies))
        event.investors = list(one_per_company(event.investors, companies))
    listed: list[_Event] = []
    for event in events:
        if event is principal or _same(event.company, principal.company) or event.amount is None:
            continue
        if _same_sum(principal.amount, event.amount):
            continue  # the story's own sum written again, e.g. in dollars after yuan
        if not any(_same_sum(o.amount, event.amount) and _same(event.company, o.company) for o in listed):
            listed.append(event)
    return _deal(principal, read, principal=True), tuple(_deal(e, read, principal=False) for e in listed)


def _with_subject_first(
    events: list[_Event], sentences: Sequence[Sentence], subject: str | None, companies: Companies | None
) -> list[_Event]:
    """The events with the principal one first. That is the title's, unless what the title's verb
    follows is no known company and is named nowhere else ("Robot-Brain Startup Lands New Backing",
    "Adds Funding in Hollywood Push"): then the first event of the company the title is about. A
    story whose grammar yields no event is about that company ("Skild AI emerges with $300M")."""
    if not subject:
        return events
    in_title = [e for e in events if sentences[e.sentence].part == "title"]
    if in_title and (known(in_title[0].company, companies) or _named_elsewhere(in_title[0].company, sentences)):
        return events
    if not in_title and events:
        return events if not any(_same(e.company, subject) for e in events) else _first(events, subject)
    if in_title:
        return _first(events, subject)
    about_money = any(a.kind in ("deal", "valuation") for s in sentences for _, _, a in s.amounts)
    # a round named near the top, but not a takeover it only recalls ("issu du rachat de Pollen Robotics")
    rounds = [s.round for s in sentences if s.round and s.part != "content"]
    about_a_round = any(round_name(r) != "acquisition" for r in rounds)
    return [_Event(subject, 0, 0)] if about_money or about_a_round else []


def _first(events: list[_Event], company: str) -> list[_Event]:
    chosen = next((e for e in events if _same(e.company, company)), None)
    return events if chosen is None else [chosen, *(e for e in events if e is not chosen)]


def _named_elsewhere(name: str, sentences: Sequence[Sentence]) -> bool:
    folded = name.casefold()
    return any(folded in s.text.casefold() for s in sentences if s.part != "title")


def _principal(events: list[_Event], sentences: Sequence[Sentence]) -> _Event:
    """The title's deal, else the first one, with what later mentions of the company say. Without
    an amount of its own it takes the first deal amount no other event claims in the title, then the
    summary, then an amount of the same company's later mention, then the body's first free one.
    An event found outside the title takes a free amount of the title even when it has its own
    ("Figure hits $39 billion valuation after raising over $1 billion" / "…when it raised $675 million")."""
    first, same = events[0], [e for e in events[1:] if _same(e.company, events[0].company)]
    for event in same:
        first.add(event.leads, event.investors)
        first.acquisition = first.acquisition or event.acquisition
    claimed = {id(e.amount) for e in events if e.amount is not None}
    free = {
        part: [a for s in sentences if s.part == part for _, _, a in s.amounts]
        for part in ("title", "summary", "content")
    }
    candidates = [
        *(a for part in ("title", "summary") for a in free[part] if a.kind == "deal" and id(a) not in claimed),
        *(e.amount for e in same if e.amount is not None),
        *(a for a in free["content"] if a.kind == "deal" and id(a) not in claimed),
    ]
    in_title = [a for a in free["title"] if a.kind == "deal" and id(a) not in claimed]
    if in_title and sentences[first.sentence].part != "title" and not _same_sum(first.amount, in_title[0]):
        first.amount = in_title[0]  # the headline's sum is the story's deal
    first.amount = _most_telling(first.amount or next(iter(candidates), None), sentences)
    return first


def _same_sum(a: Amount | None, b: Amount) -> bool:
    """ "2 billion yuan ($290 million)" and "$290M" are one sum (each amount is shown once)."""
    if a is None:
        return False
    if (a.currency, a.value) == (b.currency, b.value):
        return True
    return a.usd is not None and b.usd is not None and abs(a.usd - b.usd) <= 0.02 * max(a.usd, b.usd)


def _most_telling(amount: Amount | None, sentences: Sequence[Sentence]) -> Amount | None:
    """The fullest mention of the same sum: "2 billion yuan ($290 million)" for "2 billion yuan"."""
    if amount is None:
        return None
    same = [a for s in sentences for _, _, a in s.amounts if (a.currency, a.value) == (amount.currency, amount.value)]
    return max(same, key=lambda a: len(a.text), default=amount)


def _deal(event: _Event, sentences: Sequence[Sentence], principal: bool) -> Deal:
    """The card of ``event``: a deal mentioned in passing takes its round and valuation from its own
    sentence only; the principal one from the title and the sentences around it, then the rest
    but those about an earlier deal ("previously raised a Series A", "2024年末に…調達していた")."""
    own = sentences[event.sentence]
    nearby = [*(s for s in sentences if s.part == "title"), own, *sentences[event.sentence + 1 : event.sentence + 2]]

    def searched() -> Iterator[Sentence]:
        yield from nearby if principal else (own,)
        yield from (s for s in sentences if not s.past) if principal else ()

    valuation = next((a.usd for s in searched() for _, _, a in s.amounts if a.kind == "valuation"), None)
    found = next((s.round for s in searched() if s.round), None)
    amount = event.amount
    return Deal(
        company=event.company,
        amount=amount.text if amount else None,
        amount_usd=amount.usd if amount else None,
        currency=amount.currency if amount else None,
        round="acquisition" if event.acquisition else round_name(found) if found else None,
        lead_investors=tuple(event.leads),
        investors=tuple(n for n in event.investors if n not in event.leads),
        valuation_usd=valuation,
        status="in_talks" if any(s.cue("in_talks") for s in nearby) else "closed",
    )
