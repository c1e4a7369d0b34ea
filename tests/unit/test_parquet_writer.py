"""ParquetDatasetPipeline: row groups as items arrive, atomic files, a dataset all readers read."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from scrapy.exceptions import CloseSpider, DropItem, NotConfigured

from crawler.crawl_id import crawl_id_of
from crawler.dataset.files import PartFile
from crawler.dataset.schema import article_schema
from crawler.outcome.judge import judge
from pipelines.parquet_writer import ParquetDatasetPipeline
from tests.support.writer import (
    article,
    duck,
    finished,
    make_crawler,
    open_writer,
    read_all,
    run_writer,
    temps,
)

NOV = "year=2026/month=11"


def test_disabled_by_empty_output() -> None:
    with pytest.raises(NotConfigured):
        ParquetDatasetPipeline.from_crawler(make_crawler(""))


def test_row_groups_are_written_as_items_arrive(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    run_writer(out, [article(i) for i in range(3)], crawl_id="earlier")
    writer = open_writer(out, SMN_ROW_GROUP_SIZE=1000)
    for i in range(10, 2510):
        writer.process_item(article(i))

    part = writer.writer._partitions[NOV]
    assert part.file is not None
    assert (part.file.row_groups, part.file.rows, len(part.rows)) == (2, 2000, 500)
    # mid-run: the open file exists only under its hidden temp name, with data on disk
    (tmp,) = temps(out)
    assert tmp.name == ".part-run1-00000.parquet.tmp"
    assert tmp.stat().st_size > 10_000
    assert [p.name for p in finished(out)] == ["part-earlier-00000.parquet"]
    assert read_all(out) == (3, 3, 3)

    writer.close_spider()
    assert temps(out) == []
    final = out / NOV / "part-run1-00000.parquet"
    meta = pq.ParquetFile(final).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sizes == [1000, 1000, 500]
    assert meta.row_group(0).column(0).compression == "ZSTD"
    assert read_all(out) == (2503, 2503, 2503)
    stats = writer.crawler.stats.get_stats()
    assert stats["parquet/rows_written"] == 2500
    assert stats["parquet/files_written"] == 1
    assert stats["parquet/bytes_written"] == final.stat().st_size
    assert writer.files_written == [final]


def test_dataset_reads_as_one_table_with_partition_columns(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    items = [
        article(1, published_date=dt.date(2025, 12, 31)),
        article(2, published_date=dt.date(2026, 1, 1)),
        article(3, published_date=dt.date(2026, 1, 15)),
        # no published_date: the fetch date decides the partition
        article(4, published_date=None, fetched_at=dt.datetime(2026, 2, 1, 0, 30, tzinfo=dt.UTC)),
    ]
    run_writer(out, items)
    dirs = sorted(str(p.parent.relative_to(out)) for p in finished(out))
    assert dirs == ["year=2025/month=12", "year=2026/month=1", "year=2026/month=2"]
    for path in finished(out):
        schema = pq.read_schema(path)
        assert "year" not in schema.names and "month" not in schema.names
        assert schema.equals(article_schema(), check_metadata=True)

    table = ds.dataset(out, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == 4 and {"year", "month"} <= set(table.column_names)
    by_url = {r["url"]: r for r in table.to_pylist()}
    assert (by_url[items[3].url]["year"], by_url[items[3].url]["month"]) == (2026, 2)

    df = pd.read_parquet(out)
    assert len(df) == 4 and {"year", "month"} <= set(df.columns)
    assert str(df["fetched_at"].dtype) == "datetime64[us, UTC]"

    rows = duck(
        f"select year, month, count(*) from read_parquet('{out}/**/*.parquet',"
        " hive_partitioning=true) group by all order by all"
    )
    assert rows == [(2025, 12, 1), (2026, 1, 2), (2026, 2, 1)]
    got = duck(
        f"select title, related_links[1].text, authors[1] from read_parquet('{out}/**/*.parquet',"
        " hive_partitioning=true) where year = 2026 and month = 1 and url like '%story_2.%'"
    )
    assert got == [("Story 2 — Ünïcode 🚀", "NASA", "Jörg Müller")]


def test_rows_sorted_by_site_within_row_group(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    run_writer(out, [article(i) for i in range(30)])
    sites = pq.read_table(finished(out)[0]).column("site").to_pylist()
    assert sites == sorted(sites)


def test_second_run_adds_files_and_never_rewrites(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    run_writer(out, [article(i) for i in range(5)], crawl_id="run1")
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in finished(out)}
    run_writer(out, [article(i) for i in range(5, 9)], crawl_id="run2")
    # the same crawl id again (SMN_CRAWL_ID reused): new numbers, no overwrite
    run_writer(out, [article(i) for i in range(9, 10)], crawl_id="run1")
    names = [p.name for p in finished(out)]
    assert names == [
        "part-run1-00000.parquet",
        "part-run1-00001.parquet",
        "part-run2-00000.parquet",
    ]
    for path, (mtime, data) in before.items():
        assert path.stat().st_mtime_ns == mtime and path.read_bytes() == data
    assert read_all(out) == (10, 10, 10)


def test_rollover_publishes_full_files_during_the_run(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    writer = open_writer(out, SMN_ROW_GROUP_SIZE=100, SMN_FILE_MAX_ROWS=250)
    for i in range(520):
        writer.process_item(article(i))
    # the third file is opened with its first row group; 20 rows wait in memory
    assert len(finished(out)) == 2 and temps(out) == []
    assert len(writer.writer._partitions[NOV].rows) == 20
    assert read_all(out) == (500, 500, 500)
    writer.close_spider()
    metas = [pq.ParquetFile(p).metadata for p in finished(out)]
    assert [m.num_rows for m in metas] == [250, 250, 20]
    assert [m.num_row_groups for m in metas] == [3, 3, 1]
    assert writer.crawler.stats.get_value("parquet/files_written") == 3


def test_least_recently_used_partition_is_closed(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    writer = open_writer(out, SMN_MAX_OPEN_FILES=2, SMN_ROW_GROUP_SIZE=2)
    months = [1, 2, 1, 2, 3, 3, 1, 1]
    published = []
    for i, m in enumerate(months):
        writer.process_item(article(i, published_date=dt.date(2026, m, 1)))
        assert len(list(out.rglob(".*.tmp"))) <= 2  # open files
        published.append(sorted(p.parent.name for p in finished(out)))
    # month 3's first row group evicts month 1 (used before month 2's last row), then
    # month 1's next one evicts month 2
    assert published[4] == [] and published[5] == ["month=1"]
    assert published[7] == ["month=1", "month=2"]
    writer.close_spider()
    assert read_all(out) == (8, 8, 8)
    assert sorted(p.parent.name for p in finished(out)) == ["month=1"] * 2 + ["month=2", "month=3"]


def test_a_backfill_over_many_months_writes_a_file_per_month_in_bounded_memory(
    tmp_path: Path,
) -> None:
    # An archive crawl meets its months in any order: rows wait per month, bounded in
    # total, so no file is published a row at a time and memory does not grow per month.
    out = tmp_path / "ds"
    writer = open_writer(out, SMN_MAX_BUFFERED_ROWS=50, SMN_ROW_GROUP_SIZE=1000)
    months = [dt.date(2000 + i % 30, 1 + i % 12, 1) for i in range(600)]
    for i, day in enumerate(months):
        writer.process_item(article(i, published_date=day))
        assert writer.writer._buffered <= 50
        assert not finished(out)  # nothing published before the end
    assert writer.crawler.stats.get_value("parquet/rows_spilled") > 0
    writer.close_spider()
    assert read_all(out) == (600, 600, 600)
    files = finished(out)
    assert len(files) == len(set(months))
    # The rows that did not fit in memory waited in the spill file: one row group a month.
    assert max(pq.ParquetFile(f).metadata.num_row_groups for f in files) == 1


def test_spilled_rows_come_back_in_full_row_groups(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    writer = open_writer(out, SMN_MAX_BUFFERED_ROWS=5, SMN_ROW_GROUP_SIZE=10)
    for i in range(63):  # three months, interleaved
        writer.process_item(article(i, published_date=dt.date(2026, 1 + i % 3, 1)))
        assert writer.writer._buffered <= 6
    writer.close_spider()
    assert read_all(out) == (63, 63, 63)
    for f in finished(out):
        meta = pq.ParquetFile(f).metadata
        sizes = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
        assert sizes == [10, 10, 1], (f, sizes)
    urls = pq.read_table(finished(out)[0], columns=["url"]).column("url").to_pylist()
    # Within a row group, rows are ordered by site, then as they came.
    assert sorted(urls) == sorted(article(i).url for i in range(0, 63, 3))
    assert writer.crawler.stats.get_value("parquet/rows_written") == 63


def test_closing_publishes_every_buffered_partition_with_few_files_open(tmp_path: Path) -> None:
    # At close, rows of more partitions than may have a file open wait in memory: each is
    # written in turn, the others' files published to make room, and no row is lost.
    out = tmp_path / "ds"
    writer = open_writer(out, SMN_MAX_OPEN_FILES=2, SMN_ROW_GROUP_SIZE=2)
    # month 1 waits in memory (least recently used); months 2 and 3 hold the open files
    for i, month in enumerate([1, 2, 2, 3, 3]):
        writer.process_item(article(i, published_date=dt.date(2026, month, 1)))
    writer.close_spider()
    assert read_all(out) == (5, 5, 5)
    assert writer.crawler.stats.get_value("parquet/rows_written") == 5
    assert not list(out.rglob(".*.tmp"))


def test_the_run_id_is_generated_once_when_not_set_and_names_the_files(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    writer = open_writer(out, crawl_id=None)
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", writer.crawl_id)
    assert crawl_id_of(writer.crawler) == writer.crawl_id  # every component gets the same
    kept = writer.process_item(article(1, crawl_id="worker-7"))
    writer.close_spider()
    assert kept.crawl_id == "worker-7"  # the record's own id (the spider stamps it)
    assert finished(out)[0].name == f"part-{writer.crawl_id}-00000.parquet"
    ids = set(pq.read_table(finished(out)[0]).column("crawl_id").to_pylist())
    assert ids == {"worker-7"}


def test_smn_crawl_id_sets_the_run_id(tmp_path: Path) -> None:
    writer = open_writer(tmp_path / "ds", crawl_id=None, SMN_CRAWL_ID="20261123T181500Z-ab12cd")
    assert writer.crawl_id == "20261123T181500Z-ab12cd"


def test_schema_error_is_dropped_and_counted(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    writer = open_writer(out)
    writer.process_item(article(1))
    with pytest.raises(DropItem):
        writer.process_item(article(2, word_count="many"))
    with pytest.raises(DropItem):
        writer.process_item({"url": "x", "unexpected": 1})
    with pytest.raises(DropItem):
        writer.process_item("not an item")
    writer.process_item(article(3))
    writer.close_spider()
    assert writer.crawler.stats.get_value("articles/dropped/schema_error") == 3
    assert read_all(out) == (2, 2, 2)


def test_unwritable_output_closes_the_spider(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    writer = ParquetDatasetPipeline.from_crawler(make_crawler(blocker / "ds"))
    with pytest.raises(CloseSpider) as exc:
        writer.open_spider()
    assert exc.value.reason == "output_error"
    assert writer.crawler.stats.get_value("smn/error/output") == 1
    writer.close_spider()  # Scrapy still calls it; nothing to publish
    assert writer.files_written == []


def test_error_mid_run_still_publishes_valid_files(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    writer = open_writer(out, SMN_ROW_GROUP_SIZE=100)
    for i in range(250):
        writer.process_item(article(i))
    # the crawl ends abnormally (exception in a callback, shutdown): close still runs
    writer.close_spider()
    (path,) = finished(out)
    assert pq.ParquetFile(path).metadata.num_rows == 250


def test_stale_temp_files_are_removed_but_never_finished_or_locked_ones(tmp_path: Path) -> None:
    out = tmp_path / "ds" / NOV
    out.mkdir(parents=True)
    old = time.time() - 3600
    stale = out / ".part-killed-00000.parquet.tmp"
    locked = out / ".part-running-00000.parquet.tmp"
    done = out / "part-old-00000.parquet"
    other = out / ".hidden-notes"
    for p in (stale, locked, done, other):
        p.write_bytes(b"x")
        os.utime(p, (old, old))
    fd = os.open(locked, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a live writer of an overlapping run
    try:
        open_writer(tmp_path / "ds", SMN_CLEAN_STALE_TMP=False)
        assert stale.exists()
        writer = open_writer(tmp_path / "ds")
    finally:
        os.close(fd)
    assert not stale.exists()
    assert locked.exists() and done.exists() and other.exists()
    assert writer.crawler.stats.get_value("parquet/stale_tmp_removed") == 1


def test_disk_error_mid_run_loses_only_that_partition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "ds"
    writer = open_writer(out, SMN_ROW_GROUP_SIZE=10)
    for i in range(5):
        writer.process_item(article(i, published_date=dt.date(2026, 1, 1)))
    real_write = PartFile.write

    def failing_write(self: PartFile, table: Any) -> None:
        if "month=11" in str(self.tmp_path):
            raise OSError(28, "No space left on device")
        real_write(self, table)

    monkeypatch.setattr(PartFile, "write", failing_write)
    for i in range(10, 20):
        writer.process_item(article(i))  # the 10th row triggers the failing row group
    with pytest.raises(DropItem):
        writer.process_item(article(30))  # the writer has failed: later rows are refused
    writer.close_spider()
    stats = writer.crawler.stats.get_stats()
    assert stats["smn/error/output"] == 1
    assert stats["parquet/rows_lost"] == 11
    assert stats["parquet/rows_written"] == 5
    assert temps(out) == []
    assert read_all(out) == (5, 5, 5)  # the January partition was still published


def test_a_spill_file_that_cannot_be_written_loses_only_that_partition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "ds"
    writer = open_writer(out, SMN_ROW_GROUP_SIZE=100, SMN_MAX_BUFFERED_ROWS=6)
    for i in range(3):  # January: spilled first, then back in its row group at close
        writer.process_item(article(i, published_date=dt.date(2026, 1, 1)))
    for i in range(3, 7):  # more November rows than January ones: November spills first
        writer.process_item(article(i))
    assert writer.crawler.stats.get_value("parquet/rows_spilled") == 4

    def full_disk(*args: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    # SQLite's own error, from under the spill: what a full TMPDIR gives.
    monkeypatch.setattr("crawler.dataset.spill.executemany", full_disk)
    for i in range(7, 11):
        writer.process_item(article(i))  # the 4th: November spills again, and that fails
    with pytest.raises(DropItem):
        writer.process_item(article(11))  # the writer has failed: later rows are refused
    writer.close_spider()
    stats = writer.crawler.stats.get_stats()
    # The scratch space failed, not the dataset's disk: the outcome says which.
    assert "smn/error/output" not in stats and stats["smn/error/scratch"] == 1
    line = judge(stats).line()
    assert f"the scratch space {tempfile.gettempdir()} (TMPDIR) could not be written" in line
    assert "is it full? (9 records lost)" in line
    # November's 4 spilled and 4 buffered rows, and the refused one
    assert stats["parquet/rows_lost"] == 9
    assert read_all(out) == (3, 3, 3)  # January's were written
    assert temps(out) == []


def test_an_aborted_partition_publishes_nothing_and_the_others_do(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    writer = open_writer(out, SMN_ROW_GROUP_SIZE=2)
    for i in range(5):
        writer.process_item(article(i))  # November, two row groups written, one row waiting
    writer.process_item(article(9, published_date=dt.date(2026, 10, 1)))
    assert writer.writer.abort(NOV) == 5  # the open file's rows and the waiting one
    assert temps(out) == []  # its temp file is gone
    writer.close_spider()
    assert [p.parent.name for p in finished(out)] == ["month=10"]
    assert writer.crawler.stats.get_value("parquet/rows_written") == 1
