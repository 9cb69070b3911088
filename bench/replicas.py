"""Replicas benchmark: how polling scales with one, two and three `monitor run` processes on one
PostgreSQL database, against a naive baseline, and what share of a poll the database costs.

    python bench/replicas.py          # needs a PostgreSQL server at postgresql:///postgres

1. Throughput: a local farm of FEEDS feeds, each answering after 100 ms (no validators, so every
   poll downloads and hashes the whole body; the items stay the same, as most polls of a real feed
   find nothing new). Every feed is due every INTERVAL seconds, more than the replicas can do, so
   the rate of completed polls is each setup's capacity. Each replica fetches CONCURRENCY feeds at
   a time. Counted over the last WINDOW seconds of each run, at the farm: feed requests per second,
   the share that repeated a feed within one interval (wasted: the coordination's job is zero),
   and the useful polls per second (the others).
   Naive baseline: three replicas without coordination, each on its own SQLite file, so each
   fetches every feed.
2. Database share: one process polls every feed of a farm that answers at once, in turn, with the
   store wrapped in a timer: first with every item new (stored, matched, decided), then with
   nothing new. Share = time inside store calls / time of the whole poll, per backend.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor import config, shell
from monitor.testing import FeedServer

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgresql:///postgres"
FEEDS = 300
ITEMS = 10
DELAY = 0.1  # seconds per feed response
INTERVAL = 2  # seconds: every feed due this often (more than the replicas can do)
CONCURRENCY = 4  # feeds fetched at once per replica
RUN, WINDOW = 24.0, 16.0  # seconds per setup; requests counted in the last WINDOW seconds
RULES = '[[rule]]\nid = "zorblax"\nquery = "zorblax"\n'


def feed_body(f: int) -> str:
    items = "".join(
        f"<item><title>{'Zorblax ' if n == 0 else ''}Headline {f} {n} about things</title>"
        f"<link>https://bench.example/{f}/{n}</link><description>Text of item {n} of feed {f}, "
        f"a few words long.</description><pubDate>{formatdate(usegmt=True)}</pubDate></item>"
        for n in range(ITEMS)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>F</title><link>https://bench.example/</link>'
        f"<description>d</description>{items}</channel></rss>"
    )


def write_config(folder: Path, farm: FeedServer, database: str) -> Path:
    (folder / "rules").mkdir(parents=True, exist_ok=True)
    (folder / "rules" / "pack.toml").write_text(RULES)
    feeds = "".join(f'\n[[feeds]]\nname = "f{f:03d}"\nurl = "{farm.url}/f{f}"\n' for f in range(FEEDS))
    path = folder / "config.toml"
    path.write_text(
        f'[monitor]\ndatabase = "{database}"\nrules = "rules"\ndefault_interval = "{INTERVAL}s"\nhealth_port = 0\n'
        f'log_format = "json"\n[fetch]\ntimeout = 10\nconcurrency = {CONCURRENCY}\nper_host = {CONCURRENCY}\n{feeds}'
    )
    return path


def fresh_database(name: str) -> str:
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return f"postgresql:///{name}"


def drop_database(name: str) -> None:
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def run_replicas(farm: FeedServer, configs: list[Path]) -> tuple[float, float]:
    """Start one `monitor run` per config, wait RUN seconds, stop them; (requests/s in the window,
    share of those requests that repeated a feed within one interval)."""
    farm.requests.clear()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(c)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for c in configs
    ]
    started = time.monotonic()
    time.sleep(RUN)
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(60)
    window_start = started + RUN - WINDOW
    times: dict[str, list[float]] = defaultdict(list)
    for request in farm.requests:
        if started <= request["at"] <= started + RUN:
            times[request["path"]].append(request["at"])
    counted = [t for ts in times.values() for t in ts if t >= window_start]
    repeats = sum(
        1
        for ts in times.values()
        for first, second in itertools.pairwise(sorted(ts))
        if second >= window_start and second - first < INTERVAL * 0.75
    )
    return len(counted) / WINDOW, repeats / max(1, len(counted))


class Timed:
    """The store, with the time spent in its calls (and its aggregates' calls) added up: what the
    database costs a poll."""

    AGGREGATES = ("feeds", "items", "outbox", "notices", "digests")

    def __init__(self, store: Any, total: Timed | None = None) -> None:
        self._store, self._total, self.seconds = store, total or self, 0.0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._store, name)
        if name in self.AGGREGATES:
            return Timed(attribute, self._total)
        if not callable(attribute) or name == "exclusive":
            return attribute

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return attribute(*args, **kwargs)
            finally:
                self._total.seconds += time.perf_counter() - started

        return timed


def database_share(folder: Path, farm: FeedServer, database: str) -> list[tuple[str, float, float]]:
    """(phase, ms per poll, share in the store) for a first and a steady poll of every feed."""
    path = write_config(folder, farm, database)
    rt = shell.open_runtime(config.load(path), deliver=False)
    timed = Timed(rt.store)
    rt.store = timed  # type: ignore[assignment]
    rows = []
    try:
        for phase in ("first poll (all new)", "steady poll (nothing new)"):
            timed.seconds = 0.0
            started = time.perf_counter()
            for feed in rt.config.feeds:
                shell.poll_feed(rt, feed)
            total = time.perf_counter() - started
            rows.append((phase, total / FEEDS * 1000, timed.seconds / total))
    finally:
        rt.close()
    return rows


def main() -> None:
    try:
        psycopg.connect(SERVER, connect_timeout=3).close()
    except psycopg.Error as e:
        sys.exit(f"needs a PostgreSQL server at {SERVER} (see docs/operations.md, PostgreSQL): {e}")
    with tempfile.TemporaryDirectory() as tmp, FeedServer() as farm:
        folder = Path(tmp)
        for f in range(FEEDS):
            farm.add(f"/f{f}", feed_body(f), validators=False, delay=DELAY)
        print(
            f"replicas benchmark: {FEEDS} feeds x {ITEMS} items, {DELAY * 1000:.0f} ms per response, every feed due "
            f"every {INTERVAL}s, {CONCURRENCY} fetches at once per replica; {os.cpu_count()} CPUs; "
            f"counted over the last {WINDOW:.0f}s of {RUN:.0f}s"
        )
        print(f"{'setup':40} {'requests/s':>10} {'useful polls/s':>14} {'vs one':>7} {'repeats':>8}")
        one = None
        setups: list[tuple[str, Callable[[], list[Path]]]] = []
        for n in (1, 2, 3):

            def configs(n: int = n) -> list[Path]:
                url = fresh_database(f"bench_replicas_{n}")
                return [write_config(folder / f"pg{n}_{i}", farm, url) for i in range(n)]

            setups.append((f"{n} replica{'s' if n > 1 else ''}, one PostgreSQL", configs))
        setups.append(
            (
                "naive: 3 replicas, each its own SQLite",
                lambda: [write_config(folder / f"naive_{i}", farm, f"naive_{i}.db") for i in range(3)],
            )
        )
        for label, make in setups:
            rate, repeated = run_replicas(farm, make())
            useful = rate * (1 - repeated)  # a repeat within one interval is wasted work
            one = one or useful
            print(f"{label:40} {rate:10.1f} {useful:14.1f} {useful / one:6.2f}x {repeated:8.1%}")
        for n in (1, 2, 3):
            drop_database(f"bench_replicas_{n}")

        instant = FeedServer().start()
        try:
            for f in range(FEEDS):
                instant.add(f"/f{f}", feed_body(f), validators=False)
            print(f"\ndatabase share of a poll (one process, {FEEDS} feeds polled in turn, farm answers at once)")
            print(f"{'backend':12} {'phase':28} {'ms/poll':>8} {'in store':>9}")
            url = fresh_database("bench_replicas_share")
            for backend, database in (("SQLite", "share.db"), ("PostgreSQL", url)):
                for phase, ms, share in database_share(folder / f"share_{backend}", instant, database):
                    print(f"{backend:12} {phase:28} {ms:8.2f} {share:9.0%}")
            drop_database("bench_replicas_share")
        finally:
            instant.stop()


if __name__ == "__main__":
    main()
