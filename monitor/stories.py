"""Item identity and the story decision. Pure: the store's answers are passed in.

Identity
--------
An item has up to three keys: its canonical URL (``url:``; tracking parameters, fragment,
default port and trailing slash dropped by ``intake.normalise``, aggregator redirect links
unwrapped first by ``intake.links``), its GUID within its feed (``guid:FEED:``) and the
fingerprint of its normalised title and text (``fp:``). An item is *known*, and never alerts
again, when any key its feed's policy uses is stored: so not after a restart, not when a feed
re-publishes or edits an entry (the URL or GUID still match), not when two feeds carry the same
article (the URL or the words match). Which keys a feed's items use is its ``identity`` policy:

- ``guid``: GUID and fingerprint (for feeds whose links are not unique, e.g. all to one page);
- ``link``: canonical URL and fingerprint (for feeds whose GUIDs mean nothing);
- ``content``: the fingerprint only;
- ``auto`` (the default): all three, until the feed shows that its GUIDs are unstable: when
  ``GUID_CHANGES_TO_DISTRUST`` of its links came back under a GUID other than the one first seen
  with them, the feed is treated as ``link`` from then on. (Feeds that number their entries give
  a new item an old GUID; trusting it would drop the item.)
A policy's first usable key, in the order guid, url, fingerprint (auto: url, guid, fingerprint),
names the item in the store.

Some feeds give a new article the GUID of another one (a CMS that gives every entry one id, or
recycles ids). An edit keeps an article's link, its title or its text: so when an item's GUID
belongs to a stored item (or to an earlier item of the same poll) whose canonical URL, folded
title and folded text all differ from the item's (the text counts while retention keeps it), the
GUID was reused, and the item's GUID key becomes
``guid:FEED:GUID#URL`` (``#fp:FINGERPRINT`` without a link): a new article, known by that key
from then on.

Stories
-------
A matched item either joins an open story (one opened within ``[monitor] story_window``) or
opens its own. It joins the open story with the best ``score``, at least ``SAME_STORY``, against
an item of that story from another outlet (an outlet's own items never join each other: a story
is what several outlets report). The score of two items is made of what the rule engine found
(companies and amounts) and how alike their words are:

- different deals: when both titles announce a deal and both have a headline amount (the deal
  sums in the title, else the first one in the text; valuations, market caps and revenue do not
  count) and one's is not among the other's amounts, they are different stories;
- titles that share no word are different stories (a weekly round-up is not the deal it lists);
- otherwise the score is the Jaccard similarity of their content words (title and the first
  ``MAX_WORDS`` words of text), plus up to ``COMPANY_BONUS`` for shared companies (the share of
  the smaller company list that the other one has), plus ``AMOUNT_BONUS`` for a shared headline
  amount, minus ``DEAL_PENALTY`` when only one of the two titles announces a deal (an amount or
  a word such as "raises", "funding", "Series B", "IPO": a product launch and a funding round of
  the same company are two stories).
Amounts are the same when they are in the same currency and within 1 %, or converted to USD and
within 7 % (approximate exchange rates). Two deals by one investor on one day, like $60 million
for PixVerse and $50 million for Tripo AI, differ in their headline amounts and stay apart.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.matching.text import fold
from monitor.model import Amount, Item, JoinStory, KeyOwner, Match, OpenStory, StoryDecision
from monitor.settings import IdentityPolicy

GUID_CHANGES_TO_DISTRUST = 2
MAX_WORDS = 200
SAME_STORY = 0.3
COMPANY_BONUS = 0.15
AMOUNT_BONUS = 0.2
DEAL_PENALTY = 0.15
SAME_CURRENCY_TOLERANCE = 0.01
USD_TOLERANCE = 0.07

# --- identity -----------------------------------------------------------------------------------


def url_key(item: Item) -> str | None:
    return "url:" + item.url if item.url else None


def guid_key(item: Item) -> str | None:
    return f"guid:{item.feed}:{item.guid}" if item.guid else None


def identity_keys(item: Item, policy: IdentityPolicy = "auto", trust_guid: bool = True) -> tuple[str, ...]:
    """The keys that identify ``item`` under its feed's policy, the one naming it first."""
    wanted: tuple[str | None, ...]
    if policy == "auto":
        wanted = (url_key(item), guid_key(item) if trust_guid else None)
    elif policy == "guid":
        wanted = (guid_key(item),) if item.guid else (url_key(item),)
    elif policy == "link":
        wanted = (url_key(item),)
    else:
        wanted = ()
    return (*(key for key in wanted if key), "fp:" + item.fingerprint)


def reused_guid_key(item: Item) -> str:
    """The GUID key of an item whose GUID another article had first."""
    return f"{guid_key(item)}#{'url:' + item.url if item.url else 'fp:' + item.fingerprint}"


def same_article(item: Item, title: str, url: str | None, text: str) -> bool:
    """Whether ``item`` is the article stored with ``title``, ``url`` and ``text`` under its GUID:
    it kept its link, its title or its text (case, spacing and dashes aside)."""
    return item.url == url or fold(item.title) == fold(title) or (bool(text) and fold(item.content) == fold(text))


def separate_reused_guids(
    identified: Sequence[tuple[Item, tuple[str, ...]]], owners: Mapping[str, KeyOwner]
) -> tuple[list[tuple[Item, tuple[str, ...]]], int]:
    """The items of one poll with their keys, the GUID key of each item whose GUID names another
    article (stored, as ``owners`` says, or earlier in the poll) replaced by ``reused_guid_key``;
    and how many were."""
    first = {key: (o.title, o.url, o.text) for key, o in owners.items() if key.startswith("guid:")}
    result, reused = [], 0
    for item, keys in identified:
        guid = guid_key(item)
        if guid in keys and not same_article(item, *first.setdefault(guid, (item.title, item.url, item.content))):
            keys = tuple(reused_guid_key(item) if key == guid else key for key in keys)
            reused += 1
        result.append((item, keys))
    return result, reused


def guid_changes(feed: str, items: Iterable[Item], owners: Mapping[str, KeyOwner]) -> set[str]:
    """Links of ``feed`` that come back under a GUID other than the one stored with them.

    ``owners`` is ``Store.key_owners`` for the URL, GUID and reused GUID keys of ``items``. An
    item stored under its reused GUID key kept its GUID.
    """
    changed = set()
    for item in items:
        url, guid = url_key(item), guid_key(item)
        if not (url and guid and url in owners and owners[url].feed == feed):
            continue
        item_key = owners[url].item_key
        under = {owner.item_key for key in (guid, reused_guid_key(item)) if (owner := owners.get(key))}
        if item_key not in under:
            changed.add(url.removeprefix("url:"))
    return changed


def trusts_guids(changed_links: int) -> bool:
    """An auto feed keeps using GUIDs until this many of its links changed GUID."""
    return changed_links < GUID_CHANGES_TO_DISTRUST


# --- stories ------------------------------------------------------------------------------------

# A title with an amount or one of these words announces a deal (a round, an investment, an IPO,
# an acquisition); other stories (a product launch, a paper) have no headline amount.
_DEAL_WORDS = re.compile(
    r"\b(rais\w*|fund\w*|round|invest\w*|backs|valu\w*|series [a-h]\b|seed|ipo|listing|acqui\w*|buys|"
    r"buyout|stake|financ\w*|bets?)\b"
)
_STOPWORD_TEXT = (
    "a an the and or of to in on for with by from at as is are was were be been being its it this that "
    "these those which who whom whose will would can could has have had their his her they them we you "
    "i not but than then into over more most about also after before new says said say while just"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def words(text: str) -> list[str]:
    """Content words: Unicode-folded, stop words and one-letter words dropped."""
    return [w for w in re.findall(r"\w+", fold(text)) if len(w) > 1 and w not in _STOPWORDS]


@dataclass(frozen=True, slots=True)
class Money:
    value: float
    currency: str
    usd: float | None

    def same_as(self, other: Money) -> bool:
        if self.currency == other.currency:
            return abs(self.value - other.value) <= SAME_CURRENCY_TOLERANCE * max(self.value, other.value)
        if self.usd is None or other.usd is None:
            return False
        return abs(self.usd - other.usd) <= USD_TOLERANCE * max(self.usd, other.usd)


@dataclass(frozen=True, slots=True)
class StoryFeatures:
    """What the story decision compares, kept with each item of an open story."""

    feed: str  # the outlet
    title_words: frozenset[str]
    words: frozenset[str]
    companies: frozenset[str]
    amounts: tuple[Money, ...]
    heads: tuple[Money, ...]  # the headline deal sums: those in the title, else the first one
    deal: bool  # the title announces a deal

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form (word sets as one string each: quicker to read back than lists)."""
        return {
            "feed": self.feed,
            "title_words": " ".join(sorted(self.title_words)),
            "words": " ".join(sorted(self.words)),
            "companies": sorted(self.companies),
            "amounts": [[m.value, m.currency, m.usd] for m in self.amounts],
            "heads": [self.amounts.index(m) for m in self.heads],
            "deal": self.deal,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoryFeatures:
        amounts = tuple(Money(v, c, u) for v, c, u in data["amounts"])
        return cls(
            feed=data["feed"],
            title_words=frozenset(data["title_words"].split()),
            words=frozenset(data["words"].split()),
            companies=frozenset(data["companies"]),
            amounts=amounts,
            heads=tuple(amounts[i] for i in data["heads"]),
            deal=data["deal"],
        )


def _distinct(amounts: Iterable[Amount]) -> list[tuple[Amount, Money]]:
    found: list[tuple[Amount, Money]] = []
    for amount in amounts:
        money = Money(amount.value, amount.currency, amount.usd)
        if not any(money.same_as(seen) for _, seen in found):
            found.append((amount, money))
    return found


def features(item: Item, matches: Sequence[Match]) -> StoryFeatures:
    """The story features of a matched item, from its text and its matches' explanations."""
    companies = frozenset(name for m in matches for name in m.explanation.companies)
    amounts = _distinct(a for m in matches for a in m.explanation.amounts)
    title = unicodedata.normalize("NFKC", item.title).casefold()
    in_title = [money for amount, money in amounts if amount.text.casefold() in title]
    deal = bool(in_title) or bool(_DEAL_WORDS.search(title))
    sums = [(amount, money) for amount, money in amounts if amount.kind == "deal"]  # not valuations
    heads = ([m for a, m in sums if a.text.casefold() in title] or [m for _, m in sums[:1]]) if deal else []
    text = item.content if item.content.startswith(item.summary) else f"{item.summary} {item.content}"
    title_words = words(item.title)
    return StoryFeatures(
        feed=item.feed,
        title_words=frozenset(title_words),
        words=frozenset(title_words + words(text)[:MAX_WORDS]),
        companies=companies,
        amounts=tuple(money for _, money in amounts),
        heads=tuple(heads),
        deal=deal,
    )


def _among(these: Iterable[Money], those: Iterable[Money]) -> bool:
    return any(a.same_as(b) for a in these for b in those)


def score(a: StoryFeatures, b: StoryFeatures) -> float:
    """How likely two items tell the same story, 0 when something says they do not."""
    if a.heads and b.heads and not (_among(a.heads, b.amounts) and _among(b.heads, a.amounts)):
        return 0.0  # different deals
    if a.title_words.isdisjoint(b.title_words):
        return 0.0
    union = len(a.words | b.words)
    value = len(a.words & b.words) / union if union else 0.0
    if a.companies and b.companies:
        value += COMPANY_BONUS * len(a.companies & b.companies) / min(len(a.companies), len(b.companies))
    if _among(a.heads, b.heads):
        value += AMOUNT_BONUS
    if a.deal != b.deal:
        value -= DEAL_PENALTY
    return max(value, 0.0)


@dataclass(frozen=True, slots=True)
class OpenStoryView:
    """An open story as the decision sees it: its id and the features of each of its items."""

    story_id: int
    members: tuple[StoryFeatures, ...]


def open_story_views(rows: Iterable[tuple[int, Mapping[str, Any]]]) -> list[OpenStoryView]:
    """``Store.open_stories`` rows -> one view per story."""
    members: dict[int, list[StoryFeatures]] = {}
    for story_id, data in rows:
        members.setdefault(story_id, []).append(StoryFeatures.from_json(data))
    return [OpenStoryView(story_id, tuple(found)) for story_id, found in members.items()]


def with_member(views: Sequence[OpenStoryView], story_id: int, data: Mapping[str, Any]) -> list[OpenStoryView]:
    """The views after an item (features ``data``) was stored in story ``story_id``."""
    added = StoryFeatures.from_json(data)
    if not any(view.story_id == story_id for view in views):
        return [*views, OpenStoryView(story_id, (added,))]
    return [
        OpenStoryView(view.story_id, (*view.members, added)) if view.story_id == story_id else view for view in views
    ]


def decide(item: StoryFeatures, open_stories: Sequence[OpenStoryView]) -> StoryDecision:
    """Join the open story that scores best against an item of another outlet, at least
    ``SAME_STORY``; else open a new one."""
    best, best_score = None, SAME_STORY
    for story in open_stories:
        for member in story.members:
            if member.feed == item.feed:
                continue  # an outlet's own articles are not "also reported by" it
            value = score(item, member)
            if value >= best_score:
                best, best_score = story.story_id, value
    return JoinStory(best) if best is not None else OpenStory()
