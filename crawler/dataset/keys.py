"""The one reader of the dataset's key columns: what dedup seeds itself with and what the
incremental state ingests, read the same way.

Column projection: of a published file only the short key columns are decoded, never the
text. A file's key columns are read whole before any of it is handed out (one file's keys
as Arrow strings, not Python ones), so a file that fails half way gives nothing: its keys
are all known or none are.

A file that is not a readable dataset file (:func:`crawler.dataset.quarantine.check_file`'s
checks, then its key columns decoded) is quarantined by :class:`KeyReader`: moved out of the
dataset (:mod:`crawler.dataset.quarantine`), logged at ERROR, and the reader goes on with
the rest. Whichever of the dedup seed and the state sync meets it first moves it; to the
other it is a file gone since the listing, which both already skip.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.dataset.quarantine import (
    DamagedFile,
    Quarantined,
    damaged_data,
    is_io_error,
    open_parquet,
    quarantine,
    quarantine_dir,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from crawler.dataset.files import DatasetFile

logger = logging.getLogger(__name__)

KEY_COLUMNS: tuple[str, ...] = ("url", "canonical_url", "content_hash", "duplicate_of")
"""Every key column: a page's identity (``url``, ``canonical_url``) and its story's
(``content_hash``, ``duplicate_of``)."""
URL_COLUMNS: tuple[str, ...] = ("url", "canonical_url")


@dataclass(frozen=True, slots=True)
class FileKeys:
    """The key columns of one file, read whole."""

    table: pa.Table
    columns: tuple[str, ...]
    """The columns asked for; one the file lacks reads as None."""

    @property
    def rows(self) -> int:
        return int(self.table.num_rows)

    def batches(self, batch_size: int = 8192) -> Iterator[tuple[dict[str, list[Any]], int]]:
        """``(columns -> values, row count)`` batch by batch. Small batches: their Python
        strings are all alive at once."""
        for batch in self.table.to_batches(max_chunksize=batch_size):
            data = batch.to_pydict()
            n = batch.num_rows
            yield {c: data.get(c) or [None] * n for c in self.columns}, n


def read_keys(path: Path, columns: Sequence[str] = KEY_COLUMNS) -> FileKeys:
    """The key columns of one file. DamagedFile when it is not a readable dataset file;
    OSError when it cannot be opened or read (FileNotFoundError: gone)."""
    with open_parquet(path) as parquet:
        present = [c for c in columns if c in parquet.schema_arrow.names]
        try:
            table = parquet.read(columns=present)
        except Exception as exc:
            if is_io_error(exc):
                raise
            raise DamagedFile(damaged_data(exc)) from exc
        rows = parquet.metadata.num_rows
        if table.num_rows != rows:
            raise DamagedFile(f"damaged data: {table.num_rows} rows read, the footer says {rows}")
    return FileKeys(table, tuple(columns))


def key_batches(
    path: Path, columns: Sequence[str] = KEY_COLUMNS, batch_size: int = 8192
) -> Iterator[tuple[dict[str, list[Any]], int]]:
    """``(columns -> values, row count)`` batch by batch of one published file; a column the
    file lacks is a list of None. Raises (DamagedFile, OSError) before the first batch."""
    yield from read_keys(path, columns).batches(batch_size)


class KeyReader:
    """Reads the key columns of a dataset's published files; quarantines the damaged ones.

    :meth:`read` gives a file's keys, or None when the file is gone or was just
    quarantined (:attr:`quarantined` lists those). It raises OSError when a file cannot be
    opened or read at all (permissions, I/O errors: nothing is wrong with the file that
    moving it would mend) or cannot be moved to the quarantine.
    """

    def __init__(self, root: Path, columns: Sequence[str] = KEY_COLUMNS) -> None:
        self.root = root
        self.columns = tuple(columns)
        self.quarantined: list[Quarantined] = []

    def read(self, file: DatasetFile) -> FileKeys | None:
        try:
            return read_keys(self.root / file.path, self.columns)
        except FileNotFoundError:
            return None  # moved or deleted since the listing: nothing to know
        except DamagedFile as exc:
            reason = exc.reason
        try:
            moved_to = quarantine(self.root, file.path, reason)
        except FileNotFoundError:
            return None  # another reader moved it first
        except OSError as exc:
            raise OSError(
                f"damaged dataset file {file.path} ({reason}) cannot be moved to "
                f"{quarantine_dir(self.root)}: {exc}"
            ) from exc
        logger.error(
            "Dataset file %s quarantined (%s): moved to %s; the run goes on without it (its "
            "articles are fetched again when the sites still link them)",
            file.path,
            reason,
            moved_to,
        )
        entry = Quarantined(file.path, reason, moved_to)
        self.quarantined.append(entry)
        return None
