"""Crash safety: ``kill -9`` at random moments loses no published row and corrupts nothing.

A crawl of the replica at scale (440 articles), writing every row as a row group of its
own into small files so that files are open and being published all through the crawl, is
killed with SIGKILL again and again at seeded random moments: some a random time after
start (start-up, the state's sync, the entry points), most once the run has published a
random number of files (mid-crawl, mid-file). Most kills take the crawler and its
extraction workers at once (its process group: a reboot, a cgroup OOM kill), every fourth
the crawler alone (the OOM killer picks one process). After every kill:

* the dataset reads without error with pyarrow.dataset, pandas and DuckDB, every visible
  file is a complete Parquet file (hidden temp files are allowed: readers skip them), and
  no canonical URL has two rows;
* the dataset lock is free (the flock died with the process), the incremental state passes
  SQLite's integrity check, and it claims no article the dataset does not hold;
* every published row names a published WARC file whose record at its offset is its page.

Then a run of the same configuration, not killed, exits 0 and completes the dataset (the
killed runs' pending links included: an article linked from a stored article only), and a
full re-crawl then holds every manifest article exactly once. A killed run hides no page
from the next run, and a run killed between publishing an article and writing the one
only it links to loses neither. A crawler killed alone leaves no extraction worker behind,
and a killed extraction worker costs no article.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from crawler.dataset.lock import DatasetLock
from crawler.network.urls import url_key
from crawler.outcome.judge import ExitCode
from crawler.stories.sqlite import SqliteBandStore
from replica.app import Request as ReplicaRequest
from replica.server import ReplicaHandle, serve_replica
from tests.support.crawl_run import REPO, CrawlRun, crawl, crawl_command
from tests.support.warc import warc_problems

SEED = 20261123
KILLS = 10  # kills that must land while the crawl runs
MAX_ATTEMPTS = 13  # a run may end before its kill once the dataset is nearly complete
REPLICA_SCALE = SCALE = 400  # 440 articles: a whole crawl takes about 15 s
# The replicated sites only: the registry's other sites answer 404 to every entry point, a
# few seconds of every short run spent on nothing.
SITES = "sites=spacewar.com,spacedaily.com,terradaily.com,marsdaily.com,spacemart.com"
# Every row its own row group, files of ten rows, four open files (the least recently
# used partition's file is published when a fifth is needed; the articles span some 150
# months): a run always has open temp files with row groups in them and publishes files
# all along, so kills land mid-file, mid-row-group and mid-publication, and each killed
# run leaves published rows the next one does not fetch again.
WRITER = {"SMN_ROW_GROUP_SIZE": "1", "SMN_FILE_MAX_ROWS": "10", "SMN_MAX_OPEN_FILES": "4"}
# The state's defaults: a killed run stores no page observation, so it hides nothing from
# the later runs of the series, and pending links are never given up within it.
SETTINGS = WRITER


@dataclass
class Kill:
    """One killed run and what the checks found after it."""

    trigger: str
    """"start-up" (a random delay after start) or "progress" (after the run published a
    random number of files)."""
    target: str
    """"group" (the crawler and its workers) or "crawler" (the crawler alone)."""
    after: float
    """Seconds from start to the kill."""
    landed: bool
    """The crawl was still running when killed."""
    temp_files: int
    """Hidden temp files the kill left (the run's files being written when it landed)."""
    rows: int
    """Rows in the dataset after the kill."""
    problems: list[str] = field(default_factory=list)
    others: int = 0
    """The run's other processes when it was killed (forkserver, workers, tracker)."""
    orphans: list[int] = field(default_factory=list)
    """Those still alive 2 s after the crawler died."""


@dataclass
class Series:
    kills: list[Kill]
    final: CrawlRun
    """The run after the kills: same configuration, not killed."""
    final_keys: list[str]
    """The url_key of every row's canonical URL after it."""
    final_temp_files: set[Path]
    full: CrawlRun
    """Then a full re-crawl (SMN_INCREMENTAL=0)."""
    expected: set[str]
    """Every manifest article."""
    behind_articles: set[str]
    """The manifest articles linked from other articles only (RELATED CONTENT)."""


# -- killing -------------------------------------------------------------------------------


def start(
    handle: ReplicaHandle, dataset: Path, log: Path, settings: dict[str, str]
) -> subprocess.Popen[bytes]:
    """The crawl in a session of its own: its process group holds the crawler, the
    forkserver, the extraction workers and the resource tracker, and nothing else."""
    command, env = crawl_command(handle, dataset, "-a", SITES, settings=settings)
    with log.open("ab") as out:
        return subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def temp_files(dataset: Path) -> set[Path]:
    return set(dataset.rglob(".part-*.parquet.tmp")) if dataset.exists() else set()


def published(dataset: Path) -> set[Path]:
    return set(dataset.rglob("part-*.parquet")) if dataset.exists() else set()


def wait_until_published(
    process: subprocess.Popen[bytes], dataset: Path, old: set[Path], files: int, timeout: float
) -> None:
    """Until the run has published ``files`` files of its own (``old``: those of the runs
    before it) and its extraction workers are up, or ``timeout``. Progress, not time: the
    kills land mid-crawl however fast the machine."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if len(published(dataset) - old) >= files and len(group_members(process.pid)) > 1:
            return
        time.sleep(0.02)


def kill(process: subprocess.Popen[bytes], target: str) -> tuple[int, list[int]]:
    """SIGKILL the crawler (``target`` "crawler") or its whole process group ("group").
    Return how many other processes the group had, and those still alive 2 s after the
    crawler died (workers orphaned by a crawler-only kill); kill those too after that: the
    machine must stay clean."""
    pgid = process.pid  # start_new_session: the crawler leads its own group
    others = len(group_members(pgid)) - 1
    # The run may end between the caller's look and the kill: nothing left to kill then.
    with contextlib.suppress(ProcessLookupError):
        if target == "group":
            os.killpg(pgid, signal.SIGKILL)
        else:
            os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    # The workers of a killed crawler end on their own: wait for it (a loaded machine takes
    # its time), and call those still there after 30 s orphans.
    deadline = time.monotonic() + 30
    while True:
        orphans = [pid for pid in group_members(pgid) if pid != process.pid]
        if not orphans or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    return others, orphans


def group_members(pgid: int) -> list[int]:
    """Live processes of process group ``pgid`` (zombies and the dead excluded)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # state, ppid, pgrp, ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


# -- checking ------------------------------------------------------------------------------


def check(dataset: Path, state: Path) -> tuple[int, list[str]]:
    """Rows in the dataset, and what is wrong with it, its lock or its state."""
    problems: list[str] = []
    visible = [
        p
        for p in dataset.rglob("*.parquet")
        if not any(part.startswith((".", "_")) for part in p.relative_to(dataset).parts)
    ]
    rows = 0
    if visible:
        try:
            # reads every visible file whole: a partial one fails it
            table = ds.dataset(dataset, partitioning="hive").to_table()
        except Exception as exc:
            return 0, [f"pyarrow cannot read the dataset: {exc!r}", *unreadable(visible)]
        rows = table.num_rows
        keys = [url_key(u) for u in table.column("canonical_url").to_pylist()]
        if len(keys) != len(set(keys)):
            problems.append(f"{len(keys) - len(set(keys))} duplicated canonical URLs")
        try:
            if len(pd.read_parquet(dataset)) != rows:
                problems.append("pandas reads another row count")
            glob = f"{dataset}/**/*.parquet"
            [(count,)] = duckdb.execute(
                f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning = true)"
            ).fetchall()
            if count != rows:
                problems.append(f"DuckDB reads {count} rows, pyarrow {rows}")
        except Exception as exc:
            problems.append(f"the dataset does not read: {exc!r}")
        stored = set(keys) | {url_key(u) for u in table.column("url").to_pylist()}
        problems += check_state(state, stored)
        problems += warc_problems(dataset)
    elif state.exists():
        problems += check_state(state, set())
    try:
        DatasetLock.acquire(dataset).release()
    except Exception as exc:
        problems.append(f"the dataset lock outlived the run: {exc!r}")
    return rows, problems


def unreadable(files: list[Path]) -> list[str]:
    """The files of ``files`` pyarrow cannot read whole."""
    found = []
    for path in files:
        try:
            pq.read_table(path)
        except Exception as exc:
            found.append(f"partial or unreadable file {path}: {exc!r}")
    return found


def check_state(state: Path, stored: set[str]) -> list[str]:
    """SQLite's integrity check, and no article known to the state but absent from the
    dataset (the next run would skip it: lost for good)."""
    if not state.exists():
        return []  # killed before it was created: the next run builds it from the dataset
    try:
        # mode=rw: never create one; opening it replays a killed run's WAL, as a run would
        db = sqlite3.connect(f"file:{state}?mode=rw", uri=True, timeout=5)
        try:
            (verdict,) = db.execute("PRAGMA integrity_check").fetchone()
            known = {key for (key,) in db.execute("SELECT key FROM articles")}
        finally:
            db.close()
    except sqlite3.Error as exc:
        return [f"the state does not open: {exc!r}"]
    problems = [] if verdict == "ok" else [f"state integrity: {verdict}"]
    unstored = known - stored
    if unstored:
        problems.append(f"the state claims {len(unstored)} articles the dataset lacks")
    return problems


# -- the series ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def series(replica: ReplicaHandle, tmp_path_factory: pytest.TempPathFactory) -> Series:
    root = tmp_path_factory.mktemp("crash")
    dataset, state, log = root / "articles", root / "state.sqlite", root / "kills.log"
    rng = random.Random(SEED)
    kills: list[Kill] = []
    for attempt in range(MAX_ATTEMPTS):
        if sum(k.landed for k in kills) >= KILLS:
            break
        # Every third kill strikes a random time after start (interpreter and Scrapy start-
        # up, the state's sync with the dataset, the entry points); the others once the run
        # has published a random number of files (mid-crawl; with one row per row group and
        # four open files, mid-file too). Every fourth takes the crawler alone, mid-crawl:
        # its workers surely exist.
        target = "crawler" if attempt % 4 == 3 else "group"
        trigger = "start-up" if attempt % 3 == 2 and target == "group" else "progress"
        files = rng.randint(1, 5)
        delay = rng.uniform(0.3, 2.5) if trigger == "start-up" else rng.uniform(0.0, 0.3)
        old_files, old_temp = published(dataset), temp_files(dataset)
        started = time.monotonic()
        process = start(replica, dataset, log, SETTINGS)
        try:
            if trigger == "progress":
                wait_until_published(process, dataset, old_files, files, timeout=60)
            time.sleep(delay)
            landed = process.poll() is None
            after = time.monotonic() - started
            others, orphans = kill(process, target)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        rows, problems = check(dataset, state)
        left = len(temp_files(dataset) - old_temp)
        kills.append(
            Kill(trigger, target, round(after, 2), landed, left, rows, problems, others, orphans)
        )
        print(kills[-1])
    final = crawl(replica, dataset, "-a", SITES, settings=SETTINGS, timeout=180)
    final_keys, final_temp_files = written(dataset), temp_files(dataset)
    full_settings = {**SETTINGS, "SMN_INCREMENTAL": "0"}
    full = crawl(replica, dataset, "-a", SITES, settings=full_settings, timeout=180)
    articles = replica.manifest().articles
    expected = {url_key(a.url) for a in articles}
    behind = {
        url_key(a.url)
        for a in articles
        if a.linked_from and all(url_key(u) in expected for u in a.linked_from)
    }
    return Series(kills, final, final_keys, final_temp_files, full, expected, behind)


def written(dataset: Path) -> list[str]:
    """The url_key of every row's canonical URL."""
    table = ds.dataset(dataset, partitioning="hive").to_table(columns=["canonical_url"])
    return [url_key(u) for u in table.column("canonical_url").to_pylist()]


def test_at_least_ten_kills_landed_mid_crawl_and_mid_write(series: Series) -> None:
    landed = [k for k in series.kills if k.landed]
    assert len(landed) >= KILLS, series.kills
    # some while the run's files were being written, some after files had been published
    assert sum(1 for k in landed if k.temp_files) >= 3, series.kills
    assert len({k.rows for k in landed}) >= 3, series.kills


def test_every_kill_left_a_readable_dataset_a_free_lock_and_a_sound_state(
    series: Series,
) -> None:
    assert [(i, k.problems) for i, k in enumerate(series.kills) if k.problems] == []


def test_a_run_after_the_kills_finds_every_article_it_can_reach(series: Series) -> None:
    run = series.final
    assert run.returncode == ExitCode.OK, run.output[-4000:]
    keys = series.final_keys
    assert len(keys) == len(set(keys)), "a canonical URL has two rows"
    # Even an article linked from a stored article only: the killed runs left it pending.
    assert series.expected - set(keys) <= series.behind_articles
    # The killed runs' temp files were older than this run's start: cleaned up.
    assert series.final_temp_files == set()


def test_a_run_after_the_kills_completes_the_dataset(series: Series) -> None:
    assert set(series.final_keys) == series.expected


def test_a_full_recrawl_then_holds_every_article_exactly_once(series: Series) -> None:
    """The killed runs lost nothing they had published and wrote nothing twice: fetching
    every page again (``SMN_INCREMENTAL=0``, README "Incremental runs") adds exactly the missing
    articles, dedup drops the rest."""
    run = series.full
    assert run.returncode == ExitCode.OK, run.output[-4000:]
    keys = written(run.dataset)
    assert len(keys) == len(set(keys)), "a canonical URL has two rows"
    assert set(keys) == series.expected
    rows, problems = check(run.dataset, run.dataset.parent / "state.sqlite")
    assert (rows, problems) == (len(series.expected), [])


def test_a_crawler_killed_alone_leaves_no_worker_behind(series: Series) -> None:
    alone = [k for k in series.kills if k.target == "crawler" and k.landed and k.others]
    assert alone
    assert [k.orphans for k in alone if k.orphans] == []


# -- what a kill costs the next runs ----------------------------------------------------------


# TerraDaily's Saharan dust story is linked only from a SpaceWar article's RELATED CONTENT.
BEHIND_URL = (
    "https://www.terradaily.com/reports/"
    "Saharan_dust_cloud_turns_skies_orange_over_southern_Spain_999.html"
)


@dataclass
class Hold:
    """A page held unanswered: ``asked`` once its request arrived (the replica logs a
    request only once answered), answered as usual once ``release`` is set."""

    asked: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@contextlib.contextmanager
def holding(handle: ReplicaHandle, url: str, timeout: float = 30) -> Iterator[Hold]:
    """Hold ``url`` until released (by the block's end at the latest, or ``timeout``): a
    crawl that needs it cannot end meanwhile, however fast the machine."""
    hold = Hold()
    host, path = urlsplit(url).hostname or "", urlsplit(url).path

    def held(request: ReplicaRequest) -> None:
        hold.asked.set()
        hold.release.wait(timeout)  # then the normal page

    handle.add_route(host, path, held)
    try:
        yield hold
    finally:
        hold.release.set()
        handle.remove_route(host, path)


@pytest.fixture(scope="module")
def small_replica() -> Iterator[ReplicaHandle]:
    with serve_replica(scale=100) as handle:
        yield handle


def extraction_workers(pgid: int) -> list[int]:
    """The group's processes whose parent is in the group but is not the crawler: the
    workers the forkserver forked."""
    members = set(group_members(pgid))
    workers = []
    for pid in members - {pgid}:
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent in members and parent != pgid:
                workers.append(pid)
    return workers


def test_a_killed_run_hides_no_page_from_the_next_run(
    small_replica: ReplicaHandle, tmp_path: Path
) -> None:
    dataset = tmp_path / "articles"
    small_replica.clear_log()
    # Every partition's file open until the close: nothing is published before the run
    # ends (with the default 16 open files, the 140 articles' 76 months publish files all
    # through the run), so the next run must find every article through the pages again.
    # One article held in flight until the kill: on a fast machine the rest of the crawl
    # ends within the half second below, and a finished run publishes its files.
    with holding(small_replica, BEHIND_URL):
        process = start(
            small_replica, dataset, tmp_path / "killed.log", {"SMN_MAX_OPEN_FILES": "1000"}
        )
        try:
            # Killed once it follows the archive index's links: it has judged the index.
            deadline = time.monotonic() + 60
            while not any("/archive/page" in r.path for r in small_replica.requests()):
                assert process.poll() is None and time.monotonic() < deadline, "never got there"
                time.sleep(0.05)
            time.sleep(0.5)  # the index judged by then: its links are out
            assert process.poll() is None, "the run ended before the kill"
        finally:
            kill(process, "group")
    assert not list(dataset.rglob("*.parquet")), "the killed run published a file"
    run = crawl(small_replica, dataset, "-a", SITES, timeout=120)
    assert run.returncode == ExitCode.OK, run.output[-4000:]
    expected = {url_key(a.url) for a in small_replica.manifest().articles}
    assert set(written(dataset)) == expected


def test_a_run_killed_after_a_publish_interval_keeps_what_it_wrote(
    small_replica: ReplicaHandle, tmp_path: Path
) -> None:
    dataset = tmp_path / "articles"
    small_replica.clear_log()
    # Files open until the close but for the interval; one article held until the kill, so
    # the run cannot end (and publish at its close) before it.
    settings = {"SMN_MAX_OPEN_FILES": "1000", "SMN_PUBLISH_INTERVAL_SECONDS": "1"}
    with holding(small_replica, BEHIND_URL):
        process = start(small_replica, dataset, tmp_path / "killed.log", settings)
        try:
            deadline = time.monotonic() + 60
            while not published(dataset):
                assert process.poll() is None and time.monotonic() < deadline, "nothing published"
                time.sleep(0.05)
            assert process.poll() is None, "the run ended before the kill"
        finally:
            kill(process, "group")
    kept = written(dataset)  # readable as one dataset, complete files only
    assert kept and len(kept) == len(set(kept))
    # the rows published at the interval name WARC files published before them
    assert warc_problems(dataset) == []
    # and their stories were filed before them: a later copy of one can still join it (an
    # exact copy is not filed: its original, also published, stands for it)
    table = ds.dataset(dataset, partitioning="hive").to_table(
        columns=["canonical_url", "duplicate_of"]
    )
    filed = {url_key(r["canonical_url"]) for r in table.to_pylist() if not r["duplicate_of"]}
    assert filed
    stories = SqliteBandStore(tmp_path / "state.sqlite")
    try:
        assert {e.doc for e in stories.entries(filed)} == filed
    finally:
        stories.close()
    # and its report, written at the start, says so
    (report,) = [json.loads(p.read_text()) for p in (tmp_path / "reports").glob("*.json")]
    assert report["exit_code"] == ExitCode.INCOMPLETE
    assert report["outcome"]["line"].startswith("FAILED (code 5): not finished: the run started")
    run = crawl(small_replica, dataset, "-a", SITES, timeout=120)
    assert run.returncode == ExitCode.OK, run.output[-4000:]
    rows = written(dataset)
    assert len(rows) == len(set(rows))  # what the killed run kept is not written again
    assert set(rows) == {url_key(a.url) for a in small_replica.manifest().articles}
    assert warc_problems(dataset) == []
    # any partial WARC file of the killed run was removed by the next run
    assert not list((tmp_path / "warc").rglob(".*.tmp"))


def test_a_killed_extraction_worker_costs_no_article(
    small_replica: ReplicaHandle, tmp_path: Path
) -> None:
    dataset = tmp_path / "articles"
    small_replica.clear_log()
    # One article held until the worker is killed: a fast machine cannot end the run first.
    with holding(small_replica, BEHIND_URL) as hold:
        process = start(small_replica, dataset, tmp_path / "first.log", {})
        try:
            # Killed once pages flow to the workers: some article pages answered.
            deadline = time.monotonic() + 60
            while (
                not extraction_workers(process.pid)
                or sum("/reports/" in r.path for r in small_replica.requests()) < 20
            ):
                assert process.poll() is None and time.monotonic() < deadline, "never got there"
                time.sleep(0.01)
            os.kill(extraction_workers(process.pid)[0], signal.SIGKILL)
            hold.release.set()
            # It ends in about 10 s; the pages the worker held get a second try in a new
            # pool.
            process.wait(timeout=60)
        finally:
            kill(process, "group")
    log = (tmp_path / "first.log").read_text(errors="replace")
    assert "An extraction worker died" in log
    run = crawl(small_replica, dataset, "-a", SITES, timeout=120)
    assert run.returncode == ExitCode.OK, run.output[-4000:]
    expected = {url_key(a.url) for a in small_replica.manifest().articles}
    assert set(written(dataset)) == expected


def test_a_run_killed_between_two_linked_articles_loses_neither(
    small_replica: ReplicaHandle, tmp_path: Path
) -> None:
    """Killed once the linking article is published and while the linked one is in flight:
    the next run fetches no page that links to it, yet writes it (once)."""
    manifest = small_replica.manifest()
    behind = manifest.article(BEHIND_URL)
    assert behind is not None and len(behind.linked_from) == 1
    linking = url_key(behind.linked_from[0])
    dataset = tmp_path / "articles"
    small_replica.clear_log()
    # One row per file: every article is published as soon as it is written.
    settings = {"SMN_FILE_MAX_ROWS": "1"}
    with holding(small_replica, BEHIND_URL) as hold:  # in flight until the kill
        process = start(small_replica, dataset, tmp_path / "killed.log", settings)
        try:
            deadline = time.monotonic() + 60
            while not (hold.asked.is_set() and linking in published_keys(dataset)):
                assert process.poll() is None and time.monotonic() < deadline, "never got there"
                time.sleep(0.05)
        finally:
            kill(process, "group")
    assert url_key(BEHIND_URL) not in published_keys(dataset)
    run = crawl(small_replica, dataset, "-a", SITES, timeout=120)
    assert run.returncode == ExitCode.OK, run.output[-4000:]
    keys = written(dataset)
    assert keys.count(url_key(BEHIND_URL)) == 1
    assert len(keys) == len(set(keys))
    assert set(keys) == {url_key(a.url) for a in manifest.articles}


def published_keys(dataset: Path) -> set[str]:
    """The url_key of every published row's canonical URL (none before the first file)."""
    files = published(dataset)
    if not files:
        return set()
    return {
        url_key(u)
        for f in files
        for u in pq.read_table(f, columns=["canonical_url"]).column("canonical_url").to_pylist()
    }
