"""The dataset writer: rows in, published Parquet files out, in bounded memory.

Layout::

    <dataset>/year=2026/month=3/part-<crawl_id>-00000.parquet

* Partitions are ``year``/``month`` of ``published_date`` (of the fetch date when it is
  null). Analysts query time windows and per-day counts, so a month directory is pruned
  by any date filter; an incremental cron run touches one or two partitions, not one per
  site, so runs produce few, not tiny, files. ``site`` has a handful of values: it stays
  a column, rows are sorted by it within each row group so its statistics stay tight.
* The partition keys are directory names only, never columns inside the files; months
  are not zero-padded so that pyarrow, pandas and DuckDB all read them as integers.
* Rows are buffered per partition and written as a row group every ``row_group_size``
  rows; when more than ``max_buffered_rows`` rows wait in memory in all partitions
  together, those of the partition with the most move to a private temporary spill file
  (:mod:`crawler.dataset.spill`) until their partition has a full row group. Memory stays
  flat however long the crawl and however many months it spans, and a backfill still
  writes full row groups. A file is published (renamed from its hidden temp name,
  :mod:`crawler.dataset.files`) after ``file_max_rows`` rows, when a partition needs a file
  while ``max_open_files`` are open (the least recently used is published), when the open
  files hold more than ``max_open_row_groups`` row groups (the one with the most is
  published), and on :meth:`DatasetWriter.publish_all`.
* Files of earlier runs are never rewritten or appended to: each run writes new files
  named after its crawl id, and an existing final name is never overwritten.
* Generations (:mod:`crawler.dataset.generations`): a compaction or re-extraction may switch
  the dataset to a new generation while a writer that does not hold the dataset lock (a
  distributed worker) runs. A new file is begun in the generation current then; it is
  published (sealed first, then renamed) under the dataset's publish lock, held shared for
  the rename only, into the same partition of the generation current *at that moment*:
  moved there when a switch came in between (a rename within the generations' directory),
  so no file lands in a generation that is no longer current and no temp file is stranded
  in one. A switch waits for a rename in progress; a rename waits for a switch's last step.

No Scrapy here: the item pipeline (``pipelines/parquet_writer.py``) validates and converts
items and hands rows over; a distributed worker composes the same writer with a
:class:`PublishHook` (claims made permanent at publication).

Stats: ``parquet/rows_written``, ``parquet/files_written``, ``parquet/bytes_written`` (all
three of published files only), ``parquet/rows_spilled``, ``parquet/stale_tmp_removed``,
``parquet/rows_lost``, ``parquet/publish_waits`` and ``parquet/publish_wait_max_ms``
(publications that waited for a switch of the generation, and the longest wait),
``parquet/published_after_switch`` (files begun in a generation a switch retired, published
into the current one), ``smn/error/output``.

Test hook: ``SMNTEST_PUBLISH_PAUSE=<step>:<path>[,...]`` holds the first publication at
``<step>`` until ``<path>`` exists, after writing the file's path into ``<path>.reached``:
``sealed`` (complete, not yet published, no lock held), ``waiting`` (a switch holds the
publish lock; not held: give a ``<path>`` that exists), ``locked`` (the publish lock held,
the target resolved).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from crawler.crawl_id import filename_safe
from crawler.dataset.files import PartFile, final_name, partition_of, remove_stale_tmp, tmp_name
from crawler.dataset.generations import PublishLock, is_linked, pause_for_test
from crawler.dataset.generations import current as current_generation
from crawler.dataset.schema import article_schema, rows_to_table
from crawler.dataset.spill import RowSpill
from crawler.defaults import default, get_int, get_str
from crawler.util.scratch import ScratchSpaceError, scratch_dir

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

PAUSE_ENV = "SMNTEST_PUBLISH_PAUSE"


class Stats(Protocol):
    """What the writer counts into (Scrapy's stats collector is one)."""

    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None: ...

    def set_value(self, key: str, value: Any) -> None: ...

    def get_value(self, key: str, default: Any = None) -> Any: ...


class PublishHook(Protocol):
    """Called around the publication of each file (a distributed worker's claims)."""

    def before_publish(self, partition: str, final_path: Path) -> bool:
        """Whether the file may be published; False aborts the partition's rows instead."""
        ...

    def after_publish(self, partition: str, final_path: Path) -> None: ...

    def aborted(self, partition: str, rows: int) -> None:
        """The partition's unpublished rows (``rows`` of them) were thrown away."""
        ...


class OutputError(Exception):
    """The dataset directory cannot be created or written."""


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


class DatasetWriter:
    """Writes rows (checked against the schema) as row groups of Parquet files in a
    Hive-partitioned dataset, and publishes them."""

    def __init__(
        self,
        output: Path,
        crawl_id: str,
        stats: Stats,
        *,
        row_group_size: int = default("SMN_ROW_GROUP_SIZE"),
        file_max_rows: int = default("SMN_FILE_MAX_ROWS"),
        max_open_files: int = default("SMN_MAX_OPEN_FILES"),
        max_buffered_rows: int = default("SMN_MAX_BUFFERED_ROWS"),
        max_open_row_groups: int = default("SMN_MAX_OPEN_ROW_GROUPS"),
        compression: str = default("SMN_PARQUET_COMPRESSION"),
        on_failure: Callable[[], None] | None = None,
        on_published: Callable[[Path], None] | None = None,
    ) -> None:
        limits = (row_group_size, file_max_rows, max_open_files, max_buffered_rows)
        if min(*limits, max_open_row_groups) < 1:
            raise ValueError(
                "SMN_ROW_GROUP_SIZE, SMN_FILE_MAX_ROWS, SMN_MAX_OPEN_FILES, "
                "SMN_MAX_BUFFERED_ROWS and SMN_MAX_OPEN_ROW_GROUPS must be > 0"
            )
        self.output = output
        self.directory = output
        """The current generation's directory when :meth:`open` resolved it
        (:func:`crawler.dataset.generations.current`); a file is begun in the generation
        current then and published into the one current when it is published."""
        self._publish_lock: PublishLock | None = None
        self.crawl_id = crawl_id
        self.stats = stats
        self.row_group_size = row_group_size
        self.file_max_rows = file_max_rows
        self.max_open_files = max_open_files
        self.max_buffered_rows = max_buffered_rows
        self.max_open_row_groups = max_open_row_groups
        self.compression = compression
        self.on_failure = on_failure
        """Called once, at the first write failure (the crawl should stop)."""
        self.on_published = on_published
        """Called with the final path of each file published."""
        self.hook: PublishHook | None = None
        self.before_publish: Callable[[], None] | None = None
        """Called before each file is published; raising keeps it unpublished (its rows are
        lost). The WARC archive publishes there the file the rows point into."""
        self.files_written: list[Path] = []
        # Partitions with buffered rows or an open file, least recently used first.
        self._partitions: OrderedDict[str, _Partition] = OrderedDict()
        self._buffered = 0
        self._spill: RowSpill | None = None
        self._counter = 0
        self._started_at = time.time()
        self._failed = False

    @classmethod
    def from_settings(
        cls,
        output: Path,
        stats: Stats,
        settings: BaseSettings,
        *,
        on_failure: Callable[[], None] | None = None,
        on_published: Callable[[Path], None] | None = None,
    ) -> DatasetWriter:
        """A writer with the ``SMN_*`` limits of ``settings``; its crawl id is set at open."""
        return cls(
            output,
            "",
            stats,
            row_group_size=get_int(settings, "SMN_ROW_GROUP_SIZE"),
            file_max_rows=get_int(settings, "SMN_FILE_MAX_ROWS"),
            max_open_files=get_int(settings, "SMN_MAX_OPEN_FILES"),
            max_buffered_rows=get_int(settings, "SMN_MAX_BUFFERED_ROWS"),
            max_open_row_groups=get_int(settings, "SMN_MAX_OPEN_ROW_GROUPS"),
            compression=get_str(settings, "SMN_PARQUET_COMPRESSION")
            or default("SMN_PARQUET_COMPRESSION"),
            on_failure=on_failure,
            on_published=on_published,
        )

    @property
    def failed(self) -> bool:
        """A write failed: rows were lost, and every later row is refused."""
        return self._failed

    # -- opening and closing -------------------------------------------------------------

    def open(self, *, clean_stale_tmp: bool = True) -> None:
        """Create the dataset directory and prove it writable (OutputError otherwise);
        delete temp files killed runs left behind."""
        try:
            self.directory = current_generation(self.output)
            self.directory.mkdir(parents=True, exist_ok=True)
            probe = self.directory / f".smn-write-probe-{os.getpid()}-{secrets.token_hex(4)}"
            probe.write_bytes(b"")
            probe.unlink()
            if is_linked(self.output):
                # a dataset of generations (not a private build directory): a switch may
                # come while this writer runs, whoever holds the dataset lock
                self._publish_lock = PublishLock(self.output)
        except OSError as exc:
            self._output_error(f"cannot create or write {self.output.resolve()}: {exc}")
            raise OutputError(str(exc)) from exc
        if clean_stale_tmp:
            removed = remove_stale_tmp(self.directory, older_than=self._started_at)
            for path in removed:
                logger.info("Removed stale temp file %s", path)
            if removed:
                self.stats.inc_value("parquet/stale_tmp_removed", len(removed))
        logger.info("Writing dataset %s (crawl id %s)", self.output.resolve(), self.crawl_id)

    def publish_all(self) -> None:
        """Write and publish every partition's rows: everything accepted so far becomes
        readable (new rows go to new files)."""
        # One at a time from the least recently used: publishing a partition may need a
        # file, and making room for it publishes (and removes) others.
        while self._partitions:
            _, part = self._partitions.popitem(last=False)
            self._close_partition(part)

    def close(self) -> None:
        """Publish everything and release the spill file."""
        self.publish_all()
        if self._spill is not None:
            self._spill.close()
            self._spill = None
        if self._publish_lock is not None:
            self._publish_lock.close()
        logger.info(
            "Dataset %s: %d rows in %d new files",
            self.output,
            self.stats.get_value("parquet/rows_written", 0),
            len(self.files_written),
        )

    def abort(self, partition: str) -> int:
        """Throw away the partition's unpublished rows (its open file is deleted); how
        many."""
        part = self._partitions.pop(partition, None)
        return self._abort(part) if part is not None else 0

    def abort_all(self) -> int:
        """Throw away every unpublished row (their files are deleted); how many."""
        return sum(self.abort(key) for key in list(self._partitions))

    # -- rows ----------------------------------------------------------------------------

    def write(self, row: dict[str, Any]) -> bool:
        """Accept one row; False when the writer has failed (the row is counted lost)."""
        if self._failed:
            self.stats.inc_value("parquet/rows_lost")
            return False
        part = self._partition(partition_of(row))
        part.rows.append(row)
        self._buffered += 1
        if part.waiting >= min(self.row_group_size, self.file_max_rows - part.file_rows):
            self._flush_or_fail(part)
            self._limit_open_row_groups()
        elif self._buffered > self.max_buffered_rows:
            self._spill_or_fail(max(self._partitions.values(), key=lambda p: len(p.rows)))
        return True

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
            part.file = self._new_file(self._generation() / part.key)
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

    def _generation(self) -> Path:
        """The directory of the generation current now."""
        if self._publish_lock is None:
            return self.directory
        return current_generation(self.output)

    def _publish(self, part: _Partition) -> None:
        file = part.file
        assert file is not None
        if self.before_publish is not None:
            self.before_publish()
        file.seal()  # the footer and the fsync: no lock held for them
        pause_for_test(PAUSE_ENV, "sealed", str(file.tmp_path))
        if self._publish_lock is None:
            if not self._may_publish(part, file.final_path):
                return
            path = file.finish()
        else:
            with self._publish_lock.shared(on_wait=lambda: self._waiting(file)) as waited:
                self._waited(waited)
                # resolved under the lock: no switch until it is let go, so the file lands
                # in the generation that stays current until after its rename
                directory = current_generation(self.output) / part.key
                target = directory / file.final_path.name
                if not self._may_publish(part, target):
                    return
                pause_for_test(PAUSE_ENV, "locked", str(target))
                moved = directory != file.tmp_path.parent
                path = file.finish(directory)
            if moved:
                self.stats.inc_value("parquet/published_after_switch")
                logger.info("Published %s into the generation current now", path)
        part.file = None
        self.files_written.append(path)
        # counted on publication: rows of an aborted file were never readable
        self.stats.inc_value("parquet/rows_written", file.rows)
        self.stats.inc_value("parquet/files_written")
        self.stats.inc_value("parquet/bytes_written", path.stat().st_size)
        logger.debug("Published %s (%d rows, %d row groups)", path, file.rows, file.row_groups)
        if self.hook is not None:
            self.hook.after_publish(part.key, path)
        if self.on_published is not None:
            self.on_published(path)

    def _may_publish(self, part: _Partition, target: Path) -> bool:
        """The hook's consent (False: the partition's rows were aborted)."""
        if self.hook is not None and not self.hook.before_publish(part.key, target):
            self._abort(part)
            return False
        return True

    def _waiting(self, file: PartFile) -> None:
        logger.info("Waiting for a switch of the dataset's generation to publish %s", file.tmp_path)
        pause_for_test(PAUSE_ENV, "waiting", str(file.tmp_path))

    def _waited(self, seconds: float) -> None:
        if seconds <= 0:
            return
        self.stats.inc_value("parquet/publish_waits")
        ms = round(seconds * 1000, 1)
        if ms > self.stats.get_value("parquet/publish_wait_max_ms", 0):
            self.stats.set_value("parquet/publish_wait_max_ms", ms)

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

    def _abort(self, part: _Partition) -> int:
        """Throw the partition's unpublished rows away (by a hook's decision or on
        request); how many."""
        rows = len(part.rows) + part.file_rows + part.spilled
        self._abort_file(part)
        self._drop_rows(part)
        if part.spilled and self._spill is not None:
            # Left there, they would come back with the partition's next spilled rows.
            self._spill.discard(part.key)
        part.spilled = 0
        if self.hook is not None:
            self.hook.aborted(part.key, rows)
        return rows

    # -- failures ------------------------------------------------------------------------

    def _output_error(self, message: str) -> None:
        logger.error("Dataset output error: %s", message)
        self.stats.set_value("smn/error/output", 1)

    def _write_failed(self, part: _Partition, exc: Exception) -> None:
        """Drop the partition's unpublished rows and stop: a disk that is full or gone would
        fail every later row group too."""
        lost = part.waiting + part.file_rows
        self._abort_file(part)
        self._drop_rows(part)
        if part.spilled and self._spill is not None:
            with contextlib.suppress(Exception):  # the spill file itself may be what failed
                self._spill.discard(part.key)
        part.spilled = 0
        self.stats.inc_value("parquet/rows_lost", lost)
        if isinstance(exc, ScratchSpaceError):
            # The dataset's disk may be fine: say which space failed.
            self.stats.set_value("smn/error/scratch", 1)
            self.stats.set_value("smn/scratch_dir", scratch_dir())
            logger.error("Partition %s, %d rows lost: %s", part.key, lost, exc)
        else:
            self._output_error(f"writing partition {part.key} failed, {lost} rows lost: {exc!r}")
        if self._failed:
            return
        self._failed = True
        if self.on_failure is not None:
            self.on_failure()
