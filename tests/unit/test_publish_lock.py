"""The publish lock, in process: a writer's file lands in the generation current when it is
published, a switch waits for a publication in progress (and gives up, switching nothing,
when it lasts too long), and an old generation holding a live writer's temp file is kept.
The same with real workers and ``scrapy compact``: tests/system/test_distributed_switch.py."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pytest

from crawler.dataset.files import published_files
from crawler.dataset.generations import (
    GenerationBuild,
    PublishesBusy,
    PublishLock,
    _listing_since,
    current,
    generations_dir,
    prepare,
    remove_expired,
)
from crawler.dataset.lock import DatasetLock, join_generations
from tests.support.writer import article, open_writer, run_writer, temps


def _urls(root: Path) -> list[str]:
    return sorted(pd.read_parquet(root, columns=["url"])["url"])


def _switch(root: Path, **commit: float) -> Path:
    """A new generation holding the current one's files, switched to."""
    build = GenerationBuild.begin(root)
    for file in sorted(build.base_files):
        build.link(file)
    with DatasetLock.acquire(root):
        build.commit(**commit)
    return current(root)


def test_a_file_begun_before_a_switch_is_published_into_the_new_generation(
    tmp_path: Path,
) -> None:
    root = tmp_path / "articles"
    prepare(root, keep_hours=24)
    run_writer(root, [article(1)], crawl_id="cron1")
    writer = open_writer(root, crawl_id="worker", SMN_ROW_GROUP_SIZE=1)
    writer.process_item(article(2))  # a row group written: the file is open, hidden
    old = current(root)
    (begun,) = temps(old)
    new = _switch(root)
    assert new != old and begun.exists()  # the temp file stays where it began

    writer.close_spider()
    assert writer.crawler.stats.get_value("parquet/published_after_switch") == 1
    (published,) = writer.files_written
    assert published.is_relative_to(new) and not temps(old) and not temps(new)
    assert _urls(root) == sorted([article(1).url, article(2).url])
    assert _urls(old) == [article(1).url]  # a reader of the old generation saw no change


def test_a_switch_waits_for_a_publication_and_gives_up_when_it_lasts(tmp_path: Path) -> None:
    root = tmp_path / "articles"
    prepare(root, keep_hours=24)
    run_writer(root, [article(1)], crawl_id="cron1")
    build = GenerationBuild.begin(root)
    for file in sorted(build.base_files):
        build.link(file)
    base = current(root)
    publisher = PublishLock(root)
    with DatasetLock.acquire(root):
        with publisher.shared():
            # a publication in progress: its file is in the base, not yet listed by the build
            run_writer(base, [article(2)], crawl_id="worker")
            started = time.monotonic()
            with pytest.raises(PublishesBusy):
                build.commit(wait=0.2)
            assert time.monotonic() - started < 5
            assert current(root) == base  # nothing switched
        switched = build.commit()
    publisher.close()
    assert switched.caught_up == 1 and current(root) == build.directory
    assert _urls(root) == sorted([article(1).url, article(2).url])


def test_a_publication_waits_for_a_switch_and_says_how_long(tmp_path: Path) -> None:
    root = tmp_path / "articles"
    prepare(root, keep_hours=24)
    lock = PublishLock(root)
    told: list[bool] = []
    with lock.shared(on_wait=lambda: told.append(True)) as waited:
        assert waited == 0.0 and told == []
    lock.close()
    other = PublishLock(root)
    with other.exclusive(wait=1):
        # flock(2) on another open file: the same as another process
        fd = os.open(other.path, os.O_RDWR)
        try:
            import fcntl

            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    other.close()


def test_an_expired_generation_is_kept_while_a_writer_holds_a_file_in_it(tmp_path: Path) -> None:
    root = tmp_path / "articles"
    prepare(root, keep_hours=24)
    writer = open_writer(root, crawl_id="worker", SMN_ROW_GROUP_SIZE=1)
    writer.process_item(article(1))
    old = current(root)
    _switch(root)
    later = time.time() + 48 * 3600
    assert remove_expired(root, keep_hours=24, now=later).generations == ()
    assert old.is_dir()
    writer.close_spider()  # published into the current generation, the lock let go
    assert remove_expired(root, keep_hours=24, now=later).generations == (old.name,)
    assert _urls(root) == [article(1).url]


def test_the_last_catch_up_lists_what_a_full_listing_does(tmp_path: Path) -> None:
    root = tmp_path / "articles"
    prepare(root, keep_hours=24)
    for i in range(4):
        run_writer(root, [article(i)], crawl_id=f"cron{i}")
    gen = current(root)
    known = published_files(gen)
    gone = sorted(known)[0]
    (gen / gone.path).unlink()
    run_writer(root, [article(9)], crawl_id="later")
    (gen / "year=2026" / ".hidden.parquet").write_bytes(b"")
    assert _listing_since(gen, known) == published_files(gen)


def test_a_worker_migrates_a_plain_directory_when_it_starts(tmp_path: Path) -> None:
    root = tmp_path / "articles"
    run_writer(root, [article(1)], crawl_id="old")
    assert root.is_dir() and not root.is_symlink()
    assert join_generations(root)
    assert generations_dir(root).is_dir() and _urls(root) == [article(1).url]
    # a run holding the lock and not migrating: the worker writes into what is there
    plain = tmp_path / "plain"
    plain.mkdir()
    with DatasetLock.acquire(plain):
        assert not join_generations(plain, wait=0.1)
