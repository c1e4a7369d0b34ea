"""The extraction pool's bounds: a page that takes too long costs its worker, not the crawl,
and a shutdown does not wait for a page stuck in a worker."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import time
from pathlib import Path
from typing import Any

from crawler.extraction.pool import STOPPED, ExtractionPool
from crawler.extraction.worker import PageResult
from crawler.protocol import PageKind
from tests.support.slow_work import sleepy

NOW = dt.datetime(2026, 12, 4, tzinfo=dt.UTC)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _workers(pool: ExtractionPool) -> list[int]:
    return [p.pid for p in (getattr(pool._executor, "_processes", None) or {}).values()]


def test_a_page_past_the_time_limit_costs_its_worker_and_the_next_page_is_read(
    tmp_path: Path,
) -> None:
    pool = ExtractionPool(2, timeout=1, work=sleepy)

    async def run() -> tuple[PageResult, float, list[int], PageResult]:
        started = time.monotonic()
        stuck = await pool.analyse(b"60", str(tmp_path / "a"), None, NOW)
        took = time.monotonic() - started
        workers = _workers(pool)  # none: the stuck pool was dropped
        after = await pool.analyse(b"0", str(tmp_path / "b"), None, NOW)
        return stuck, took, workers, after

    try:
        stuck, took, workers, after = asyncio.run(run())
    finally:
        pool.close()
    assert stuck.extraction.kind == PageKind.ERROR
    assert stuck.extraction.reason == "extraction took over 1 s"
    assert took < 10
    assert workers == []
    assert after.extraction.reason == "slept"


def test_abandoning_the_pool_answers_the_pages_in_flight_at_once(tmp_path: Path) -> None:
    pool = ExtractionPool(2, timeout=0, work=sleepy)
    marker = tmp_path / "started"

    async def run() -> tuple[PageResult, float, list[int], PageResult]:
        page = asyncio.ensure_future(pool.analyse(b"60", str(marker), None, NOW))
        deadline = time.monotonic() + 30
        while not marker.exists():  # the worker has the page
            assert time.monotonic() < deadline, "the page never reached a worker"
            await asyncio.sleep(0.02)
        workers = _workers(pool)
        started = time.monotonic()
        pool.abandon()
        result = await page
        took = time.monotonic() - started
        later = await pool.analyse(b"0", str(tmp_path / "later"), None, NOW)
        return result, took, workers, later

    try:
        result, took, workers, later = asyncio.run(run())
    finally:
        pool.close()
    assert result.extraction.reason == STOPPED and result.extraction.kind == PageKind.ERROR
    assert later.extraction.reason == STOPPED  # no new work after a shutdown
    assert took < 5
    assert workers
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers)


def test_sigterm_abandons_the_pool_then_runs_the_handler_it_found() -> None:
    calls: list[int] = []

    def scrapys(signum: int, frame: Any) -> None:
        calls.append(signum)

    previous = signal.signal(signal.SIGTERM, scrapys)
    pool = ExtractionPool(1)
    try:
        pool.abandon_on_shutdown_signals()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.1)  # delivered to the main thread at the next bytecode
        assert pool._abandoned
        assert calls == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        pool.close()


def test_a_page_past_the_workers_memory_limit_costs_its_worker_not_the_crawl(
    tmp_path: Path,
) -> None:
    from crawler.extraction.pool import CRASHED
    from tests.support.slow_work import hungry

    pool = ExtractionPool(2, timeout=0, work=hungry, memory_mb=200)

    async def run() -> tuple[PageResult, PageResult]:
        greedy = await pool.analyse(b"2000", "u1", None, NOW)  # 2 GB: past the limit
        modest = await pool.analyse(b"20", "u2", None, NOW)  # a fresh worker reads this
        return greedy, modest

    try:
        greedy, modest = asyncio.run(run())
    finally:
        pool.close()
    assert greedy.extraction.reason == CRASHED and greedy.extraction.kind == PageKind.ERROR
    assert modest.extraction.reason == f"held {20 * 1024 * 1024} bytes"
