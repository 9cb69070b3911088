"""Polling: feeds fetched, their new items identified, matched, given their story and stored, and
each feed's outcome (validators, health, next check) recorded. Sequencing and transactions only:
the decisions are made by ``intake``, ``matching`` and ``stories``, as values.

A feed's failure is a value recorded for that feed; anything unexpected is a bug and propagates.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monitor import events, stories
from monitor.delivery import webhook
from monitor.delivery.console import alert_text
from monitor.errors import StoreError
from monitor.intake import fulltext, links
from monitor.intake import schedule as health
from monitor.intake.fetch import fetch_many
from monitor.intake.normalise import canonical_url, display_link
from monitor.intake.prepare import MAX_BACKLOG, WORKER_THRESHOLD, Prepared, Preparer
from monitor.model import (
    FeedNotice,
    FeedState,
    Fetched,
    FetchFailed,
    FetchResult,
    Item,
    KeyOwner,
    NewItem,
    NotModified,
    PollOutcome,
)
from monitor.settings import FeedConfig
from monitor.shell.delivering import deliver_notices
from monitor.shell.recording import announce, new_item, open_story_views, preview
from monitor.shell.runtime import Runtime

log = logging.getLogger("monitor.polling")

OUTCOME_BATCH = 200  # poll outcomes written per transaction
OUTCOME_SECONDS = 1.0  # ... and at least this often, so leases end and next checks are set soon


@dataclass(frozen=True)
class PollReport:
    feed: str
    status: str  # ok | not_modified | error
    new_items: int = 0
    matched: int = 0
    alerts: int = 0
    error: str | None = None


Claim = Callable[[int], Sequence[tuple[FeedConfig, FeedState]]]  # up to N due feeds, with their states


def poll_cycle(
    rt: Runtime,
    feeds: Sequence[FeedConfig] | None = None,
    dry_run: bool = False,
    claim: Claim | None = None,
    halt: threading.Event | None = None,
) -> list[PollReport]:
    """Poll every feed once (or the given ones; with ``claim``, the due feeds it hands out for as
    long as it has any: the daemon's loop). Fetching runs concurrently and, in a large cycle,
    parsing runs in a worker process; each feed's items are then matched, given their story and
    stored one feed at a time in this thread, in the order the feeds finish, so story decisions
    never race. Poll outcomes (validators, health, next check) are written in batches, at least
    every ``OUTCOME_SECONDS``; a crash before a batch is written only means those feeds are fetched
    again. Once ``halt`` is set, no new fetch starts; the feeds claimed and not fetched are given
    back. Finally the feed health announcements are sent."""
    if feeds is None and claim is None:
        feeds = list(rt.config.feeds)
    polled = list(feeds or ())
    states = {s.name: s for s in rt.store.feeds.states()} if polled else {}
    known = [states.get(feed.name) or FeedState(feed.name, feed.url) for feed in polled]
    reports: dict[int, PollReport] = {}
    waiting: dict[int, tuple[Fetched, str]] = {}  # (response without its body, body hash) per feed
    outcomes: list[tuple[int, PollOutcome, datetime]] = []
    last_record = time.monotonic()

    def more(room: int) -> list[tuple[str, FeedState | None]]:  # in the fetch thread
        assert claim is not None
        taken = claim(room)
        polled.extend(feed for feed, _ in taken)
        known.extend(state for _, state in taken)
        return [(state.url or feed.url, state) for feed, state in taken]

    def settle(
        index: int, fetched: FetchResult, body_hash: str | None, prepared: Prepared | FetchFailed | None = None
    ) -> None:
        now = rt.clock.now()
        with rt.settling:
            reports[index], outcome = _settle(
                rt, polled[index], known[index], fetched, prepared, body_hash, now, dry_run
            )
        outcomes.append((index, outcome, now))
        if len(outcomes) >= OUTCOME_BATCH or time.monotonic() - last_record >= OUTCOME_SECONDS:
            record()

    def record() -> None:
        nonlocal last_record
        last_record = time.monotonic()
        if not dry_run and outcomes:
            try:
                rt.store.feeds.record_polls([(polled[i].name, outcome, now) for i, outcome, now in outcomes])
            except StoreError as e:  # the leases run out and the feeds are polled again
                log.error("poll outcomes not stored", extra={"fields": {"event": "StoreFailed", "error": str(e)}})
            else:
                for i, outcome, _ in outcomes:
                    if (event := _health_event(polled[i], known[i], outcome)) is not None:
                        rt.bus.emit(event)
        outcomes.clear()

    requests = [(state.url or feed.url, state) for feed, state in zip(polled, known, strict=True)]
    size = len(polled) if claim is None else WORKER_THRESHOLD  # a claiming cycle runs long: parse apart
    with Preparer(size, backlog=min(rt.config.fetch.concurrency, MAX_BACKLOG)) as preparer:
        fetched = fetch_many(requests, rt.config.fetch, halt, more if claim is not None else None)
        for index, result in fetched:
            body_hash = hashlib.sha256(result.body).hexdigest() if isinstance(result, Fetched) else None
            if not isinstance(result, Fetched) or body_hash is None or body_hash == known[index].body_hash:
                settle(index, result, None)  # not modified, unchanged (same hash) or failed
                continue
            waiting[index] = (replace(result, body=b""), body_hash)  # the preparer has the body
            for done, prepared in preparer.submit((index, result, polled[index].name, rt.clock.now())):
                settle(done, *waiting.pop(done), prepared)
        for done, prepared in preparer.drain():
            settle(done, *waiting.pop(done), prepared)
    record()
    unfetched = [feed.name for i, feed in enumerate(polled) if i not in reports]
    if unfetched and not dry_run:  # halted: the claimed feeds nobody fetched go back at once
        rt.store.feeds.release(unfetched)
    if not dry_run:
        deliver_notices(rt)
    return [reports[i] for i in sorted(reports)]


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
    """One feed's fetch (and parse) result -> its items stored; its report and poll outcome. When
    the items cannot be stored (a full disk, a lost server), the poll counts as failed: its
    validators are not kept, so the feed is fetched and its items taken again once the cause is gone."""
    started = time.monotonic()
    hints: tuple[timedelta | None, ...] = (None if isinstance(result, FetchFailed) else health.max_age(result.headers),)
    report = PollReport(feed.name, "not_modified")
    match prepared:
        case FetchFailed():
            result = prepared
        case Prepared(items=items, ttl=ttl):
            hints = (*hints, ttl)
            try:
                report = _take_items(rt, feed, _first_poll_cutoff(rt, state, now), items, now, dry_run)
            except StoreError as e:
                result = FetchFailed(result.url, "store", f"the items could not be stored: {e}")
        case None if isinstance(result, Fetched):
            result = NotModified(result.url, result.headers)  # the same body as last time
    match result:
        case FetchFailed(kind=kind, message=message):
            report = PollReport(feed.name, "error", error=f"{kind}: {message}")
            outcome = _failed(rt, feed, state, result, now)
        case Fetched() | NotModified():
            outcome = PollOutcome(
                status=report.status,
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
        views = open_story_views(rt, now)
        new_items = [new_item(rt, item, keys, matches, views, now) for item, keys, matches in fresh]
        for new in new_items:
            if new.matches:
                print(alert_text(preview(new), rt.config.monitor.timezone))
        return _report(feed, new_items, alerts=0)

    # Deciding a story reads the open stories and writes the item into one. Both happen under the
    # store's exclusive hold, one item after another, so items of two feeds polled at the same
    # moment (replicas, or the daemon and `monitor poll`) cannot both open a story for one event,
    # and an article that another feed stored meanwhile is caught by the second look at its keys.
    # Items that match nothing (most of them) decide no story: they are remembered outside the
    # hold, and a key stored meanwhile by another feed is simply kept once.
    matched = [(item, keys, matches) for item, keys, matches in fresh if matches]
    new_items, recorded = [], []
    if matched:
        with rt.store.exclusive():
            known = rt.store.items.known_keys(key for _, keys, _ in matched for key in keys)
            views = open_story_views(rt, now)
            for item, keys, matches in matched:
                if not known.isdisjoint(keys):
                    continue
                new = new_item(rt, item, keys, matches, views, now)
                rec = rt.store.items.record([new], now)[0]
                if rec.story_id is not None:
                    views = stories.with_member(views, rec.story_id, new.story_info)
                new_items.append(new)
                recorded.append(rec)
    plain = [(item, keys) for item, keys, matches in fresh if not matches]
    if plain:
        known = rt.store.items.known_keys(key for _, keys in plain for key in keys)
        unmatched = [NewItem(item, keys) for item, keys in plain if known.isdisjoint(keys)]
        new_items += unmatched
        recorded += rt.store.items.record(unmatched, now)

    alerts = 0
    for new, rec in zip(new_items, recorded, strict=True):
        rt.bus.emit(events.ItemSeen(feed.name, rec.item_key, new.item.title))
        for match in new.matches:
            rt.bus.emit(events.ItemMatched(feed.name, rec.item_key, match.rule_id))
        alerts += announce(rt, new, rec)
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


def _identify(
    rt: Runtime, feed: FeedConfig, items: Sequence[Item], now: datetime, dry_run: bool
) -> list[tuple[Item, tuple[str, ...]]]:
    """The items of one poll that are new, each with its identity keys (see ``stories``)."""
    unwrapped = _unwrapped(rt, items)
    trust_guid = True
    owners: dict[str, KeyOwner] = {}  # of the keys GUIDs are checked with
    if feed.identity in ("auto", "guid"):
        asked = [stories.url_key(item) for item in unwrapped] if feed.identity == "auto" else []
        asked += [
            key for item in unwrapped if item.guid for key in (stories.guid_key(item), stories.reused_guid_key(item))
        ]
        owners = rt.store.items.key_owners(key for key in asked if key)
    if feed.identity == "auto":
        changed = stories.guid_changes(feed.name, unwrapped, owners)
        if changed and not dry_run:
            rt.store.items.add_guid_changes(feed.name, changed, now)
        trust_guid = stories.trusts_guids(rt.store.items.guid_changes(feed.name) + (len(changed) if dry_run else 0))
    keyed = []
    for original, item in zip(items, unwrapped, strict=True):
        keys = stories.identity_keys(item, feed.identity, trust_guid)
        wrapped = stories.url_key(original)
        if item.url != original.url and keys[0].startswith("url:") and wrapped:
            keys += (wrapped,)  # the wrapped link too: known next time without a request
        keyed.append((item, keys))
    keyed, reused = stories.separate_reused_guids(keyed, owners)
    candidates: list[tuple[Item, tuple[str, ...]]] = []
    batch_keys: set[str] = set()
    for item, keys in keyed:
        if batch_keys.isdisjoint(keys):
            candidates.append((item, keys))
            batch_keys.update(keys)
    known = rt.store.items.known_keys(batch_keys)
    new = [(item, keys) for item, keys in candidates if known.isdisjoint(keys)]
    if reused and (taken := sum(1 for item, keys in new if stories.reused_guid_key(item) in keys)):
        log.warning(
            "the feed gives new articles the GUID of another article; they are taken as new",
            extra={"fields": {"event": "GuidReused", "feed": feed.name, "items": taken}},
        )
    return new


def _unwrapped(rt: Runtime, items: Sequence[Item]) -> list[Item]:
    """The items with their aggregator links replaced by the publisher's URL (both the canonical
    ``url`` and the ``link`` shown), where that is known: from the link or the feed
    (``links.unwrap``), else by following the redirects of the links not stored yet, all at once
    under one deadline (``links.follow_many``)."""
    urls = [links.unwrap(item.url, item.guid) if links.is_wrapped(item.url) else item.url for item in items]
    opaque = {url for url in urls if url and links.is_wrapped(url)}
    if opaque:
        opaque -= {key.removeprefix("url:") for key in rt.store.items.known_keys(["url:" + url for url in opaque])}
    ends = links.follow_many(opaque, rt.config.fetch) if opaque else {}
    return [
        _at_publisher(item, url, ends.get(url or "")) if links.is_wrapped(item.url) else item
        for item, url in zip(items, urls, strict=True)
    ]


def _at_publisher(item: Item, url: str | None, end: str | None) -> Item:
    """A wrapped item with the publisher's address: where its redirects ended, else what its link
    or feed reveals (``url``)."""
    if end:
        return replace(item, url=canonical_url(end) or url, link=display_link(end))
    return replace(item, url=url, link=links.publisher_link(item.shown_link, item.guid))


def prune(rt: Runtime) -> int:
    """Retention: drop item text older than ``[monitor] retention_days`` (identity keys, titles and
    the stories still open within ``story_window`` stay, so nothing alerts twice)."""
    now = rt.clock.now()
    monitor = rt.config.monitor
    return rt.store.items.prune(now - timedelta(days=monitor.retention_days), now - monitor.story_window)


def _report(feed: FeedConfig, new_items: Sequence[NewItem], alerts: int) -> PollReport:
    matched = sum(1 for n in new_items if n.matches)
    return PollReport(feed.name, "ok", new_items=len(new_items), matched=matched, alerts=alerts)
