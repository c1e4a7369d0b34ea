"""Which archived records a re-extraction reads.

From the archive's per-file indexes (``<name>.cdxj``, :mod:`crawler.archive.index`; no WARC
file is read but its first record, the ``warcinfo``): for each page key the newest response
record with status 200 and an HTML (or untyped) body, read in the order of those records'
fetch times, oldest first, as the crawl met them; but the pages whose current row is a copy
of an earlier article (``duplicate_of`` or ``near_duplicate_of``) are read after all others.
A story's first copy is then filed in the story index before its other copies are read, in
whatever order the archive holds them (a copy fetched before its first copy, or extracted
after it by a slower worker): a copy whose text the extractor changed is looked up and joins
the story its first copy keeps, instead of starting one of its own.

The selection (``--months``, ``--sites``, ``--stale``) is applied as the plan is made, into a
scratch table: its length is known before the first page is read (the progress line's time
left), and memory stays flat.

* ``--sites``: pages of those network sites (by host);
* ``--months``: pages whose current row is in one of those months (the dataset's
  ``year=/month=`` partition, by published date); a page without a row, by the month it was
  fetched;
* ``--stale``: pages whose current row has an ``extractor_version`` other than today's; a page
  without a row (not an article then), when its WARC file was written by another extractor
  version (the ``warcinfo`` record says which).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from crawler.archive.index import (
    IndexEntry,
    index_name,
    published_warc_files,
    read_index,
    warcinfo_fields,
)
from crawler.network.sites import select_sites
from crawler.network.urls import site_domain
from crawler.reextract.source import SourceRows
from crawler.util.scratch import connect, executemany

logger = logging.getLogger(__name__)

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
# Bodies the spider reads as pages (feeds, JSON and the like are no articles).
_PAGE_TYPES = ("text/html", "application/xhtml", "text/plain")


def parse_months(value: str | None) -> frozenset[str]:
    """``2025-05,2025-6`` -> {``2025-05``, ``2025-06``}; ValueError naming a bad one."""
    months: set[str] = set()
    for raw in (value or "").split(","):
        raw = raw.strip()
        if not raw:
            continue
        match = _MONTH.match(raw)
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise ValueError(f"--months: {raw!r} is no month (YYYY-MM)")
        months.add(f"{match.group(1)}-{int(match.group(2)):02d}")
    return frozenset(months)


def parse_sites(value: str | None) -> frozenset[str]:
    """Site domains named by ``--sites`` (domains or names); empty: all. ValueError on an
    unknown one."""
    if not value or not value.strip():
        return frozenset()
    return frozenset(site.domain for site in select_sites(value))


@dataclass(frozen=True)
class Selection:
    """What ``--months``, ``--sites`` and ``--stale`` asked for (empty: everything)."""

    months: frozenset[str] = frozenset()
    sites: frozenset[str] = frozenset()
    stale: bool = False
    extractor_version: str = ""
    """Today's, for ``stale``."""

    def describe(self) -> str:
        parts = []
        if self.months:
            parts.append("months " + ",".join(sorted(self.months)))
        if self.sites:
            parts.append("sites " + ",".join(sorted(self.sites)))
        if self.stale:
            parts.append(f"rows of extractor versions other than {self.extractor_version}")
        return "; ".join(parts) or "the whole archive"


def is_page(entry: IndexEntry) -> bool:
    mime = (entry.mime or "").split(";")[0].strip().lower()
    return entry.status == 200 and (not mime or mime.startswith(_PAGE_TYPES))


@dataclass(frozen=True, slots=True)
class PlannedPage:
    """One record to read."""

    key: str
    url: str
    date: str
    filename: str
    offset: int
    length: int


@dataclass
class Plan:
    """The records to read, in a scratch table (see the module docstring)."""

    archive: Path
    selection: Selection
    warc_files: int = 0
    unindexed: list[str] = field(default_factory=list)
    """Published WARC files without their index (not read: say so)."""
    archived_pages: int = 0
    """Page keys with a readable record, before the selection."""
    copies_last: int = 0
    """Of the planned pages, those read last: their row is a copy of an earlier article."""

    def __post_init__(self) -> None:
        self._db = connect()
        self._db.execute(
            "CREATE TABLE rec (k TEXT, date TEXT, url TEXT, filename TEXT, offset INTEGER,"
            " length INTEGER, version TEXT)"
        )
        # late: 1 for a page whose row is a copy (read after the others)
        self._db.execute(
            "CREATE TABLE plan (seq INTEGER PRIMARY KEY, late INTEGER, k TEXT, url TEXT,"
            " date TEXT, filename TEXT, offset INTEGER, length INTEGER)"
        )

    def build(self, source: SourceRows) -> int:
        """Read the indexes and select; how many pages are planned."""
        self._read_indexes()
        self._db.execute("CREATE INDEX rec_k ON rec (k, date)")
        newest = self._db.execute(
            # SQLite: the bare columns of a MAX() aggregate come from the row of the max.
            "SELECT k, url, MAX(date) AS d, filename, offset, length, version FROM rec"
            " GROUP BY k ORDER BY d, filename, offset"
        )
        batch: list[tuple[object, ...]] = []
        for key, url, date, filename, offset, length, version in newest:
            self.archived_pages += 1
            if not self._selected(source, key, url, date, version):
                continue
            row = source.get(key)
            late = int(row is not None and row.is_copy)
            self.copies_last += late
            batch.append((late, key, url, date, filename, offset, length))
            if len(batch) >= 1000:
                self._add(batch)
        self._add(batch)
        self._db.execute("DELETE FROM rec")
        self._db.execute("CREATE INDEX plan_order ON plan (late, seq)")
        return len(self)

    def _add(self, batch: list[tuple[object, ...]]) -> None:
        executemany(
            self._db,
            "INSERT INTO plan (late, k, url, date, filename, offset, length)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            batch,
        )
        batch.clear()

    def _read_indexes(self) -> None:
        if not self.archive.is_dir():
            return
        for name in published_warc_files(self.archive):
            self.warc_files += 1
            index = self.archive / Path(name).parent / index_name(Path(name).name)
            if not index.is_file():
                self.unindexed.append(name)
                logger.warning("WARC file %s has no index (%s): not read", name, index.name)
                continue
            version = warcinfo_fields(self.archive / name).get("extractor-version", "")
            executemany(
                self._db,
                "INSERT INTO rec VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    (e.key, e.date, e.url, e.filename, e.offset, e.length, version)
                    for e in read_index(index)
                    if is_page(e)
                ),
            )

    def _selected(self, source: SourceRows, key: str, url: str, date: str, version: str) -> bool:
        selection = self.selection
        if selection.sites and site_domain(url) not in selection.sites:
            return False
        if not (selection.months or selection.stale):
            return True
        row = source.get(key)
        if selection.months:
            month = row.month if row is not None else date[:7]
            if month not in selection.months:
                return False
        if selection.stale:
            made_by = row.extractor_version if row is not None else version
            if made_by == selection.extractor_version:
                return False
        return True

    def __len__(self) -> int:
        ((count,),) = self._db.execute("SELECT count(*) FROM plan")
        return int(count)

    def pages(self) -> Iterator[PlannedPage]:
        """The planned records, oldest fetch first (copies last), a chunk at a time."""
        last = (-1, 0)
        while True:
            rows = self._db.execute(
                "SELECT late, seq, k, url, date, filename, offset, length FROM plan"
                " WHERE (late, seq) > (?, ?) ORDER BY late, seq LIMIT 1000",
                last,
            ).fetchall()
            if not rows:
                return
            for late, seq, *fields in rows:
                last = (late, seq)
                yield PlannedPage(*fields)

    def close(self) -> None:
        self._db.close()
