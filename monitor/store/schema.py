"""The schema, written once in SQLite's words (``pgdb.schema`` translates it for PostgreSQL), and the
value conventions every aggregate shares: times are ISO-8601 UTC text, so they compare as text.

Every statement is ``IF NOT EXISTS``: running the script again is how a database is brought up to
date with new tables and indexes. A change that the script cannot express this way (a new column
of an existing table) bumps ``SCHEMA_VERSION`` and adds its statements to ``MIGRATIONS``, which
both dialects run (``upgrades``) on a database an older monitor made, in the transaction that
records the new version; a new database gets ``SCHEMA`` as it stands.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

SCHEMA_VERSION = 2

# The statements that bring a database from the version before each key to that version.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    # 2: feeds are rows the pollers claim by next_check_at (a feed removed from the config stays,
    # inactive); the link shown to people, as published (the url column is the canonical identity
    # form; rows from before keep NULL and show their url)
    2: (
        "ALTER TABLE feeds ADD COLUMN active INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE feeds ADD COLUMN synced TEXT",
        "ALTER TABLE items ADD COLUMN link TEXT",
        "ALTER TABLE stories ADD COLUMN link TEXT",
    ),
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    body_hash TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_polled_at TEXT,
    last_ok_at TEXT,
    next_check_at TEXT,
    failing_since TEXT,
    health TEXT NOT NULL DEFAULT 'ok',
    config_url TEXT,
    leased_until TEXT,  -- claimed by a poller until then (see Feeds.claim_due)
    active INTEGER NOT NULL DEFAULT 1,  -- 0: no longer in the config (its state is kept)
    synced TEXT  -- the config sync that last saw it (see Feeds.sync)
);
CREATE INDEX IF NOT EXISTS feeds_due ON feeds(next_check_at);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feed_notices (
    id INTEGER PRIMARY KEY,
    feed TEXT NOT NULL,
    health TEXT NOT NULL,
    channel TEXT NOT NULL,
    text TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS feed_notices_due ON feed_notices(state, next_attempt_at);
CREATE TABLE IF NOT EXISTS stories (
    id INTEGER PRIMARY KEY,
    opened_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    title TEXT NOT NULL,
    url TEXT,
    priority TEXT NOT NULL,
    info TEXT NOT NULL DEFAULT '{}',
    link TEXT  -- as published, minus tracking parameters; NULL: show url
);
CREATE TABLE IF NOT EXISTS items (
    key TEXT PRIMARY KEY,
    feed TEXT NOT NULL,
    guid TEXT,
    url TEXT,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    content TEXT NOT NULL,
    published TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    story_id INTEGER REFERENCES stories(id),
    link TEXT  -- as published, minus tracking parameters; NULL: show url
);
CREATE INDEX IF NOT EXISTS items_first_seen ON items(first_seen);
CREATE INDEX IF NOT EXISTS items_story ON items(story_id);
CREATE TABLE IF NOT EXISTS item_keys (
    key TEXT PRIMARY KEY,
    item_key TEXT NOT NULL REFERENCES items(key)
);
CREATE TABLE IF NOT EXISTS matches (
    id INTEGER PRIMARY KEY,
    item_key TEXT NOT NULL REFERENCES items(key),
    story_id INTEGER REFERENCES stories(id),
    rule_id TEXT NOT NULL,
    rule_name TEXT NOT NULL,
    priority TEXT NOT NULL,
    digest_only INTEGER NOT NULL,
    explanation TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (item_key, rule_id)
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    story_id INTEGER REFERENCES stories(id),  -- NULL for events without a story (kind 'event')
    item_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    destination TEXT NOT NULL,
    channel TEXT,
    priority TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    remote_id TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT,
    sending_at TEXT,  -- set (committed) just before a send, cleared with its outcome: a crash leaves it
    UNIQUE (item_key, destination, channel)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, next_attempt_at);
CREATE INDEX IF NOT EXISTS outbox_sent ON outbox(delivered_at);
CREATE INDEX IF NOT EXISTS stories_opened ON stories(opened_at);
CREATE TABLE IF NOT EXISTS story_items (
    item_key TEXT PRIMARY KEY REFERENCES items(key),
    story_id INTEGER NOT NULL REFERENCES stories(id),
    features TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS story_items_story ON story_items(story_id);
CREATE TABLE IF NOT EXISTS guid_changes (
    feed TEXT NOT NULL,
    url TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (feed, url)
);
CREATE TABLE IF NOT EXISTS story_threads (
    story_id INTEGER NOT NULL REFERENCES stories(id),
    destination TEXT NOT NULL,
    channel_key TEXT NOT NULL,
    channel TEXT NOT NULL,
    ts TEXT NOT NULL,
    PRIMARY KEY (story_id, destination, channel_key)
);
CREATE INDEX IF NOT EXISTS matches_story ON matches(story_id);
CREATE TABLE IF NOT EXISTS digests (
    period TEXT PRIMARY KEY,
    scheduled INTEGER NOT NULL,
    start_at TEXT NOT NULL,
    end_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    done TEXT NOT NULL DEFAULT '',
    last_error TEXT,
    stories INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE TABLE IF NOT EXISTS heartbeat (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at TEXT NOT NULL
);
"""


def upgrades(version: int) -> list[str]:
    """The ``MIGRATIONS`` statements from ``version`` to ``SCHEMA_VERSION``, in SQLite's words
    (0: a new database, which needs none)."""
    if not version:
        return []
    return [statement for step in range(version + 1, SCHEMA_VERSION + 1) for statement in MIGRATIONS.get(step, ())]


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def chunks(values: Sequence[Any], size: int = 500) -> Iterable[tuple[Sequence[Any], str]]:
    """Slices of ``values`` with their ``?,?,...`` placeholders, for IN (...) queries."""
    for start in range(0, len(values), size):
        chunk = values[start : start + size]
        yield chunk, ",".join("?" * len(chunk))
