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
* **Story copies** come with the articles, from the same files: for each ``content_hash`` a
  file holds, the URL of the story's first copy as the file records it (a copy's
  ``duplicate_of``, else the row's own URL). The dedup pipeline asks the state
  (:meth:`SeenStore.stored`) instead of reading the whole dataset every run.
* **Aliases** say that one URL leads to another: a redirect, or a page whose canonical URL
  is another. An alias knows nothing by itself; a key is known through it only while its
  target is, so it never outlives what it points to.
* **Pending links** are the frontier: links a run yielded that the state did not know,
  kept (with their URL) until a run has judged their page, so that a link seen only on a
  page that is never fetched again (a stored article) outlives a killed run or a failed
  download. Each carries when it was first added and how many runs ended without
  judging it; what to do with them is :mod:`crawler.incremental.run`'s business.

Keys are :func:`crawler.network.urls.url_key` values; the store canonicalises only when the
rules that make them change (:data:`crawler.network.urls.KEY_RULES`, kept in the ``meta``
table): at the first open under new rules the article keys are dropped with their files (the
next sync reads the dataset's URLs again, under the new rules, as a new state would) and the
pending links are keyed again from their URLs. Page observations and aliases keep their keys:
one made by the old rules for a URL whose key changed no longer matches, which costs what an
expired observation costs (a fetch).

A store is used from one thread (the reactor's); several processes may share one (cron runs
that overlap), so each write is its own short transaction.

**A damaged state heals.** The state is an index of the dataset, so a state that cannot be
trusted is moved aside and rebuilt from the dataset rather than repaired: what is lost is the
page observations (fetched again), the aliases (found again) and the frontier. At open,
:class:`SqliteSeenStore` moves aside (``<name>.corrupt-<epoch>``, with its ``-wal`` and
``-shm`` files, never deleted) a file that is not an SQLite database, of an unknown schema
version, that fails ``PRAGMA quick_check`` (bounded in time: :data:`CHECK_SECONDS`), or that
an earlier run found damaged. A state written by a *newer* crawler is refused
(:class:`StateTooNew`) and left untouched: rebuilding it would lose what the newer crawler
stored. Damage that shows up later (a page damaged after the open, or beyond the checked
part) raises :class:`StateDamaged` from the call that met it and marks the file
(``<name>.damaged``: its device and inode, and the error), so that the next open moves it
aside whatever its check says. Copies moved aside are deleted ``recheck_days`` after.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from crawler.dataset.files import DatasetFile
from crawler.incremental.watch import (
    PageReading,
    SiteWatch,
    UnreadPage,
    WatchStore,
    dump,
    load_reading,
    load_site_watch,
    load_unread,
    merge_unread,
)
from crawler.network.urls import KEY_RULES, url_key
from crawler.util.batches import chunks

logger = logging.getLogger(__name__)

ARTICLE = "article"
"""The kind :meth:`SeenStore.lookup` reports for a key of a stored article."""

STALE_MTIME = -1
"""The ``mtime_ns`` :meth:`SeenStore.ingested_files` gives a file ingested by an older crawler,
which did not keep its story copies: it reads as changed, so the next sync reads it again
(once; its keys replaced in one step, never absent meanwhile)."""


@dataclass(frozen=True, slots=True)
class Stored:
    """What the published dataset holds of some records (:meth:`SeenStore.stored`)."""

    keys: set[str]
    """The asked keys of stored articles (a row's ``url`` or ``canonical_url``)."""
    first_copies: dict[str, str]
    """Asked ``content_hash`` -> the URL of the story's first stored copy."""


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


class SeenStore(WatchStore, Protocol):
    """What earlier runs stored and saw. Implementations: :class:`SqliteSeenStore`; a shared
    one (Redis) for distributed crawls must keep the same guarantees: article keys only
    through :meth:`add_articles` with the file they came from, and :meth:`forget_files`
    removing exactly the keys of those files (a key stored by two files stays known).

    A store that finds itself damaged during the run raises :class:`StateDamaged` from the
    call that met it (and sees to it that the next open rebuilds it); other errors are the
    store's own."""

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

    def add_articles(
        self, keys: Iterable[str], source: DatasetFile, copies: Mapping[str, str] | None = None
    ) -> None:
        """Store the article keys read from ``source``, its story copies (``content_hash`` ->
        the URL of the story's first copy, as the file's first row of it says) and mark it
        ingested, atomically: after a crash either all are stored or nothing. Replaces what
        the store held for the same path."""
        ...

    def stored(self, keys: Collection[str], hashes: Collection[str]) -> Stored:
        """Of ``keys``, those of stored articles (aliases and page observations do not
        count); of ``hashes``, the first copy of each story the dataset holds: when files
        disagree, the one of the file first in path order (as a read of the sorted dataset
        would find it). One query or round trip per batch: the dedup pipeline asks it for
        every record."""
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


# Still 1 with the pending and meta tables: CREATE TABLE IF NOT EXISTS adds them to an older
# state, and an older crawler ignores them (a version bump would make it move the state aside).
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
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending (
    key TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    added_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS watch_pages (
    site TEXT NOT NULL,
    key TEXT NOT NULL,
    seen_at REAL NOT NULL,
    reading TEXT NOT NULL,
    PRIMARY KEY (site, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS watch_sites (
    site TEXT PRIMARY KEY,
    watch TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS unread (
    key TEXT PRIMARY KEY,
    page TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS copies (
    hash TEXT NOT NULL,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    first TEXT NOT NULL,
    PRIMARY KEY (hash, file_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS copies_file ON copies(file_id);
CREATE TABLE IF NOT EXISTS ingests (
    file_id INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,
    holds TEXT NOT NULL
);
"""
# The watch's tables (crawler/incremental/watch.py) were added without a version change: a
# state of an older crawler gains them empty, and an older crawler ignores them. So were
# copies and ingests: a file without an ingests row (ingested by an older crawler, whose
# deletes cascade to both) is listed as stale (STALE_MTIME) and read again by the next sync.
_INGEST_HOLDS = "keys copies"
"""What an ingest of this crawler stores of a file (its ``ingests`` row)."""


def _marks(n: int) -> str:
    return ",".join("?" * n)


class StateError(Exception):
    """The state cannot be used: it cannot be opened or created, it was written by a newer
    crawler, or it turned out damaged during the run (a state found damaged at open is not
    an error: it is moved aside and rebuilt)."""


class StateTooNew(StateError):
    """The state has a schema version newer than this code knows: it is left as it is."""


class StateDamaged(StateError):
    """SQLite found the state damaged after it was opened; the next open moves it aside."""


CHECK_SECONDS = 3.0
"""How long the integrity check at open may take (``PRAGMA quick_check`` reads the whole
file, a few ms per MB); a state too big to check in that time is used unchecked (logged at
INFO): damage the run meets later is still caught (:class:`StateDamaged`)."""

_QUICK_CHECK_ERRORS = 20
"""Problems ``quick_check`` lists before it stops: a badly damaged file is told quickly."""

_ASIDE = ".corrupt-"
_DAMAGED = ".damaged"
_SIDE_FILES = ("-wal", "-shm")
_SQLITE_MAGIC = b"SQLite format 3\x00"

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _header_version(path: Path) -> int | None:
    """The schema version in an SQLite file's header (its ``user_version``, as of the last
    checkpoint), or None when the file does not start with an SQLite header."""
    with path.open("rb") as f:
        header = f.read(100)
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        return None
    return int.from_bytes(header[60:64], "big", signed=True)


def _with_side_files(path: Path) -> list[Path]:
    return [path, *(Path(f"{path}{suffix}") for suffix in _SIDE_FILES)]


def _size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in _with_side_files(path) if p.exists()) / 1e6


def is_damage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database file is damaged (``SQLITE_CORRUPT``,
    ``SQLITE_NOTADB``: Python raises those as the plain ``sqlite3.DatabaseError``); not a
    lock, an I/O error or a full disk (``OperationalError``), nor a misuse (other
    subclasses)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return type(exc) is sqlite3.DatabaseError
    return (code & 0xFF) in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def quick_check(db: sqlite3.Connection, seconds: float) -> list[str] | None:
    """The problems ``PRAGMA quick_check`` finds in ``db`` (empty: none), or None when it did
    not finish within ``seconds``: it is interrupted from a timer thread (a progress handler
    would not do: it is called between steps of SQLite's VM, and the walk of a whole b-tree
    is one step)."""
    lock = threading.Lock()
    running = True

    def stop() -> None:
        with lock:
            if running:
                db.interrupt()

    timer = threading.Timer(seconds, stop)
    timer.daemon = True
    timer.start()
    try:
        rows = db.execute(f"PRAGMA quick_check({_QUICK_CHECK_ERRORS})").fetchall()
    except sqlite3.OperationalError as exc:
        if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_INTERRUPT:
            return None
        raise
    finally:
        with lock:
            running = False
        timer.cancel()
    problems = [line for (text,) in rows for line in str(text).splitlines()]
    return [] if problems == ["ok"] else [p for p in problems if not p.startswith("***")]


def _guarded(
    method: Callable[Concatenate[SqliteSeenStore, _P], _R],
) -> Callable[Concatenate[SqliteSeenStore, _P], _R]:
    """A store method whose damage errors (:func:`is_damage`) become :class:`StateDamaged`,
    the file marked for the next open."""

    @functools.wraps(method)
    def call(self: SqliteSeenStore, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            raise self._damaged(exc) from exc

    return call


class SqliteSeenStore:
    """A :class:`SeenStore` in one SQLite file (WAL journal, so an overlapping run's reads
    and writes do not block each other for long).

    A missing file is created empty (the caller then ingests the whole dataset). An existing
    one is checked first, without writing to it (a read-only connection): a file of a newer
    schema version raises :class:`StateTooNew`; one that is not a readable state (not a
    database, an unknown version, ``PRAGMA quick_check`` not "ok" within ``check_seconds``,
    or marked damaged by an earlier run) is moved aside to ``<name>.corrupt-<epoch>``, its
    ``-wal`` and ``-shm`` files with it, and replaced. Copies moved aside more than
    ``recheck_days`` ago are deleted. Damage met by a later call raises
    :class:`StateDamaged` (see the module docstring).
    """

    def __init__(
        self, path: Path, *, recheck_days: float, check_seconds: float = CHECK_SECONDS
    ) -> None:
        self.path = path
        self.recheck = recheck_days * DAY
        self.created = not path.exists()
        self.replaced_corrupt: Path | None = None
        self.rekeyed = False
        """Whether this open found keys of older rules and made them again."""
        self._marked = False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._prune_aside(time.time())
            problem = None if self.created else self._inspect(check_seconds)
            if problem is not None:
                self._replace(problem)
            try:
                self._db = self._open()
            except sqlite3.OperationalError:
                raise  # cannot open (permissions, locked): not the file's fault
            except sqlite3.DatabaseError as exc:
                if self.created:
                    raise
                self._replace(str(exc))
                self._db = self._open()
            if self.created:
                self._marker.unlink(missing_ok=True)  # of a file gone since
        except (OSError, sqlite3.DatabaseError) as exc:
            raise StateError(f"cannot open the state {path}: {exc}") from exc

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE), so a write takes
        # the lock up front instead of failing half-way when another run holds it.
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            # Read before anything is written: a newer crawler's state stays as it is.
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > _SCHEMA_VERSION:
                raise self._too_new(version)
            if version not in (0, _SCHEMA_VERSION):
                raise sqlite3.DatabaseError(f"unknown state schema version {version}")
            db.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL loses at most the last transactions on power loss and never
            # corrupts; losing an observation only costs a fetch.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            self.rekeyed = _settle_key_rules(db)
        except BaseException:
            db.close()
            raise
        return db

    # -- checks at open ------------------------------------------------------------------

    def _too_new(self, version: int) -> StateTooNew:
        return StateTooNew(
            f"the state {self.path} has schema version {version}, written by a newer "
            f"smn-crawler (this one knows version {_SCHEMA_VERSION}): upgrade, or move it "
            "away to rebuild it from the dataset"
        )

    def _inspect(self, seconds: float) -> str | None:
        """Why the existing file cannot be used as it is (None: it can); StateTooNew for a
        newer crawler's state. Writes nothing to it."""
        # A newer state closed cleanly (no -wal) is told from its header alone, so that not
        # even an empty -wal or -shm file appears beside it.
        header = _header_version(self.path)
        if header is not None and header > _SCHEMA_VERSION:
            raise self._too_new(header)
        marked = self._marked_damaged()
        if marked is not None:
            return f"an earlier run found it damaged: {marked}"
        try:
            db = sqlite3.connect(f"{self.path.absolute().as_uri()}?mode=ro", uri=True, timeout=30)
        except sqlite3.Error as exc:
            logger.info("State %s not checked: %s", self.path, exc)
            return None  # the open that follows says what is wrong
        started = time.monotonic()
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > _SCHEMA_VERSION:  # committed in the -wal only
                raise self._too_new(version)
            if seconds <= 0:
                logger.info("State %s: integrity check off", self.path)
                return None
            problems = quick_check(db, seconds)
        except sqlite3.OperationalError as exc:
            logger.info("State %s not checked: %s", self.path, exc)
            return None
        except sqlite3.DatabaseError as exc:
            return str(exc)
        finally:
            db.close()
        took = time.monotonic() - started
        size = _size_mb(self.path)
        if problems is None:
            logger.info(
                "State %s (%.0f MB) not checked in full: the integrity check stopped after "
                "%.1f s (damage met later in the run stops it, and the next run rebuilds "
                "the state)",
                self.path,
                size,
                took,
            )
            return None
        logger.debug("State %s (%.1f MB) checked in %.3f s", self.path, size, took)
        if problems:
            more = ", and more" if len(problems) > 1 else ""
            return f"integrity check failed: {problems[0]}{more}"
        return None

    @property
    def _marker(self) -> Path:
        return self.path.with_name(self.path.name + _DAMAGED)

    def _marked_damaged(self) -> str | None:
        """The error an earlier run marked this very file with (its device and inode), or
        None; a mark of another file (moved away, deleted) is dropped."""
        try:
            mark = json.loads(self._marker.read_text())
            stat = self.path.stat()
            if [mark["device"], mark["inode"]] == [stat.st_dev, stat.st_ino]:
                return str(mark["error"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, KeyError):
            pass  # unreadable: dropped
        self._marker.unlink(missing_ok=True)
        return None

    def _damaged(self, exc: sqlite3.DatabaseError) -> StateDamaged:
        """The error for damage ``exc`` met by a call; the file marked, once."""
        if not self._marked:
            self._marked = True
            try:
                stat = self.path.stat()
                mark = {"device": stat.st_dev, "inode": stat.st_ino, "error": str(exc)}
                self._marker.write_text(json.dumps({**mark, "at": time.time()}) + "\n")
            except OSError as error:
                # The next open's integrity check is left to find it.
                logger.warning("Cannot mark the state %s as damaged: %s", self.path, error)
        return StateDamaged(
            f"the state {self.path} is damaged ({exc}): the next run moves it aside and "
            "rebuilds it from the dataset"
        )

    # -- moving aside --------------------------------------------------------------------

    def _replace(self, problem: str) -> None:
        self.replaced_corrupt = self._move_aside(problem)
        self.created = True

    def _move_aside(self, problem: str) -> Path:
        stamp = int(time.time())
        while any(p.exists() for p in _with_side_files(self._aside(stamp))):
            stamp += 1
        aside = self._aside(stamp)
        moved = [s for s in _SIDE_FILES if Path(f"{self.path}{s}").exists()]
        logger.warning(
            "State %s is unreadable (%s): moved to %s%s, rebuilding",
            self.path,
            problem,
            aside,
            f" (with its {' and '.join(moved)} files)" if moved else "",
        )
        # Its -wal first: a new database must never meet the old one's log.
        for suffix in _SIDE_FILES:
            with contextlib.suppress(FileNotFoundError):
                Path(f"{self.path}{suffix}").replace(f"{aside}{suffix}")
        self.path.replace(aside)
        return aside

    def _aside(self, stamp: int) -> Path:
        return self.path.with_name(f"{self.path.name}{_ASIDE}{stamp}")

    def _prune_aside(self, now: float) -> None:
        """Delete the copies moved aside more than ``recheck_days`` ago."""
        name = re.compile(re.escape(self.path.name + _ASIDE) + r"(\d+)(?:-wal|-shm)?")
        try:
            old = sorted(
                p
                for p in self.path.parent.iterdir()
                if (m := name.fullmatch(p.name)) and now - int(m[1]) > self.recheck
            )
            for p in old:
                p.unlink(missing_ok=True)
        except OSError as exc:
            logger.warning("Cannot delete the old copies of the state %s: %s", self.path, exc)
            return
        if old:
            logger.info(
                "Deleted %d moved-aside copies of the state older than %g days: %s",
                len(old),
                self.recheck / DAY,
                ", ".join(p.name for p in old),
            )

    # -- reads ---------------------------------------------------------------------------

    @_guarded
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

    @_guarded
    def stored(self, keys: Collection[str], hashes: Collection[str]) -> Stored:
        found: set[str] = set()
        for chunk in chunks(keys):
            rows = self._db.execute(
                f"SELECT DISTINCT key FROM articles WHERE key IN ({_marks(len(chunk))})", chunk
            )
            found.update(key for (key,) in rows)
        firsts: dict[str, str] = {}
        for chunk in chunks(hashes):
            rows = self._db.execute(
                "SELECT c.hash, c.first FROM copies c JOIN files f ON f.id = c.file_id"
                f" WHERE c.hash IN ({_marks(len(chunk))}) ORDER BY f.path DESC",
                chunk,
            )
            firsts.update(rows)  # the last one wins: the file first in path order
        return Stored(found, firsts)

    @_guarded
    def ingested_files(self) -> set[DatasetFile]:
        rows = self._db.execute(
            "SELECT f.path, f.size, CASE WHEN i.holds = ? THEN f.mtime_ns ELSE ? END"
            " FROM files f LEFT JOIN ingests i ON i.file_id = f.id",
            (_INGEST_HOLDS, STALE_MTIME),
        )
        return {DatasetFile(path, size, mtime) for path, size, mtime in rows}

    # -- writes --------------------------------------------------------------------------

    @_guarded
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

    @_guarded
    def add_aliases(self, aliases: Mapping[str, str]) -> None:
        rows = [(s, t) for s, t in aliases.items() if s != t]
        if not rows:
            return
        with self._write() as db:
            db.executemany("INSERT OR REPLACE INTO aliases (source, target) VALUES (?, ?)", rows)

    @_guarded
    def add_articles(
        self, keys: Iterable[str], source: DatasetFile, copies: Mapping[str, str] | None = None
    ) -> None:
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
            db.executemany(
                "INSERT OR IGNORE INTO copies (hash, file_id, first) VALUES (?, ?, ?)",
                ((digest, file_id, first) for digest, first in (copies or {}).items()),
            )
            db.execute(
                "INSERT INTO ingests (file_id, holds) VALUES (?, ?)", (file_id, _INGEST_HOLDS)
            )

    @_guarded
    def forget_files(self, paths: Iterable[str]) -> None:
        # ON DELETE CASCADE removes the file's keys; other files' copies stay.
        self._write_where_in("DELETE FROM files WHERE path IN ({})", paths)

    @_guarded
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

    @_guarded
    def add_pending(self, links: Mapping[str, str], when: float) -> int:
        rows = [(key, url, when) for key, url in links.items()]
        if not rows:
            return 0
        with self._write() as db:
            cursor = db.executemany(
                "INSERT OR IGNORE INTO pending (key, url, added_at) VALUES (?, ?, ?)", rows
            )
            return max(cursor.rowcount, 0)

    @_guarded
    def pending(self) -> list[PendingLink]:
        rows = self._db.execute("SELECT key, url, added_at, attempts FROM pending")
        return [PendingLink(*row) for row in rows]

    @_guarded
    def count_attempts(self, keys: Iterable[str]) -> None:
        self._write_where_in("UPDATE pending SET attempts = attempts + 1 WHERE key IN ({})", keys)

    @_guarded
    def remove_pending(self, keys: Iterable[str]) -> None:
        self._write_where_in("DELETE FROM pending WHERE key IN ({})", keys)

    # -- the layout watch (crawler/incremental/watch.py) -----------------------------------

    @_guarded
    def record_readings(self, readings: Sequence[PageReading], keep: int) -> None:
        if not readings:
            return
        with self._write() as db:
            db.executemany(
                "INSERT OR REPLACE INTO watch_pages (site, key, seen_at, reading)"
                " VALUES (?, ?, ?, ?)",
                [(r.site, r.key, r.seen_at, dump(r)) for r in readings],
            )
            for site in {r.site for r in readings}:
                db.execute(
                    "DELETE FROM watch_pages WHERE site = ? AND key NOT IN (SELECT key FROM"
                    " watch_pages WHERE site = ? ORDER BY seen_at DESC, key DESC LIMIT ?)",
                    (site, site, max(keep, 0)),
                )

    @_guarded
    def readings(self, sites: Collection[str] | None = None) -> dict[str, list[PageReading]]:
        rows = self._db.execute("SELECT site, reading FROM watch_pages ORDER BY seen_at, key")
        out: dict[str, list[PageReading]] = {}
        for site, raw in rows:
            if sites is None or site in sites:
                out.setdefault(site, []).append(load_reading(raw))
        return out

    @_guarded
    def site_watches(self) -> dict[str, SiteWatch]:
        rows = self._db.execute("SELECT site, watch FROM watch_sites")
        return {site: load_site_watch(raw) for site, raw in rows}

    @_guarded
    def set_site_watch(self, site: str, watch: SiteWatch) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO watch_sites (site, watch) VALUES (?, ?)",
                (site, dump(watch)),
            )

    @_guarded
    def add_unread(self, pages: Iterable[UnreadPage]) -> None:
        listed = {p.key: p for p in pages}
        if not listed:
            return
        with self._write() as db:
            old: dict[str, UnreadPage] = {}
            for chunk in chunks(listed):
                rows = db.execute(
                    f"SELECT page FROM unread WHERE key IN ({_marks(len(chunk))})", chunk
                )
                old.update((p.key, p) for p in map(load_unread, (raw for (raw,) in rows)))
            db.executemany(
                "INSERT OR REPLACE INTO unread (key, page) VALUES (?, ?)",
                [(p.key, dump(p)) for p in merge_unread(old, listed.values())],
            )

    @_guarded
    def unread(self) -> list[UnreadPage]:
        return [load_unread(raw) for (raw,) in self._db.execute("SELECT page FROM unread")]

    @_guarded
    def remove_unread(self, keys: Iterable[str]) -> None:
        self._write_where_in("DELETE FROM unread WHERE key IN ({})", keys)

    @_guarded
    def remove_pages(self, keys: Iterable[str]) -> None:
        self._write_where_in("DELETE FROM pages WHERE key IN ({})", keys)

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
        try:
            self._db.close()
        except sqlite3.Error as exc:  # a damaged file: it is moved aside at the next open
            logger.warning("Closing the state %s: %s", self.path, exc)

    def _write(self) -> _Transaction:
        return _Transaction(self._db)


def _settle_key_rules(db: sqlite3.Connection) -> bool:
    """Bring a state made under other key rules in line with :data:`KEY_RULES` (see the
    module docstring); whether it had to."""
    query = "SELECT value FROM meta WHERE name = 'key_rules'"
    row = db.execute(query).fetchone()
    if row is not None and row[0] == KEY_RULES:
        return False
    with _Transaction(db):
        row = db.execute(query).fetchone()  # another run may have done it meanwhile
        if row is not None and row[0] == KEY_RULES:
            return False
        known = db.execute("SELECT count(*) FROM files").fetchone()[0]
        db.execute("DELETE FROM articles")
        db.execute("DELETE FROM files")
        pending = db.execute("SELECT url, added_at, attempts FROM pending").fetchall()
        db.execute("DELETE FROM pending")
        rekeyed: dict[str, tuple[str, str, float, int]] = {}
        for url, added_at, attempts in pending:
            try:
                key = url_key(url)
            except ValueError:
                continue  # no page a link could reach
            # Two spellings of one link become one: the first found, the most attempts.
            earlier = rekeyed.get(key)
            if earlier is not None:
                added_at, attempts = min(added_at, earlier[2]), max(attempts, earlier[3])
            rekeyed[key] = (key, url, added_at, attempts)
        db.executemany(
            "INSERT INTO pending (key, url, added_at, attempts) VALUES (?, ?, ?, ?)",
            rekeyed.values(),
        )
        db.execute(
            "INSERT OR REPLACE INTO meta (name, value) VALUES ('key_rules', ?)", (KEY_RULES,)
        )
    if known or pending:
        logger.info(
            "The state's keys were made under older rules: its %d dataset files are read "
            "again and its %d pending links keyed again (URL key rules %s)",
            known,
            len(pending),
            KEY_RULES,
        )
    return True


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> sqlite3.Connection:
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None:
            self._db.execute("COMMIT")
        elif self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error as exc:
                # The error that got here says more (SQLite may have rolled back already).
                logger.debug("ROLLBACK failed: %s", exc)
