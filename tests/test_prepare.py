"""Parsing in the worker process gives exactly what parsing in-process gives, with a bounded backlog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conftest import rss

from monitor.intake.prepare import WORKER_THRESHOLD, Prepared, Preparer, prepare
from monitor.model import Fetched, FetchFailed

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def fetched(n: int) -> Fetched:
    body = rss({"title": f"Item {n}", "link": f"https://n.example/{n}"}).encode() if n % 3 else b"\x00\xffnot xml"
    return Fetched(f"http://f.test/{n}", f"http://f.test/{n}", 200, {}, body, timedelta(0))


def test_worker_and_in_process_agree() -> None:
    jobs = [(n, fetched(n), f"feed {n}", NOW) for n in range(9)]
    results = {}
    with Preparer(feeds=WORKER_THRESHOLD, backlog=2) as preparer:
        for job in jobs:
            results.update(preparer.submit(job))
            assert preparer.waiting < 2
        results.update(preparer.drain())
        assert preparer.worker is not None
    assert sorted(results) == list(range(9))
    for n, job in enumerate(jobs):
        assert results[n] == prepare(*job[1:])
        assert isinstance(results[n], FetchFailed if n % 3 == 0 else Prepared)


def test_small_cycles_parse_in_process() -> None:
    with Preparer(feeds=WORKER_THRESHOLD - 1, backlog=2) as preparer:
        [(index, result)] = list(preparer.submit((7, fetched(7), "feed", NOW)))
        assert preparer.worker is None and index == 7 and isinstance(result, Prepared)
