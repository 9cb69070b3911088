"""The imperative shell: poll feeds, decide, store, deliver. Sequencing and transactions only.

Each stage is a plain function over typed values (``intake``, ``matching``, ``stories``,
``delivery``); this module moves their results through the store and emits one domain event per
unit of work. A feed's failure is a value recorded for that feed; anything unexpected is a bug
and propagates.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from monitor import events, stories
from monitor.clock import Clock, SystemClock
from monitor.config import Config
from monitor.delivery import Notifier, alert_destination, build_notifiers, dispatch, webhook
from monitor.delivery.console import alert_text
from monitor.delivery.dispatch import FOLLOW_UP_WAIT as FOLLOW_UP_WAIT  # re-exported
from monitor.delivery.dispatch import DeliveryReport
from monitor.delivery.render import alert_payload
from monitor.intake import fulltext, links
from monitor.intake import schedule as health
from monitor.intake.fetch import fetch_many
from monitor.intake.normalise import canonical_url
from monitor.intake.prepare import MAX_BACKLOG, Prepared, Preparer
from monitor.matching import RuleSet, load_rules
from monitor.model import (
    Alert,
    Delivered,
    FeedNotice,
    FeedState,
    Fetched,
    FetchFailed,
    FetchResult,
    Item,
    Match,
    NewItem,
    NotModified,
    OpenStory,
    Outgoing,
    PollOutcome,
    Recorded,
    RetryAt,
    highest,
)
from monitor.settings import FeedConfig
from monitor.store import Store, open_store

log = logging.getLogger("monitor.pipeline")

OUTCOME_BATCH = 200  # poll outcomes written per transaction


@dataclass(frozen=True)
class Runtime:
    """What every step needs: one config snapshot with its rules and notifiers, and the process's
    edges (store, clock, bus). Immutable: a reload builds a new one (``Live.swap``), and a job
    takes the current one once, at its start, so a poll never mixes two configs."""

    config: Config
    store: Store
    rules: RuleSet
    clock: Clock = field(default_factory=SystemClock)
    bus: events.EventBus = field(default_factory=events.EventBus)
    notifiers: Mapping[str, Notifier] = field(default_factory=dict)
    # Held while one feed's items are matched, given their story and stored: the daemon polls
    # feeds from several scheduler threads, and story decisions must not interleave.
    settling: threading.Lock = field(default_factory=threading.Lock)

    def close(self) -> None:
        for notifier in self.notifiers.values():
            if isinstance(notifier, webhook.WebhookNotifier):
                notifier.close()
        self.store.close()


class Live:
    """The daemon's current runtime: one reference, replaced whole by a reload."""

    def __init__(self, runtime: Runtime) -> None:
        self.current = runtime

    def swap(self, config: Config, rules: RuleSet, notifiers: Mapping[str, Notifier]) -> Runtime:
        """Jobs already running keep the runtime they took; the next ones take this one."""
        self.current = replace(self.current, config=config, rules=rules, notifiers=notifiers)
        return self.current


def open_runtime(config: Config, clock: Clock | None = None, deliver: bool = True) -> Runtime:
    """Load rules, open the store, build notifiers. Raises MonitorError subclasses."""
    rules = load_rules(config.rules_path, rates=config.money.rates)
    notifiers = build_notifiers(config) if deliver else {}
    store = open_store(config.database)
    store.feeds.sync(config.feeds)
    return Runtime(config=config, store=store, rules=rules, clock=clock or SystemClock(), notifiers=notifiers)


# --- polling ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PollReport:
    feed: str
    status: str  # ok | not_modified | error
    new_items: int = 0
    matched: int = 0
    alerts: int = 0
    error: str | None = None


def poll_cycle(rt: Runtime, feeds: Sequence[FeedConfig] | None = None, dry_run: bool = False) -> list[PollReport]:
    """Poll every feed once (or the given ones). Fetching runs concurrently and, in a large cycle,
    parsing runs in a worker process; each feed's items are then matched, given their story and
    stored one feed at a time in this thread, in the order the feeds finish, so story decisions
    never race. Poll outcomes (validators, health, next check) are written in batches; a crash
    before a batch is written only means those feeds are fetched again. Finally the feed health
    announcements are sent."""
    if feeds is None:
        feeds = list(rt.config.feeds)
        states = {s.name: s for s in rt.store.feeds.states()}
        known = [states.get(feed.name) or FeedState(feed.name, feed.url) for feed in feeds]
    else:  # the daemon's one feed per job: its own row, not the whole table
        known = [rt.store.feeds.state(feed.name) or FeedState(feed.name, feed.url) for feed in feeds]
    reports: dict[int, PollReport] = {}
    waiting: dict[int, tuple[Fetched, str]] = {}  # (response without its body, body hash) per feed
    outcomes: list[tuple[int, PollOutcome, datetime]] = []

    def settle(
        index: int, fetched: FetchResult, body_hash: str | None, prepared: Prepared | FetchFailed | None = None
    ) -> None:
        now = rt.clock.now()
        with rt.settling:
            reports[index], outcome = _settle(
                rt, feeds[index], known[index], fetched, prepared, body_hash, now, dry_run
            )
        outcomes.append((index, outcome, now))
        if len(outcomes) >= OUTCOME_BATCH:
            record()

    def record() -> None:
        if not dry_run:
            rt.store.feeds.record_polls([(feeds[i].name, outcome, now) for i, outcome, now in outcomes])
            for i, outcome, _ in outcomes:
                if (event := _health_event(feeds[i], known[i], outcome)) is not None:
                    rt.bus.emit(event)
        outcomes.clear()

    requests = [(state.url or feed.url, state) for feed, state in zip(feeds, known, strict=True)]
    with Preparer(len(feeds), backlog=min(rt.config.fetch.concurrency, MAX_BACKLOG)) as preparer:
        for index, result in fetch_many(requests, rt.config.fetch):
            body_hash = hashlib.sha256(result.body).hexdigest() if isinstance(result, Fetched) else None
            if body_hash is None or body_hash == known[index].body_hash:
                settle(index, result, None)  # not modified, unchanged (same hash) or failed
                continue
            waiting[index] = (replace(result, body=b""), body_hash)  # the preparer has the body
            for done, prepared in preparer.submit((index, result, feeds[index].name, rt.clock.now())):
                settle(done, *waiting.pop(done), prepared)
        for done, prepared in preparer.drain():
            settle(done, *waiting.pop(done), prepared)
    record()
    if not dry_run:
        deliver_notices(rt)
    return [reports[i] for i in range(len(feeds))]


def poll_feed(rt: Runtime, feed: FeedConfig, dry_run: bool = False) -> PollReport:
    return poll_cycle(rt, [feed], dry_run=dry_run)[0]


def _settle(
    rt: Runtime,
    feed: FeedConfig,
    state: FeedState,
    result: FetchResult,
    prepared: Prepared | FetchFailed | None,
    body_hash: str | None,
    now: datetime,
    dry_run: bool,
) -> tuple[PollReport, PollOutcome]:
    """One feed's fetch (and parse) result -> its items stored; its report and poll outcome."""
    started = time.monotonic()
    hints: tuple[timedelta | None, ...] = (None if isinstance(result, FetchFailed) else health.max_age(result.headers),)
    if isinstance(result, Fetched) and prepared is None:
        result = NotModified(result.url, result.headers)  # the same body as last time
    elif isinstance(prepared, FetchFailed):
        result = prepared
    elif isinstance(prepared, Prepared):
        hints = (*hints, prepared.ttl)
        report = _take_items(rt, feed, _first_poll_cutoff(rt, state, now), prepared.items, now, dry_run)
    if isinstance(result, NotModified):
        report = PollReport(feed.name, "not_modified")
    if isinstance(result, FetchFailed):
        report = PollReport(feed.name, "error", error=f"{result.kind}: {result.message}")
        outcome = _failed(rt, feed, state, result, now)
    else:
        outcome = PollOutcome(
            status="ok" if isinstance(result, Fetched) else "not_modified",
            etag=result.headers.get("etag"),
            last_modified=result.headers.get("last-modified"),
            body_hash=body_hash,
            new_url=result.final_url if isinstance(result, Fetched) and result.permanent_redirect else None,
            next_check_at=health.next_check_ok(now, feed.interval, hints, rt.config.fetch),
            health="ok",
            notice=_notice(rt, feed, state.health, "ok", None),
        )
    if (event := _health_event(feed, state, outcome)) is not None:  # its webhook rows go with the outcome
        outcome = replace(outcome, events=webhook.event_rows(rt.config.webhooks, event, now))
    rt.bus.emit(
        events.FeedPolled(
            feed.name, report.status, report.new_items, report.error, round(time.monotonic() - started, 3)
        )
    )
    return report, outcome


def _failed(rt: Runtime, feed: FeedConfig, state: FeedState, failure: FetchFailed, now: datetime) -> PollOutcome:
    error = f"{failure.kind}: {failure.message}"
    after = health.health_after(True, state.failing_since, now, rt.config.fetch)
    return PollOutcome(
        status="error",
        error=error,
        next_check_at=health.next_check_failed(
            now, feed.interval, state.consecutive_failures, failure.retry_after, rt.config.fetch
        ),
        health=after,
        notice=_notice(rt, feed, state.health, after, error),
    )


def _notice(rt: Runtime, feed: FeedConfig, before: str, after: health.Health, error: str | None) -> FeedNotice | None:
    channel = rt.config.slack.ops_channel if rt.config.slack else None
    text = health.announcement(feed.name, before, after, error, rt.config.fetch)
    return FeedNotice(feed.name, after, channel, text) if channel and text else None


def _health_event(feed: FeedConfig, before: FeedState, outcome: PollOutcome) -> events.Event | None:
    """The feed's change of health this poll makes, if any."""
    if outcome.health == before.health:
        return None
    if outcome.health == "ok":
        return events.FeedRecovered(feed.name)
    if outcome.health == "dead":
        return events.FeedDead(feed.name, outcome.error or "")
    if before.health == "ok":
        return events.FeedFailing(feed.name, outcome.error or "")
    return None


def deliver_notices(rt: Runtime) -> int:
    """Send the due feed-health announcements to the ops channel, all in one message; returns how
    many were sent. They wait in the store, so a Slack outage or a crash only delays them."""
    notices = rt.store.notices.due(rt.clock.now())
    notice = getattr(rt.notifiers.get("slack"), "notice", None)  # SlackNotifier.notice
    if not notices or notice is None:
        return 0
    now = rt.clock.now()
    ids = [n.id for n in notices]
    result = notice(notices[0].channel, [n.text for n in notices], max(n.attempts for n in notices), now)
    if isinstance(result, Delivered):
        rt.store.notices.mark(ids, now, None, None)
        return len(ids)
    if isinstance(result, RetryAt):
        rt.store.notices.mark(ids, now, result.when, result.reason)
    else:
        rt.store.notices.mark(ids, now, None, result.reason)
    return 0


def _first_poll_cutoff(rt: Runtime, state: FeedState, now: datetime) -> datetime | None:
    """No flood on first contact: on a feed's first good poll, older items are only remembered."""
    if state.last_ok_at is not None:
        return None
    return now - rt.config.monitor.first_poll_max_age


def _take_items(
    rt: Runtime,
    feed: FeedConfig,
    old_before: datetime | None,
    items: Sequence[Item],
    now: datetime,
    dry_run: bool,
) -> PollReport:
    """Keep the never-seen items, match them, decide their stories, store it all at once.
    Items published before ``old_before`` are stored as seen without being matched."""
    identified = _identify(rt, feed, items, now, dry_run)
    wanted = [i for i, (item, _) in enumerate(identified) if not old_before or item.published >= old_before]
    if feed.full_text:
        identified = _with_article_text(rt, feed, identified, wanted)
    fresh = [(item, keys, rt.rules.evaluate(item) if i in wanted else ()) for i, (item, keys) in enumerate(identified)]
    if dry_run:
        views = _open_story_views(rt, now)
        new_items = [_new_item(rt, item, keys, matches, views, now) for item, keys, matches in fresh]
        for new in new_items:
            if new.matches:
                print(alert_text(_preview(new)))
        return _report(feed, new_items, alerts=0)

    # Deciding a story reads the open stories and writes the item into one. Both happen under the
    # store's exclusive hold, one item after another, so items of two feeds polled at the same
    # moment (scheduler threads, or two processes) cannot both open a story for one event, and an
    # article that another feed stored meanwhile is caught by the second look at its keys.
    new_items, recorded, unmatched = [], [], []
    with rt.store.exclusive():
        known = rt.store.items.known_keys(key for _, keys, _ in fresh for key in keys)
        views = _open_story_views(rt, now) if any(matches for _, _, matches in fresh) else []
        for item, keys, matches in fresh:
            if not known.isdisjoint(keys):
                continue
            new = _new_item(rt, item, keys, matches, views, now)
            if not matches:  # no story to decide: remembered with the others in one batch below
                unmatched.append(new)
                continue
            rec = rt.store.items.record([new], now)[0]
            if rec.story_id is not None:
                views = stories.with_member(views, rec.story_id, new.story_info)
            new_items.append(new)
            recorded.append(rec)
        new_items += unmatched
        recorded += rt.store.items.record(unmatched, now)

    alerts = 0
    for new, rec in zip(new_items, recorded, strict=True):
        rt.bus.emit(events.ItemSeen(feed.name, rec.item_key, new.item.title))
        for match in new.matches:
            rt.bus.emit(events.ItemMatched(feed.name, rec.item_key, match.rule_id))
        alerts += _announce(rt, new, rec)
    return _report(feed, new_items, alerts)


def _with_article_text(
    rt: Runtime, feed: FeedConfig, identified: list[tuple[Item, tuple[str, ...]]], wanted: Sequence[int]
) -> list[tuple[Item, tuple[str, ...]]]:
    """``full_text`` feeds: the article page of each new item that will be matched, fetched through
    the fetch edge (its limits, per-host politeness and size cap), its main text taken as the
    item's content. Only new items get here, and a stored item is never new again, so each page is
    fetched once. A page that fails leaves the item as its feed gave it; the reason is logged."""
    pages = [i for i in wanted if identified[i][0].url]
    if not pages:
        return identified
    fetched = dict(fetch_many([(identified[i][0].url or "", None) for i in pages], rt.config.fetch))
    result = list(identified)
    for n, i in enumerate(pages):
        item, keys = identified[i]
        match fetched[n]:
            case Fetched(body=body, headers=headers):
                found = fulltext.article_text(body, headers.get("content-type", ""))
            case FetchFailed(kind=kind, message=message):
                found = fulltext.NoArticle(f"{kind}: {message}")
            case NotModified():
                found = fulltext.NoArticle("the server answered 304 to a request without validators")
        if isinstance(found, fulltext.ArticleText):
            result[i] = (replace(item, content=found.text), keys)
        else:
            log.info(
                "article page not used; the item is matched on what its feed gave",
                extra={
                    "fields": {"event": "ArticleSkipped", "feed": feed.name, "url": item.url, "reason": found.reason}
                },
            )
    return result


def _open_story_views(rt: Runtime, now: datetime) -> list[stories.OpenStoryView]:
    return stories.open_story_views(rt.store.items.open_stories(now - rt.config.monitor.story_window))


def _identify(
    rt: Runtime, feed: FeedConfig, items: Sequence[Item], now: datetime, dry_run: bool
) -> list[tuple[Item, tuple[str, ...]]]:
    """The items of one poll that are new, each with its identity keys (see ``stories``)."""
    unwrapped = _unwrapped(rt, items)
    trust_guid = True
    if feed.identity == "auto":
        url_and_guid = [key for item in unwrapped for key in (stories.url_key(item), stories.guid_key(item)) if key]
        changed = stories.guid_changes(feed.name, unwrapped, rt.store.items.key_owners(url_and_guid))
        if changed and not dry_run:
            rt.store.items.add_guid_changes(feed.name, changed, now)
        trust_guid = stories.trusts_guids(rt.store.items.guid_changes(feed.name) + (len(changed) if dry_run else 0))
    candidates: list[tuple[Item, tuple[str, ...]]] = []
    batch_keys: set[str] = set()
    for original, item in zip(items, unwrapped, strict=True):
        keys = stories.identity_keys(item, feed.identity, trust_guid)
        if item.url != original.url and keys[0].startswith("url:"):
            keys += (stories.url_key(original),)  # the wrapped link too: known next time without a request
        if batch_keys.isdisjoint(keys):
            candidates.append((item, keys))
            batch_keys.update(keys)
    known = rt.store.items.known_keys(batch_keys)
    return [(item, keys) for item, keys in candidates if known.isdisjoint(keys)]


def _unwrapped(rt: Runtime, items: Sequence[Item]) -> list[Item]:
    """The items with their aggregator links replaced by the publisher's URL, where that is known:
    from the link or the feed (``links.unwrap``), else by following the redirects of the links not
    stored yet, all at once under one deadline (``links.follow_many``)."""
    urls = [links.unwrap(item.url, item.guid) if links.is_wrapped(item.url) else item.url for item in items]
    opaque = {url for url in urls if url and links.is_wrapped(url)}
    if opaque:
        opaque -= {key.removeprefix("url:") for key in rt.store.items.known_keys(["url:" + url for url in opaque])}
    ends = links.follow_many(opaque, rt.config.fetch) if opaque else {}
    return [
        replace(item, url=canonical_url(ends.get(url)) or url) if links.is_wrapped(item.url) else item
        for item, url in zip(items, urls, strict=True)
    ]


def _new_item(
    rt: Runtime,
    item: Item,
    keys: tuple[str, ...],
    matches: Sequence[Match],
    views: Sequence[stories.OpenStoryView],
    now: datetime,
) -> NewItem:
    """What to store for a new item: its matches, its story and the messages to send (Slack or
    the console, and the webhooks)."""
    if not matches:
        return NewItem(item, keys)
    found = stories.features(item, matches)
    story = stories.decide(found, views)
    destination = alert_destination(rt.config)
    outgoing = tuple(
        Outgoing(
            destination,
            channel,
            _top(matches, channel).priority,
            _top(matches, channel).rule_id,
            alert_payload(item, matches),
        )
        for channel in dict.fromkeys(m.channel for m in matches if not m.digest_only)
    )
    event = "alert" if isinstance(story, OpenStory) else "follow_up"
    outgoing += webhook.outgoing(rt.config.webhooks, event, item, matches, now)
    return NewItem(item, keys, tuple(matches), story, outgoing, found.to_json())


def _announce(rt: Runtime, new: NewItem, rec: Recorded) -> int:
    """Emit the story and alert events of a recorded item; returns how many alerts it queued."""
    if rec.story_id is not None and isinstance(new.story, OpenStory):
        rt.bus.emit(events.StoryOpened(rec.story_id, new.item.title, new.item.url))
    elif rec.story_id is not None:
        rt.bus.emit(events.StoryJoined(rec.story_id, new.item.feed, new.item.title, new.item.url))
    for alert_id, out in zip(rec.alert_ids, new.outgoing, strict=False):
        rt.bus.emit(events.AlertQueued(alert_id, rec.story_id or 0, out.destination))
    return len(rec.alert_ids)


def prune(rt: Runtime) -> int:
    """Retention: drop item text older than ``[monitor] retention_days`` (identity keys, titles and
    the stories still open within ``story_window`` stay, so nothing alerts twice)."""
    now = rt.clock.now()
    monitor = rt.config.monitor
    return rt.store.items.prune(now - timedelta(days=monitor.retention_days), now - monitor.story_window)


def _top(matches: Sequence[Match], channel: str | None) -> Match:
    """The highest-priority match routed to ``channel``."""
    routed = [m for m in matches if m.channel == channel and not m.digest_only]
    return highest(routed)


def _preview(new: NewItem) -> Alert:
    top = highest(new.matches)
    return Alert(
        0,
        0,
        new.key,
        "alert" if isinstance(new.story, OpenStory) else "follow_up",
        "console",
        top.channel,
        top.priority,
        top.rule_id,
        0,
        alert_payload(new.item, new.matches),
    )


def _report(feed: FeedConfig, new_items: Sequence[NewItem], alerts: int) -> PollReport:
    matched = sum(1 for n in new_items if n.matches)
    return PollReport(feed.name, "ok", new_items=len(new_items), matched=matched, alerts=alerts)


# --- delivery -----------------------------------------------------------------------------------


def deliver_due(rt: Runtime, limit: int = 100) -> DeliveryReport:
    """Deliver the due outbox rows, paced; see ``delivery.dispatch`` for the order and the lock."""
    return dispatch.deliver_due(rt, limit)


# --- replay -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayReport:
    alerts: tuple[Alert, ...]  # what alerts (previews, oldest first); queued too when sent
    queued: int = 0


def replay(rt: Runtime, items: Iterable[Item], send: bool = False) -> ReplayReport:
    """Alert the stored ``items`` that never alerted and that the rules now match (a new rule, a
    fixed one). Without ``send`` nothing is written; with it their stories and outbox rows are
    stored in one transaction, exactly as a poll would have, for ``deliver_due`` to send."""
    now = rt.clock.now()
    chosen, recorded = [], []
    # As in a poll: each item's story is decided against the open stories and stored before the
    # next item's, under the store's exclusive hold, so two replayed items of one event share it.
    policies = {feed.name: feed.identity for feed in rt.config.feeds}
    trusted = functools.cache(lambda feed: stories.trusts_guids(rt.store.items.guid_changes(feed)))  # constant here
    with rt.store.exclusive() if send else contextlib.nullcontext():
        views = _open_story_views(rt, now)
        for item in items:
            matches = rt.rules.evaluate(item)
            if not any(not m.digest_only for m in matches):
                continue
            # the identity keys it was stored with, by its feed's policy
            keys = stories.identity_keys(item, policies.get(item.feed, "auto"), trusted(item.feed))
            chosen.append(_new_item(rt, item, keys, matches, views, now))
            if send:
                recorded.append(rt.store.items.replay([chosen[-1]], now)[0])
                views = stories.with_member(views, recorded[-1].story_id, chosen[-1].story_info)
    queued = sum(_announce(rt, new, rec) for new, rec in zip(chosen, recorded, strict=False))
    return ReplayReport(tuple(_preview(new) for new in chosen), queued)
