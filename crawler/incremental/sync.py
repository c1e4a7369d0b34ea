"""Bring a :class:`~crawler.incremental.store.SeenStore` in line with the published dataset.

Only published files count (:func:`crawler.dataset.files.published_files`), so a killed run's
rows never reach the state. Of each new file only the key columns are read
(:mod:`crawler.dataset.keys`): ``url`` and ``canonical_url`` give its article keys,
``content_hash`` and ``duplicate_of`` its story copies (what the dedup pipeline asks).

A file the store lists as changed (another size or mtime, or ingested by an older crawler
that kept no story copies: :data:`~crawler.incremental.store.STALE_MTIME`) is read again and
its keys replaced in one step; they are forgotten first only when it cannot be read.

A damaged file is quarantined by the reader (moved out of the dataset, logged at ERROR) and
not ingested: the sync report lists it (``quarantined``) and counts it as unreadable. One
the dedup seed quarantined first is simply gone: forgotten, its articles fetched again. A
dataset whose listing fails raises OSError and changes nothing: a partial listing would
forget every file it missed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from crawler.dataset.files import published_files
from crawler.dataset.keys import KEY_COLUMNS, URL_COLUMNS, FileKeys, KeyReader, read_keys
from crawler.dataset.quarantine import Quarantined
from crawler.incremental.store import SeenStore
from crawler.network.urls import url_key

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SyncReport:
    ingested: int
    """Files read into the store (changed ones included)."""
    rows: int
    """Rows of those files."""
    forgotten: int
    """Files the store knew that are gone from the dataset (or changed and now unreadable)."""
    unreadable: int
    """Files that could not be read, quarantined ones included; their articles stay unknown
    (fetched again)."""
    quarantined: tuple[Quarantined, ...] = ()
    """Files this sync found damaged and moved out of the dataset."""


def article_keys(path: Path) -> tuple[set[str], int]:
    """The url_key of every url and canonical_url in one Parquet file, and its row count."""
    return _url_keys(read_keys(path, URL_COLUMNS))


def _url_keys(file_keys: FileKeys) -> tuple[set[str], int]:
    keys: set[str] = set()
    rows = 0
    for batch, n in file_keys.batches(batch_size=65_536):
        rows += n
        for column in batch.values():
            for url in column:
                if url:
                    keys.add(_key(url))
    keys.discard("")
    return keys, rows


def _file_knowledge(file_keys: FileKeys) -> tuple[set[str], dict[str, str], int]:
    """The article keys of one file, its story copies (``content_hash`` -> the first copy's
    URL, as the file's first row of the story names it) and its row count."""
    keys: set[str] = set()
    copies: dict[str, str] = {}
    rows = 0
    for batch, n in file_keys.batches(batch_size=65_536):
        rows += n
        columns = (batch[c] for c in KEY_COLUMNS)
        for url, canonical, digest, duplicate_of in zip(*columns, strict=True):
            if url:
                keys.add(_key(url))
            if canonical:
                keys.add(_key(canonical))
            # A stored copy names its original; the original names itself.
            first = duplicate_of or canonical or url
            if digest and first and digest not in copies:
                copies[digest] = first
    keys.discard("")
    return keys, copies, rows


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
    listed = {f.path for f in current}
    outdated = {f.path for f in known - current}
    # A changed file keeps its old keys until its new ones replace them (add_articles).
    changed = outdated & listed
    gone = outdated - changed
    store.forget_files(gone)
    ingested = rows = unreadable = forgotten = 0
    reader = KeyReader(root, KEY_COLUMNS)
    for file in sorted(current - known):
        try:
            # None: removed since the listing (nothing to know), or quarantined just now
            file_keys = reader.read(file)
            if file_keys is not None:
                keys, copies, count = _file_knowledge(file_keys)
        except Exception as exc:
            # Not ingested: its articles are fetched again and dedup decides, the safe side.
            logger.warning("Cannot read dataset file %s for the state: %s", file.path, exc)
            unreadable += 1
            file_keys = None
        if file_keys is None:
            if file.path in changed:
                store.forget_files([file.path])
                forgotten += 1
            continue
        store.add_articles(keys, file, copies)
        ingested += 1
        rows += count
    quarantined = tuple(reader.quarantined)
    return SyncReport(
        ingested, rows, len(gone) + forgotten, unreadable + len(quarantined), quarantined
    )
