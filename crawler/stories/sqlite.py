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
from collections.abc import Collection, Sequence
from pathlib import Path

from crawler.stories.index import PER_BAND, StoryEntry, band_keys, top
from crawler.stories.signature import Signature
from crawler.util.batches import chunks

_SCHEMA = """
CREATE TABLE IF NOT EXISTS story_entries (
    doc TEXT PRIMARY KEY,
    story_id TEXT NOT NULL,
    first_url TEXT NOT NULL,
    day INTEGER NOT NULL,
    signature BLOB NOT NULL,
    added_at REAL NOT NULL,
    scheme TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS story_entries_added ON story_entries(added_at);
CREATE TABLE IF NOT EXISTS story_postings (
    day INTEGER NOT NULL,
    band BLOB NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (day, band, doc)
) WITHOUT ROWID;
"""
# Day first: an article's 64 postings, and a lookup's, lie together in the days of its window
# (a few pages of the B-tree) wherever the index has grown: keyed by band first, each landed
# on a page of its own, and the time an article took grew with the index (0.63 -> 0.95 ms
# from 5,000 to 30,000 articles; day first: 0.52 ms throughout).
# story_postings replaced story_bands (band, doc: hashed band keys, no day) of crawler 1.4.0
# (EXTRACTOR_VERSION): rebuilt from the entries' signatures on first open.
_OLD_BANDS = "story_bands"


BATCH = 200
PRIVATE_BATCH = 1000


MAX_LISTED_DAYS = 63
"""A window of at most this many days is looked up day by day (one seek per day and band);
a wider one (a setting of months) as a range of days, scanned."""


@functools.cache
def _lookup_sql(keys: int, days: int) -> str:
    bands = ",".join("?" * keys)
    if days > MAX_LISTED_DAYS:
        return (
            f"SELECT band, doc FROM story_postings WHERE day BETWEEN ? AND ? AND band IN ({bands})"
        )
    listed = ",".join("?" * days)
    return f"SELECT band, doc FROM story_postings WHERE day IN ({listed}) AND band IN ({bands})"


class SqliteBandStore:
    """A :class:`~crawler.stories.index.BandStore` in an SQLite file (WAL, like the state).

    Additions wait in memory (and answer lookups from there) and are written
    :data:`BATCH` at a time (:data:`PRIVATE_BATCH` for a private file) in one transaction:
    one each cost a commit that rewrites a page per band, which took a third of a crawl's
    main-process time on the replica. A crash loses the entries not yet written: copies met
    later start stories of their own, as after a pruned entry. The write lock is held only for
    those short transactions, so the incremental state's own writes (another connection on the
    same file) are never held up.

    ``private``: a file no other process opens and no crash needs: no journal. ``path``
    None: a private index in an anonymous temporary file (a re-extraction's)."""

    def __init__(self, path: Path | None, *, private: bool = False) -> None:
        self.path = path
        self.private = private or path is None
        self.batch = PRIVATE_BATCH if self.private else BATCH
        self._waiting: dict[str, tuple[StoryEntry, Sequence[bytes]]] = {}
        self._waiting_bands: dict[bytes, set[str]] = {}
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
            self._rebuild_old_bands()
        except BaseException:
            self._db.close()
            raise

    def _rebuild_old_bands(self) -> None:
        """File the entries of an index written before story_postings under their keys."""
        db = self._db
        if not db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (_OLD_BANDS,)
        ).fetchone():
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            rows = db.execute("SELECT doc, day, signature FROM story_entries").fetchall()
            for doc, day, raw in rows:
                try:
                    keys = band_keys(Signature.from_bytes(raw))
                except ValueError:  # another scheme's signature: never compared anyway
                    continue
                db.executemany(
                    "INSERT OR IGNORE INTO story_postings (day, band, doc) VALUES (?, ?, ?)",
                    ((day, key, doc) for key in keys),
                )
            db.execute(f"DROP TABLE {_OLD_BANDS}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def candidates(
        self, keys: Sequence[bytes], days: tuple[int, int], limit: int
    ) -> dict[str, int]:
        if not keys:
            return {}
        first, last = days
        # One statement, one index seek per day and key; the rows come in the index's order,
        # so the PER_BAND cap keeps each band's articles of the earliest days.
        span = last - first + 1
        listed = [first, last] if span > MAX_LISTED_DAYS else list(range(first, last + 1))
        rows = self._db.execute(_lookup_sql(len(keys), span), [*listed, *keys])
        per_band: dict[bytes, int] = {}
        counts: dict[str, int] = {}
        waiting = self._waiting
        for band, doc in rows:
            seen = per_band.get(band, 0)
            if seen >= PER_BAND:
                continue
            per_band[band] = seen + 1
            if doc not in waiting:
                counts[doc] = counts.get(doc, 0) + 1
        out = counts
        for key in keys:
            for doc in self._waiting_bands.get(key, ()):
                if first <= self._waiting[doc][0].day <= last:
                    out[doc] = out.get(doc, 0) + 1
        return top(out, limit)

    def entries(self, docs: Collection[str]) -> list[StoryEntry]:
        out = [self._waiting[d][0] for d in docs if d in self._waiting]
        for chunk in chunks([d for d in docs if d not in self._waiting]):
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                "SELECT doc, story_id, first_url, day, signature, added_at, scheme"
                f" FROM story_entries WHERE doc IN ({marks})",
                chunk,
            )
            out.extend(StoryEntry(*row) for row in rows)
        return out

    def add(self, entry: StoryEntry, keys: Sequence[bytes]) -> None:
        before = self._waiting.pop(entry.doc, None)
        if before is not None:
            for key in before[1]:
                self._waiting_bands.get(key, set()).discard(entry.doc)
        self._waiting[entry.doc] = (entry, keys)
        for key in keys:
            self._waiting_bands.setdefault(key, set()).add(entry.doc)
        if len(self._waiting) >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Write the waiting additions in one transaction.

        In key order, and with no index by article (an entry's postings are found again
        from its signature): the postings of a batch land on neighbouring pages of one
        B-tree, not on a random page of two (three times the cost)."""
        if not self._waiting:
            return
        db = self._db
        waiting = [entry for entry, _ in self._waiting.values()]
        db.execute("BEGIN IMMEDIATE")
        try:
            self._drop_postings(self._stored([e.doc for e in waiting]))
            db.executemany(
                "INSERT OR REPLACE INTO story_entries"
                " (doc, story_id, first_url, day, signature, added_at, scheme)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                sorted(
                    (e.doc, e.story_id, e.first_url, e.day, e.signature, e.added_at, e.scheme)
                    for e in waiting
                ),
            )
            db.executemany(
                "INSERT OR IGNORE INTO story_postings (day, band, doc) VALUES (?, ?, ?)",
                sorted(
                    (entry.day, key, entry.doc)
                    for entry, keys in self._waiting.values()
                    for key in keys
                ),
            )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        self._waiting.clear()
        self._waiting_bands.clear()

    def _stored(self, docs: Sequence[str]) -> list[tuple[str, int, bytes]]:
        """(doc, day, signature) of those of ``docs`` already written."""
        found: list[tuple[str, int, bytes]] = []
        for chunk in chunks(sorted(docs)):
            marks = ",".join("?" * len(chunk))
            found.extend(
                self._db.execute(
                    f"SELECT doc, day, signature FROM story_entries WHERE doc IN ({marks})",
                    chunk,
                )
            )
        return found

    def _drop_postings(self, stored: Sequence[tuple[str, int, bytes]]) -> None:
        """Remove the postings of written entries (within a transaction)."""
        rows: list[tuple[int, bytes, str]] = []
        for doc, day, raw in stored:
            try:
                keys = band_keys(Signature.from_bytes(raw))
            except ValueError:  # another scheme's signature: it was never filed
                continue
            rows.extend((day, key, doc) for key in keys)
        rows.sort()
        self._db.executemany(
            "DELETE FROM story_postings WHERE day = ? AND band = ? AND doc = ?", rows
        )

    def prune(self, before: float) -> int:
        self.flush()
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            old = db.execute(
                "SELECT doc, day, signature FROM story_entries WHERE added_at < ?", (before,)
            ).fetchall()
            self._drop_postings(old)
            gone = db.execute("DELETE FROM story_entries WHERE added_at < ?", (before,)).rowcount
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return gone

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._db.close()
