"""The story index in the incremental state file (``state.sqlite``), on its own connection.

Its two tables live beside :class:`~crawler.incremental.store.SqliteSeenStore`'s, created with
``CREATE TABLE IF NOT EXISTS``: an older crawler ignores them and the state's schema version
stays 1. They are opened on a connection of their own, not through the seen store: the
:class:`~crawler.incremental.store.SeenStore` protocol (which the Redis store implements too)
stays about pages and links, and the index can be used where no seen store is (the
benchmark, the tests). The seen store opens, checks and heals the file first (a damaged state
is moved aside with these tables in it: the index starts empty, which costs only the joining
of copies of stories published before it); this connection is opened after it (the stories
pipeline opens it on its first item, when the spider has opened).

Unlike the seen store's articles, these entries are written as items pass, before their
file is published: a run killed before publishing leaves entries of pages it did not store.
Such a page is fetched again by the next run, finds its own entry and keeps the story it
was given (:meth:`crawler.stories.index.StoryIndex.assign`).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path

from crawler.stories.index import PER_BAND, StoryEntry, band_keys, top
from crawler.stories.signature import Signature
from crawler.util.batches import chunks

_SCHEMA = """
CREATE TABLE IF NOT EXISTS story_articles (
    id INTEGER PRIMARY KEY,
    doc TEXT NOT NULL UNIQUE,
    story_id TEXT NOT NULL,
    first_url TEXT NOT NULL,
    day INTEGER NOT NULL,
    signature BLOB NOT NULL,
    added_at REAL NOT NULL,
    scheme TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS story_articles_added ON story_articles(added_at);
CREATE TABLE IF NOT EXISTS story_keys (
    day INTEGER NOT NULL,
    band BLOB NOT NULL,
    id INTEGER NOT NULL,
    PRIMARY KEY (day, band, id)
) WITHOUT ROWID;
"""
# Keys by day first: an article's 64 keys, and a lookup's, lie together in the days of its
# window (a few pages of the B-tree) wherever the index has grown: keyed by band first, each
# landed on a page of its own, and the time an article took grew with the index. Articles by
# a number: a key row of three numbers is a third of one that names the article by its URL,
# and a lookup's seeks and a batch's inserts cost half as much.
# Earlier layouts, rebuilt from their entries' signatures on first open: story_entries (the
# article named by its URL) with story_postings (day, band, doc), or with story_bands (hashed
# band keys, no day) of the first index.
_OLD_TABLES = ("story_entries", "story_postings", "story_bands")
_COLUMNS = "doc, story_id, first_url, day, signature, added_at, scheme"


BATCH = 200
PRIVATE_BATCH = 1000


MAX_LISTED_DAYS = 63
"""A window of at most this many days is looked up day by day (one seek per day and band);
a wider one (a setting of months) as a range of days, scanned."""


@functools.cache
def _lookup_sql(keys: int, days: int) -> str:
    bands = ",".join("?" * keys)
    if days > MAX_LISTED_DAYS:
        return f"SELECT band, id FROM story_keys WHERE day BETWEEN ? AND ? AND band IN ({bands})"
    listed = ",".join("?" * days)
    return f"SELECT band, id FROM story_keys WHERE day IN ({listed}) AND band IN ({bands})"


class SqliteBandStore:
    """A :class:`~crawler.stories.index.BandStore` in an SQLite file (WAL, like the state).

    Additions wait in memory (and answer lookups from there) and are written
    :data:`BATCH` at a time (:data:`PRIVATE_BATCH` for a private file) in one transaction:
    one each cost a commit that rewrites a page per band, which took a third of a crawl's
    main-process time on the replica. What waits is also written before the crawl publishes
    a dataset file (:meth:`checkpoint`), so a crash loses only entries of rows not yet
    published, whose pages the next run fetches again. The write lock is held only for those
    short transactions, so the incremental state's own writes (another connection on the
    same file) are never held up.

    ``private``: a file no other process opens and no crash needs: no journal. ``path``
    None: a private index in an anonymous temporary file (a re-extraction's)."""

    def __init__(self, path: Path | None, *, private: bool = False) -> None:
        self.path = path
        self.private = private or path is None
        self.batch = PRIVATE_BATCH if self.private else BATCH
        self._waiting: dict[str, tuple[StoryEntry, Sequence[bytes]]] = {}
        self._waiting_bands: dict[bytes, list[str]] = {}
        # No path: SQLite's own temporary file, deleted when the connection closes or the
        # process dies (a killed re-extraction leaves nothing behind).
        where = "" if path is None else path
        self._db = sqlite3.connect(where, timeout=30.0, isolation_level=None)
        try:
            if self.private:
                self._db.execute("PRAGMA journal_mode=OFF")
                self._db.execute("PRAGMA synchronous=OFF")
            else:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._rebuild_old_layout()
        except BaseException:
            self._db.close()
            raise

    def _rebuild_old_layout(self) -> None:
        """Move the entries of an index of an earlier layout into the current tables and file
        them under their keys (one transaction: a crash leaves the old layout whole)."""
        db = self._db
        found = {
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'story_%'"
            )
        }
        old = [name for name in _OLD_TABLES if name in found]
        if not old:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            if "story_entries" in old:
                db.execute(
                    f"INSERT OR REPLACE INTO story_articles ({_COLUMNS})"
                    f" SELECT {_COLUMNS} FROM story_entries ORDER BY doc"
                )
                rows = db.execute("SELECT id, day, signature FROM story_articles").fetchall()
                db.executemany(
                    "INSERT OR IGNORE INTO story_keys (day, band, id) VALUES (?, ?, ?)",
                    sorted(_key_rows(rows)),
                )
            for name in old:
                db.execute(f"DROP TABLE {name}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def candidates(
        self, keys: Sequence[bytes], days: tuple[int, int], limit: int
    ) -> list[tuple[StoryEntry, int]]:
        if not keys:
            return []
        first, last = days
        # One statement, one index seek per day and key; the rows come in the index's order,
        # so the PER_BAND cap keeps each band's articles of the earliest days.
        span = last - first + 1
        listed = [first, last] if span > MAX_LISTED_DAYS else list(range(first, last + 1))
        rows = self._db.execute(_lookup_sql(len(keys), span), [*listed, *keys])
        per_band: dict[bytes, int] = {}
        counts: dict[int, int] = {}
        for band, number in rows:
            seen = per_band.get(band, 0)
            if seen >= PER_BAND:
                continue
            per_band[band] = seen + 1
            counts[number] = counts.get(number, 0) + 1
        best = top(counts, limit)
        waiting = self._waiting
        # A written article filed again waits with its new entry, which stands for it.
        out = [
            (entry, best[number])
            for number, entry in self._by_number(best)
            if entry.doc not in waiting
        ]
        pending: dict[str, int] = {}
        for key in keys:
            for doc in self._waiting_bands.get(key, ()):
                if first <= waiting[doc][0].day <= last:
                    pending[doc] = pending.get(doc, 0) + 1
        if pending:
            out.extend((waiting[doc][0], n) for doc, n in pending.items())
            out = sorted(out, key=lambda pair: -pair[1])[:limit]
        return out

    def _by_number(self, numbers: Collection[int]) -> list[tuple[int, StoryEntry]]:
        if not numbers:
            return []
        marks = ",".join("?" * len(numbers))
        rows = self._db.execute(
            f"SELECT id, {_COLUMNS} FROM story_articles WHERE id IN ({marks})", list(numbers)
        )
        return [(row[0], StoryEntry(*row[1:])) for row in rows]

    def entries(self, docs: Collection[str]) -> list[StoryEntry]:
        out = [self._waiting[d][0] for d in docs if d in self._waiting]
        for chunk in chunks([d for d in docs if d not in self._waiting]):
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM story_articles WHERE doc IN ({marks})", chunk
            )
            out.extend(StoryEntry(*row) for row in rows)
        return out

    def add(self, entry: StoryEntry, keys: Sequence[bytes]) -> None:
        before = self._waiting.pop(entry.doc, None)
        if before is not None:
            for key in before[1]:
                self._waiting_bands[key].remove(entry.doc)
        self._waiting[entry.doc] = (entry, keys)
        bands = self._waiting_bands
        for key in keys:
            filed = bands.get(key)
            if filed is None:
                bands[key] = [entry.doc]
            else:
                filed.append(entry.doc)
        if len(self._waiting) >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Write the waiting additions in one transaction.

        New articles take the next numbers, so their rows are appended; their keys are
        written day by day, so that those of a batch land on neighbouring pages of one B-tree
        (a day's keys are a few pages: sorting them too, a sort of up to 64,000 rows a batch,
        cost more than it saved: 0.133 ms an article against 0.120). There is no index by
        article: a replaced or pruned article's keys are found again from its signature."""
        if not self._waiting:
            return
        db = self._db
        waiting = [entry for entry, _ in self._waiting.values()]
        db.execute("BEGIN IMMEDIATE")
        try:
            stored = self._stored([e.doc for e in waiting])
            self._drop_keys(list(stored.values()))
            db.executemany(
                f"UPDATE story_articles SET ({_COLUMNS}) = (?, ?, ?, ?, ?, ?, ?) WHERE id = ?",
                [(*_values(e), stored[e.doc][0]) for e in waiting if e.doc in stored],
            )
            ((last,),) = db.execute("SELECT coalesce(max(id), 0) FROM story_articles")
            numbers = {doc: number for doc, (number, _, _) in stored.items()}
            for entry in waiting:
                if entry.doc not in numbers:
                    last += 1
                    numbers[entry.doc] = last
            db.executemany(
                f"INSERT INTO story_articles (id, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(numbers[e.doc], *_values(e)) for e in waiting if e.doc not in stored],
            )
            rows: list[tuple[int, bytes, int]] = []
            for entry, keys in sorted(self._waiting.values(), key=_day_of_waiting):
                day, number = entry.day, numbers[entry.doc]
                rows.extend([(day, key, number) for key in keys])
            db.executemany(
                "INSERT OR IGNORE INTO story_keys (day, band, id) VALUES (?, ?, ?)", rows
            )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        self._waiting.clear()
        self._waiting_bands.clear()

    def _stored(self, docs: Sequence[str]) -> dict[str, tuple[int, int, bytes]]:
        """doc -> (number, day, signature) of those of ``docs`` already written."""
        found: dict[str, tuple[int, int, bytes]] = {}
        for chunk in chunks(sorted(docs)):
            marks = ",".join("?" * len(chunk))
            for doc, number, day, raw in self._db.execute(
                f"SELECT doc, id, day, signature FROM story_articles WHERE doc IN ({marks})",
                chunk,
            ):
                found[doc] = (number, day, raw)
        return found

    def _drop_keys(self, stored: Sequence[tuple[int, int, bytes]]) -> None:
        """Remove the key rows of written articles (within a transaction)."""
        self._db.executemany(
            "DELETE FROM story_keys WHERE day = ? AND band = ? AND id = ?",
            sorted(_key_rows(stored)),
        )

    def prune(self, before: float) -> int:
        self.flush()
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            old = db.execute(
                "SELECT id, day, signature FROM story_articles WHERE added_at < ?", (before,)
            ).fetchall()
            self._drop_keys(old)
            gone = db.execute("DELETE FROM story_articles WHERE added_at < ?", (before,)).rowcount
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return gone

    def checkpoint(self) -> None:
        if not self.private:  # a private file does not outlive its process
            self.flush()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._db.close()


def _day_of_waiting(waiting: tuple[StoryEntry, Sequence[bytes]]) -> int:
    return waiting[0].day


def _values(e: StoryEntry) -> tuple[object, ...]:
    return (e.doc, e.story_id, e.first_url, e.day, e.signature, e.added_at, e.scheme)


def _key_rows(stored: Iterable[tuple[int, int, bytes]]) -> Iterator[tuple[int, bytes, int]]:
    """(day, band key, number) of each key of each (number, day, signature); an entry of
    another scheme is filed under none (it is never compared)."""
    for number, day, raw in stored:
        try:
            keys = band_keys(Signature.from_bytes(raw))
        except ValueError:
            continue
        for key in keys:
            yield (day, key, number)
