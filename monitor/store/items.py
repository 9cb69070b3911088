"""The items aggregate: every item seen, under each of its identity keys; its matches; the story
it belongs to and that story's features (for clustering); the links whose GUID changed; retention.

``record`` writes an item, its keys, matches, story and outbox rows in one transaction, so a crash
leaves either all of them or none.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from monitor.errors import StoreError
from monitor.model import (
    Amount,
    Coverage,
    Deal,
    Explanation,
    Item,
    JoinStory,
    KeyOwner,
    Match,
    NewItem,
    OpenStory,
    Recorded,
    StoryRecord,
    TermHit,
    highest,
)
from monitor.store.database import Database
from monitor.store.outbox import INSERT as INSERT_OUTBOX
from monitor.store.outbox import payload_json
from monitor.store.schema import chunks, iso

_INSERT_ITEM = (
    "INSERT INTO items(key, feed, guid, url, title, summary, content, published, first_seen, "
    "fingerprint, story_id, link) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_KEY = "INSERT OR IGNORE INTO item_keys(key, item_key) VALUES (?, ?)"
# Never alerted: no outbox row for the item, nor for its story.
_UNALERTED = (
    " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.item_key = items.key)"
    " AND (story_id IS NULL OR NOT EXISTS (SELECT 1 FROM outbox o WHERE o.story_id = items.story_id))"
)


def explanation_json(match: Match) -> str:
    e = match.explanation
    return json.dumps(
        {
            "hits": [{"term": h.term, "field": h.field, "snippet": h.snippet, "lang": h.lang} for h in e.hits],
            "amounts": [{"text": a.text, "value": a.value, "currency": a.currency, "usd": a.usd} for a in e.amounts],
            "companies": list(e.companies),
            "round": e.round,
            "deal": e.deal.as_dict() if e.deal else None,
            "other_deals": [d.as_dict() for d in e.other_deals],
        },
        ensure_ascii=False,
    )


def explanation_from_json(text: str) -> Explanation:
    """An explanation as stored; rows written before deal cards and languages read without them."""
    data = json.loads(text)
    return Explanation(
        hits=tuple(TermHit(h["term"], h["field"], h["snippet"], h.get("lang")) for h in data.get("hits", [])),
        amounts=tuple(Amount(a["text"], a["value"], a["currency"], a["usd"]) for a in data.get("amounts", [])),
        companies=tuple(data.get("companies", [])),
        round=data.get("round"),
        deal=Deal.from_dict(data["deal"]) if data.get("deal") else None,
        other_deals=tuple(Deal.from_dict(d) for d in data.get("other_deals", [])),
    )


def _item_row(key: str, item: Item, story_id: int | None) -> tuple[Any, ...]:
    content = item.content if item.content != item.summary else ""  # not stored twice
    return (
        key,
        item.feed,
        item.guid,
        item.url,
        item.title,
        item.summary,
        content,
        iso(item.published),
        iso(item.first_seen),
        item.fingerprint,
        story_id,
        item.link,
    )


def _key_rows(new: NewItem) -> list[tuple[str, str]]:
    return [(alias, new.key) for alias in dict.fromkeys((new.key, *new.keys))]


def _window(unalerted: bool) -> str:
    # published too: a feed's first poll stores its old items without alerting them
    return " AND published >= :since" + (_UNALERTED if unalerted else "")


class Items:
    def __init__(self, db: Database) -> None:
        self.db = db

    def known_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of these identity keys belong to an item already stored."""
        found: set[str] = set()
        for chunk, marks in chunks(list(dict.fromkeys(keys))):
            found.update(r[0] for r in self.db.execute(f"SELECT key FROM item_keys WHERE key IN ({marks})", chunk))
        return found

    def record(self, new_items: Sequence[NewItem], now: datetime) -> list[Recorded]:
        """Items, keys, matches, stories and outbox rows, in one transaction. Items that only need
        remembering (no match, no story: most of them) are written with two ``executemany`` calls
        for the whole batch; each call releases the GIL, and with the fetch thread busy, every
        release costs a wait to get it back."""
        recorded = []
        plain: list[NewItem] = []
        with self.db.atomic():
            for new in new_items:
                if new.story is None and not new.matches and not new.outgoing:
                    plain.append(new)
                    recorded.append(Recorded(new.key, None, ()))
                else:
                    recorded.append(self._record(new, now))
            self.db.executemany(
                _INSERT_ITEM + " ON CONFLICT(key) DO NOTHING", [_item_row(new.key, new.item, None) for new in plain]
            )
            self.db.executemany(_INSERT_KEY, [row for new in plain for row in _key_rows(new)])
        return recorded

    def replay(self, new_items: Sequence[NewItem], now: datetime) -> list[Recorded]:
        """Like ``record`` for items already stored (``monitor replay --send``): their matches,
        stories and outbox rows, in one transaction."""
        with self.db.atomic():
            return [self._record(new, now, stored=True) for new in new_items]

    def count(self, since: datetime, unalerted: bool = False) -> int:
        """Stored items first seen and published at or after ``since`` (only never-alerted ones
        if asked). Old items a feed's first poll stored without alerting stay out."""
        where = "first_seen >= :since" + _window(unalerted)
        return self.db.execute(f"SELECT count(*) FROM items WHERE {where}", {"since": iso(since)}).fetchone()[0]

    def stored(self, since: datetime, unalerted: bool = False, page: int = 500) -> Iterator[Item]:
        """Those items, oldest first, read page by page. ``unalerted``: no outbox row exists for
        the item or for its story."""
        where = "(first_seen, key) > (:after, :key)" + _window(unalerted)
        params = {"since": iso(since), "after": iso(since - timedelta(microseconds=1)), "key": "", "page": page}
        while True:
            rows = self.db.query(f"SELECT * FROM items WHERE {where} ORDER BY first_seen, key LIMIT :page", params)
            for row in rows:
                yield Item(
                    **{name: row[name] for name in ("feed", "guid", "url", "title", "summary", "fingerprint", "link")},
                    content=row["content"] or row["summary"],  # stored empty when it repeats the summary
                    published=datetime.fromisoformat(row["published"]),
                    first_seen=datetime.fromisoformat(row["first_seen"]),
                )
            if len(rows) < page:
                return
            params.update(after=rows[-1]["first_seen"], key=rows[-1]["key"])

    def _record(self, new: NewItem, now: datetime, stored: bool = False) -> Recorded:
        item, key = new.item, new.key
        story_id = None
        if isinstance(new.story, OpenStory):
            priority = highest(new.matches).priority if new.matches else "normal"
            story_id = self.db.execute(
                "INSERT INTO stories(opened_at, updated_at, title, url, priority, info, link) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (iso(now), iso(now), item.title, item.url, priority, json.dumps(dict(new.story_info)), item.link),
            ).lastrowid
        elif isinstance(new.story, JoinStory):
            story_id = new.story.story_id
            self.db.execute("UPDATE stories SET updated_at = ? WHERE id = ?", (iso(now), story_id))
        self.db.execute(
            # a replay: the item is stored already, only its story is new
            _INSERT_ITEM + (" ON CONFLICT(key) DO UPDATE SET story_id = excluded.story_id" if stored else ""),
            _item_row(key, item, story_id),
        )
        self.db.executemany(_INSERT_KEY, _key_rows(new))
        if story_id is not None and new.story_info:
            self.db.execute(
                "INSERT INTO story_items(item_key, story_id, features) VALUES (?, ?, ?) ON CONFLICT(item_key) "
                "DO UPDATE SET story_id = excluded.story_id, features = excluded.features",
                (key, story_id, json.dumps(dict(new.story_info), ensure_ascii=False)),
            )
        for match in new.matches:
            self.db.execute(
                "INSERT OR IGNORE INTO matches(item_key, story_id, rule_id, rule_name, priority, digest_only, "
                "explanation, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    story_id,
                    match.rule_id,
                    match.rule_name,
                    match.priority,
                    int(match.digest_only),
                    explanation_json(match),
                    iso(now),
                ),
            )
        alert_ids: list[int] = []
        kind = "alert" if isinstance(new.story, OpenStory) else "follow_up"
        for out in new.outgoing:
            if story_id is None:
                raise StoreError("an outbox row needs a story; decide the story before queueing alerts")
            cursor = self.db.execute(
                INSERT_OUTBOX,
                (
                    story_id,
                    key,
                    kind,
                    out.destination,
                    out.channel,
                    out.priority,
                    out.rule_id,
                    payload_json(out.payload),
                    iso(now),
                    iso(now),
                ),
            )
            if cursor.rowcount and cursor.lastrowid is not None:
                alert_ids.append(cursor.lastrowid)
        return Recorded(key, story_id, tuple(alert_ids))

    def key_owners(self, keys: Iterable[str]) -> dict[str, KeyOwner]:
        """For each of these identity keys that is stored: the item it belongs to."""
        owners: dict[str, KeyOwner] = {}
        for chunk, marks in chunks(list(dict.fromkeys(keys))):
            for key, item_key, feed, title, url, text in self.db.execute(
                "SELECT k.key, k.item_key, i.feed, i.title, i.url, CASE WHEN k.key LIKE 'guid:%' "
                "THEN COALESCE(NULLIF(i.content, ''), i.summary) ELSE '' END "
                f"FROM item_keys k JOIN items i ON i.key = k.item_key WHERE k.key IN ({marks})",
                chunk,
            ):
                owners[key] = KeyOwner(item_key, feed, title, url, text)
        return owners

    def guid_changes(self, feed: str) -> int:
        """How many of the feed's links came back under a new GUID (see ``stories``)."""
        return self.db.execute("SELECT count(*) FROM guid_changes WHERE feed = ?", (feed,)).fetchone()[0]

    def add_guid_changes(self, feed: str, urls: Iterable[str], now: datetime) -> None:
        self.db.executemany(
            "INSERT OR IGNORE INTO guid_changes(feed, url, seen_at) VALUES (?, ?, ?)",
            [(feed, url, iso(now)) for url in urls],
        )

    def open_stories(self, since: datetime) -> list[tuple[int, Mapping[str, Any]]]:
        """(story id, story features) of every item in a story opened at or after ``since``."""
        rows = self.db.execute(
            "SELECT s.story_id, s.features FROM story_items s JOIN stories ON stories.id = s.story_id "
            "WHERE stories.opened_at >= ? ORDER BY s.story_id",
            (iso(since),),
        )
        return [(story_id, json.loads(features)) for story_id, features in rows]

    def prune(self, text_before: datetime, stories_before: datetime) -> int:
        """Retention: drop the text of items first seen before ``text_before`` and the story
        features of stories opened before ``stories_before``; identity keys, titles and stories
        stay. Returns how many items lost their text."""
        with self.db.atomic():
            self.db.execute(
                "DELETE FROM story_items WHERE story_id IN (SELECT id FROM stories WHERE opened_at < ?)",
                (iso(stories_before),),
            )
            return self.db.execute(
                "UPDATE items SET summary = '', content = '' WHERE first_seen < ? AND (summary != '' OR content != '') "
                "AND key NOT IN (SELECT item_key FROM story_items)",
                (iso(text_before),),
            ).rowcount

    def story_title(self, story_id: int) -> str | None:
        """The title of a story (its first item's), for the follow-ups that join it."""
        row = self.db.execute("SELECT title FROM stories WHERE id = ?", (story_id,)).fetchone()
        return row[0] if row else None

    def stories_first_seen(self, start: datetime, end: datetime) -> list[StoryRecord]:
        """Stories opened in [start, end), each with all its outlets and matches (the digest). Their
        ``url`` is the link to show: as published (the canonical form for rows from before links
        were stored)."""
        stories = self.db.query(
            "SELECT id, title, COALESCE(link, url) AS url, priority, opened_at FROM stories "
            "WHERE opened_at >= ? AND opened_at < ? ORDER BY opened_at, id",
            (iso(start), iso(end)),
        )
        ids = [row["id"] for row in stories]
        items: dict[int, list[Coverage]] = {i: [] for i in ids}
        matches: dict[int, list[Match]] = {i: [] for i in ids}
        for chunk, marks in chunks(ids):
            for row in self.db.query(
                f"SELECT story_id, feed, title, COALESCE(link, url) AS url, first_seen FROM items "
                f"WHERE story_id IN ({marks}) "
                "ORDER BY first_seen, key",
                chunk,
            ):
                items[row["story_id"]].append(
                    Coverage(row["feed"], row["title"], row["url"], datetime.fromisoformat(row["first_seen"]))
                )
            for row in self.db.query(
                f"SELECT story_id, rule_id, rule_name, priority, digest_only, explanation FROM matches "
                f"WHERE story_id IN ({marks}) ORDER BY id",
                chunk,
            ):
                matches[row["story_id"]].append(
                    Match(
                        row["rule_id"],
                        row["rule_name"],
                        row["priority"],
                        None,
                        bool(row["digest_only"]),
                        explanation_from_json(row["explanation"]),
                    )
                )
        return [
            StoryRecord(
                story_id=row["id"],
                title=row["title"],
                url=row["url"],
                priority=row["priority"],
                first_seen=datetime.fromisoformat(row["opened_at"]),
                items=tuple(items[row["id"]]),
                matches=tuple(matches[row["id"]]),
            )
            for row in stories
        ]
