"""Fetched bytes -> normalised Items, in this process or in a worker process.

Parsing and normalising are pure and CPU-bound (about 60% of a cold cycle's CPU once fetching
is cheap), so a large cycle hands them to one worker process while this process keeps fetching,
matching and storing: two cores instead of one. Matching, story decisions and storage stay in
the caller's thread, in order.

A small cycle (the scheduler's usual handful of due feeds) parses in-process: starting a worker
costs about 0.2 s, more than it saves.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from monitor.intake import normalise
from monitor.intake.parse import parse
from monitor.model import Fetched, FetchFailed, Item
from monitor.textsafety import clean

log = logging.getLogger("monitor.intake")

WORKER_THRESHOLD = 50  # feeds in a cycle from which a worker process pays for itself
# Jobs waiting for the worker at most: enough to keep it busy (~2 ms a feed), few enough that a
# high [fetch] concurrency does not also mean that many bodies queued in memory.
MAX_BACKLOG = 64


@dataclass(frozen=True, slots=True)
class Prepared:
    items: tuple[Item, ...]
    ttl: timedelta | None


def prepare(fetched: Fetched, feed: str, now: datetime) -> Prepared | FetchFailed:
    """Parse and normalise one feed. An unexpected error here is a bug, logged with its traceback,
    but it fails only this feed: one hostile feed must not take the cycle (or the worker) down."""
    try:
        parsed = parse(fetched)
        if isinstance(parsed, FetchFailed):
            return parsed
        return Prepared(normalise.items(parsed, feed, now), parsed.ttl)
    except Exception as e:
        log.exception("bug while reading feed=%s url=%s", feed, fetched.url)
        return FetchFailed(
            fetched.url, "parse", clean(f"internal error while reading the feed (a bug): {type(e).__name__}: {e}")
        )


Job = tuple[int, Fetched, str, datetime]  # (index, fetched, feed name, first-seen time)
Done = tuple[int, Prepared | FetchFailed]
_FRAME = struct.Struct("!I")


def _write(stream: IO[bytes], value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_FRAME.pack(len(data)) + data)
    stream.flush()


def _read(stream: IO[bytes]) -> Any:
    head = stream.read(_FRAME.size)
    if len(head) < _FRAME.size:
        raise EOFError
    return pickle.loads(stream.read(_FRAME.unpack(head)[0]))


class Preparer:
    """Runs ``prepare`` for submitted jobs and yields (index, result) as they finish.

    The worker is ``python -m monitor.intake.prepare``, a plain child process fed pickled jobs
    over a pipe (multiprocessing's spawn would re-import the caller's main script). At most
    ``backlog`` jobs wait at once (their bodies are in memory): ``submit`` yields finished results,
    blocking when the backlog is full, so a slow worker slows the fetching down.
    """

    def __init__(self, feeds: int, backlog: int) -> None:
        self.backlog = backlog
        self.waiting = 0
        self.results: queue.Queue[Done | BaseException] = queue.Queue()
        self.jobs: queue.Queue[Job | None] = queue.Queue()
        self.use_worker = feeds >= WORKER_THRESHOLD and (os.cpu_count() or 1) > 1
        self.worker: subprocess.Popen[bytes] | None = None  # started with the first job
        self.threads: list[threading.Thread] = []

    def _start(self) -> subprocess.Popen[bytes]:
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "monitor.intake.prepare"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self.threads = [
            threading.Thread(target=self._send, name="monitor-prepare-send", daemon=True),
            threading.Thread(target=self._receive, name="monitor-prepare-receive", daemon=True),
        ]
        for thread in self.threads:
            thread.start()
        return self.worker

    def _send(self) -> None:
        """Writes jobs to the worker from its own thread: a full pipe must not stall the caller."""
        assert self.worker is not None and self.worker.stdin is not None
        try:
            while (job := self.jobs.get()) is not None:
                _write(self.worker.stdin, job)
        except (BrokenPipeError, OSError):
            pass  # the worker died; _receive reports it
        finally:
            self.worker.stdin.close()

    def _receive(self) -> None:
        assert self.worker is not None and self.worker.stdout is not None
        try:
            while True:
                self.results.put(_read(self.worker.stdout))
        except EOFError:
            if self.waiting:
                self.results.put(ChildProcessError(f"the parse worker exited (code {self.worker.wait()})"))

    def submit(self, job: Job) -> Iterator[Done]:
        """Queue one job; yields whatever finished meanwhile (in-process: this job's result)."""
        index, fetched, feed, now = job
        if not self.use_worker:
            yield index, prepare(fetched, feed, now)
            return
        if self.worker is None:
            self._start()
        self.jobs.put(job)
        self.waiting += 1
        while self.waiting >= self.backlog:
            yield self._next(block=True)
        while self.waiting and not self.results.empty():
            yield self._next(block=False)

    def drain(self) -> Iterator[Done]:
        while self.waiting:
            yield self._next(block=True)

    def _next(self, block: bool) -> Done:
        got = self.results.get(block=block)
        if isinstance(got, BaseException):
            raise got
        self.waiting -= 1
        return got

    def close(self) -> None:
        if self.worker is not None:
            self.jobs.put(None)
            for thread in self.threads:
                thread.join()
            assert self.worker.stdout is not None
            self.worker.stdout.close()
            self.worker.wait()

    def __enter__(self) -> Preparer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(jobs: IO[bytes], results: IO[bytes]) -> None:
    """The worker's loop: a job in, its result out, until the parent closes the pipe."""
    while True:
        try:
            index, fetched, feed, now = _read(jobs)
        except EOFError:
            return
        _write(results, (index, prepare(fetched, feed, now)))


if __name__ == "__main__":  # the worker: import this module under its real name, so results unpickle
    from monitor.intake import prepare as worker

    worker.serve(sys.stdin.buffer, sys.stdout.buffer)
