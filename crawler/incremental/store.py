"""What incremental runs remember between crawls: the ``SeenStore`` interface and its SQLite
implementation.

Three kinds of knowledge, with different levels of trust:

* **Articles** come only from *published* dataset files (see
  :mod:`crawler.incremental.sync`): each file is ingested once, its keys stored with it,
  so a state can never claim an article whose file was not published, and a file that
  disappears from the dataset takes its keys with it. The dataset is the truth; the state
  is an index of it.
* **Pages** are observations of the sites: a page that is neither an article nor a listing
  (``other``: about and privacy pages, error pages) or a dead link (``dead``: 404/410). An
  observation is trusted for ``recheck_days`` after it was made, then the page is fetched
  again.
* **Aliases** say that one URL leads to another: a redirect, or a page whose canonical URL
  is another. An alias knows nothing by itself; a key is known through it only while its
  target is, so it never outlives what it points to.
* **Pending links** are the frontier: links a run yielded that the state did not know,
  kept (with their URL) until a run has judged their page, so that a link seen only on a
  page that is never fetched again (a stored article) outlives a killed run or a failed
  download. Each carries when it was first added and how many runs ended without
  judging it; what to do with them is :mod:`crawler.incremental.run`'s business.

Keys are :func:`crawler.network.urls.url_key` values; the store never canonicalises.

A store is used from one thread (the reactor's); several processes may share one (cron runs
that overlap), so each write is its own short transaction.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from crawler.dataset.files import DatasetFile
from crawler.util.batches import chunks

logger = logging.getLogger(__name__)

ARTICLE = "article"
"""The kind :meth:`SeenStore.lookup` reports for a key of a stored article."""

DAY = 86_400.0


@dataclass(frozen=True, slots=True, order=True)
class PendingLink:
    """A link of the frontier: found by a run, its page not judged by any run yet."""

    key: str
    url: str
    added_at: float
    """Epoch seconds when a run first found it."""
    attempts: int
    """Runs that ended (not killed) with it still pending."""


class SeenStore(Protocol):
    """What earlier runs stored and saw. Implementations: :class:`SqliteSeenStore`; a shared
    one (Redis) for distributed crawls must keep the same guarantees: article keys only
    through :meth:`add_articles` with the file they came from, and :meth:`forget_files`
    removing exactly the keys of those files (a key stored by two files stays known)."""

    created: bool
    """The store was new (missing, or rebuilt): the whole dataset is ingested into it."""

    def lookup(self, keys: Collection[str], now: float) -> dict[str, str]:
        """The known keys among ``keys``, each with its kind: ``"article"`` for a stored
        article, else the kind of a page observed within the re-check interval before
        ``now`` (epoch seconds). A key known through an alias gets its target's kind.
        Unknown keys are absent."""
        ...

    def add_pages(self, keys: Iterable[str], kind: str, when: float) -> None:
        """Remember that these pages were found to be ``kind`` at ``when`` (epoch seconds)."""
        ...

    def add_aliases(self, aliases: Mapping[str, str]) -> None:
        """Remember that each source key leads to its target key."""
        ...

    def ingested_files(self) -> set[DatasetFile]:
        """The dataset files whose keys the store holds."""
        ...

    def add_articles(self, keys: Iterable[str], source: DatasetFile) -> None:
        """Store the article keys read from ``source`` and mark it ingested, atomically:
        after a crash either both are stored or neither."""
        ...

    def forget_files(self, paths: Iterable[str]) -> None:
        """Drop the dataset files at these relative paths and the keys only they held."""
        ...

    def prune(self, now: float) -> int:
        """Drop what no longer counts at ``now`` (expired pages, aliases to nothing known);
        the number of pages dropped. A store with native expiry may do nothing."""
        ...

    def add_pending(self, links: Mapping[str, str], when: float) -> int:
        """Remember links (key -> URL) whose pages are yet to be judged, at ``when``; a key
        already pending keeps its URL, age and attempts. The number of keys new to it."""
        ...

    def pending(self) -> list[PendingLink]:
        """Every pending link."""
        ...

    def count_attempts(self, keys: Iterable[str]) -> None:
        """One more run ended with these keys still pending (keys not pending are ignored)."""
        ...

    def remove_pending(self, keys: Iterable[str]) -> None:
        """These links' pages were judged, or they are given up: no longer pending."""
        ...

    def close(self) -> None: ...


# Still 1 with the pending table: CREATE TABLE IF NOT EXISTS adds it to an older state,
# and an older crawler ignores it (a version bump would make it move the state aside).
_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ingested_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS articles (
    key TEXT NOT NULL,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    PRIMARY KEY (key, file_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS articles_file ON articles(file_id);
CREATE TABLE IF NOT EXISTS pages (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    checked_at REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS aliases (
    source TEXT PRIMARY KEY,
    target TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending (
    key TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    added_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
"""


def _marks(n: int) -> str:
    return ",".join("?" * n)


class StateError(Exception):
    """The state file cannot be opened or created (not: it was corrupt; that is rebuilt)."""


class SqliteSeenStore:
    """A :class:`SeenStore` in one SQLite file (WAL journal, so an overlapping run's reads
    and writes do not block each other for long).

    A missing file is created empty (the caller then ingests the whole dataset); a file that
    is not a readable state is moved aside to ``<name>.corrupt-<epoch>`` and replaced.
    """

    def __init__(self, path: Path, *, recheck_days: float) -> None:
        self.path = path
        self.recheck = recheck_days * DAY
        self.created = not path.exists()
        self.replaced_corrupt: Path | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._db = self._open()
            except sqlite3.OperationalError:
                raise  # cannot open (permissions, locked): not the file's fault
            except sqlite3.DatabaseError as exc:
                if self.created:
                    raise
                self.replaced_corrupt = self._move_aside(exc)
                self.created = True
                self._db = self._open()
        except (OSError, sqlite3.DatabaseError) as exc:
            raise StateError(f"cannot open the state {path}: {exc}") from exc

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE), so a write takes
        # the lock up front instead of failing half-way when another run holds it.
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL loses at most the last transactions on power loss and never
            # corrupts; losing an observation only costs a fetch.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, _SCHEMA_VERSION):
                raise sqlite3.DatabaseError(f"unknown state schema version {version}")
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
        except BaseException:
            db.close()
            raise
        return db

    def _move_aside(self, exc: Exception) -> Path:
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
        logger.warning(
            "State %s is unreadable (%s): moved to %s, rebuilding", self.path, exc, aside
        )
        self.path.replace(aside)
        for suffix in ("-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        return aside

    # -- reads ---------------------------------------------------------------------------

    def lookup(self, keys: Collection[str], now: float) -> dict[str, str]:
        found = self._direct(keys, now)
        rest = [k for k in keys if k not in found]
        aliases: dict[str, str] = {}
        for chunk in chunks(rest):
            rows = self._db.execute(
                f"SELECT source, target FROM aliases WHERE source IN ({_marks(len(chunk))})",
                chunk,
            )
            aliases.update(rows.fetchall())
        if aliases:
            # One level: a redirect chain is recorded whole where it ends (every hop to the
            # last page), so a lookup never needs to follow alias after alias.
            targets = self._direct(set(aliases.values()), now)
            found.update({s: targets[t] for s, t in aliases.items() if t in targets})
        return found

    def _direct(self, keys: Collection[str], now: float) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in chunks(keys):
            marks = _marks(len(chunk))
            rows = self._db.execute(
                f"SELECT key, kind FROM pages WHERE key IN ({marks}) AND checked_at >= ?",
                [*chunk, now - self.recheck],
            )
            found.update(rows.fetchall())
            rows = self._db.execute(
                f"SELECT DISTINCT key FROM articles WHERE key IN ({marks})", chunk
            )
            # An article outranks a page observation of the same key.
            found.update((key, ARTICLE) for (key,) in rows)
        return found

    def ingested_files(self) -> set[DatasetFile]:
        rows = self._db.execute("SELECT path, size, mtime_ns FROM files")
        return {DatasetFile(path, size, mtime) for path, size, mtime in rows}

    # -- writes --------------------------------------------------------------------------

    def add_pages(self, keys: Iterable[str], kind: str, when: float) -> None:
        rows = [(key, kind, when) for key in set(keys)]
        if not rows:
            return
        with self._write() as db:
            db.executemany(
                "INSERT INTO pages (key, kind, checked_at) VALUES (?, ?, ?) ON CONFLICT(key)"
                " DO UPDATE SET kind = excluded.kind, checked_at = excluded.checked_at",
                rows,
            )

    def add_aliases(self, aliases: Mapping[str, str]) -> None:
        rows = [(s, t) for s, t in aliases.items() if s != t]
        if not rows:
            return
        with self._write() as db:
            db.executemany("INSERT OR REPLACE INTO aliases (source, target) VALUES (?, ?)", rows)

    def add_articles(self, keys: Iterable[str], source: DatasetFile) -> None:
        with self._write() as db:
            # A file rewritten in place (same path, new size or mtime) replaces its keys.
            db.execute("DELETE FROM files WHERE path = ?", (source.path,))
            cursor = db.execute(
                "INSERT INTO files (path, size, mtime_ns, ingested_at) VALUES (?, ?, ?, ?)",
                (source.path, source.size, source.mtime_ns, time.time()),
            )
            file_id = cursor.lastrowid
            db.executemany(
                "INSERT OR IGNORE INTO articles (key, file_id) VALUES (?, ?)",
                ((key, file_id) for key in set(keys)),
            )

    def forget_files(self, paths: Iterable[str]) -> None:
        # ON DELETE CASCADE removes the file's keys; other files' copies stay.
        self._write_where_in("DELETE FROM files WHERE path IN ({})", paths)

    def prune(self, now: float) -> int:
        """Delete page observations older than the re-check interval (they no longer count)
        and aliases whose target is neither a stored article nor a remembered page."""
        with self._write() as db:
            pages = db.execute("DELETE FROM pages WHERE checked_at < ?", (now - self.recheck,))
            # NOT EXISTS probes the primary keys per alias; NOT IN would index whole tables.
            db.execute(
                "DELETE FROM aliases"
                " WHERE NOT EXISTS (SELECT 1 FROM pages WHERE key = aliases.target)"
                " AND NOT EXISTS (SELECT 1 FROM articles WHERE key = aliases.target)"
            )
            return pages.rowcount

    def add_pending(self, links: Mapping[str, str], when: float) -> int:
        rows = [(key, url, when) for key, url in links.items()]
        if not rows:
            return 0
        with self._write() as db:
            cursor = db.executemany(
                "INSERT OR IGNORE INTO pending (key, url, added_at) VALUES (?, ?, ?)", rows
            )
            return max(cursor.rowcount, 0)

    def pending(self) -> list[PendingLink]:
        rows = self._db.execute("SELECT key, url, added_at, attempts FROM pending")
        return [PendingLink(*row) for row in rows]

    def count_attempts(self, keys: Iterable[str]) -> None:
        self._write_where_in("UPDATE pending SET attempts = attempts + 1 WHERE key IN ({})", keys)

    def remove_pending(self, keys: Iterable[str]) -> None:
        self._write_where_in("DELETE FROM pending WHERE key IN ({})", keys)

    def _write_where_in(self, statement: str, values: Iterable[str]) -> None:
        """Run ``statement`` (its ``{}`` the list of an ``IN``) over ``values``, chunked, in
        one transaction."""
        listed = set(values)
        if not listed:
            return
        with self._write() as db:
            for chunk in chunks(listed):
                db.execute(statement.format(_marks(len(chunk))), chunk)

    def close(self) -> None:
        self._db.close()

    def _write(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> sqlite3.Connection:
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
