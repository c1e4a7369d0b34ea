"""Dataset generations and compaction, driven in process: the stable link, the migration of a
plain directory, the switch readers see, the keeping and deleting of old generations, the
schema upgrade readers notice, and the failures (disk full, damaged files)."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from scrapy.settings import Settings

from crawler.commands.compact import compact_dataset
from crawler.dataset import files as dataset_files
from crawler.dataset.compaction import Compactor
from crawler.dataset.generations import (
    GenerationBuild,
    current,
    generations_dir,
    is_linked,
    prepare,
    remove_expired,
)
from crawler.dataset.lock import lock_path
from crawler.dataset.quarantine import quarantine, quarantine_dir
from crawler.dataset.schema import article_schema
from crawler.dataset.schema_check import outdated_files
from crawler.incremental.store import ARTICLE, SqliteSeenStore
from crawler.incremental.sync import sync
from crawler.network.urls import url_key
from crawler.outcome.judge import ExitCode
from crawler.outcome.report import summary_lines
from tests.support.writer import article, finished, run_writer

NEW_COLUMNS = ("published_at", "modified_at", "story_id", "layout")


def _urls(root: Path) -> list[str]:
    return sorted(pd.read_parquet(root, columns=["url"])["url"])


def _cron(root: Path, runs: int, per_run: int = 2, first: int = 0) -> list[str]:
    """``runs`` small files, as cron leaves them; the URLs written."""
    urls = []
    for r in range(runs):
        items = [article(first + r * per_run + j) for j in range(per_run)]
        run_writer(root, items, crawl_id=f"cron{first + r}")
        urls += [a.url for a in items]
    return sorted(urls)


def _age(root: Path, old: list[Path]) -> None:
    """Make ``old`` files of the column set before the newer columns were added."""
    for path in old:
        table = pq.read_table(path)
        pq.write_table(table.drop_columns(list(NEW_COLUMNS)), path)


def _settings(root: Path, **more: object) -> Settings:
    return Settings({"SMN_OUTPUT": str(root), "SMN_ROW_GROUP_SIZE": 4, **more})


def test_a_plain_directory_is_migrated_with_every_file_and_the_same_paths(tmp_path: Path) -> None:
    root = tmp_path / "out" / "articles"
    urls = _cron(root, 3)
    (root / "_notes.txt").write_text("mine")
    before = {p.relative_to(root): (p.stat().st_ino, p.stat().st_mtime_ns) for p in finished(root)}
    lock, quarantine_before = lock_path(root), quarantine_dir(root)

    directory = prepare(root, keep_hours=24)

    assert root.is_symlink() and is_linked(root)
    assert directory == current(root) and directory.parent == generations_dir(root)
    # the same files (hard links: same inode, same mtime for the incremental state)
    after = {p.relative_to(root): (p.stat().st_ino, p.stat().st_mtime_ns) for p in finished(root)}
    assert after == before
    assert (root / "_notes.txt").read_text() == "mine"
    assert _urls(root) == urls
    # the lock and the quarantine stay where they were
    assert (lock_path(root), quarantine_dir(root)) == (lock, quarantine_before)
    assert quarantine_dir(directory) == quarantine_before
    # a second preparation changes nothing
    assert prepare(root, keep_hours=24) == directory


def test_a_new_dataset_starts_linked_and_a_writer_writes_into_the_generation(
    tmp_path: Path,
) -> None:
    root = tmp_path / "articles"
    directory = prepare(root, keep_hours=24)
    _cron(root, 1)
    assert [p.parent.parent.parent for p in finished(directory)] == [directory]


def test_a_reader_that_opened_the_old_generation_reads_it_whole_after_the_switch(
    tmp_path: Path,
) -> None:
    root = tmp_path / "articles"
    prepare(root, keep_hours=24)
    urls = _cron(root, 6)
    old = current(root)
    opened = ds.dataset(root.resolve(), format="parquet")  # a session's snapshot
    listed = ds.dataset(root, format="parquet")  # listed through the link, not yet read

    lines, code = compact_dataset(root, _settings(root, SMN_FILE_MAX_ROWS=8), wait=0)

    assert code == ExitCode.OK, lines
    assert current(root) != old and old.is_dir()
    assert sorted(opened.to_table(columns=["url"])["url"].to_pylist()) == urls
    # a reader that listed through the link before the switch and reads after it finds
    # its files gone: an error, never a mix of two generations
    with pytest.raises(FileNotFoundError):
        listed.to_table(columns=["url"])
    assert _urls(root) == urls
    assert len(finished(root)) == 2  # 12 rows: files of at most 8 rows (SMN_FILE_MAX_ROWS)
    # kept, then deleted once its time is up; never the current one
    assert remove_expired(root, keep_hours=24).generations == ()
    later = time.time() + 25 * 3600
    assert old.name in remove_expired(root, keep_hours=24, now=later).generations
    assert not old.exists() and _urls(root) == urls


def _readers(root: Path) -> dict[str, object]:
    """What each reader makes of the whole dataset, with no option: the set of columns it
    gives and its row count, or the error it raises."""
    seen: dict[str, object] = {}
    readers = {
        "pandas": lambda: pd.read_parquet(root),
        "pyarrow": lambda: ds.dataset(root, format="parquet").to_table().to_pandas(),
        "duckdb": lambda: duckdb.sql(f"SELECT * FROM '{root}/**/*.parquet'").df(),
    }
    for name, read in readers.items():
        try:
            frame = read()
        except Exception as exc:
            seen[name] = type(exc).__name__
        else:
            seen[name] = (set(NEW_COLUMNS) <= set(frame.columns), len(frame))
    return seen


@pytest.mark.parametrize("old", ["first", "last"])
def test_compaction_makes_a_mixed_schema_dataset_whole_for_every_reader(
    tmp_path: Path, old: str
) -> None:
    root = tmp_path / "articles"
    urls = _cron(root, 5, per_run=3)
    files = sorted(finished(root))
    _age(root, files[:2] if old == "first" else files[-1:])

    before = _readers(root)
    # an old file met first: pandas, pyarrow and DuckDB drop the new columns silently; met
    # after a new one: DuckDB refuses the glob (schema mismatch)
    if old == "first":
        assert before == dict.fromkeys(("pandas", "pyarrow", "duckdb"), (False, 15))
    else:
        assert before["duckdb"] in ("InvalidInputException", "Error")
    assert len(outdated_files(root)) == (2 if old == "first" else 1)
    assert any("scrapy compact" in line for line in _summary_with({"outdated_schema_files": 2}))

    lines, code = compact_dataset(root, _settings(root, SMN_FILE_MAX_ROWS=100), wait=0)

    assert code == ExitCode.OK, lines
    assert "of an older schema upgraded" in lines[1]
    assert _readers(root) == dict.fromkeys(("pandas", "pyarrow", "duckdb"), (True, 15))
    assert _urls(root) == urls
    glob = f"{root}/**/*.parquet"
    assert duckdb.sql(f"SELECT count(DISTINCT url) FROM '{glob}'").fetchall() == [(15,)]
    # one file of full row groups, sorted by site
    (path,) = finished(root)
    metadata = pq.read_metadata(path)
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [4, 4, 4, 3]
    sites = pq.read_table(path, columns=["site"])["site"].to_pylist()
    assert sites == sorted(sites)
    assert pq.read_schema(path).equals(article_schema(), check_metadata=False)
    assert outdated_files(root) == []
    # compacting again changes nothing
    again, code = compact_dataset(root, _settings(root, SMN_FILE_MAX_ROWS=100), wait=0)
    assert code == ExitCode.OK and again[-1] == "OK: nothing to compact"


def _summary_with(extra: dict[str, object]) -> list[str]:
    report = {
        "crawl_id": "c",
        "articles": dict.fromkeys(
            ("extracted", "written", "lost", "syndicated", "duplicates", "known_skipped"), 0
        ),
        "errors": {"count": 0, "max": 10},
        "faults": {"retries": 0, "timeouts": 0, "size_cap_cancels": 0, "robots_forbidden": 0},
        "requests": {"total": 0, "entry_points_fetched": 0},
        "responses": {"total": 0, "by_status": {}},
        "layout_watch": {"sites": {}, "fired": []},
        "files_written": [],
        "outcome": {"line": "OK: fine"},
        **extra,
    }
    lines = summary_lines(report)
    assert sum("scrapy compact" in line for line in lines) <= 1
    return lines


def test_files_published_during_the_build_are_taken_in_and_removed_ones_left_out(
    tmp_path: Path,
) -> None:
    root = tmp_path / "articles"
    prepare(root, keep_hours=24)
    urls = _cron(root, 4)
    build = GenerationBuild.begin(root)
    compactor = Compactor(build, row_group_size=4, file_max_rows=100, compression="zstd")
    compactor.run()
    # meanwhile: a cron run publishes into the current generation, and a crawl quarantines
    # one of the files being merged
    late = _cron(root, 1, first=50)
    gone = sorted(build.base_files)[0]
    quarantine(root, gone.path, "damaged data: test")
    lost = set(pq.read_table(quarantine_dir(root) / gone.path)["url"].to_pylist())

    switched = compactor.commit()

    assert (switched.caught_up, switched.dropped) == (1, 1)
    assert _urls(root) == sorted((set(urls) - lost) | set(late))


def test_disk_full_exits_4_and_leaves_the_generation_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "articles"
    urls = _cron(root, 4)
    prepare(root, keep_hours=24)
    before = current(root)
    files = sorted(dataset_files.published_files(before))

    def full(self: object, table: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(dataset_files.PartFile, "write", full)
    lines, code = compact_dataset(root, _settings(root), wait=0)

    assert code == ExitCode.OUTPUT_ERROR
    assert lines[-1].startswith("FAILED (code 4):") and "No space left" in lines[-1]
    assert current(root) == before and sorted(dataset_files.published_files(before)) == files
    assert _urls(root) == urls
    gens = {p.name for p in generations_dir(root).iterdir()}
    assert before.name in gens and not any(n.endswith(".building") for n in gens)
    assert len([p for p in generations_dir(root).iterdir() if p.is_dir()]) == 2  # + migrated


def test_a_damaged_file_is_quarantined_not_merged(tmp_path: Path) -> None:
    root = tmp_path / "articles"
    urls = _cron(root, 3)
    victim = sorted(finished(root))[1]
    lost = set(pq.read_table(victim)["url"].to_pylist())
    data = bytearray(victim.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 40] = b"\0" * 40  # inside a data page
    victim.write_bytes(bytes(data))

    lines, code = compact_dataset(root, _settings(root), wait=0)

    assert code == ExitCode.OUTPUT_ERROR and "quarantined" in lines[-2]
    assert _urls(root) == sorted(set(urls) - lost)
    assert any(quarantine_dir(root).rglob(victim.name))


def test_the_state_reads_only_the_rewritten_files_after_a_compaction(tmp_path: Path) -> None:
    root = tmp_path / "articles"
    prepare(root, keep_hours=24)
    run_writer(root, [article(i) for i in range(10)], crawl_id="big")  # a full file
    urls = sorted({*(article(i).url for i in range(10)), *_cron(root, 4, first=20)})
    store = SqliteSeenStore(tmp_path / "state.sqlite", recheck_days=7)
    try:
        assert sync(store, current(root)).ingested == 5
        lines, code = compact_dataset(root, _settings(root, SMN_FILE_MAX_ROWS=10), wait=0)
        assert code == ExitCode.OK, lines
        report = sync(store, current(root))
        # the full file is the same file (a hard link); the four small ones are one now
        assert (report.ingested, report.forgotten) == (1, 4)
        keys = {url_key(u) for u in urls}
        assert set(store.lookup(keys, time.time()).values()) == {ARTICLE}
        assert len(store.lookup(keys, time.time())) == len(urls)
    finally:
        store.close()


def test_killed_builds_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    root = tmp_path / "articles"
    prepare(root, keep_hours=24)
    _cron(root, 2)
    live = GenerationBuild.begin(root)
    killed = GenerationBuild.begin(root)
    killed._release_building()  # as a SIGKILL would: the lock goes, the files stay
    removed = remove_expired(root, keep_hours=24)
    assert removed.partial == (killed.generation,)
    assert live.directory.is_dir() and not killed.directory.exists()
    live.abandon()
    assert not live.directory.exists()
    assert os.listdir(generations_dir(root)) == [current(root).name]
