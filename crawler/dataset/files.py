"""Dataset files: written under a hidden temp name, published by an atomic rename.

A file is written as ``<partition>/.part-<crawl_id>-<n>.parquet.tmp`` and renamed to
``<partition>/part-<crawl_id>-<n>.parquet`` once its footer is written and fsynced.
pyarrow, pandas, Spark and DuckDB's ``**/*.parquet`` glob all skip the temp name, so a
reader only ever sees complete files, and a killed crawl leaves only hidden temp files.

While a temp file is being written its writer holds an exclusive ``flock`` on it; the
stale-file cleaner only deletes temp files it can lock, so an overlapping cron run never
deletes the file of a crawl that is still running.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from crawler.dataset.schema import STATISTICS_COLUMNS

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pyarrow as pa

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no locking, the age check alone decides
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, order=True)
class DatasetFile:
    """A published dataset file, as it was when its keys were read."""

    path: str
    """Relative to the dataset root, with ``/`` separators: ``year=2026/month=3/part-...``."""
    size: int
    mtime_ns: int


def _hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def _listing_error(exc: OSError) -> None:
    if not isinstance(exc, FileNotFoundError):
        raise exc


def published_files(root: Path) -> set[DatasetFile]:
    """Every published (final) Parquet file under ``root``; none when it does not exist.

    Readers (pyarrow, DuckDB) skip names starting with ``.`` or ``_``, and so does this: a
    file being written, or left by a killed run, is never one of them.

    OSError when a directory of the dataset cannot be listed (permissions, I/O): a listing
    that silently missed a directory would let dedup store its articles again and the state
    forget them. A directory removed while it is listed is no error."""
    found: set[DatasetFile] = set()
    for dirpath, dirnames, filenames in os.walk(root, onerror=_listing_error):
        dirnames[:] = [d for d in dirnames if not _hidden(d)]
        for name in filenames:
            if _hidden(name) or not name.endswith(".parquet"):
                continue
            path = Path(dirpath, name)
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # compacted away between the listing and the stat
            relative = path.relative_to(root).as_posix()
            found.add(DatasetFile(relative, stat.st_size, stat.st_mtime_ns))
    return found


TMP_RE = re.compile(r"^\.part-.*\.parquet\.tmp$")


def final_name(crawl_id: str, counter: int) -> str:
    return f"part-{crawl_id}-{counter:05d}.parquet"


def tmp_name(crawl_id: str, counter: int) -> str:
    return f".{final_name(crawl_id, counter)}.tmp"


def partition_of(row: Mapping[str, Any]) -> str:
    """``year=2026/month=1`` of published_date, else of the fetch date, else of today (UTC).

    The month is not zero-padded: DuckDB reads ``month=01`` as the string ``'01'`` while
    pyarrow reads it as the integer 1; unpadded, every reader gets an integer.
    """
    day = row.get("published_date")
    if not isinstance(day, dt.date):
        fetched = row.get("fetched_at")
        now = fetched if isinstance(fetched, dt.datetime) else dt.datetime.now(dt.UTC)
        day = now.astimezone(dt.UTC).date() if now.tzinfo else now.date()
    return f"year={day.year}/month={day.month}"


def try_lock(fd: int) -> bool:
    """An exclusive ``flock`` on ``fd`` if nobody holds one (released when it is closed)."""
    return _try_lock(fd)


def _try_lock(fd: int) -> bool:
    if fcntl is None:  # pragma: no cover
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable."""
    _fsync_dir(path)


def _fsync_dir(path: Path) -> None:
    """Make a rename durable: the directory entry lives in the directory's own blocks."""
    if not hasattr(os, "O_DIRECTORY"):  # pragma: no cover - Windows
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class PartFile:
    """One dataset file being written: a ParquetWriter on a locked hidden temp file."""

    def __init__(
        self, directory: Path, crawl_id: str, counter: int, schema: pa.Schema, compression: str
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.tmp_path = directory / tmp_name(crawl_id, counter)
        self.final_path = directory / final_name(crawl_id, counter)
        # O_EXCL: never take over a file another writer has.
        self._fd = os.open(self.tmp_path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        _try_lock(self._fd)
        try:
            self._writer = pq.ParquetWriter(
                self.tmp_path,
                schema,
                compression=compression,
                write_statistics=list(STATISTICS_COLUMNS),
                # a CRC per page: `scrapy verify` (crawler.dataset.quarantine) finds any
                # damaged byte of a page; readers that do not check them ignore them
                write_page_checksum=True,
            )
        except Exception:
            self._release(unlink=True)
            raise
        self.rows = 0
        self.row_groups = 0
        self._sealed = False

    def write(self, table: pa.Table) -> None:
        """Append ``table`` as exactly one row group."""
        self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
        self.rows += table.num_rows
        self.row_groups += 1

    def seal(self) -> None:
        """Write the footer and fsync: the file is complete, still under its hidden name
        (a publisher does this before it takes the publish lock, which it holds only for
        the rename)."""
        if not self._sealed:
            self._writer.close()
            os.fsync(self._fd)
            self._sealed = True

    def finish(self, directory: Path | None = None) -> Path:
        """Seal, and rename to the final name (in ``directory``, the same partition of
        another generation, when given); return the final path.

        On failure the temp file stays (hidden, and removed by a later run's cleaner).
        """
        try:
            self.seal()
            if directory is not None:
                directory.mkdir(parents=True, exist_ok=True)
                self.final_path = directory / self.final_path.name
            if self.final_path.exists():
                raise FileExistsError(f"refusing to overwrite {self.final_path}")
            os.replace(self.tmp_path, self.final_path)
            _fsync_dir(self.final_path.parent)
        finally:
            self._release(unlink=False)
        return self.final_path

    def abort(self) -> None:
        """Give up the file: readers never saw it, so removing it loses only its rows."""
        try:
            self._writer.close()
        except Exception:
            logger.debug("Closing aborted %s failed", self.tmp_path, exc_info=True)
        self._release(unlink=True)

    def _release(self, unlink: bool) -> None:
        if unlink:
            self.tmp_path.unlink(missing_ok=True)
        if self._fd >= 0:
            # closing releases the lock; -1 so a second release cannot close a reused fd
            fd, self._fd = self._fd, -1
            os.close(fd)


def remove_stale_tmp(
    root: Path, older_than: float, pattern: re.Pattern[str] = TMP_RE
) -> list[Path]:
    """Delete temp files (names matching ``pattern``) under ``root`` last modified before
    ``older_than`` (epoch seconds) that no live writer holds. Finished files are never
    touched. The WARC archive cleans its own hidden files with this too."""
    removed: list[Path] = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if not pattern.match(name):
                continue
            path = Path(dirpath, name)
            try:
                if path.stat().st_mtime >= older_than:
                    continue
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                if _try_lock(fd):
                    path.unlink(missing_ok=True)
                    removed.append(path)
            finally:
                os.close(fd)
    return removed
