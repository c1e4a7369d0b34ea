"""Sets and maps of a crawl's per-URL memory, kept in a private temporary SQLite file.

A crawl remembers something about every URL it meets: the duplicate filter's request
fingerprints, the links the incremental run tried, the pages it answered, dedup's stored URLs
and first copies. In Python sets those cost 100 to 300 bytes a URL, so the crawler's memory
grew with the crawl (about 1 KB a page in all). Here they live in one temporary SQLite
database per owner (``sqlite3.connect("")``: a file in ``TMPDIR`` that SQLite deletes when
the connection closes, or when the process dies), of which only ``cache_kib`` of pages stay
in memory: the crawler's memory no longer depends on how many pages it crawled.

A lookup or an insert costs 2 to 3 microseconds (a Python set: 0.1); the callers batch
where a page brings many keys (:meth:`KeySet.members`, :meth:`KeySet.update`).

Keys are ``str`` or ``bytes``; one set holds one kind (SQLite orders and compares them as
different types).
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

from crawler.util.batches import CHUNK, chunks

K = TypeVar("K", str, bytes)

DEFAULT_CACHE_KIB = 1024


def scratch_dir() -> str:
    """Where the scratch databases are: ``TMPDIR`` (or the system's temp directory)."""
    return tempfile.gettempdir()


class ScratchSpaceError(OSError):
    """A scratch database failed: its directory (``TMPDIR``) is full or broken. SQLite says
    "database or disk is full", or even "database disk image is malformed", of a temporary
    file the operator never sees: this names the directory."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(
            f"the scratch space {scratch_dir()} (TMPDIR) failed, full or unwritable? ({cause})"
        )


def connect(cache_kib: int = DEFAULT_CACHE_KIB) -> sqlite3.Connection:
    """A private temporary database, in autocommit mode, ``cache_kib`` of it in memory."""
    # check_same_thread off: Scrapy calls its components from the reactor thread, but
    # a close may come from another one; the owner never uses it concurrently.
    db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
    # Nothing to recover after a crash: the file dies with the process.
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
    return db


def executemany(db: sqlite3.Connection, sql: str, rows: Iterable[tuple[object, ...]]) -> None:
    """``executemany`` in one transaction (the connection is in autocommit mode)."""
    db.execute("BEGIN")
    try:
        db.executemany(sql, rows)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class ScratchDb:
    """One private temporary database; its tables are the sets and maps of one owner."""

    def __init__(self, cache_kib: int = DEFAULT_CACHE_KIB) -> None:
        self._db = connect(cache_kib)
        self._tables = 0

    def _table(self, columns: str) -> str:
        name = f"t{self._tables}"
        self._tables += 1
        self._db.execute(f"CREATE TABLE {name} ({columns}) WITHOUT ROWID")
        return name

    def key_set(self) -> KeySet[str]:
        return KeySet(self._db, self._table("k PRIMARY KEY"))

    def bytes_set(self) -> KeySet[bytes]:
        return KeySet(self._db, self._table("k PRIMARY KEY"))

    def key_map(self) -> KeyMap:
        return KeyMap(self._db, self._table("k PRIMARY KEY, v NOT NULL"))

    def close(self) -> None:
        self._db.close()


class KeySet(Generic[K]):
    """A set of keys in a :class:`ScratchDb` table."""

    def __init__(self, db: sqlite3.Connection, table: str) -> None:
        self._db = db
        self._table = table
        self._insert = f"INSERT OR IGNORE INTO {table} (k) VALUES (?)"
        self._select = f"SELECT 1 FROM {table} WHERE k = ?"

    def add(self, key: K) -> bool:
        """Add ``key``; True when it was not in the set."""
        return self._db.execute(self._insert, (key,)).rowcount == 1

    def update(self, keys: Iterable[K]) -> None:
        executemany(self._db, self._insert, ((k,) for k in keys))

    def update_from(self, other: KeySet[K]) -> None:
        """Add every key of ``other`` (a set of the same database)."""
        self._db.execute(f"INSERT OR IGNORE INTO {self._table} (k) SELECT k FROM {other._table}")

    def __contains__(self, key: object) -> bool:
        return self._db.execute(self._select, (key,)).fetchone() is not None

    def members(self, keys: Iterable[K]) -> set[K]:
        """The keys among ``keys`` that are in the set (one query a few hundred keys)."""
        found: set[K] = set()
        for chunk in chunks(keys):
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(f"SELECT k FROM {self._table} WHERE k IN ({marks})", chunk)
            found.update(k for (k,) in rows)
        return found

    def __len__(self) -> int:
        ((count,),) = self._db.execute(f"SELECT count(*) FROM {self._table}")
        return int(count)

    def __iter__(self) -> Iterator[K]:
        """Every key, in key order, fetched a chunk at a time."""
        return self._iterate("")

    def difference(self, other: KeySet[K]) -> Iterator[K]:
        """The keys not in ``other`` (a set of the same database), in key order."""
        return self._iterate(f"AND k NOT IN (SELECT k FROM {other._table})")

    def _iterate(self, condition: str) -> Iterator[K]:
        # Keyset pagination: no cursor stays open while the caller writes to the database.
        first = f"SELECT k FROM {self._table} WHERE 1 {condition} ORDER BY k LIMIT {CHUNK}"
        after = f"SELECT k FROM {self._table} WHERE k > ? {condition} ORDER BY k LIMIT {CHUNK}"
        rows = [k for (k,) in self._db.execute(first).fetchall()]
        while rows:
            yield from rows
            if len(rows) < CHUNK:
                return
            rows = [k for (k,) in self._db.execute(after, (rows[-1],)).fetchall()]


class KeyMap:
    """A map of keys (``bytes``) to strings in a :class:`ScratchDb` table."""

    def __init__(self, db: sqlite3.Connection, table: str) -> None:
        self._db = db
        self._table = table
        self._insert = f"INSERT OR IGNORE INTO {table} (k, v) VALUES (?, ?)"
        self._select = f"SELECT v FROM {table} WHERE k = ?"

    def setdefault(self, key: bytes, value: str) -> str:
        """The value of ``key``, set to ``value`` first when it has none (as dict's)."""
        if self._db.execute(self._insert, (key, value)).rowcount == 1:
            return value
        row = self._db.execute(self._select, (key,)).fetchone()
        return str(row[0])

    def get(self, key: bytes) -> str | None:
        row = self._db.execute(self._select, (key,)).fetchone()
        return None if row is None else str(row[0])

    def update_missing(self, items: Iterable[tuple[bytes, str]]) -> None:
        """``setdefault`` of many items, in one transaction."""
        executemany(self._db, self._insert, items)
