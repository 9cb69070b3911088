"""Polling at scale: `monitor poll` against a local farm of feeds, and against its peers.

    python bench/poll.py                      # 1,000 feeds x 20 items, 0 and 100 ms latency
    python bench/poll.py --feeds 200 --latency 0

A farm server runs in its own process (so it never shares a GIL with what is measured), on
``--hosts`` loopback addresses (127.0.0.1, 127.0.0.2, ...: a feed list spans many hosts, and
the per-host limit applies per host). Every feed has 20 items of about 600 bytes, an ETag and a
Last-Modified, and answers 304 to a conditional GET.

Each tool runs as a fresh process, twice on the same state: a cold cycle (everything new:
fetch, parse, rules, dedup, store) and a warm one (every feed answers 304). Every tool runs from
bytecode, as pip installs it: ``PYTHONDONTWRITEBYTECODE`` is dropped, and the monitor's source is
compiled first, untimed. Wall time, CPU seconds (user + system) and peak RSS come from
``os.wait4``. Tools:

- ``monitor``: ``python -m monitor poll`` with ``[fetch] concurrency`` and ``per_host`` as given.
- ``naive``: ``feedparser.parse(url)`` in a serial loop (warm: with ``etag=``/``modified=``).
- ``reader`` and ``rss2email`` from PyPI, and Debian's ``newsboat``, each with its default
  settings for the same feed URLs. They run from ``--peers-venv`` (not the project's deps).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Everyday news words; the shipped rules look for AI, robotics and funding terms, which appear
# only in the one planted headline per 50 feeds (so matching costs what it costs on real news).
WORDS = [
    *[
        "city",
        "council",
        "weather",
        "storm",
        "river",
        "bridge",
        "school",
        "teachers",
        "parents",
        "election",
        "vote",
        "mayor",
        "budget",
    ],
    *[
        "housing",
        "rent",
        "train",
        "station",
        "airport",
        "holiday",
        "festival",
        "museum",
        "football",
        "season",
        "coach",
        "players",
    ],
    *[
        "hospital",
        "doctors",
        "patients",
        "court",
        "judge",
        "police",
        "fire",
        "harbour",
        "ferry",
        "garden",
        "library",
        "concert",
    ],
]


# --- the farm -------------------------------------------------------------------------------------


def feed_body(index: int, items: int, now: float) -> bytes:
    rng = random.Random(index)

    def words(n: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(n))

    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
        f"<title>Farm feed {index}</title><link>https://site{index}.example/</link><description>d</description>",
    ]
    for j in range(items):
        title = f"{words(7).capitalize()} {index}-{j}"
        if index % 50 == 0 and j == 0:
            title = f"World model startup {index} raises funding round"
        link = f"&lt;a href='https://site{index}.example/x'&gt;{words(3)}&lt;/a&gt;"
        text = f"&lt;p&gt;{words(35)} {link} {words(25)}&lt;/p&gt;"
        parts.append(
            f"<item><title>{title}</title><link>https://site{index}.example/post/{j}?utm_source=rss</link>"
            f'<guid isPermaLink="false">site{index}-{j}</guid>'
            f"<pubDate>{formatdate(now - 600 * j - index, usegmt=True)}</pubDate>"
            f"<description>{text}</description></item>"
        )
    parts.append("</channel></rss>")
    return "\n".join(parts).encode()


def feed_urls(port: int, feeds: int, hosts: int) -> list[str]:
    return [f"http://127.0.0.{i % hosts + 1}:{port}/feed/{i}.xml" for i in range(feeds)]


class Farm:
    """The server side (run with `serve`): an asyncio HTTP/1.1 server with keep-alive."""

    def __init__(self, feeds: int, items: int, latency: float) -> None:
        self.latency = latency
        self.bodies = [feed_body(i, items, time.time()) for i in range(feeds)]
        self.etags = [f'"{hashlib.sha1(b).hexdigest()[:16]}"' for b in self.bodies]
        self.modified = formatdate(1_795_000_000, usegmt=True)
        self.counts = {"200": 0, "304": 0, "404": 0}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {
                    k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                if self.latency:
                    await asyncio.sleep(self.latency)
                writer.write(self.answer(path, headers))
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def answer(self, path: str, headers: dict[str, str]) -> bytes:
        if path == "/stats":
            body = json.dumps(self.counts).encode()
            self.counts = {"200": 0, "304": 0, "404": 0}
            return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
                len(body),
                body,
            )
        try:
            index = int(path.rsplit("/", 1)[1].split(".")[0])
            body = self.bodies[index]
        except (ValueError, IndexError):
            self.counts["404"] += 1
            return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
        etag = self.etags[index]
        validators = f"ETag: {etag}\r\nLast-Modified: {self.modified}\r\n"
        if headers.get("if-none-match") == etag or headers.get("if-modified-since") == self.modified:
            self.counts["304"] += 1
            return f"HTTP/1.1 304 Not Modified\r\n{validators}\r\n".encode()
        self.counts["200"] += 1
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\n{validators}"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body


async def serve(port: int, hosts: int, farm: Farm) -> None:
    servers = [
        await asyncio.start_server(farm.handle, f"127.0.0.{h + 1}", port, backlog=1024, reuse_address=True)
        for h in range(hosts)
    ]
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stats(port: int) -> dict[str, int]:
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return json.loads(data.split(b"\r\n\r\n", 1)[1])


# --- the tools ------------------------------------------------------------------------------------

NAIVE = """
import json, sys, feedparser
urls, state_file, warm = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3] == "warm"
state = json.load(open(state_file)) if warm else {}
seen = 0
for url in urls:
    old = state.get(url, {})
    d = feedparser.parse(url, etag=old.get("etag"), modified=old.get("modified"))
    seen += len(d.entries)
    state[url] = {"etag": d.get("etag"), "modified": d.get("modified")}
json.dump(state, open(state_file, "w"))
print(seen, "entries")
"""

READER_SETUP = """
import json, sys
from reader import make_reader
r = make_reader(sys.argv[2])
for url in json.load(open(sys.argv[1])):
    r.add_feed(url, exist_ok=True)
r.close()
"""

READER_RUN = """
import sys
from reader import make_reader
r = make_reader(sys.argv[1])
r.update_feeds(scheduled=False)  # every feed, not only those reader would schedule now
print(r.get_entry_counts().total, "entries")
r.close()
"""


@dataclass
class Run:
    wall: float
    cpu: float
    peak_mb: float
    ok: bool
    note: str = ""


def tree_memory_mb(pid: int) -> float:
    """Proportional set size (PSS) of a process and all its descendants, in MB. PSS, not RSS: a
    child between fork and exec shares its parent's pages, and RSS would count them twice."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text()
            total += int(rollup.split("\nPss:")[1].split()[0]) if "\nPss:" in rollup else 0
            for task in Path(f"/proc/{current}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError, IndexError):
            continue
    return total / 1024


def measure_rusage(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Wall and CPU seconds of one child process (its own children included) from wait4, and the
    peak memory of its whole process tree (PSS, sampled every 10 ms: a parse worker counts)."""
    started = time.monotonic()
    peak = 0.0
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, tree_memory_mb(process.pid))
            time.sleep(0.01)
        wall = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        out.seek(0)
        text = (err.read().strip() or out.read().strip()).splitlines()
    return Run(
        wall,
        usage.ru_utime + usage.ru_stime,
        peak or usage.ru_maxrss / 1024,  # a process too short-lived to sample: its own peak RSS
        process.returncode == 0,
        (text[-1] if text else "")[:200],
    )


def monitor_config(
    directory: Path, urls: list[str], concurrency: int, per_host: int, database: str = "monitor.db"
) -> Path:
    """A config.toml in ``directory`` polling ``urls`` every 15 minutes with the shipped rule pack,
    no health endpoint."""
    lines = [
        "[monitor]",
        f'database = "{database}"',
        f'rules = "{ROOT / "rules"}"',  # the shipped rule pack
        'default_interval = "15m"',
        "health_port = 0",
        "",
        "[fetch]",
        f"concurrency = {concurrency}",
        f"per_host = {per_host}",
        "timeout = 30",
    ]
    for i, url in enumerate(urls):
        lines += ["", "[[feeds]]", f'name = "feed {i}"', f'url = "{url}"']
    path = directory / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


Spec = tuple[list[str], list[str], Path] | str  # (cold command, warm command, cwd), or why it cannot run


def setup_monitor(args: argparse.Namespace, urls: list[str], work: Path) -> Spec:
    directory = work / "monitor"
    directory.mkdir()
    config = monitor_config(directory, urls, args.concurrency, args.per_host)
    poll = [sys.executable, "-m", "monitor", "poll", "--config", str(config)]
    # What pip does for the peers at install time (this checkout may run with no bytecode yet).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "monitor")], check=True)
    return poll, poll, ROOT


def setup_naive(args: argparse.Namespace, urls: list[str], work: Path) -> Spec:
    naive = [sys.executable, "-c", NAIVE, str(work / "urls.json"), str(work / "naive.json")]
    return [*naive, "cold"], [*naive, "warm"], work


def peers_python(args: argparse.Namespace) -> Path | None:
    python = Path(args.peers_venv) / "bin" / "python"
    return python if python.exists() else None


NO_VENV = "no peers venv at {0} (python -m venv {0} && {0}/bin/pip install reader sgmllib3k rss2email)"


def setup_reader(args: argparse.Namespace, urls: list[str], work: Path) -> Spec:
    python = peers_python(args)
    if python is None:
        return NO_VENV.format(args.peers_venv)
    db = work / "reader.sqlite"
    subprocess.run([str(python), "-c", READER_SETUP, str(work / "urls.json"), str(db)], check=True)
    run = [str(python), "-c", READER_RUN, str(db)]
    return run, run, work


def setup_rss2email(args: argparse.Namespace, urls: list[str], work: Path) -> Spec:
    if peers_python(args) is None:
        return NO_VENV.format(args.peers_venv)
    r2e = [str(Path(args.peers_venv) / "bin" / "r2e"), "-c", str(work / "r2e.cfg"), "-d", str(work / "r2e.json")]
    subprocess.run([*r2e, "new", "bench@example.com"], check=True, capture_output=True)
    with open(work / "r2e.cfg", "a", encoding="utf-8") as cfg:
        for i, url in enumerate(urls):
            cfg.write(f"\n[feed.f{i:05d}]\nurl = {url}\n")
    run = [*r2e, "run", "--no-send"]
    return run, run, work


def setup_newsboat(args: argparse.Namespace, urls: list[str], work: Path) -> Spec:
    newsboat = shutil.which("newsboat")
    if newsboat is None:
        return "not installed (apt-get install -y newsboat)"
    (work / "newsboat.urls").write_text("\n".join(urls) + "\n")
    (work / "newsboat.conf").write_text("")
    files = ["-u", work / "newsboat.urls", "-c", work / "newsboat.db", "-C", work / "newsboat.conf"]
    run = [newsboat, "-x", "reload", *map(str, files)]
    return run, run, work


TOOLS = {
    "monitor": setup_monitor,
    "naive feedparser loop": setup_naive,
    "reader": setup_reader,
    "rss2email": setup_rss2email,
    "newsboat": setup_newsboat,
}


def run_latency(args: argparse.Namespace, latency: float) -> list[dict[str, object]]:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "serve",
            "--port",
            str(port),
            "--hosts",
            str(args.hosts),
            "--feeds",
            str(args.feeds),
            "--items",
            str(args.items),
            "--latency",
            str(latency),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    rows = []
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        urls = feed_urls(port, args.feeds, args.hosts)
        repeats = args.repeat if latency == 0 else 1
        for name, setup in TOOLS.items():
            if args.only and name not in args.only:
                continue
            runs = []
            for _ in range(repeats):
                with tempfile.TemporaryDirectory(prefix="bench-poll-") as tmp:
                    env = {**os.environ, "HOME": tmp, "XDG_CONFIG_HOME": tmp, "XDG_DATA_HOME": tmp}
                    env.pop("PYTHONDONTWRITEBYTECODE", None)  # every tool runs from its bytecode, as installed
                    (Path(tmp) / "urls.json").write_text(json.dumps(urls))
                    spec = setup(args, urls, Path(tmp))
                    if isinstance(spec, str):
                        break
                    cold_cmd, warm_cmd, cwd = spec
                    stats(port)
                    cold = measure_rusage(cold_cmd, cwd, env)
                    cold_counts = stats(port)
                    warm = measure_rusage(warm_cmd, cwd, env)
                    runs.append((cold, warm, cold_counts, stats(port)))
            if isinstance(spec, str):
                rows.append({"tool": name, "latency_ms": latency * 1000, "skipped": spec})
            else:
                rows.append(
                    {
                        "tool": name,
                        "latency_ms": latency * 1000,
                        "cold": median_run([r[0] for r in runs]),
                        "warm": median_run([r[1] for r in runs]),
                        "cold_http": runs[-1][2],
                        "warm_http": runs[-1][3],
                        "repeats": len(runs),
                    }
                )
            print(format_row(rows[-1]), flush=True)
    finally:
        server.terminate()
        server.wait()
    return rows


def median_run(runs: list[Run]) -> Run:
    """The median of each measure over repeated runs (the machine may be busy with other work)."""
    return Run(
        statistics.median(r.wall for r in runs),
        statistics.median(r.cpu for r in runs),
        statistics.median(r.peak_mb for r in runs),
        all(r.ok for r in runs),
        next((r.note for r in runs if not r.ok), runs[-1].note),
    )


def format_row(row: dict[str, object]) -> str:
    if "skipped" in row:
        return f"| {row['tool']} | {row['latency_ms']:.0f} | skipped: {row['skipped']} | | | | | | |"
    cold, warm = row["cold"], row["warm"]
    assert isinstance(cold, Run) and isinstance(warm, Run)
    ch, wh = row["cold_http"], row["warm_http"]
    status = "" if cold.ok and warm.ok else f" FAILED: {cold.note or warm.note}"
    label = f"{row['tool']} (median of {row['repeats']})" if row["repeats"] != 1 else row["tool"]
    return (
        f"| {label} | "
        f"{row['latency_ms']:.0f} | {cold.wall:.2f} | {cold.cpu:.2f} | {cold.peak_mb:.0f} | "
        f"{warm.wall:.2f} | {warm.cpu:.2f} | {warm.peak_mb:.0f} | "
        f"{ch['200']}/{ch['304']} → {wh['200']}/{wh['304']}{status} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "serve"])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--hosts", type=int, default=100, help="loopback addresses the feeds are spread over")
    parser.add_argument("--latency", type=float, action="append", help="seconds per response (repeatable)")
    parser.add_argument("--port", type=int, default=0)
    # Enough to have every feed of the farm in flight at once (10 feeds per host by default):
    # the question at 100 ms is whether concurrency hides latency, so the limits must allow it.
    parser.add_argument("--concurrency", type=int, default=1000, help="monitor's [fetch] concurrency")
    parser.add_argument("--per-host", type=int, default=10, help="monitor's [fetch] per_host")
    parser.add_argument("--peers-venv", default="/work/bench-venv")
    parser.add_argument("--only", action="append", help="run only this tool (repeatable)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool without latency (medians shown)")
    args = parser.parse_args()
    if args.mode == "serve":
        asyncio.run(serve(args.port, args.hosts, Farm(args.feeds, args.items, (args.latency or [0])[0])))
        return
    print(
        f"{args.feeds} feeds x {args.items} items on {args.hosts} loopback hosts; "
        f"monitor concurrency={args.concurrency} per_host={args.per_host}"
    )
    print(
        "| tool | latency ms | cold s | cold CPU s | cold peak MB | warm s | warm CPU s | warm peak MB "
        "| HTTP 200/304 cold → warm |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    rows = [row for latency in args.latency or [0.0, 0.1] for row in run_latency(args, latency)]
    summarise(rows)


def summarise(rows: list[dict[str, object]]) -> None:
    """Ratios: the monitor against each peer (wall time, same latency), and 100 ms against 0 ms."""
    measured = {(r["tool"], r["latency_ms"]): r for r in rows if "cold" in r}
    for (tool, latency), row in measured.items():
        mine = measured.get(("monitor", latency))
        if tool != "monitor" and mine:
            cold = row["cold"].wall / mine["cold"].wall  # type: ignore[union-attr]
            warm = row["warm"].wall / mine["warm"].wall  # type: ignore[union-attr]
            print(f"{latency:.0f} ms: {tool} takes {cold:.1f}x the monitor's wall time cold, {warm:.1f}x warm")
    slow, fast = measured.get(("monitor", 100.0)), measured.get(("monitor", 0.0))
    if slow and fast:
        cold = slow["cold"].wall / fast["cold"].wall  # type: ignore[union-attr]
        warm = slow["warm"].wall / fast["warm"].wall  # type: ignore[union-attr]
        print(f"monitor at 100 ms per response vs none: {cold:.2f}x cold, {warm:.2f}x warm (target <= 1.5x)")


if __name__ == "__main__":
    main()
