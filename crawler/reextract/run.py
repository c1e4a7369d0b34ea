"""One re-extraction as its Scrapy components share it: the current dataset, the plan, and
what became of each page read.

The spider makes it (:meth:`ReextractRun.register`) and opens it before its first request;
the replay middleware, the re-extraction pipeline and the ``reextract`` command find it with
:func:`run_of`. What became of each page read (``article``, ``no_article``, ``not_judged``,
``not_html``, ``damaged``) is kept by URL key in a scratch table, for the carry-over's counts.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.reextract.plan import Plan, Selection
from crawler.reextract.source import SourceRows
from crawler.util.scratch import connect, executemany

logger = logging.getLogger(__name__)

NOTES_BATCH = 500

_RUNS: weakref.WeakKeyDictionary[Any, ReextractRun] = weakref.WeakKeyDictionary()


def run_of(crawler: Any) -> ReextractRun | None:
    """The crawler's re-extraction; None for any other crawl."""
    return _RUNS.get(crawler)


@dataclass
class ReextractRun:
    archive: Path
    source_dir: Path | None
    selection: Selection
    source: SourceRows = field(init=False)
    plan: Plan = field(init=False)
    opened: bool = False

    def __post_init__(self) -> None:
        self.source = SourceRows(self.source_dir)
        self.plan = Plan(self.archive, self.selection)
        self._db = connect()
        self._db.execute("CREATE TABLE outcome (k TEXT PRIMARY KEY, what TEXT) WITHOUT ROWID")
        self._notes: list[tuple[str, str]] = []

    def register(self, crawler: Any) -> None:
        _RUNS[crawler] = self

    def open(self) -> int:
        """Read the current dataset and the archive's indexes; the pages planned."""
        self.source.load()
        planned = self.plan.build(self.source)
        self.opened = True
        logger.info(
            "Re-extracting %d of %d archived pages (%s) from %s; %d copies of earlier "
            "articles last, after their stories' first copies",
            planned,
            self.plan.archived_pages,
            self.selection.describe(),
            self.archive,
            self.plan.copies_last,
        )
        return planned

    def note(self, key: str, what: str) -> None:
        """What became of the page of URL key ``key``."""
        # Written a batch at a time: one insert a page, a transaction each, cost a tenth of a
        # millisecond a page of the main thread.
        self._notes.append((key, what))
        if len(self._notes) >= NOTES_BATCH:
            self._write_notes()

    def _write_notes(self) -> None:
        if self._notes:
            executemany(self._db, "INSERT OR REPLACE INTO outcome VALUES (?, ?)", self._notes)
            self._notes.clear()

    def outcome(self, key: str) -> str | None:
        self._write_notes()
        found = self._db.execute("SELECT what FROM outcome WHERE k = ?", (key,)).fetchone()
        return str(found[0]) if found else None

    def close(self) -> None:
        self.source.close()
        self.plan.close()
        self._db.close()
