"""Rows waiting for a row group, spilled to a private temporary SQLite file.

A backfill of the archive spreads its articles over hundreds of months. Holding every
month's rows in memory until it has a full row group would take the whole crawl's rows;
writing a month's few rows as a row group whenever memory runs short makes tiny row
groups, whose footer entries (about 20 KB each) the Parquet writer keeps in memory until
the file is closed, and whose statistics and headers bloat the files. The dataset writer
spills instead: the rows of the partition with the most wait here, pickled, until their
partition has a full row group (or the crawl closes), and are written then.

The file is SQLite's private temporary database (``sqlite3.connect("")``, in ``TMPDIR``,
deleted when the connection closes or the process dies): nothing else can read or write it,
and a killed crawl leaves nothing behind. Spilled rows, like buffered ones, are not in
the dataset until their file is published; a killed run's next run fetches them again.
"""

from __future__ import annotations

import pickle
import sqlite3
from collections.abc import Iterable
from typing import Any

from crawler.util.scratch import ScratchSpaceError, connect, executemany

Row = dict[str, Any]


class RowSpill:
    """Rows per partition key, in arrival order."""

    def __init__(self, cache_kib: int = 1024) -> None:
        self._db = connect(cache_kib)
        self._db.execute(
            "CREATE TABLE rows (part TEXT NOT NULL, seq INTEGER NOT NULL, row BLOB NOT NULL, "
            "PRIMARY KEY (part, seq)) WITHOUT ROWID"
        )
        self._seq = 0
        self.rows = 0
        """Rows spilled and not yet taken, in all partitions."""

    def add(self, part: str, rows: Iterable[Row]) -> int:
        """Spill ``rows`` of partition ``part``; how many. ScratchSpaceError when the
        scratch space fails."""
        records = []
        for row in rows:
            records.append((part, self._seq, pickle.dumps(row, pickle.HIGHEST_PROTOCOL)))
            self._seq += 1
        try:
            executemany(self._db, "INSERT INTO rows (part, seq, row) VALUES (?, ?, ?)", records)
        except sqlite3.Error as exc:
            raise ScratchSpaceError(exc) from exc
        self.rows += len(records)
        return len(records)

    def take(self, part: str) -> list[Row]:
        """Remove and return the spilled rows of ``part``, oldest first."""
        try:
            blobs = self._db.execute(
                "SELECT row FROM rows WHERE part = ? ORDER BY seq", (part,)
            ).fetchall()
        except sqlite3.Error as exc:
            raise ScratchSpaceError(exc) from exc
        self.discard(part)
        return [pickle.loads(blob) for (blob,) in blobs]

    def discard(self, part: str) -> int:
        """Forget the spilled rows of ``part`` (written, or lost); how many."""
        removed = self._db.execute("DELETE FROM rows WHERE part = ?", (part,)).rowcount
        self.rows -= removed
        return int(removed)

    def close(self) -> None:
        self._db.close()
