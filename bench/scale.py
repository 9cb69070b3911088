"""Scale: `monitor run` with 10,000 and 100,000 feeds from a local farm, on SQLite and PostgreSQL,
with 1 and 3 replicas.

    python bench/scale.py                           # every setup below
    python bench/scale.py --feeds 10000 --backend sqlite --replicas 1 --window 30

The farm is bench/poll.py's server in its own process (``--hosts`` loopback addresses, ``--items``
items a feed, ETag and Last-Modified, 304 to a conditional GET). Each setup writes a config with
every feed at ``interval = "15m"``, starts the replicas (`monitor run`, each a process), and reads:

- start-up: from the process start until it logs ``started`` (config read, rules loaded, feeds
  synced to the store, the scheduler built); the slowest replica;
- first fetch: from the process start until the farm answers its first request;
- polls/s: requests the farm answered during ``--window`` seconds, once the first fetch is in (every
  feed is due at once on a new database, so this is what the replicas can sustain);
- transactions per poll (PostgreSQL): the database's committed transactions (pg_stat_database)
  over the window, divided by the polls;
- peak memory: the largest VmHWM of a replica and its parse worker, added;
- stop: SIGTERM to every replica, the time until the last one exits, and the exit codes.

A last run sends SIGTERM during start-up (while the feeds are synced) and checks the exit code.
What 111 polls/s means: 100,000 feeds every 15 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from poll import feed_urls, free_port, monitor_config, stats

ROOT = Path(__file__).resolve().parent.parent
POLL = Path(__file__).resolve().parent / "poll.py"


def peak_mb(pid: int) -> float:
    """VmHWM of ``pid`` and its children (the parse worker), in MB."""
    total = 0
    for candidate in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{candidate}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def committed(database: str) -> int:
    import psycopg

    with psycopg.connect(database, autocommit=True) as conn:
        row = conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").fetchone()
        return int(row[0]) if row else 0


def fresh_postgres(name: str) -> str:
    import psycopg

    with psycopg.connect("postgresql:///postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return f"postgresql:///{name}"


@dataclass
class Result:
    setup: str
    startup: float
    first_fetch: float
    polls_per_s: float
    tx_per_poll: float | None
    peak_mb: float
    stop_s: float
    exit_codes: list[int]


def run_setup(args: argparse.Namespace, port: int, feeds: int, backend: str, replicas: int) -> Result:
    urls = feed_urls(port, feeds, args.hosts)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        folder = Path(tmp)
        database = fresh_postgres("bench_scale") if backend == "postgresql" else "monitor.db"
        config = monitor_config(folder, urls, args.concurrency, args.per_host, database)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        logs = [folder / f"replica-{n}.log" for n in range(replicas)]
        stats(port)  # zero the farm's counters
        started, started_at = time.monotonic(), time.time()
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "monitor", "run", "--config", str(config)],
                cwd=folder,
                env=env,
                stdout=subprocess.DEVNULL,  # the console notifier's alerts
                stderr=log.open("w"),  # a file, not a pipe: nobody reads it until the end
                text=True,
            )
            for log in logs
        ]
        try:
            first_fetch = wait_first_fetch(port, started, processes, logs)
            base = committed(database) if backend == "postgresql" else 0
            stats(port)
            window_start = time.monotonic()
            time.sleep(args.window)
            answered = stats(port)
            seconds = time.monotonic() - window_start
            polls = answered["200"] + answered["304"]
            tx = (committed(database) - base) / polls if backend == "postgresql" and polls else None
            memory = max(peak_mb(p.pid) for p in processes)
            stop_started = time.monotonic()
            for p in processes:
                p.send_signal(signal.SIGTERM)
            codes = [p.wait(timeout=60) for p in processes]
            stop = time.monotonic() - stop_started
        finally:
            for p in processes:
                if p.poll() is None:
                    p.kill()
        startup = max(startup_seconds(log, started_at) for log in logs)
        name = f"{feeds:,} feeds, {backend}, {replicas} replica{'s' if replicas > 1 else ''}"
        return Result(name, startup, first_fetch, polls / seconds, tx, memory, stop, codes)


def wait_first_fetch(port: int, started: float, processes: list[subprocess.Popen[str]], logs: list[Path]) -> float:
    while time.monotonic() - started < 300:
        counts = stats(port)
        if counts["200"] or counts["304"]:
            return time.monotonic() - started
        if any(p.poll() is not None for p in processes):
            raise SystemExit("a replica exited before its first fetch:\n" + logs[0].read_text())
        time.sleep(0.1)
    raise SystemExit("no fetch within 300 s")


def startup_seconds(log: Path, started_at: float) -> float:
    """From the process start to its ``started`` line (the log's own UTC timestamps)."""
    for line in log.read_text(encoding="utf-8").splitlines():
        if 'msg="started' in line:
            stamp = line.split()[0].removeprefix("ts=").replace("Z", "+00:00")
            return datetime.fromisoformat(stamp).timestamp() - started_at
    raise SystemExit(f"{log}: no 'started' line:\n{log.read_text()[-2000:]}")


def stop_during_startup(args: argparse.Namespace, port: int, feeds: int) -> tuple[float, int]:
    """SIGTERM one second after the process starts (config read or feeds being synced)."""
    urls = feed_urls(port, feeds, args.hosts)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        config = monitor_config(Path(tmp), urls, args.concurrency, args.per_host)
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(config)],
            cwd=tmp,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
        return time.monotonic() - sent, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, action="append", help="feed counts (repeatable; default 10k and 100k)")
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--replicas", type=int, action="append", help="replica counts (PostgreSQL only above 1)")
    parser.add_argument("--items", type=int, default=3, help="items per feed in the farm")
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--per-host", type=int, default=4)
    parser.add_argument("--window", type=float, default=60.0, help="seconds over which polls/s are counted")
    args = parser.parse_args()
    counts = args.feeds or [10_000, 100_000]
    print(
        f"{args.items} items a feed on {args.hosts} loopback hosts; [fetch] concurrency={args.concurrency} "
        f"per_host={args.per_host}; polls counted over {args.window:g} s; {os.cpu_count()} CPUs"
    )
    print("| setup | start-up s | first fetch s | polls/s | transactions/poll | peak MB | stop s | exit codes |")
    print("|---|---|---|---|---|---|---|---|")
    port = free_port()
    farm = subprocess.Popen(
        [sys.executable, str(POLL), "serve", "--port", str(port), "--hosts", str(args.hosts),
         "--feeds", str(max(counts)), "--items", str(args.items)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert farm.stdout is not None and farm.stdout.readline().strip() == "ready"
        for feeds in counts:
            for backend in args.backend or ["sqlite", "postgresql"]:
                for replicas in args.replicas or [1, 3]:
                    if replicas > 1 and backend == "sqlite":
                        continue  # one SQLite file has one writer: replicas need PostgreSQL
                    r = run_setup(args, port, feeds, backend, replicas)
                    tx = f"{r.tx_per_poll:.3f}" if r.tx_per_poll is not None else "n/a"
                    print(
                        f"| {r.setup} | {r.startup:.1f} | {r.first_fetch:.1f} | {r.polls_per_s:.0f} | {tx} "
                        f"| {r.peak_mb:.0f} | {r.stop_s:.1f} | {json.dumps(r.exit_codes)} |",
                        flush=True,
                    )
        took, code = stop_during_startup(args, port, max(counts))
        print(f"\nSIGTERM 1 s into start-up with {max(counts):,} feeds: exit {code} after {took:.1f} s")
    finally:
        farm.terminate()
        farm.wait()


if __name__ == "__main__":
    main()
