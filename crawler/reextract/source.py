"""The current dataset, as re-extraction needs it: one entry per page key.

Read once, file by file (sorted, as dedup seeds itself: the first row of a key wins), into a
private scratch SQLite file (:mod:`crawler.util.scratch`), so memory does not grow with the
dataset. Per page key (:func:`crawler.network.urls.url_key` of the canonical URL, else the
URL, dedup's key): a digest of the whole row but ``crawl_id`` (to tell a changed row from
an unchanged one), its ``extractor_version`` (``--stale``), its month (``--months``), and the
fields a re-extraction keeps when the text did not change (``duplicate_of`` and the story
fields, which depend on the order copies came in).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.dataset.files import DatasetFile, partition_of, published_files
from crawler.dataset.rows import read_rows
from crawler.dataset.schema import article_schema
from crawler.network.urls import url_key
from crawler.util.scratch import connect, executemany

logger = logging.getLogger(__name__)

BOOKKEEPING = frozenset({"crawl_id"})
"""Columns a re-extracted row may change without counting as changed."""
KEPT_WHEN_UNCHANGED = ("duplicate_of", "story_id", "near_duplicate_of", "near_duplicate_score")
"""Fields of the current row a re-extracted row with the same text keeps: they depend on
which copy of a story came first, and a re-extraction reads pages in another order."""


def row_key(row: Mapping[str, Any]) -> str:
    """The page key of a row (dedup's: one row per canonical URL)."""
    url = row.get("canonical_url") or row.get("url") or ""
    try:
        return url_key(url)
    except ValueError:
        return url


def month_of(row: Mapping[str, Any]) -> str:
    """``2025-05``: the month of the row's partition (``year=2025/month=5``)."""
    year, month = (part.split("=", 1)[1] for part in partition_of(row).split("/"))
    return f"{int(year):04d}-{int(month):02d}"


def row_digest(row: Mapping[str, Any], names: Iterable[str]) -> bytes:
    """A digest of the row's values (as pyarrow gives them back), bookkeeping aside."""
    text = repr([(name, row.get(name)) for name in names if name not in BOOKKEEPING])
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


@dataclass(frozen=True, slots=True)
class CurrentRow:
    """What re-extraction knows of a page's row in the current dataset."""

    digest: bytes
    extractor_version: str
    month: str
    content_hash: str
    kept: tuple[Any, ...]
    """The :data:`KEPT_WHEN_UNCHANGED` values, in that order."""

    @property
    def is_copy(self) -> bool:
        """The row names an earlier copy of its story (``duplicate_of`` or
        ``near_duplicate_of``): it is not its story's first copy."""
        kept = dict(zip(KEPT_WHEN_UNCHANGED, self.kept, strict=True))
        return bool(kept["duplicate_of"] or kept["near_duplicate_of"])


class SourceRows:
    """The current dataset's rows by page key (see the module docstring)."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self.files: list[DatasetFile] = []
        """The files read, for the manifest (a later switch catches up the others)."""
        self.rows = 0
        self._last: tuple[str, CurrentRow | None] | None = None
        """The latest lookup: the stories pipeline and the re-extraction's both ask for
        each record's row, one after the other."""
        self._db = connect()
        self._db.execute(
            "CREATE TABLE rows (k TEXT PRIMARY KEY, digest BLOB, version TEXT, month TEXT,"
            " hash TEXT, dup TEXT, story TEXT, near TEXT, score REAL) WITHOUT ROWID"
        )

    def load(self) -> None:
        """Read the dataset (nothing when it does not exist)."""
        self._last = None
        if self.root is None or not self.root.is_dir():
            return
        names = article_schema().names
        self.files = sorted(published_files(self.root), key=lambda f: f.path)
        for file in self.files:
            for rows in read_rows(self.root / file.path):
                self.rows += len(rows)
                executemany(
                    self._db,
                    "INSERT OR IGNORE INTO rows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        (
                            row_key(row),
                            row_digest(row, names),
                            row.get("extractor_version") or "",
                            month_of(row),
                            row.get("content_hash") or "",
                            *(row.get(name) for name in KEPT_WHEN_UNCHANGED),
                        )
                        for row in rows
                    ),
                )
        logger.info(
            "Current dataset %s: %d rows in %d files", self.root, self.rows, len(self.files)
        )

    def get(self, key: str) -> CurrentRow | None:
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        found = self._db.execute(
            "SELECT digest, version, month, hash, dup, story, near, score FROM rows WHERE k = ?",
            (key,),
        ).fetchone()
        row = None
        if found is not None:
            digest, version, month, content_hash, *kept = found
            row = CurrentRow(digest, version, month, content_hash, tuple(kept))
        self._last = (key, row)
        return row

    def __len__(self) -> int:
        ((count,),) = self._db.execute("SELECT count(*) FROM rows")
        return int(count)

    def close(self) -> None:
        self._db.close()
