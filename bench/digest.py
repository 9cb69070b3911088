"""Benchmark: building one day's digest from a store holding months of history.

    python bench/digest.py [--days 90] [--stories 300] [--noise 1000] [--runs 7] [--seed 7]

Fills a temporary SQLite store through ``items.record`` (the way a poll writes): each day
``--stories`` matched stories with 1-4 outlets each (every item with a match and an explanation:
terms, an amount, companies) and ``--noise`` unmatched items. Then, for the middle day, times
what `monitor run` does at digest time: the store query (``stories_first_seen``: the indexed
range on stories.opened_at, then all items and matches of those stories in chunked IN queries),
``digest.build`` and both templates. The naive baseline is the obvious way to write the query:
group every item by story to find each story's first sighting, then two queries per story
(N+1). Both must return the same stories. Medians of --runs; one table.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.delivery import digest
from monitor.model import Amount, Coverage, Explanation, Item, JoinStory, Match, NewItem, OpenStory, TermHit
from monitor.store.items import explanation_from_json
from monitor.store.sqlitedb import open_sqlite
from monitor.store.storage import Storage

START = datetime(2026, 1, 1, 7, 0, tzinfo=UTC)
OUTLETS = [f"Outlet {n}" for n in range(40)]
RULES = [("funding", "Funding rounds", "high"), ("embodied", "Embodied AI", "normal"), ("video", "Video", "low")]


def fill(store: Storage, rng: random.Random, days: int, stories: int, noise: int) -> int:
    items = 0
    for day in range(days):
        base = START + timedelta(days=day)
        batch: list[tuple[datetime, NewItem | tuple[NewItem, ...]]] = []
        for s in range(stories):
            rule_id, name, priority = rng.choice(RULES)
            explanation = Explanation(
                (TermHit("world model", "title", "… world model …"),),
                (Amount(f"${rng.randint(5, 900)} million", 1e6, "USD", rng.randint(5, 900) * 1e6),),
                (f"Company {rng.randint(1, 5000)}",),
                "Series B",
            )
            match = Match(rule_id, name, priority, None, False, explanation)
            when = base + timedelta(seconds=rng.randint(0, 86_399))
            story = []
            for k in range(rng.randint(1, 4)):
                key = f"{day}-{s}-{k}"
                item = Item(rng.choice(OUTLETS), key, f"https://news.example/{key}", f"Story {key} title",
                            "summary", "summary", when, when, f"fp{key}")  # fmt: skip
                story.append(NewItem(item, (f"guid:{key}",), (match,), OpenStory()))
            batch.append((when, tuple(story)))
        for n in range(noise):
            key = f"{day}-noise-{n}"
            when = base + timedelta(seconds=rng.randint(0, 86_399))
            item = Item(rng.choice(OUTLETS), key, f"https://news.example/{key}", key, "s", "s", when, when, key)
            batch.append((when, NewItem(item, (f"guid:{key}",))))
        for when, entry in sorted(batch, key=lambda pair: pair[0]):
            if isinstance(entry, NewItem):
                store.items.record([entry], when)
                items += 1
                continue
            story_id = store.items.record([entry[0]], when)[0].story_id
            for k, joined in enumerate(entry[1:], start=1):
                later = NewItem(joined.item, joined.keys, joined.matches, JoinStory(story_id))
                store.items.record([later], when + timedelta(minutes=k))
            items += len(entry)
    return items


def naive(store: Storage, start: datetime, end: datetime) -> list[tuple[int, int, int]]:
    """Every story's first sighting by grouping all items, then items and matches per story."""
    db = store.db
    rows = db.execute(
        "SELECT story_id, min(first_seen) AS fs FROM items WHERE story_id IS NOT NULL GROUP BY story_id "
        "HAVING fs >= ? AND fs < ? ORDER BY fs, story_id",
        (start.isoformat(), end.isoformat()),
    ).fetchall()
    found = []
    for story_id, _ in rows:
        items = [
            Coverage(feed, title, url, datetime.fromisoformat(seen))
            for feed, title, url, seen in db.execute(
                "SELECT feed, title, url, first_seen FROM items WHERE story_id = ?", (story_id,)
            )
        ]
        matches = [
            (rule_id, explanation_from_json(text))
            for rule_id, text in db.execute("SELECT rule_id, explanation FROM matches WHERE story_id = ?", (story_id,))
        ]
        found.append((story_id, len(items), len(matches)))
    return found


def timed(action: Callable[[], object], runs: int) -> tuple[float, object]:
    seconds, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--stories", type=int, default=300)
    parser.add_argument("--noise", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = open_sqlite(Path(folder) / "bench.db")
        started = time.perf_counter()
        items = fill(store, random.Random(args.seed), args.days, args.stories, args.noise)
        filled = time.perf_counter() - started
        start = START + timedelta(days=args.days // 2)
        end = start + timedelta(days=1)
        tz = ZoneInfo("Europe/Berlin")

        query, records = timed(lambda: store.items.stories_first_seen(start, end), args.runs)
        built = digest.build(records, title="Bench", period="p", day=end.date(), start=start, end=end, tz=tz,
                             alerts=0, feeds=[])  # fmt: skip
        build, _ = timed(
            lambda: digest.build(records, title="Bench", period="p", day=end.date(), start=start, end=end, tz=tz,
                                 alerts=0, feeds=[]),
            args.runs,
        )  # fmt: skip
        html, _ = timed(lambda: digest.render_html(built), args.runs)
        text, _ = timed(lambda: digest.render_text(built), args.runs)
        slow, baseline = timed(lambda: naive(store, start, end), args.runs)
        ours = [(r.story_id, len(r.items), len(r.matches)) for r in records]
        store.close()
    if ours != baseline:
        sys.exit("the store query and the naive baseline disagree")
    total = query + build + html + text
    print(
        f"digest benchmark: {items:,} items, {args.days * args.stories:,} stories over {args.days} days "
        f"(stored in {filled:.0f}s); one day's digest: {len(records)} stories, "
        f"{sum(len(r.items) for r in records)} outlet items; medians of {args.runs} runs"
    )
    rows = [
        ("store query (stories_first_seen)", query),
        ("digest.build (group, explanations)", build),
        ("render_html", html),
        ("render_text", text),
        ("whole digest", total),
        ("naive query (group all items + N+1)", slow),
    ]
    for label, seconds in rows:
        print(f"{label:<40} {seconds * 1000:9.1f} ms")
    print(f"{'ratio naive query / store query':<40} {slow / query:9.1f}x")


if __name__ == "__main__":
    main()
