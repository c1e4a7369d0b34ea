"""``scrapy compact`` as a user runs it: between two crawls of the replica (the second
fetches no article page and writes no row twice), killed with SIGKILL at each step (the
dataset stays whole; the next run finishes the job), and on a full disk (exit 4, the
dataset unchanged)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.dataset.generations import current, generations_dir, is_linked
from crawler.network.urls import url_key
from crawler.outcome.judge import ExitCode
from replica.app import from_direct
from replica.server import ReplicaHandle
from tests.support.crawl_run import REPO, crawl
from tests.support.disk import fill, small_tmpfs
from tests.support.readers import whole
from tests.support.writer import article, finished, run_writer

# small files, as many cron runs leave them
SMALL = {"SMN_ROW_GROUP_SIZE": "2", "SMN_FILE_MAX_ROWS": "3"}


def compact_command(dataset: Path, *args: str, **settings: str) -> list[str]:
    command = [sys.executable, "-m", "scrapy", "compact", "-s", f"SMN_OUTPUT={dataset}", *args]
    for key, value in settings.items():
        command += ["-s", f"{key}={value}"]
    return command


def run_compact(
    dataset: Path, env: dict[str, str] | None = None, **settings: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        compact_command(dataset, **settings),
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


# -- crawl, compact, crawl --------------------------------------------------------------


def test_a_crawl_after_compaction_fetches_no_article_and_writes_no_row_twice(
    replica: ReplicaHandle, tmp_path: Path
) -> None:
    dataset = tmp_path / "out" / "articles"
    # an older crawler's dataset: a plain directory (a crawl without the lock leaves it so)
    first = crawl(replica, dataset, settings={**SMALL, "SMN_DATASET_LOCK": "0"})
    assert first.returncode == 0, first.output[-3000:]
    assert dataset.is_dir() and not dataset.is_symlink()
    stored = whole(dataset)
    files_before = len(finished(dataset))
    assert files_before > 3

    done = run_compact(dataset, SMN_ROW_GROUP_SIZE="2", SMN_FILE_MAX_ROWS="1000")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "OK: dataset compacted"
    assert is_linked(dataset) and whole(dataset) == stored
    assert len(finished(dataset)) < files_before

    replica.clear_log()
    again = crawl(replica, dataset, settings=SMALL)
    assert again.returncode == 0, again.output[-3000:]
    manifest = replica.manifest()
    requested = [
        from_direct(f"{r.scheme}://{r.host}{r.path}" + (f"?{r.query}" if r.query else ""))
        for r in replica.requests()
    ]
    assert [u for u in requested if manifest.article(u) is not None] == []
    assert whole(dataset) == stored
    assert {url_key(u) for u in stored} == {url_key(a.url) for a in manifest.articles}


# -- kills ----------------------------------------------------------------------------


def _months_dataset(root: Path) -> list[str]:
    """Twelve small files over three months (three partitions)."""
    urls = []
    for run in range(12):
        day = dt.date(2026, 9 + run % 3, 10)
        items = [dataclasses.replace(article(run * 2 + j), published_date=day) for j in range(2)]
        run_writer(root, items, crawl_id=f"cron{run:02d}")
        urls += [a.url for a in items]
    return sorted(urls)


@pytest.mark.parametrize("step", ["first-file", "built", "switched"])
def test_a_compaction_killed_at_any_step_leaves_the_dataset_whole(
    tmp_path: Path, step: str
) -> None:
    dataset = tmp_path / "articles"
    urls = _months_dataset(dataset)
    gate = tmp_path / "gate"
    process = subprocess.Popen(
        compact_command(dataset, SMN_ROW_GROUP_SIZE="2"),
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "SMNTEST_PAUSE": f"{step}:{gate}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not Path(f"{gate}.reached").exists():
            assert process.poll() is None, "the compaction ended before its step"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()

    # whole after the kill: the old generation before the switch, the new one after
    assert whole(dataset) == urls
    switched = len(finished(dataset)) == 3
    assert switched == (step == "switched")

    done = run_compact(dataset, SMN_ROW_GROUP_SIZE="2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert whole(dataset) == urls
    assert len(finished(dataset)) == 3  # one file per month
    # the killed build is gone; the generations left are the current one and old ones kept
    gens = generations_dir(dataset)
    kept = {p.name for p in gens.iterdir() if p.is_dir()} - {current(dataset).name}
    assert all((gens / f"{name}.retired").exists() for name in kept)
    assert not list(gens.glob("*.building"))


# -- disk full ------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs, where the system lets this process mount one (root); else skipped."""
    with small_tmpfs(tmp_path / "disk", "2m") as mount:
        yield mount


def test_a_full_disk_exits_4_and_leaves_the_dataset_as_it_was(small_disk: Path) -> None:
    dataset = small_disk / "articles"
    urls = _months_dataset(dataset)
    before = run_compact(dataset, SMN_ROW_GROUP_SIZE="2", SMN_FILE_MAX_ROWS="3")  # migrates
    assert before.returncode == 0, before.stdout + before.stderr
    files = sorted(p.relative_to(dataset) for p in finished(dataset))
    filler = fill(small_disk, leave=8192)  # but for a few kilobytes

    done = run_compact(dataset, SMN_ROW_GROUP_SIZE="2")

    assert done.returncode == ExitCode.OUTPUT_ERROR, done.stdout + done.stderr
    last = done.stdout.splitlines()[-1]
    assert last.startswith("FAILED (code 4):") and "space" in last.lower()
    assert sorted(p.relative_to(dataset) for p in finished(dataset)) == files
    assert whole(dataset) == urls
    filler.unlink()
    again = run_compact(dataset, SMN_ROW_GROUP_SIZE="2")
    assert again.returncode == 0, again.stdout + again.stderr
    assert whole(dataset) == urls and len(finished(dataset)) == 3
