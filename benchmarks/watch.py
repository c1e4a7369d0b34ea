"""What the layout watch costs a run, and how big the state grows with it.

A cron run's close with the watch (``LayoutWatchCounts.judge``: record the run's pages in the
window, read the windows and watch states back, judge every site, store the changed states)
against the leanest honest baseline: the same pages written to a plain SQLite table in one
transaction (what storing them at all costs). Then the state's size after many runs: the
window keeps ``SMN_WATCH_WINDOW`` pages per site, so it stops growing.

    .venv/bin/python benchmarks/watch.py [--sites 25] [--runs 300]
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

from scrapy import Spider
from scrapy.utils.test import get_crawler

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.incremental.store import SqliteSeenStore  # noqa: E402
from crawler.incremental.watch import PageReading, dump  # noqa: E402
from crawler.spidermiddlewares.layout_watch import LayoutWatchCounts  # noqa: E402


def readings(sites: int, pages: int, run: int) -> list[PageReading]:
    return [
        PageReading(
            site=f"site{i % sites}.com",
            key=f"https://www.site{i % sites}.com/reports/story_{run}_{i}.html",
            seen_at=time.time() + i * 1e-6,
            run=f"run{run}",
            known=True,
            article=True,
            layout="classic",
        )
        for i in range(pages)
    ]


def watch_close(state: Path, sites: int, pages: int, run: int) -> float:
    crawler = get_crawler(Spider, {"SMN_CRAWL_ID": f"run{run}"})
    assert crawler.stats is not None
    crawler.stats.open_spider()
    watch = LayoutWatchCounts(crawler, LayoutWatchCounts.from_crawler(crawler).rules)
    for reading in readings(sites, pages, run):
        watch.readings.setdefault(reading.site, deque(maxlen=watch.rules.window)).append(reading)
        crawler.stats.inc_value(f"smn/site/{reading.site}/entry_points")
    store = SqliteSeenStore(state, recheck_days=7)
    try:
        started = time.perf_counter()
        watch.judge(store)
        return time.perf_counter() - started
    finally:
        store.close()


def plain_insert(path: Path, sites: int, pages: int, run: int) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS pages (key TEXT PRIMARY KEY, reading TEXT)")
    rows = [(r.key, dump(r)) for r in readings(sites, pages, run)]
    started = time.perf_counter()
    db.execute("BEGIN IMMEDIATE")
    db.executemany("INSERT OR REPLACE INTO pages VALUES (?, ?)", rows)
    db.execute("COMMIT")
    took = time.perf_counter() - started
    db.close()
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=25)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state.sqlite"
        plain = Path(tmp) / "plain.sqlite"
        print(
            f"{'pages in the run':>17} {'watch close ms':>15} {'plain insert ms':>16} {'ratio':>6}"
        )
        for run, pages in enumerate((10, 50, 500, 5000)):
            # Warm: a state that has seen a run already.
            watch_close(state, args.sites, pages, 1000 + run)
            took = min(watch_close(state, args.sites, pages, 2000 + run + i) for i in range(3))
            base = min(plain_insert(plain, args.sites, pages, 3000 + run + i) for i in range(3))
            print(f"{pages:>17} {took * 1e3:>15.1f} {base * 1e3:>16.1f} {took / base:>6.1f}")
        print()
        print(f"{'runs':>6} {'state KB':>9} {'KB per site':>12}")
        sizes = {}
        for run in range(args.runs):
            watch_close(state, args.sites, 20, 5000 + run)
            if run + 1 in (1, 10, 100, args.runs):
                size = sum(p.stat().st_size for p in Path(tmp).glob("state.sqlite*"))
                sizes[run + 1] = size
                print(f"{run + 1:>6} {size / 1024:>9.0f} {size / 1024 / args.sites:>12.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
