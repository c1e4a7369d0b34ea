"""Bring a :class:`~crawler.incremental.store.SeenStore` in line with the published dataset.

Only final ``*.parquet`` files count: the dataset writer publishes a file by renaming it from
a hidden temp name once it is complete, and readers (pyarrow, DuckDB) skip names starting
with ``.`` or ``_``, so a killed run's rows never reach the state. Of each new file only the
``url`` and ``canonical_url`` columns are read (column projection: no text is decoded).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from crawler.incremental.store import DatasetFile, SeenStore
from crawler.network.urls import url_key

logger = logging.getLogger(__name__)

KEY_COLUMNS = ("url", "canonical_url")


@dataclass(frozen=True, slots=True)
class SyncReport:
    ingested: int
    """Files read into the store."""
    rows: int
    """Rows of those files."""
    forgotten: int
    """Files the store knew that are gone from the dataset (or changed)."""
    unreadable: int
    """Files that could not be read; their articles stay unknown (fetched again)."""


def _hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def published_files(root: Path) -> set[DatasetFile]:
    """Every final Parquet file under ``root`` (none when it does not exist)."""
    found: set[DatasetFile] = set()
    for dirpath, dirnames, filenames in os.walk(root):
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


def article_keys(path: Path) -> tuple[set[str], int]:
    """The url_key of every url and canonical_url in one Parquet file, and its row count."""
    keys: set[str] = set()
    rows = 0
    with pq.ParquetFile(path) as parquet:
        columns = [c for c in KEY_COLUMNS if c in parquet.schema_arrow.names]
        if not columns:
            return keys, parquet.metadata.num_rows
        for batch in parquet.iter_batches(columns=columns, batch_size=65_536):
            rows += batch.num_rows
            for column in batch.columns:
                for url in column.to_pylist():
                    if url:
                        keys.add(_key(url))
    keys.discard("")
    return keys, rows


def _key(url: str) -> str:
    try:
        return url_key(url)
    except ValueError:
        return ""  # a malformed URL (bad IPv6 host) names no page a link could reach


def sync(store: SeenStore, root: Path) -> SyncReport:
    """Ingest the published files the store does not hold yet; forget the ones that are gone.

    A file that changed (size or mtime) counts as gone and new: its keys are read again.
    """
    current = published_files(root) if root.is_dir() else set()
    known = store.ingested_files()
    gone = {f.path for f in known - current}
    store.forget_files(gone)
    ingested = rows = unreadable = 0
    for file in sorted(current - known):
        try:
            keys, count = article_keys(root / file.path)
        except FileNotFoundError:
            continue  # removed since the listing: nothing to know
        except Exception as exc:
            # Not ingested: its articles are fetched again and dedup decides, the safe side.
            logger.warning("Cannot read dataset file %s for the state: %s", file.path, exc)
            unreadable += 1
            continue
        store.add_articles(keys, file)
        ingested += 1
        rows += count
    return SyncReport(ingested, rows, len(gone), unreadable)
