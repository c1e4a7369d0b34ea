"""Compaction: the small files of each partition merged into few files of full row groups,
and files of an older schema rewritten to the current one, as the next generation.

Cron adds one small file per run per touched month (some 17,000 a year): every reader pays
for each file (open, footer, a row group of a few rows). A compaction builds the next
generation (:class:`crawler.dataset.generations.GenerationBuild`) beside the current one,
without the dataset lock:

* per partition, the *candidates* are the files of an older schema and the files of fewer
  than ``file_max_rows`` rows; when there are two or more, or one of an older schema, all of
  them are read whole, conformed to the article schema (:func:`crawler.dataset.schema.conform`:
  new columns null), sorted by ``site`` (stable: rows of one site keep their order; the
  column's statistics stay tight) and written as row groups of ``row_group_size`` rows in
  files of up to ``file_max_rows`` rows, through the writer's own
  :class:`crawler.dataset.files.PartFile` (same statistics, page checksums, hidden temp name);
* every other file is hard-linked unchanged (same name, size and mtime: the incremental state
  does not read it again).

Every row is kept once: rows are unique by canonical URL already and none is added, dropped
or changed but for the new null columns. A file that is not a readable dataset file (footer,
schema, or any data page of a file to merge) is quarantined as a crawl would
(:mod:`crawler.dataset.quarantine`), never merged. Then, under the lock, the build catches
up with what a crawl published meanwhile and the link switches.

A partition left with one small file of the current schema is done: compacting again
changes nothing.

Test hook, for the kill tests only (never set it otherwise): the environment variable
``SMNTEST_PAUSE=<step>:<path>`` makes the process create ``<path>.reached`` at ``<step>`` and
wait until ``<path>`` exists: a kill test kills it there, on a condition, not after a sleep.
The compaction's steps: ``first-file`` (one merged file published in the new generation),
``built`` (all built, before the lock), ``switched`` (after the switch, before old
generations are removed); the re-extraction's (:mod:`crawler.commands.reextract`):
``reextract-begun`` (the new generation begun, no page read yet), ``reextract-built``
(every row in the new generation, before the lock) and
``reextract-switched`` (after the switch, before the clean-up and the report).
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pyarrow as pa
import pyarrow.parquet as pq

from crawler.dataset.files import DatasetFile, PartFile, published_files
from crawler.dataset.generations import GenerationBuild, Switched
from crawler.dataset.quarantine import (
    DamagedFile,
    Quarantined,
    damaged_data,
    is_io_error,
    open_parquet,
    quarantine,
)
from crawler.dataset.schema import article_schema, conform, is_current

logger = logging.getLogger(__name__)

PAUSE_ENV = "SMNTEST_PAUSE"


@dataclass(frozen=True, slots=True)
class FileInfo:
    file: DatasetFile
    rows: int
    current: bool
    """Of the current article schema."""

    @property
    def partition(self) -> str:
        return str(PurePosixPath(self.file.path).parent)


@dataclass
class Compaction:
    """What a compaction did."""

    files_before: int = 0
    files_after: int = 0
    rows: int = 0
    """Rows of the new generation (the built part; files caught up at the switch aside)."""
    merged: int = 0
    """Files read and merged."""
    written: int = 0
    """New files written."""
    upgraded: int = 0
    """Files of an older schema among the merged."""
    quarantined: list[Quarantined] = field(default_factory=list)
    switched: Switched | None = None
    seconds: float = 0.0


def pause_at(step: str) -> None:
    """The kill tests' hook (see the module docstring): nothing unless ``SMNTEST_PAUSE``
    names ``step``."""
    wanted = os.environ.get(PAUSE_ENV, "")
    name, _, path = wanted.partition(":")
    if name != step or not path:
        return
    Path(f"{path}.reached").touch()
    while not os.path.exists(path):
        time.sleep(0.02)


class Compactor:
    """Builds the next generation of one dataset, compacted; :meth:`commit` switches."""

    def __init__(
        self,
        build: GenerationBuild,
        *,
        row_group_size: int,
        file_max_rows: int,
        compression: str,
    ) -> None:
        if min(row_group_size, file_max_rows) < 1:
            raise ValueError("SMN_ROW_GROUP_SIZE and SMN_FILE_MAX_ROWS must be > 0")
        self.build = build
        self.row_group_size = row_group_size
        self.file_max_rows = file_max_rows
        self.compression = compression
        self.result = Compaction()
        self._counter = 0
        self._by_partition: dict[str, list[str]] = defaultdict(list)
        self._merged_sources: dict[str, list[FileInfo]] = {}
        self._paused = False

    # -- building -------------------------------------------------------------------------

    def run(self) -> Compaction:
        """Build the whole next generation (no lock needed). OSError on a write failure
        (disk full: the caller abandons the build)."""
        started = time.monotonic()
        files = sorted(self.build.base_files)
        self.result.files_before = len(files)
        partitions: dict[str, list[FileInfo]] = defaultdict(list)
        for file in files:
            info = self._inspect(file)
            if info is not None:
                partitions[info.partition].append(info)
        for partition, infos in sorted(partitions.items()):
            candidates = [i for i in infos if not i.current or i.rows < self.file_max_rows]
            if len(candidates) >= 2 or any(not i.current for i in candidates):
                keep = [i for i in infos if i not in candidates]
                self._merge(partition, candidates)
            else:
                keep = infos
            for info in keep:
                self.build.link(info.file)
                self.result.rows += info.rows
        self.result.files_after = len(self.build.linked) + sum(
            len(v) for v in self._by_partition.values()
        )
        self.result.seconds = time.monotonic() - started
        return self.result

    @property
    def changes(self) -> bool:
        """The new generation differs from the base (something was merged)."""
        return self.result.merged > 0

    def _inspect(self, file: DatasetFile) -> FileInfo | None:
        """The file's row count and schema from its footer; None when it is gone or was
        quarantined."""
        try:
            with open_parquet(self.build.base / file.path) as parquet:
                return FileInfo(file, parquet.metadata.num_rows, is_current(parquet.schema_arrow))
        except FileNotFoundError:
            return None
        except DamagedFile as exc:
            self._quarantine(file, exc.reason)
            return None

    def _read(self, info: FileInfo) -> pa.Table | None:
        """A file to merge, every page decoded (checksums verified) and conformed; None
        when it is gone or was quarantined."""
        path = self.build.base / info.file.path
        try:
            with open_parquet(path) as parquet:
                try:
                    table = parquet.read()
                except Exception as exc:
                    if is_io_error(exc):
                        raise
                    raise DamagedFile(damaged_data(exc)) from exc
                if table.num_rows != parquet.metadata.num_rows:
                    raise DamagedFile(
                        f"damaged data: {table.num_rows} rows read, the footer says "
                        f"{parquet.metadata.num_rows}"
                    )
            try:
                return conform(table)
            except ValueError as exc:
                raise DamagedFile(f"foreign schema: {exc}") from exc
        except FileNotFoundError:
            return None
        except DamagedFile as exc:
            self._quarantine(info.file, exc.reason)
            return None

    def _quarantine(self, file: DatasetFile, reason: str) -> None:
        try:
            moved_to = quarantine(self.build.base, file.path, reason)
        except FileNotFoundError:
            return
        logger.error("Dataset file %s quarantined (%s): moved to %s", file.path, reason, moved_to)
        self.result.quarantined.append(Quarantined(file.path, reason, moved_to))

    def _merge(self, partition: str, infos: list[FileInfo]) -> None:
        tables = []
        merged: list[FileInfo] = []
        for info in infos:
            table = self._read(info)
            if table is not None:
                tables.append(table)
                merged.append(info)
        self._merged_sources[partition] = merged
        if not tables:
            return
        table = pa.concat_tables(tables)
        if table.num_rows:
            table = table.sort_by("site")  # a stable sort: a site's rows keep their order
        directory = self.build.directory / partition
        sources = [i.file for i in merged]
        for start in range(0, max(table.num_rows, 1), self.file_max_rows):
            chunk = table.slice(start, self.file_max_rows)
            if not chunk.num_rows:
                break
            part = PartFile(
                directory,
                f"compact-{self.build.generation}",
                self._counter,
                article_schema(),
                self.compression,
            )
            self._counter += 1
            try:
                for offset in range(0, chunk.num_rows, self.row_group_size):
                    part.write(chunk.slice(offset, self.row_group_size))
                path = part.finish()
            except BaseException:
                part.abort()
                raise
            relative = path.relative_to(self.build.directory).as_posix()
            self.build.merged(relative, sources)
            self._by_partition[partition].append(relative)
            self.result.written += 1
            if not self._paused:
                self._paused = True
                pause_at("first-file")
        self.result.merged += len(merged)
        self.result.upgraded += sum(1 for i in merged if not i.current)
        self.result.rows += table.num_rows

    # -- switching ------------------------------------------------------------------------

    def commit(self) -> Switched:
        """Catch up and switch (under the dataset lock). A merged file removed from the
        base meanwhile (quarantined by a crawl): its partition is merged again without it."""
        self.result.switched = self.build.commit(rework=self._rework)
        return self.result.switched

    def _rework(self, gone: set[DatasetFile]) -> None:
        for partition, merged in list(self._merged_sources.items()):
            if not any(i.file in gone for i in merged):
                continue
            for relative in self._by_partition.pop(partition, []):
                self.build.replace_merged(relative)
                self.result.written -= 1
            self.result.merged -= len(merged)
            self.result.upgraded -= sum(1 for i in merged if not i.current)
            self.result.rows -= sum(i.rows for i in merged)
            self._merge(partition, [i for i in merged if i.file not in gone])


def count_rows(directory: Path) -> tuple[int, int]:
    """Files and rows of a generation (or any dataset directory), from the footers."""
    files = published_files(directory)
    rows = sum(pq.read_metadata(directory / f.path).num_rows for f in files)
    return len(files), rows


def compact(
    build: GenerationBuild,
    *,
    row_group_size: int,
    file_max_rows: int,
    compression: str,
    switch: Callable[[Compactor], None],
) -> Compaction:
    """Build the compacted generation; ``switch(compactor)`` takes the lock and calls
    :meth:`Compactor.commit` (or gives up). The build is abandoned on any error, and when
    there is nothing to compact."""
    compactor = Compactor(
        build, row_group_size=row_group_size, file_max_rows=file_max_rows, compression=compression
    )
    try:
        result = compactor.run()
        if compactor.changes:
            pause_at("built")
            switch(compactor)
    finally:
        if not build.committed:
            build.abandon()
    return result
