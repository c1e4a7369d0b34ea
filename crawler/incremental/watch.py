"""What the layout watch keeps between runs, in the incremental state (SQLite or Redis).

Three kinds of record, all small and bounded:

* :class:`PageReading`: one recent article page of a site and how the extractor read it
  (a known layout or not, the watched fields it missed, the fields that failed their
  plausibility check). The newest ``SMN_WATCH_WINDOW`` pages of each site are kept: the
  *window* the watch judges (:mod:`crawler.outcome.layout_watch`).
* :class:`SiteWatch`: a site's watch state: fired since when and why, acknowledged when.
* :class:`UnreadPage`: a page at an article URL that gave no article (and why), kept until a
  run reads it as one: a run with a changed extractor (``EXTRACTOR_VERSION``) fetches them all
  again (:meth:`crawler.incremental.run.IncrementalRun.requeue_unread`).

Stores serialise them as JSON (:func:`dump`, :func:`load_reading`, ...), so that the SQLite and
Redis stores hold the same thing and a field added here needs no migration.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class PageReading:
    """One article page of a site, as the watch remembers it."""

    site: str
    key: str
    """The page's :func:`~crawler.network.urls.url_key`."""
    seen_at: float
    """Epoch seconds when it was read."""
    run: str
    """The crawl id of the run that read it (a distributed crawl's run, which its workers
    share: :func:`~crawler.crawl_id.whole_run_of`)."""
    known: bool
    """A known layout (not the fallback) read an article from it."""
    article: bool
    """An article record was made of it (by a known layout or the fallback)."""
    layout: str | None = None
    """The layout that read it ("classic", "modern", "legacy", "fallback"), or None."""
    missing: tuple[str, ...] = ()
    """Watched fields the record lacks (all of them when there is no record)."""
    implausible: tuple[str, ...] = ()
    """Fields written as null for failing their plausibility check."""


@dataclass(frozen=True, slots=True)
class SiteWatch:
    """A site's watch state between runs."""

    layouts: tuple[str, ...] = ()
    """The known layouts that read the site's pages while it read normally (learnt from the
    runs that did not fire): a page read by another is a change of layout."""

    fired_since: float | None = None
    """Epoch seconds of the run that fired the watch for the site; None: not fired."""
    reason: str = ""
    """What fired it (the phrase of the outcome line)."""
    acknowledged_at: float | None = None
    """When an operator acknowledged the firing (``scrapy health --ack``); it no longer fails
    runs, until the site reads normally again (which clears both)."""

    run: str = ""
    """The run that last judged the site with evidence (the workers of a distributed crawl
    share one, and each judges it at its close); empty before any such run."""
    before_run: SiteWatch | None = None
    """The state as it was before that run. A worker that closes after another worker of its
    run judges the run from it, not from what the other made of a part of the run."""
    judged_at: float | None = None
    """Epoch seconds when that run's judgement was stored: one stored after a crawl began,
    under its run's id, is a fellow worker's (a run id reused later is another run)."""

    @property
    def fired(self) -> bool:
        return self.fired_since is not None


@dataclass(frozen=True, slots=True)
class UnreadPage:
    """A page at an article URL that gave no article."""

    key: str
    url: str
    site: str
    reason: str
    extractor_version: str
    first_seen: float
    last_seen: float


class WatchStore(Protocol):
    """The watch's part of the incremental state (both stores implement it)."""

    def record_readings(self, readings: Sequence[PageReading], keep: int) -> None:
        """Add (or replace, by site and key) these readings, then keep only the newest
        ``keep`` of each site they touch."""
        ...

    def readings(self, sites: Collection[str] | None = None) -> dict[str, list[PageReading]]:
        """The window of each site (of ``sites``, or all), oldest first."""
        ...

    def site_watches(self) -> dict[str, SiteWatch]:
        """Every site's stored watch state (sites never fired may be absent)."""
        ...

    def set_site_watch(self, site: str, watch: SiteWatch) -> None: ...

    def add_unread(self, pages: Iterable[UnreadPage]) -> None:
        """Add or update (``first_seen`` kept) these unread pages."""
        ...

    def unread(self) -> list[UnreadPage]: ...

    def remove_unread(self, keys: Iterable[str]) -> None: ...

    def remove_pages(self, keys: Iterable[str]) -> None:
        """Forget the page observations of these keys (so the next lookup misses them)."""
        ...


def dump(record: PageReading | SiteWatch | UnreadPage) -> str:
    return json.dumps(dataclasses.asdict(record), separators=(",", ":"))


def _fields(cls: type, data: Any) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    # Fields of a newer crawler are ignored; a missing one takes its default.
    return {k: v for k, v in data.items() if k in names} if isinstance(data, dict) else {}


def load_reading(raw: str) -> PageReading:
    data = _fields(PageReading, json.loads(raw))
    data["missing"] = tuple(data.get("missing") or ())
    data["implausible"] = tuple(data.get("implausible") or ())
    return PageReading(**data)


def load_site_watch(raw: str) -> SiteWatch:
    return _site_watch(json.loads(raw))


def _site_watch(raw: Any) -> SiteWatch:
    data = _fields(SiteWatch, raw)
    data["layouts"] = tuple(data.get("layouts") or ())
    prior = data.get("before_run")
    data["before_run"] = _site_watch(prior) if isinstance(prior, dict) else None
    return SiteWatch(**data)


def load_unread(raw: str) -> UnreadPage:
    return UnreadPage(**_fields(UnreadPage, json.loads(raw)))


def newest(readings: Iterable[PageReading], keep: int) -> tuple[list[PageReading], list[str]]:
    """The newest ``keep`` readings (oldest first), and the keys of the others."""
    ordered = sorted(readings, key=lambda r: (r.seen_at, r.key))
    cut = max(len(ordered) - max(keep, 0), 0)
    return ordered[cut:], [r.key for r in ordered[:cut]]


def merge_unread(old: Mapping[str, UnreadPage], new: Iterable[UnreadPage]) -> list[UnreadPage]:
    """``new`` with the ``first_seen`` of the same key in ``old`` kept."""
    out = []
    for page in new:
        before = old.get(page.key)
        if before is not None:
            page = dataclasses.replace(page, first_seen=min(before.first_seen, page.first_seen))
        out.append(page)
    return out
