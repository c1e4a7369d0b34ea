"""Bring a :class:`~crawler.incremental.store.SeenStore` in line with the published dataset.

Only published files count (:func:`crawler.dataset.files.published_files`), so a killed run's
rows never reach the state. Of each new file only the ``url`` and ``canonical_url`` columns
are read (:mod:`crawler.dataset.keys`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from crawler.dataset.files import published_files
from crawler.dataset.keys import URL_COLUMNS, key_batches
from crawler.incremental.store import SeenStore
from crawler.network.urls import url_key

logger = logging.getLogger(__name__)


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


def article_keys(path: Path) -> tuple[set[str], int]:
    """The url_key of every url and canonical_url in one Parquet file, and its row count."""
    keys: set[str] = set()
    rows = 0
    for batch, n in key_batches(path, URL_COLUMNS, batch_size=65_536):
        rows += n
        for column in batch.values():
            for url in column:
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
