"""The daily digest, pure: which period is due, what it contains, and how it reads.

Periods. The digest for local day D is due at ``[digest] time`` on D in ``[monitor] timezone``
(``send_instant``). A wall time that a DST change skips is shifted forward by the gap (02:30 on a
day the clocks jump from 02:00 to 03:00 is 03:30, as Python's zoneinfo resolves it); a wall time
that occurs twice is its first occurrence. A period is named by its day, so the second 02:30 of
an autumn night is the same period and never a second digest. ``due_period`` decides, from
``now``, the last period already claimed and the grace window, whether a digest is due now; the
scheduler and the start-up catch-up both ask it.

Content. ``build`` turns the stored stories of a period into a ``Digest``: stories grouped by
priority, then by the rule that ranks them highest; each with every outlet that covered it. Only
http(s) URLs survive into a ``Digest``, and the HTML template autoescapes everything else.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from monitor.delivery.render import (
    HEADER_LIMIT,
    MAX_BLOCKS,
    SECTION_LIMIT,
    SlackMessage,
    _money,
    distinct_amounts,
    escape,
    link,
    plain,
    safe_url,
    truncate,
)
from monitor.model import PRIORITIES, FeedState, Match, Priority, StoryRecord
from monitor.textsafety import clean
from monitor.wording import plural

PRIORITY_LABEL = {"high": "High priority", "normal": "Normal priority", "low": "Low priority"}
SLACK_STORIES = 15  # the Slack summary lists this many stories, the email has them all

# --- periods --------------------------------------------------------------------------------------


def send_instant(day: date, at: time, tz: tzinfo) -> datetime:
    """The UTC instant of local time ``at`` on ``day`` (skipped times shifted forward, repeated
    times taken at their first occurrence: ``fold=0``)."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def latest_period(now: datetime, tz: tzinfo, at: time) -> date:
    """The latest local day whose send instant is not after ``now``."""
    day = now.astimezone(tz).date()
    while send_instant(day, at, tz) > now:
        day -= timedelta(days=1)
    return day


def due_period(now: datetime, tz: tzinfo, at: time, last_period: date | None, grace: timedelta) -> date | None:
    """The period whose digest should be opened now, or None.

    None when the latest period is already claimed (``last_period``: the newest scheduled period
    in the store, sent or not), or when its send time is more than ``grace`` ago (the monitor was
    down; the next digest then covers everything since the previous one, so nothing is lost).
    """
    now = now.astimezone(UTC)  # aware arithmetic within one tzinfo ignores DST offsets
    day = latest_period(now, tz, at)
    if last_period is not None and day <= last_period:
        return None
    if now - send_instant(day, at, tz) > grace:
        return None
    return day


# --- content --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outlet:
    name: str
    title: str
    url: str | None  # http(s) only


@dataclass(frozen=True, slots=True)
class DigestStory:
    story_id: int
    title: str
    url: str | None  # http(s) only
    first_seen: datetime  # in the digest's time zone
    outlets: tuple[Outlet, ...]
    also_rules: tuple[str, ...]  # other rules that matched, by name
    amounts: tuple[str, ...]
    largest_usd: str  # "$290M", or "" when no amount converts to USD
    companies: tuple[str, ...]
    terms: tuple[str, ...]
    round: str | None
    deal: str | None = None  # the deal card on one line; it stands for amounts, round and companies
    also_mentioned: str | None = None  # other deals the story mentions: "PixVerse $60M; Tripo AI $50M"


@dataclass(frozen=True, slots=True)
class RuleGroup:
    rule_id: str
    rule_name: str
    stories: tuple[DigestStory, ...]


@dataclass(frozen=True, slots=True)
class PriorityGroup:
    priority: Priority
    label: str
    rules: tuple[RuleGroup, ...]


@dataclass(frozen=True, slots=True)
class FailingFeed:
    name: str
    error: str


@dataclass(frozen=True, slots=True)
class Digest:
    title: str  # "World-model monitor"
    period: str  # the store's period key
    day: date  # the local day it is for (subject line)
    start: datetime  # covered: [start, end), in the digest's time zone
    end: datetime
    timezone: str
    groups: tuple[PriorityGroup, ...]
    alerts: int
    feeds_polled: int
    feeds_total: int
    failing: tuple[FailingFeed, ...]

    @property
    def story_count(self) -> int:
        return sum(len(r.stories) for g in self.groups for r in g.rules)

    @property
    def empty(self) -> bool:
        return self.story_count == 0

    @property
    def subject(self) -> str:
        return f"{self.title}: {plural(self.story_count, 'story', 'stories')}, {self.day.isoformat()}"

    @property
    def summary(self) -> str:
        return " · ".join(
            (
                plural(self.story_count, "story", "stories"),
                plural(self.alerts, "alert", "alerts"),
                f"{plural(self.feeds_polled, 'feed', 'feeds')} polled",
                f"{self.feeds_failing} failing",
            )
        )

    @property
    def feeds_failing(self) -> int:
        return len(self.failing)


def one_line(text: str, limit: int = 300) -> str:
    """Feed text on one line: control, bidi and zero-width characters dropped, whitespace
    collapsed, capped."""
    flat = re.sub(r"\s+", " ", clean(text)).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _rank(match: Match) -> tuple[int, str]:
    return PRIORITIES.index(match.priority), match.rule_name


def _story(record: StoryRecord, tz: tzinfo) -> tuple[Match | None, DigestStory]:
    matches = sorted(record.matches, key=_rank)
    top = matches[0] if matches else None
    outlets = tuple(
        dict.fromkeys(Outlet(one_line(i.feed, 100), one_line(i.title), safe_url(i.url)) for i in record.items)
    )
    explanations = [m.explanation for m in matches]
    amounts = distinct_amounts([a for e in explanations for a in e.amounts])
    also = [m.rule_name for m in matches if top and m.rule_id != top.rule_id]
    usd = [a.usd for a in amounts if a.usd is not None]
    carded = next((e for e in explanations if e.deal), None)
    story = DigestStory(
        story_id=record.story_id,
        title=one_line(record.title) or "(untitled)",
        url=safe_url(record.url) or next((o.url for o in outlets if o.url), None),
        first_seen=record.first_seen.astimezone(tz),
        outlets=outlets,
        also_rules=tuple(dict.fromkeys(also)),
        amounts=tuple(one_line(a.text, 120) for a in amounts),
        largest_usd=_money(max(usd)) if usd else "",
        companies=tuple(dict.fromkeys(one_line(c, 100) for e in explanations for c in e.companies)),
        terms=tuple(dict.fromkeys(one_line(t, 100) for e in explanations for t in e.terms)),
        round=next((one_line(e.round, 60) for e in explanations if e.round), None),
        deal=one_line(carded.deal.line()) if carded and carded.deal else None,
        also_mentioned=one_line("; ".join(d.short() for d in carded.other_deals)) if carded else None,
    )
    return top, story


def build(
    records: Sequence[StoryRecord],
    *,
    title: str,
    period: str,
    day: date,
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    alerts: int,
    feeds: Sequence[FeedState],
) -> Digest:
    """Group a period's stories by priority and top rule; count the feeds polled since ``start``
    and those failing now."""
    grouped: dict[Priority, dict[tuple[str, str], list[DigestStory]]] = {p: {} for p in PRIORITIES}
    for record in sorted(records, key=lambda r: (r.first_seen, r.story_id)):
        top, story = _story(record, tz)
        priority = top.priority if top else record.priority
        key = (top.rule_id, top.rule_name) if top else ("", "Other stories")
        grouped[priority].setdefault(key, []).append(story)
    groups = tuple(
        PriorityGroup(
            priority,
            PRIORITY_LABEL[priority],
            tuple(
                RuleGroup(rule_id, rule_name, tuple(stories))
                for (rule_id, rule_name), stories in sorted(rules.items(), key=lambda kv: kv[0][1].lower())
            ),
        )
        for priority, rules in grouped.items()
        if rules
    )
    return Digest(
        title=title,
        period=period,
        day=day,
        start=start.astimezone(tz),
        end=end.astimezone(tz),
        timezone=tz.key,
        groups=groups,
        alerts=alerts,
        feeds_polled=sum(1 for f in feeds if f.last_polled_at and f.last_polled_at >= start),
        feeds_total=len(feeds),
        failing=tuple(
            FailingFeed(f.name, one_line(f.last_error or "failing", 200)) for f in feeds if f.consecutive_failures > 0
        ),
    )


# --- rendering ------------------------------------------------------------------------------------


def _when(moment: datetime, day: date | None = None) -> str:
    """'07:42' on the digest's own day, else 'Sat 21 Nov 22:40'."""
    if day is not None and moment.date() == day:
        return moment.strftime("%H:%M")
    return moment.strftime("%a %d %b %H:%M")


_ENV = Environment(
    loader=PackageLoader("monitor", "templates"),
    # .html templates are escaped, the plain-text one is not (it is not HTML)
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_ENV.filters["when"] = _when


def render_html(digest: Digest) -> str:
    return _ENV.get_template("digest.html").render(d=digest)


def render_text(digest: Digest) -> str:
    return _ENV.get_template("digest.txt").render(d=digest)


def slack_summary(digest: Digest, channel: str | None) -> SlackMessage:
    """A short Slack version: the summary line and the first stories, each linked and escaped."""
    header = plain(f"{digest.title} · digest {digest.day.isoformat()}", HEADER_LIMIT)
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": header}},
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(digest.summary)}},
    ]
    listed = 0
    for group in digest.groups:
        for rule in group.rules:
            lines = [f"*{escape(rule.rule_name)}* ({escape(group.priority)})"]
            for story in rule.stories:
                if listed == SLACK_STORIES:
                    break
                outlets = ", ".join(escape(o.name) for o in story.outlets)
                lines.append(f"• {link(story.url, story.title)} — {outlets}")
                listed += 1
            if len(lines) > 1:
                text = truncate("\n".join(lines), SECTION_LIMIT)
                blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    if digest.story_count > listed:
        more = f"{digest.story_count - listed} more in the email digest"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    return SlackMessage(
        channel=channel,
        text=escape(f"{digest.subject} — {digest.summary}"),
        blocks=blocks[:MAX_BLOCKS],
        metadata={"event_type": "monitor_digest", "event_payload": {"period": digest.period}},
    )
