"""A damaged incremental state heals, a newer one is left alone (crawler/incremental/store.py,
crawler/incremental/run.py): real SQLite files, and crawls of the replica.

* a state whose header and schema are intact but whose pages in the middle are garbage is
  found at open (``PRAGMA quick_check``), moved aside with its -wal and -shm files, and
  rebuilt from the dataset: the crawl exits 0, writes no duplicate, and so does the next;
* damage met during the run (a DatabaseError from the state) closes the run with
  ``state_error`` (exit 4) at the first one instead of failing every page (exit 7), and the
  next run moves the state aside and exits 0;
* a state of a newer schema version is refused (exit 4, a message naming the file and both
  versions) and left byte for byte as it was;
* copies moved aside are deleted after ``SMN_STATE_RECHECK_DAYS``, newer ones kept.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest
from scrapy import Spider
from scrapy.utils.test import get_crawler

from crawler import settings as project_settings
from crawler.incremental import store as store_module
from crawler.incremental.run import IncrementalRun
from crawler.incremental.store import SqliteSeenStore, StateDamaged, StateTooNew
from crawler.network.urls import url_key
from replica.app import from_direct
from replica.server import ReplicaHandle
from tests.support.crawl_run import CrawlRun, crawl

PAGE = 4096
STATE = "state.sqlite"
PADDING = "https://www.spacewar.com/about/page_{}_of_the_padding.html"


# -- helpers -------------------------------------------------------------------------------


def state_of(dataset: Path) -> Path:
    return dataset.parent / STATE


def state_files(directory: Path) -> dict[str, bytes]:
    """Every file of the state (and its copies and marks) in ``directory``, by name."""
    return {p.name: p.read_bytes() for p in sorted(directory.glob(f"{STATE}*"))}


def asides(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob(f"{STATE}.corrupt-*"))


def pad(path: Path, pages: int = 60_000) -> None:
    """Make the state a few MB, through the store, as months of page observations would."""
    store = SqliteSeenStore(path, recheck_days=7)
    try:
        keys = [PADDING.format(i) for i in range(pages)]
        store.add_pages(keys, "other", time.time())
        store.add_aliases({f"https://spacewar.com/old/{i}": keys[i] for i in range(pages // 4)})
    finally:
        store.close()
    assert path.stat().st_size > 2_000_000


def leave_wal(path: Path) -> None:
    """A writer killed mid-run: its last transaction in the -wal, with the -shm, never
    checkpointed into the file."""
    code = (
        "import os, sqlite3, sys\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "db.execute(\"INSERT OR REPLACE INTO pages VALUES ('https://x/killed', 'other', 1e10)\")\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)
    assert Path(f"{path}-wal").stat().st_size > 0 and Path(f"{path}-shm").exists()


def damage_middle(path: Path) -> None:
    """Garbage over 60 pages from page 200: header and schema intact (case 2f)."""
    assert path.stat().st_size > 260 * PAGE
    with path.open("r+b") as f:
        f.seek(200 * PAGE)
        f.write(os.urandom(60 * PAGE))


def quick_check_ok(path: Path) -> bool:
    db = sqlite3.connect(path)
    try:
        return db.execute("PRAGMA quick_check").fetchall() == [("ok",)]
    finally:
        db.close()


def stored_keys(dataset: Path) -> list[str]:
    """The keys of the rows in the dataset (none when a run stopped before its first file:
    how far a run gets before the state fails it depends on the order pages come in)."""
    if not any(dataset.rglob("*.parquet")):
        return []
    table = ds.dataset(dataset, partitioning="hive").to_table(columns=["url"])
    return [url_key(u) for u in table.column("url").to_pylist()]


def fetched_articles(replica: ReplicaHandle) -> list[str]:
    """The replica's article pages that were answered 200 since the log was cleared."""
    manifest = replica.manifest()
    urls = [
        from_direct(f"{r.scheme}://{r.host}{r.path}" + (f"?{r.query}" if r.query else ""))
        for r in replica.requests()
        if r.status == 200
    ]
    return [u for u in urls if manifest.article(u) is not None]


def run_crawl(replica: ReplicaHandle, dataset: Path, **settings: str) -> CrawlRun:
    replica.clear_log()
    return crawl(replica, dataset, settings=settings or None)


def assert_ok(run: CrawlRun) -> None:
    assert run.returncode == 0, run.output[-4000:]
    assert run.last_line.startswith("OK"), run.last_line


def assert_no_duplicates(replica: ReplicaHandle, dataset: Path) -> None:
    keys = stored_keys(dataset)
    assert len(keys) == len(set(keys))
    assert set(keys) <= {url_key(a.url) for a in replica.manifest().articles}


# -- damaged in the middle (2f): found at open, moved aside, rebuilt -------------------------


def test_a_state_damaged_in_the_middle_is_moved_aside_and_rebuilt(
    replica: ReplicaHandle, tmp_path: Path
) -> None:
    dataset = tmp_path / "articles"
    first = run_crawl(replica, dataset)
    assert_ok(first)
    stored = sorted(stored_keys(dataset))
    state = state_of(dataset)
    pad(state)
    leave_wal(state)
    damage_middle(state)
    damaged = state_files(tmp_path)
    assert set(damaged) == {STATE, f"{STATE}-wal", f"{STATE}-shm"}

    healed = run_crawl(replica, dataset)
    assert_ok(healed)
    assert f"State {state} is unreadable (integrity check failed:" in healed.output
    assert "'smn/incremental/state_created': 1" in healed.output
    assert "spider_exceptions" not in healed.output
    # Moved aside with its -wal and -shm, not deleted: the file and its log byte for byte.
    aside = asides(tmp_path)[0]  # then its -shm and -wal
    moved = state_files(tmp_path)
    assert {aside, f"{aside}-wal", f"{aside}-shm"} <= moved.keys()
    assert moved[aside] == damaged[STATE]
    assert moved[f"{aside}-wal"] == damaged[f"{STATE}-wal"]
    assert len(asides(tmp_path)) == 3
    # Rebuilt from the dataset: no stored article fetched again, no row written twice.
    assert quick_check_ok(state)
    assert fetched_articles(replica) == []
    assert sorted(stored_keys(dataset)) == stored
    assert_no_duplicates(replica, dataset)

    again = run_crawl(replica, dataset)
    assert_ok(again)
    assert f"State {state} is unreadable" not in again.output
    assert "state_created" not in again.output
    assert fetched_articles(replica) == []
    assert sorted(stored_keys(dataset)) == stored
    assert len(asides(tmp_path)) == 3


# -- damage met during the run: state_error (4) at once, healed by the next run -------------


class _FailingConnection:
    """The state's connection, whose lookups of stored articles fail from the third on as
    SQLite's do on a page damaged after the open."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._lookups = 0

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql.startswith("SELECT DISTINCT key FROM articles"):
            self._lookups += 1
            if self._lookups >= 3:
                raise sqlite3.DatabaseError("database disk image is malformed")
        return self._db.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


class DamagedMidRun:
    """An extension for the crawl subprocess (``EXTENSIONS``): every state the process opens
    gets a :class:`_FailingConnection`."""

    def __init__(self) -> None:
        opened = SqliteSeenStore._open

        def failing(store: SqliteSeenStore) -> Any:
            return _FailingConnection(opened(store))

        SqliteSeenStore._open = failing  # type: ignore[method-assign]

    @classmethod
    def from_crawler(cls, crawler: Any) -> DamagedMidRun:
        return cls()


def with_extension(name: str) -> str:
    return json.dumps({**project_settings.EXTENSIONS, name: 0})


def test_damage_during_the_run_closes_it_with_state_error_and_the_next_run_heals(
    replica: ReplicaHandle, tmp_path: Path
) -> None:
    dataset = tmp_path / "articles"
    broken = run_crawl(
        replica, dataset, EXTENSIONS=with_extension(f"{__name__}.{DamagedMidRun.__name__}")
    )
    assert broken.returncode == 4, broken.output[-4000:]
    assert broken.last_line.startswith("FAILED (code 4)"), broken.last_line
    assert "'finish_reason': 'state_error'" in broken.output
    assert "'smn/error/state': 1" in broken.output
    # Once, with its cause and what happens next; no page failed on it.
    assert broken.output.count("Incremental state lost during the run") == 1
    assert "database disk image is malformed" in broken.output
    assert "the next run moves it aside and rebuilds it from the dataset" in broken.output
    assert "spider_exceptions" not in broken.output
    assert "(code 7)" not in broken.output
    assert (tmp_path / f"{STATE}.damaged").exists()
    written = set(stored_keys(dataset))

    healed = run_crawl(replica, dataset)
    assert_ok(healed)
    assert "an earlier run found it damaged: database disk image is malformed" in healed.output
    assert "'smn/incremental/state_created': 1" in healed.output
    assert len(asides(tmp_path)) >= 1
    assert not (tmp_path / f"{STATE}.damaged").exists()
    assert_no_duplicates(replica, dataset)
    # It went on with the crawl (what it fetched of the stored ones dedup dropped).
    assert set(stored_keys(dataset)) > written


def test_damage_missed_at_open_is_marked_and_moved_aside_by_the_next_open(
    tmp_path: Path,
) -> None:
    """A state too big to check in time (check off here) with real damage: the call that
    meets it raises StateDamaged and marks the file; the next open moves it aside, even
    unchecked."""
    path = tmp_path / STATE
    pad(path)
    damage_middle(path)
    store = SqliteSeenStore(path, recheck_days=7, check_seconds=0)
    assert not store.created
    with pytest.raises(StateDamaged, match="next run moves it aside"):
        store.prune(time.time())  # scans every page observation
    store.close()
    assert (tmp_path / f"{STATE}.damaged").exists()
    again = SqliteSeenStore(path, recheck_days=7, check_seconds=0)
    try:
        assert again.created and again.replaced_corrupt is not None
        assert again.pending() == [] and again.ingested_files() == set()
    finally:
        again.close()
    assert not (tmp_path / f"{STATE}.damaged").exists()
    assert quick_check_ok(path)


def test_damage_met_while_the_open_syncs_is_healed_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check could not finish (a big state): the open's own sync and prune meet the
    damage, and the run opens the state again, moved aside and rebuilt, instead of failing."""
    output = tmp_path / "articles"
    path = tmp_path / STATE
    pad(path)
    damage_middle(path)
    monkeypatch.setattr(store_module, "quick_check", lambda db, seconds: None)
    crawler = get_crawler(Spider, {"SMN_OUTPUT": str(output)})
    crawler.spider = Spider.from_crawler(crawler, name="smn")
    assert crawler.stats is not None
    crawler.stats.open_spider()
    run = IncrementalRun.of(crawler)
    run.spider_opened()
    try:
        assert crawler.stats.get_value("smn/incremental/state_created") == 1
        assert crawler.stats.get_value("smn/error/state") is None
        assert len(asides(tmp_path)) == 1
        assert run.store.lookup([PADDING.format(1)], 0) == {}
    finally:
        run.spider_closed(reason="finished")
    assert quick_check_ok(path)


# -- a newer crawler's state: refused, untouched (2c) -----------------------------------------


def newer_state(path: Path, version: int = 2) -> None:
    """A state a newer crawler wrote: this schema's tables, and more, at ``version``."""
    store = SqliteSeenStore(path, recheck_days=7)
    try:
        store.add_pending({"https://www.spacewar.com/x": "https://www.spacewar.com/x"}, 1e9)
        store.add_pages(["https://www.spacewar.com/about.html"], "other", time.time())
    finally:
        store.close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE observations_v2 (key TEXT PRIMARY KEY, seen REAL)")
    db.execute(f"PRAGMA user_version={version}")
    db.close()


def test_a_newer_state_is_refused_and_left_as_it_was(
    replica: ReplicaHandle, tmp_path: Path
) -> None:
    dataset = tmp_path / "articles"
    state = state_of(dataset)
    state.parent.mkdir(parents=True, exist_ok=True)
    newer_state(state)
    before = state_files(tmp_path)
    assert list(before) == [STATE]
    run = run_crawl(replica, dataset)
    assert run.returncode == 4, run.output[-4000:]
    assert run.last_line.startswith("FAILED (code 4)"), run.last_line
    assert "'finish_reason': 'state_error'" in run.output
    assert (
        f"the state {state} has schema version 2, written by a newer smn-crawler "
        "(this one knows version 1): upgrade, or move it away to rebuild it" in run.output
    )
    assert f"State {state} is unreadable" not in run.output
    assert state_files(tmp_path) == before
    assert fetched_articles(replica) == []


def test_a_newer_version_in_the_wal_only_is_refused_without_a_write(tmp_path: Path) -> None:
    """The newer crawler was killed before a checkpoint: the file's header still says 1, its
    -wal says 2. Neither the file nor its -wal changes."""
    path = tmp_path / STATE
    SqliteSeenStore(path, recheck_days=7).close()
    code = (
        "import os, sqlite3, sys\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "db.execute('PRAGMA user_version=3')\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)
    before = state_files(tmp_path)
    with pytest.raises(StateTooNew, match="has schema version 3"):
        SqliteSeenStore(path, recheck_days=7)
    after = state_files(tmp_path)
    assert after[STATE] == before[STATE]
    assert after[f"{STATE}-wal"] == before[f"{STATE}-wal"]
    assert asides(tmp_path) == []


# -- old copies pruned ----------------------------------------------------------------------


def test_copies_moved_aside_are_deleted_after_the_recheck_interval(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = int(time.time())
    old, recent = now - 8 * 86_400, now - 6 * 86_400
    names = [
        *(f"{STATE}.corrupt-{old}{s}" for s in ("", "-wal", "-shm")),
        *(f"{STATE}.corrupt-{recent}{s}" for s in ("", "-wal")),
        f"{STATE}.corrupt-notes.txt",  # not a copy of ours
        f"other.sqlite.corrupt-{old}",  # another state's
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    with caplog.at_level(logging.INFO, logger="crawler.incremental.store"):
        SqliteSeenStore(tmp_path / STATE, recheck_days=7).close()
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != STATE)
    assert left == sorted(names[3:])
    assert "Deleted 3 moved-aside copies of the state older than 7 days" in caplog.text
