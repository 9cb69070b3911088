"""Benchmark: what a new item costs (identity + story decision + storing) with 100,000 items stored.

    python bench/dedup.py [--stored 100000] [--new 300] [--naive 10] [--seed 7]

Fills a real SQLite file in a temporary folder with --stored items spread over 90 days (a tenth
of them matched and in stories, so about 330 story items fall inside the 72 h window), then
passes --new fresh matched items one at a time through ``shell.polling._take_items``, the code a poll
runs: unwrap links, identity keys and the known-key look-up, the rule engine, the story decision
against the open stories under the store's exclusive hold, and the transaction that stores the
item, its keys, matches, story features and outbox row. One item per call is the worst case: a
poll's batch shares the open-story read.

The naive baseline is what a simple bot does to find "the same story": read every stored item's
title and text and compare its words with the new item's (word Jaccard, the same measure), no
keys, no window. It runs on the first --naive new items (it is slow). Prints one table of per-item medians.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor import config, shell, stories
from monitor.clock import FixedClock
from monitor.intake.normalise import fingerprint
from monitor.model import Amount, Explanation, Item, Match, NewItem, OpenStory
from monitor.shell import polling

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
COMPANIES = ("ShengShu", "PixVerse", "Tripo AI", "World Labs", "Luma AI", "Decart", "Skild AI", "Galbot", "Unitree")
INVESTORS = ("Alibaba Cloud", "Tencent", "SoftBank", "Baidu Ventures", "Sequoia")


def words(rng: random.Random, vocabulary: list[str], n: int) -> str:
    return " ".join(rng.choices(vocabulary, k=n))


def matched_item(rng: random.Random, vocabulary: list[str], n: int, feed: str, seen: datetime) -> Item:
    """An item the default rule pack matches: a world-model company raising money."""
    company, investor, amount = rng.choice(COMPANIES), rng.choice(INVESTORS), rng.randrange(5, 900)
    title = f"{company} raises ${amount} million led by {investor} for world models {words(rng, vocabulary, 3)}"
    text = (
        f"{company}, which builds a video generation world model, raised ${amount} million in a round led by "
        f"{investor}. {words(rng, vocabulary, 60)}"
    )
    return Item(
        feed, f"g{n}", f"https://news{n % 50}.example/{n}", title, text, text, seen, seen, fingerprint(title, text)
    )


def plain_item(rng: random.Random, vocabulary: list[str], n: int, seen: datetime) -> Item:
    title, text = words(rng, vocabulary, 9), words(rng, vocabulary, 70)
    return Item(
        "Filler", f"g{n}", f"https://other{n % 50}.example/{n}", title, text, text, seen, seen, fingerprint(title, text)
    )


def fill(rt: shell.Runtime, rng: random.Random, vocabulary: list[str], count: int) -> None:
    """--stored items over 90 days, a tenth matched, each matched one opening its story."""
    batch = []
    for n in range(count):
        seen = NOW - timedelta(seconds=rng.uniform(0, 90 * 86400))
        if n % 10 == 0:
            item = matched_item(rng, vocabulary, n, "Stored", seen)
            explanation = Explanation(
                companies=(item.title.split(" raises")[0],),
                amounts=(Amount("$1 million", 1e6 * (n % 900 + 5), "USD", 1e6 * (n % 900 + 5)),),
            )
            match = Match("bench", "Bench", "high", None, False, explanation)
            found = stories.features(item, [match])
            batch.append(NewItem(item, stories.identity_keys(item), (match,), OpenStory(), (), found.to_json()))
        else:
            item = plain_item(rng, vocabulary, n, seen)
            batch.append(NewItem(item, stories.identity_keys(item)))
        if len(batch) == 2000:
            rt.store.items.record(batch, NOW)
            batch = []
    rt.store.items.record(batch, NOW)
    rt.store.db.execute(
        "UPDATE stories SET opened_at = (SELECT first_seen FROM items WHERE items.story_id = stories.id)"
    )


def naive_same_story(rt: shell.Runtime, item: Item) -> bool:
    """Compare the new item's words with every stored item's: the baseline."""
    mine = set(stories.words(f"{item.title} {item.summary}"))
    for title, summary in rt.store.db.execute("SELECT title, summary FROM items"):
        theirs = set(stories.words(f"{title} {summary}"))
        if len(mine & theirs) / len(mine | theirs or {""}) >= stories.SAME_STORY:
            return True
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=300)
    parser.add_argument("--naive", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    vocabulary = [f"w{i}" for i in range(20_000)]

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        path.write_text(
            f'[monitor]\ndatabase = "monitor.db"\nrules = "{(ROOT / "rules").as_posix()}"\n\n'
            '[[feeds]]\nname = "New"\nurl = "https://new.example/feed"\n',
            encoding="utf-8",
        )
        rt = shell.open_runtime(config.load(path), clock=FixedClock(NOW), deliver=False)
        started = time.perf_counter()
        fill(rt, rng, vocabulary, args.stored)
        fill_seconds = time.perf_counter() - started
        feed = rt.config.feeds[0]
        window = NOW - rt.config.monitor.story_window
        in_window = len(rt.store.items.open_stories(window))

        fresh = [matched_item(rng, vocabulary, args.stored + n, "New", NOW) for n in range(args.new)]
        ours, opened = [], 0
        for item in fresh:
            t0 = time.perf_counter()
            report = polling._take_items(rt, feed, None, [item], NOW, dry_run=False)
            ours.append(time.perf_counter() - t0)
            opened += report.alerts
        naive = []
        for item in fresh[: args.naive]:
            t0 = time.perf_counter()
            naive_same_story(rt, item)
            naive.append(time.perf_counter() - t0)
        size = Path(tmp, "monitor.db").stat().st_size
        rt.close()

    ms = 1000
    hours = rt.config.monitor.story_window.total_seconds() / 3600
    print(
        f"dedup benchmark: {args.stored:,} items stored ({size / 2**20:.0f} MiB SQLite, "
        f"filled in {fill_seconds:.1f}s), "
        f"{in_window} story items in the {hours:.0f} h window, Python {sys.version.split()[0]}"
    )
    print(f"{'':44}{'median ms/item':>15}{'p95 ms/item':>13}{'items':>7}")
    for name, times in (
        ("monitor (keys + story decision + store)", ours),
        ("naive (compare with every stored item)", naive),
    ):
        p95 = sorted(times)[int(0.95 * (len(times) - 1))]
        print(f"{name:44}{statistics.median(times) * ms:>15.2f}{p95 * ms:>13.2f}{len(times):>7}")
    print(f"ratio naive / monitor (medians){statistics.median(naive) / statistics.median(ours):>27.0f}x")
    print(f"alerts queued for the {args.new} new items: {opened} (the rest joined open stories)")


if __name__ == "__main__":
    main()
