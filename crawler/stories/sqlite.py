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

import sqlite3
from collections.abc import Collection, Sequence
from pathlib import Path

from crawler.stories.index import StoryEntry, top
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
CREATE TABLE IF NOT EXISTS story_bands (
    band BLOB NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (band, doc)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS story_bands_doc ON story_bands(doc);
"""


BATCH = 200
PRIVATE_BATCH = 1000
PER_BAND = 32
"""At most this many articles of one band are counted as candidates (see candidates)."""


class SqliteBandStore:
    """A :class:`~crawler.stories.index.BandStore` in an SQLite file (WAL, like the state).

    Additions wait in memory (and answer lookups from there) and are written
    :data:`BATCH` at a time (:data:`PRIVATE_BATCH` for a private file) in one transaction:
    one each cost a commit that rewrites a page per band, which took a third of a crawl's
    main-process time on the replica. A crash loses the entries not yet written: copies met
    later start stories of their own, as after a pruned entry. The write lock is held only for
    those short transactions, so the incremental state's own writes (another connection on the
    same file) are never held up.

    ``private``: a file no other process opens and no crash needs (a re-extraction's
    scratch index): no journal."""

    def __init__(self, path: Path, *, private: bool = False) -> None:
        self.path = path
        self.private = private
        self.batch = PRIVATE_BATCH if private else BATCH
        self._waiting: dict[str, tuple[StoryEntry, Sequence[bytes]]] = {}
        self._waiting_bands: dict[bytes, set[str]] = {}
        self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        try:
            if private:
                self._db.execute("PRAGMA journal_mode=OFF")
                self._db.execute("PRAGMA synchronous=OFF")
            else:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except BaseException:
            self._db.close()
            raise

    def candidates(self, keys: Sequence[bytes], limit: int) -> dict[str, int]:
        if not keys:
            return {}
        # At most PER_BAND articles of each band: a band that thousands of articles share
        # (the same stock sentence) says little, and would cost a row per article.
        arms = " UNION ALL ".join(
            "SELECT * FROM (SELECT doc FROM story_bands WHERE band = ? LIMIT ?)" for _ in keys
        )
        params: list[object] = []
        for key in keys:
            params += [key, PER_BAND]
        rows = self._db.execute(
            f"SELECT doc, count(*) AS n FROM ({arms}) GROUP BY doc ORDER BY n DESC, doc LIMIT ?",
            [*params, limit],
        )
        out = {doc: n for doc, n in rows if doc not in self._waiting}
        for key in keys:
            for doc in self._waiting_bands.get(key, ()):
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
        """Write the waiting additions in one transaction."""
        if not self._waiting:
            return
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for entry, keys in self._waiting.values():
                self._add(entry, keys)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        self._waiting.clear()
        self._waiting_bands.clear()

    def _add(self, entry: StoryEntry, keys: Sequence[bytes]) -> None:
        db = self._db
        db.execute("DELETE FROM story_bands WHERE doc = ?", (entry.doc,))
        db.execute(
            "INSERT OR REPLACE INTO story_entries"
            " (doc, story_id, first_url, day, signature, added_at, scheme)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                entry.doc,
                entry.story_id,
                entry.first_url,
                entry.day,
                entry.signature,
                entry.added_at,
                entry.scheme,
            ),
        )
        db.executemany(
            "INSERT OR IGNORE INTO story_bands (band, doc) VALUES (?, ?)",
            ((key, entry.doc) for key in keys),
        )

    def prune(self, before: float) -> int:
        self.flush()
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "DELETE FROM story_bands WHERE doc IN"
                " (SELECT doc FROM story_entries WHERE added_at < ?)",
                (before,),
            )
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
