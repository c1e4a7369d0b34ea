"""ParquetDatasetPipeline: append the crawl's articles to the Hive-partitioned dataset.

Layout::

    <SMN_OUTPUT>/year=2026/month=3/part-<crawl_id>-00000.parquet

* Partitions are ``year``/``month`` of ``published_date`` (of the fetch date when it is
  null). Analysts query time windows and per-day counts, so a month directory is pruned
  by any date filter; an incremental cron run touches one or two partitions, not one per
  site, so runs produce few, not tiny, files. ``site`` has a handful of values: it stays
  a column, rows are sorted by it within each row group so its statistics stay tight.
* The partition keys are directory names only, never columns inside the files; months
  are not zero-padded so that pyarrow, pandas and DuckDB all read them as integers.
* Rows are buffered per partition and written as a row group every
  ``SMN_ROW_GROUP_SIZE`` rows; when more than ``SMN_MAX_BUFFERED_ROWS`` rows wait in
  memory in all partitions together, those of the partition with the most move to a
  private temporary spill file (:mod:`crawler.dataset.spill`) until their partition has a
  full row group. Memory stays flat however long the crawl and however many months it
  spans, and a backfill still writes full row groups. A file is published (renamed from its
  hidden temp name) after ``SMN_FILE_MAX_ROWS`` rows, when a partition needs a file while
  ``SMN_MAX_OPEN_FILES`` are open (the least recently used is published), when the open
  files hold more than ``SMN_MAX_OPEN_ROW_GROUPS`` row groups (the one with the most is
  published), and on spider close, whatever the close reason. A backfill of the archive
  spreads its rows over hundreds of months: buffering apart from the open files keeps its
  files from being published a row or two at a time.
* Files of earlier runs are never rewritten or appended to: each run writes new files
  named after its crawl id, and an existing final name is never overwritten.

Settings:

* ``SMN_OUTPUT`` (str, default ``output/articles``, relative to the current directory):
  the dataset directory; empty disables the pipeline.
* ``SMN_ROW_GROUP_SIZE`` (int, default 1000): rows per row group.
* ``SMN_FILE_MAX_ROWS`` (int, default 100000): rows per file before rolling over.
* ``SMN_MAX_OPEN_FILES`` (int, default 128): partitions with an open file at once (an
  open file costs a file descriptor and its footer so far).
* ``SMN_MAX_BUFFERED_ROWS`` (int, default 1000): rows waiting for a row group in memory,
  in all partitions together (the rest wait in the spill file).
* ``SMN_MAX_OPEN_ROW_GROUPS`` (int, default 1024): row groups in all open files together;
  past it the file with the most is published (each costs about 20 KB of footer metadata
  held until its file is closed).
* ``SMN_PARQUET_COMPRESSION`` (str, default ``zstd``): Parquet compression codec.
  Row-group statistics are written for the short columns readers filter on only
  (:data:`crawler.dataset.schema.STATISTICS_COLUMNS`).
* ``SMN_CLEAN_STALE_TMP`` (bool, default True): on open, delete temp files left by killed
  runs (older than this run's start and not locked by a live writer).
* ``SMN_CRAWL_ID``: see :mod:`crawler.crawl_id`.

Stats: ``parquet/rows_written``, ``parquet/files_written``, ``parquet/bytes_written`` (all
three of published files only), ``parquet/rows_spilled``, ``parquet/stale_tmp_removed``,
``parquet/rows_lost``, ``articles/dropped/schema_error``, ``smn/error/output``. The
published files are listed in :attr:`files_written`, for the run report.

An output directory that cannot be created or written closes the spider at once with
reason ``output_error`` (``NotConfigured`` would let the crawl run and write nothing).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter
from scrapy.exceptions import CloseSpider, DropItem, NotConfigured
from scrapy.utils.defer import deferred_from_coro

from crawler.crawl_id import filename_safe, resolve_crawl_id
from crawler.dataset.files import PartFile, final_name, partition_of, remove_stale_tmp, tmp_name
from crawler.dataset.pandas_probe import answer_pandas_probe
from crawler.dataset.paths import dataset_dir
from crawler.dataset.schema import SchemaError, article_schema, check_row, rows_to_table, to_row
from crawler.dataset.spill import RowSpill
from crawler.defaults import default, get_bool, get_int, get_str

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


@dataclass
class _Partition:
    """Rows waiting for the next row group of one partition, and its open file if any."""

    key: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    file: PartFile | None = None
    spilled: int = 0
    """Rows of this partition waiting in the spill file (before ``rows``)."""

    @property
    def waiting(self) -> int:
        return self.spilled + len(self.rows)

    @property
    def file_rows(self) -> int:
        return self.file.rows if self.file else 0


class ParquetDatasetPipeline:
    """Write items as row groups of Parquet files in a Hive-partitioned dataset."""

    def __init__(
        self,
        crawler: Crawler,
        output: Path,
        *,
        row_group_size: int = default("SMN_ROW_GROUP_SIZE"),
        file_max_rows: int = default("SMN_FILE_MAX_ROWS"),
        max_open_files: int = default("SMN_MAX_OPEN_FILES"),
        max_buffered_rows: int = default("SMN_MAX_BUFFERED_ROWS"),
        max_open_row_groups: int = default("SMN_MAX_OPEN_ROW_GROUPS"),
        compression: str = default("SMN_PARQUET_COMPRESSION"),
        clean_stale_tmp: bool = default("SMN_CLEAN_STALE_TMP"),
    ) -> None:
        limits = (row_group_size, file_max_rows, max_open_files, max_buffered_rows)
        if min(*limits, max_open_row_groups) < 1:
            raise ValueError(
                "SMN_ROW_GROUP_SIZE, SMN_FILE_MAX_ROWS, SMN_MAX_OPEN_FILES, "
                "SMN_MAX_BUFFERED_ROWS and SMN_MAX_OPEN_ROW_GROUPS must be > 0"
            )
        self.crawler = crawler
        self.output = output
        self.row_group_size = row_group_size
        self.file_max_rows = file_max_rows
        self.max_open_files = max_open_files
        self.max_buffered_rows = max_buffered_rows
        self.max_open_row_groups = max_open_row_groups
        self.compression = compression
        self.clean_stale_tmp = clean_stale_tmp
        self.crawl_id = ""
        self.files_written: list[Path] = []
        # Partitions with buffered rows or an open file, least recently used first.
        self._partitions: OrderedDict[str, _Partition] = OrderedDict()
        self._buffered = 0
        self._spill: RowSpill | None = None
        self._counter = 0
        self._started_at = time.time()
        self._failed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        s = crawler.settings
        output = dataset_dir(s)
        if output is None:
            raise NotConfigured("SMN_OUTPUT is empty")
        return cls(
            crawler,
            output,
            row_group_size=get_int(s, "SMN_ROW_GROUP_SIZE"),
            file_max_rows=get_int(s, "SMN_FILE_MAX_ROWS"),
            max_open_files=get_int(s, "SMN_MAX_OPEN_FILES"),
            max_buffered_rows=get_int(s, "SMN_MAX_BUFFERED_ROWS"),
            max_open_row_groups=get_int(s, "SMN_MAX_OPEN_ROW_GROUPS"),
            compression=get_str(s, "SMN_PARQUET_COMPRESSION") or default("SMN_PARQUET_COMPRESSION"),
            clean_stale_tmp=get_bool(s, "SMN_CLEAN_STALE_TMP"),
        )

    @property
    def stats(self) -> StatsCollector:
        assert self.crawler.stats is not None
        return self.crawler.stats

    # -- spider lifecycle ----------------------------------------------------------------

    def open_spider(self) -> None:
        self.crawl_id = resolve_crawl_id(self.crawler)
        answer_pandas_probe()
        try:
            self.output.mkdir(parents=True, exist_ok=True)
            probe = self.output / f".smn-write-probe-{os.getpid()}-{secrets.token_hex(4)}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            self._output_error(f"cannot create or write {self.output.resolve()}: {exc}")
            raise CloseSpider("output_error") from exc
        if self.clean_stale_tmp:
            removed = remove_stale_tmp(self.output, older_than=self._started_at)
            for path in removed:
                logger.info("Removed stale temp file %s", path)
            if removed:
                self.stats.inc_value("parquet/stale_tmp_removed", len(removed))
        logger.info("Writing dataset %s (crawl id %s)", self.output.resolve(), self.crawl_id)

    def close_spider(self) -> None:
        # Runs for every close reason: publishing what was written keeps every row
        # already accepted, and every published file is a complete Parquet file.
        # One at a time from the least recently used: publishing a partition may need a
        # file, and making room for it publishes (and removes) others.
        while self._partitions:
            _, part = self._partitions.popitem(last=False)
            self._close_partition(part)
        if self._spill is not None:
            self._spill.close()
            self._spill = None
        logger.info(
            "Dataset %s: %d rows in %d new files",
            self.output,
            self.stats.get_value("parquet/rows_written", 0),
            len(self.files_written),
        )

    # -- items ---------------------------------------------------------------------------

    def process_item(self, item: Any) -> Any:
        if ItemAdapter.is_item(item) and not ItemAdapter(item).get("crawl_id"):
            ItemAdapter(item)["crawl_id"] = self.crawl_id
        try:
            row = to_row(item)
            check_row(row)
        except SchemaError as exc:
            url = ItemAdapter(item).get("url") if ItemAdapter.is_item(item) else None
            logger.error("Article does not fit the schema, dropped: %s: %s", url, exc)
            self.stats.inc_value("articles/dropped/schema_error")
            raise DropItem(f"schema_error: {exc}", log_level="DEBUG") from exc
        if self._failed:
            self.stats.inc_value("parquet/rows_lost")
            raise DropItem("output_error: the dataset writer has failed", log_level="DEBUG")
        part = self._partition(partition_of(row))
        part.rows.append(row)
        self._buffered += 1
        if part.waiting >= min(self.row_group_size, self.file_max_rows - part.file_rows):
            self._flush_or_fail(part)
            self._limit_open_row_groups()
        elif self._buffered > self.max_buffered_rows:
            self._spill_or_fail(max(self._partitions.values(), key=lambda p: len(p.rows)))
        return item

    def _spill_or_fail(self, part: _Partition) -> None:
        """Move the partition's buffered rows to the spill file: memory stays bounded and
        the partition still gets a full row group later."""
        try:
            if self._spill is None:
                self._spill = RowSpill()
            spilled = self._spill.add(part.key, part.rows)
            part.spilled += spilled
            self._drop_rows(part)
            self.stats.inc_value("parquet/rows_spilled", spilled)
        except Exception as exc:
            self._write_failed(part, exc)

    def _limit_open_row_groups(self) -> None:
        """Publish the open file with the most row groups while the open files hold more
        than ``max_open_row_groups``: a writer keeps every row group's footer entry in
        memory until its file is closed (about 20 KB each), and a backfill spread over
        hundreds of months writes many small row groups."""
        open_parts = [p for p in self._partitions.values() if p.file is not None]
        held = sum(p.file.row_groups for p in open_parts if p.file is not None)
        while held > self.max_open_row_groups and open_parts:
            fullest = max(open_parts, key=lambda p: p.file.row_groups if p.file else 0)
            open_parts.remove(fullest)
            held -= fullest.file.row_groups if fullest.file else 0
            self._close_partition(fullest)
            del self._partitions[fullest.key]

    def _partition(self, key: str) -> _Partition:
        part = self._partitions.get(key)
        if part is not None:
            self._partitions.move_to_end(key)
            return part
        part = self._partitions[key] = _Partition(key)
        return part

    def _flush_or_fail(self, part: _Partition) -> None:
        try:
            self._flush(part)
        except Exception as exc:
            self._write_failed(part, exc)

    def _flush(self, part: _Partition) -> None:
        if not part.waiting:
            return
        if part.file is None:
            self._make_room()
            part.file = self._new_file(self.output / part.key)
        rows = part.rows
        if part.spilled:
            assert self._spill is not None
            rows = self._spill.take(part.key) + rows
        rows.sort(key=lambda r: r["site"])
        table = rows_to_table(rows)
        part.file.write(table)
        part.spilled = 0
        self._drop_rows(part)
        if part.file.rows >= self.file_max_rows:
            self._publish(part)

    def _make_room(self) -> None:
        """Publish the least recently used open files until another may be opened."""
        open_files = [p for p in self._partitions.values() if p.file is not None]
        for lru in open_files[: max(0, len(open_files) - self.max_open_files + 1)]:
            self._close_partition(lru)
            del self._partitions[lru.key]

    def _drop_rows(self, part: _Partition) -> None:
        """The partition's buffered rows are written, spilled or lost."""
        self._buffered -= len(part.rows)
        part.rows = []

    def _new_file(self, directory: Path) -> PartFile:
        safe_id = filename_safe(self.crawl_id)
        # A reused SMN_CRAWL_ID must not collide with files of the earlier run.
        while (directory / final_name(safe_id, self._counter)).exists() or (
            directory / tmp_name(safe_id, self._counter)
        ).exists():
            self._counter += 1
        part = PartFile(directory, safe_id, self._counter, article_schema(), self.compression)
        self._counter += 1
        return part

    def _publish(self, part: _Partition) -> None:
        file = part.file
        assert file is not None
        path = file.finish()
        part.file = None
        self.files_written.append(path)
        # counted on publication: rows of an aborted file were never readable
        self.stats.inc_value("parquet/rows_written", file.rows)
        self.stats.inc_value("parquet/files_written")
        self.stats.inc_value("parquet/bytes_written", path.stat().st_size)
        logger.debug("Published %s (%d rows, %d row groups)", path, file.rows, file.row_groups)

    def _close_partition(self, part: _Partition) -> None:
        try:
            self._flush(part)
            if part.file is not None:
                self._publish(part)
        except Exception as exc:
            # Logged and counted, not raised: the other partitions must still be published.
            self._write_failed(part, exc)

    def _abort_file(self, part: _Partition) -> None:
        """Delete the partition's open temp file: its rows will never be readable."""
        if part.file is not None:
            part.file.abort()
            part.file = None

    # -- failures ------------------------------------------------------------------------

    def _output_error(self, message: str) -> None:
        logger.error("Dataset output error: %s", message)
        self.stats.set_value("smn/error/output", 1)

    def _write_failed(self, part: _Partition, exc: Exception) -> None:
        """Drop the partition's unpublished rows and stop the crawl: a disk that is full or
        gone would fail every later row group too."""
        lost = part.waiting + part.file_rows
        self._abort_file(part)
        self._drop_rows(part)
        if part.spilled and self._spill is not None:
            with contextlib.suppress(Exception):  # the spill file itself may be what failed
                self._spill.discard(part.key)
        part.spilled = 0
        self.stats.inc_value("parquet/rows_lost", lost)
        self._output_error(f"writing partition {part.key} failed, {lost} rows lost: {exc!r}")
        if self._failed:
            return
        self._failed = True
        try:
            engine = self.crawler.engine
        except RuntimeError:
            return  # no crawl running (the pipeline is driven directly)
        if engine.spider is not None:
            d = deferred_from_coro(engine.close_spider_async(reason="output_error"))
            d.addErrback(lambda f: logger.error("Closing the spider failed: %s", f.value))
