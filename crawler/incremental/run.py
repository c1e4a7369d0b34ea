"""Incremental runs: fetch only what earlier runs did not store or see.

The crawl runs from cron every few minutes over the same dataset. Entry points (feeds,
home and section pages: requests with meta ``smn_entry``) are always fetched; every other
request is dropped when its :func:`~crawler.network.urls.url_key` is known to the state:

* a stored article: its ``url`` or ``canonical_url`` is in a *published* dataset file
  (the state ingests those at spider open and again at spider close, after the dataset
  writer has published this run's files: see :mod:`crawler.incremental.sync`);
* a page seen within ``SMN_STATE_RECHECK_DAYS`` that is not worth fetching again: page kind
  ``other`` (about and privacy pages, error pages) or a dead link (404/410);
* a URL that led there before: a redirect, or a page whose canonical URL is a stored one.

Listings and feeds are never remembered, so they are fetched every run and new articles
are found through them. Items pass untouched; the dedup pipeline stays as a second line.

**What a run that does not finish leaves.** A page answered ``other`` or dead is known to hide
nothing only once every link it led to was followed and every article found through it
published: the observations are kept in memory and stored when the spider closes with
reason ``finished``; a run stopped early (``shutdown``, a ``CLOSESPIDER_*`` limit, an
error) stores none, and a killed run never gets there. Aliases are stored at once: they
count only through their target.

**The frontier.** A stored article is never fetched again, so its links are not seen
again: an article linked from it only would be lost to a run killed before writing it, or
whose download of it failed. So the state keeps the links the spider yields that it does
not know (*pending*, written per response as they pass
:meth:`IncrementalSpiderMiddleware.process_spider_output`, before they are scheduled) and
every run starts with them after its entry points (:meth:`IncrementalSpiderMiddleware.
process_start`; through the same known-key filtering as any link). A link leaves when its
page was *answered* in a run: a response reached the spider (whatever its page kind), a
404/410, a redirect (the frontier moves to its target), or the crawl itself refused it
(``IgnoreRequest``: robots.txt, off-site, a known redirect target). That removal happens
when the spider closes, whatever the close reason (the links of an answered page are pending
themselves by then), with one exception: a page answered as an ``article`` leaves only if the
state knows the article after the close's ingest of the run's published files (a row
dropped, or lost to an output error, keeps it pending). A killed run removes nothing;
what it published is known when the next run opens, which drops the pending links the
state knows (stored article, ``other``, dead) before it resumes the rest. What stays
pending is what no run fetched (killed runs) or could not (timeouts, 5xx given up, other
4xx). A link is given up (logged, ``smn/incremental/pending_dropped``) when
``SMN_STATE_PENDING_ATTEMPTS`` runs ended (killed runs do not count) with it still pending
*and* it was first found more than ``SMN_STATE_RECHECK_DAYS`` ago: a site down for an
afternoon, with a run every few minutes, loses nothing.

Two components share one state per crawl:

* :class:`IncrementalSpiderMiddleware` (spider middleware) drops known links as the
  spider yields them and records what the responses turned out to be (the spider's
  ``PAGE_KIND_META``; 404/410 responses, which ``HttpErrorMiddleware`` turns into
  exceptions before the spider, through ``process_spider_exception``).
* :class:`IncrementalRedirectMiddleware` (downloader middleware) remembers redirects and
  drops the follow-up request of a redirect when its target is known:
  ``RedirectMiddleware`` schedules it without passing the spider middlewares.

Settings:

* ``SMN_INCREMENTAL`` (bool, default True): False fetches everything (a full re-crawl;
  dedup still keeps the dataset free of duplicates). The state is neither read nor written.
* ``SMN_STATE`` (str, default unset): the state file; unset means ``state.sqlite`` in the
  directory that holds ``SMN_OUTPUT`` (``output/state.sqlite``); empty disables incremental
  runs. A missing state is rebuilt from the dataset, a corrupt one moved aside and rebuilt.
* ``SMN_STATE_RECHECK_DAYS`` (float, default 7): how long an ``other`` page or a dead link
  is trusted before it is fetched again; also how long a pending link is kept at least.
* ``SMN_STATE_PENDING_ATTEMPTS`` (int, default 5): runs that must end with a link still
  pending before it may be given up.

Stats: ``smn/incremental/skipped`` and ``smn/incremental/skipped/<kind>`` (``article``,
``other``, ``dead``; pages, not links: a page linked from ten pages counts once),
``smn/incremental/recorded/<kind>`` (``other``, ``dead``: responses, stored at a finished
close; ``alias``), ``smn/incremental/pending_added`` (links new to the frontier),
``smn/incremental/pending_resumed`` (pending links the run started with),
``smn/incremental/pending_dropped`` (given up),
``smn/incremental/unread_requeued`` (article pages an older extractor could not read, fetched
again because the extractor changed: see :mod:`crawler.incremental.watch`),
``smn/incremental/files_ingested``, ``smn/incremental/rows_ingested``,
``smn/incremental/files_forgotten``, ``smn/incremental/files_unreadable``,
``smn/incremental/state_created`` (1 when the state was missing or corrupt and rebuilt) and
``smn/error/state`` (1 when the state cannot be used: the spider closes with reason
``state_error`` rather than run a full crawl every few minutes unnoticed).

**A damaged state.** The store checks the file when it opens it and moves a damaged one aside
to rebuild it (:mod:`crawler.incremental.store`); damage met while the run syncs it at open
does the same at once (the store is opened again). A state of a newer crawler's schema is
refused: ``state_error``, the file untouched. Damage met later in the run
(:class:`~crawler.incremental.store.StateDamaged`, from any call) closes the spider with
``state_error`` at the first one, logged with its cause; from then on the run's store knows
nothing and keeps nothing, so the pages still in flight pass as unknown instead of failing
one by one (the closing run stores none of its observations), and the next run moves the
file aside and rebuilds it from the dataset.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar

from scrapy import Request, signals
from scrapy.exceptions import CloseSpider, NotConfigured
from scrapy.utils.defer import deferred_from_coro

from crawler.dataset.generations import current as current_generation
from crawler.dataset.paths import dataset_dir, state_path
from crawler.dataset.quarantine import record_in_stats
from crawler.defaults import default, get_bool, get_float, get_int
from crawler.extract import EXTRACTOR_VERSION
from crawler.incremental.store import (
    DAY,
    PendingLink,
    SeenStore,
    SqliteSeenStore,
    StateDamaged,
    StateError,
    Stored,
)
from crawler.incremental.sync import SyncReport, sync
from crawler.incremental.watch import PageReading, SiteWatch, UnreadPage
from crawler.network.urls import url_key
from crawler.protocol import ENTRY_META
from crawler.util.batches import chunks
from crawler.util.scratch import ScratchDb

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings
    from scrapy.statscollectors import StatsCollector

    from crawler.dataset.files import DatasetFile

logger = logging.getLogger(__name__)

# Observations the state stores of a page.
OTHER = "other"
DEAD = "dead"
FINISHED = "finished"
# Links of one response are looked up together: one query (one round trip for a shared
# store) per page instead of one per link.
BATCH = 500


@dataclass(frozen=True, slots=True)
class IncrementalConfig:
    state: Path
    dataset: Path
    recheck_days: float
    pending_attempts: int = default("SMN_STATE_PENDING_ATTEMPTS")

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self:
        """The configuration, or NotConfigured when incremental runs are off."""
        if not get_bool(settings, "SMN_INCREMENTAL"):
            raise NotConfigured("SMN_INCREMENTAL is off: fetching everything")
        output = dataset_dir(settings)
        if output is None:
            raise NotConfigured("SMN_OUTPUT is empty: no dataset to know stored articles from")
        state = state_path(settings)
        if state is None:
            raise NotConfigured("SMN_STATE is empty")
        recheck = get_float(settings, "SMN_STATE_RECHECK_DAYS")
        if recheck < 0:
            raise ValueError(f"SMN_STATE_RECHECK_DAYS must be >= 0, got {recheck}")
        attempts = get_int(settings, "SMN_STATE_PENDING_ATTEMPTS")
        if attempts < 1:
            raise ValueError(f"SMN_STATE_PENDING_ATTEMPTS must be >= 1, got {attempts}")
        return cls(state, output, recheck, attempts)


def _key(url: str) -> str | None:
    try:
        return url_key(url)
    except ValueError:
        return None  # a malformed URL (bad IPv6 host) is never a known page


def _keys(urls: Iterable[str]) -> set[str]:
    return {k for k in map(_key, urls) if k is not None}


_SETTLE_BATCH = 5000

_T = TypeVar("_T")


def response_urls(response: Response) -> list[str]:
    """The URL a response was fetched from, and the URLs that redirected to it."""
    return [response.url, *response.meta.get("redirect_urls", ())]


def _response_keys(response: Response) -> set[str]:
    return _keys(response_urls(response))


class GuardedStore:
    """The store as a run uses it, past its opening: the first
    :class:`~crawler.incremental.store.StateDamaged` a call raises goes to ``on_damage``,
    and from then on the store is *lost*: it knows nothing and keeps nothing (lookups find
    nothing, writes do nothing), so that no page of the closing run fails on it."""

    def __init__(self, store: SeenStore, on_damage: Callable[[StateDamaged], None]) -> None:
        self.inner = store
        self.created = store.created
        self.lost = False
        self._on_damage = on_damage

    def guard(self, call: Callable[[], _T], fallback: _T) -> _T:
        """``call()``, or ``fallback`` once the store is lost (by this call or an earlier)."""
        if self.lost:
            return fallback
        try:
            return call()
        except StateDamaged as exc:
            self.lost = True
            self._on_damage(exc)
            return fallback

    def lookup(self, keys: Collection[str], now: float) -> dict[str, str]:
        return self.guard(lambda: self.inner.lookup(keys, now), {})

    def add_pages(self, keys: Iterable[str], kind: str, when: float) -> None:
        self.guard(lambda: self.inner.add_pages(keys, kind, when), None)

    def add_aliases(self, aliases: Mapping[str, str]) -> None:
        self.guard(lambda: self.inner.add_aliases(aliases), None)

    def ingested_files(self) -> set[DatasetFile]:
        return self.guard(self.inner.ingested_files, set())

    def add_articles(
        self, keys: Iterable[str], source: DatasetFile, copies: Mapping[str, str] | None = None
    ) -> None:
        self.guard(lambda: self.inner.add_articles(keys, source, copies), None)

    def stored(self, keys: Collection[str], hashes: Collection[str]) -> Stored:
        return self.guard(lambda: self.inner.stored(keys, hashes), Stored(set(), {}))

    def forget_files(self, paths: Iterable[str]) -> None:
        self.guard(lambda: self.inner.forget_files(paths), None)

    def prune(self, now: float) -> int:
        return self.guard(lambda: self.inner.prune(now), 0)

    def add_pending(self, links: Mapping[str, str], when: float) -> int:
        return self.guard(lambda: self.inner.add_pending(links, when), 0)

    def pending(self) -> list[PendingLink]:
        return self.guard(self.inner.pending, [])

    def count_attempts(self, keys: Iterable[str]) -> None:
        self.guard(lambda: self.inner.count_attempts(keys), None)

    def remove_pending(self, keys: Iterable[str]) -> None:
        self.guard(lambda: self.inner.remove_pending(keys), None)

    def record_readings(self, readings: Sequence[PageReading], keep: int) -> None:
        self.guard(lambda: self.inner.record_readings(readings, keep), None)

    def readings(self, sites: Collection[str] | None = None) -> dict[str, list[PageReading]]:
        return self.guard(lambda: self.inner.readings(sites), {})

    def site_watches(self) -> dict[str, SiteWatch]:
        return self.guard(self.inner.site_watches, {})

    def set_site_watch(self, site: str, watch: SiteWatch) -> None:
        self.guard(lambda: self.inner.set_site_watch(site, watch), None)

    def add_unread(self, pages: Iterable[UnreadPage]) -> None:
        self.guard(lambda: self.inner.add_unread(pages), None)

    def unread(self) -> list[UnreadPage]:
        return self.guard(self.inner.unread, [])

    def remove_unread(self, keys: Iterable[str]) -> None:
        self.guard(lambda: self.inner.remove_unread(keys), None)

    def remove_pages(self, keys: Iterable[str]) -> None:
        self.guard(lambda: self.inner.remove_pages(keys), None)

    def close(self) -> None:
        self.inner.close()


class IncrementalRun:
    """The state as one crawl uses it: opened and synced with the dataset when the spider
    opens, synced again and closed when it closes. Shared by the middlewares of a crawler."""

    def __init__(self, crawler: Crawler, config: IncrementalConfig) -> None:
        self.crawler = crawler
        self.config = config
        self._store: GuardedStore | None = None
        self._closing = False
        self._new_scratch()
        # Page observations (key -> kind), stored only when the run finishes: a run that
        # did not may not have followed their links (docs/faults.md, gap 3).
        self._observed: dict[str, str] = {}
        self._observed_responses: Counter[str] = Counter()
        self._close_hooks: list[Callable[[SeenStore | None], None]] = []
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def of(cls, crawler: Crawler) -> IncrementalRun:
        """The crawler's run, made by whichever middleware asks first."""
        run = _RUNS.get(crawler)
        if run is None:
            run = _RUNS[crawler] = cls(crawler, IncrementalConfig.from_settings(crawler.settings))
        return run

    @property
    def stats(self) -> StatsCollector:
        assert self.crawler.stats is not None
        return self.crawler.stats

    @property
    def opened(self) -> bool:
        return self._store is not None

    @property
    def store(self) -> SeenStore:
        if self._store is None:
            raise RuntimeError("the incremental state is used before the spider opened")
        return self._store

    # -- lifecycle -----------------------------------------------------------------------

    def open_store(self) -> tuple[SeenStore, str]:
        """The store this run uses, and how to name it in the log; StateError when it
        cannot be opened. The one place that picks the implementation (a distributed crawl
        overrides it with the shared one)."""
        config = self.config
        return SqliteSeenStore(config.state, recheck_days=config.recheck_days), str(config.state)

    def spider_opened(self) -> None:
        try:
            store, name, report, pruned = self._open_synced()
        except StateError as exc:
            logger.error("Incremental state unusable: %s", exc)
            self.stats.set_value("smn/error/state", 1)
            raise CloseSpider("state_error") from exc
        self._store = GuardedStore(store, self._state_lost)
        self._requeue_unread()
        if store.created:
            self.stats.set_value("smn/incremental/state_created", 1)
        logger.info(
            "Incremental state %s%s: %d dataset files (%d new, %d rows; %d gone), "
            "%d expired page observations dropped",
            name,
            " (rebuilt from the dataset)" if store.created else "",
            len(store.ingested_files()),
            report.ingested,
            report.rows,
            report.forgotten,
            pruned,
        )

    def _open_synced(self) -> tuple[SeenStore, str, SyncReport, int]:
        """The store, synced with the dataset and pruned, and its name. A store found
        damaged on the way is opened again: the file is moved aside and rebuilt."""
        store, name = self.open_store()
        try:
            return store, name, self._sync(store), store.prune(time.time())
        except StateDamaged as exc:
            store.close()
            logger.warning(
                "Incremental state %s is damaged (%s): moving it aside, rebuilding it now",
                name,
                exc.__cause__ or exc,
            )
        except BaseException:
            store.close()
            raise
        store, name = self.open_store()
        try:
            return store, name, self._sync(store), store.prune(time.time())
        except BaseException:
            store.close()
            raise

    def _requeue_unread(self) -> None:
        """Article pages an older extractor could not read go back to the frontier: this
        extractor may read them (their "not an article" observation is forgotten)."""
        stale = [p for p in self.store.unread() if p.extractor_version != EXTRACTOR_VERSION]
        if not stale:
            return
        keys = [p.key for p in stale]
        self.store.remove_pages(keys)
        self.store.add_pending({p.key: p.url for p in stale}, time.time())
        self.store.remove_unread(keys)
        self.stats.inc_value("smn/incremental/unread_requeued", len(stale))
        logger.info(
            "The extractor changed (now %s): %d article pages it could not read before are "
            "fetched again",
            EXTRACTOR_VERSION,
            len(stale),
        )

    def _state_lost(self, exc: StateDamaged) -> None:
        """The state turned out damaged during the run: the spider closes (state_error)."""
        self.stats.set_value("smn/error/state", 1)
        if self._closing:
            logger.error("Incremental state lost while the run closed: %s", exc)
            return
        logger.error(
            "Incremental state lost during the run, closing the spider (state_error): %s", exc
        )
        try:
            engine = self.crawler.engine
        except RuntimeError:
            return  # no crawl running (the run is driven directly)
        if engine is not None and engine.spider is not None:
            d = deferred_from_coro(engine.close_spider_async(reason="state_error"))
            d.addErrback(lambda f: logger.error("Closing the spider failed: %s", f.value))

    def at_close(self, hook: Callable[[SeenStore | None], None]) -> None:
        """Call ``hook`` when the spider closes, after this run's files are ingested and the
        frontier settled, before the store closes; with None when the state could not be
        used (never opened, or lost)."""
        self._close_hooks.append(hook)

    def _run_close_hooks(self, store: SeenStore | None) -> None:
        hooks, self._close_hooks = self._close_hooks, []
        for hook in hooks:
            hook(None if isinstance(store, GuardedStore) and store.lost else store)

    def spider_closed(self, reason: str) -> None:
        store = self._store
        if store is None:
            self._run_close_hooks(None)
            return
        self._closing = True
        try:
            if store.lost:
                logger.info("Incremental state: nothing of this run stored (it was lost)")
                return
            # The dataset writer (an item pipeline) has published this run's files by now:
            # ingesting them here saves the next run the work, and a crash before this
            # point only means the next run ingests them instead.
            report = store.guard(lambda: self._sync(store.inner), None)
            if report is None:
                return
            logger.info("Incremental state: %d files of this run ingested", report.ingested)
            self._store_observations(reason)
            self._settle_pending()
        finally:
            try:
                self._run_close_hooks(store)
            except Exception:
                logger.exception("A close hook of the incremental state failed")
            store.close()
            self._store = None
            self._closing = False
            self._forget_run()

    def _new_scratch(self) -> None:
        # One key per URL the run meets: on disk (crawler.util.scratch), not in memory.
        self._scratch = ScratchDb()
        self._skipped = self._scratch.key_set()
        # The frontier as this run touched it: keys it made or resumed pending, keys whose
        # page it answered, and keys of pages answered as articles (settled once stored).
        self._tried = self._scratch.key_set()
        self._answered = self._scratch.key_set()
        self._extracted = self._scratch.key_set()

    def _forget_run(self) -> None:
        self._observed.clear()
        self._observed_responses.clear()
        self._scratch.close()
        self._new_scratch()

    def _store_observations(self, reason: str) -> None:
        if reason != FINISHED:
            if self._observed:
                logger.info(
                    "Run closed with reason %r: %d page observations not stored (their links "
                    "may not all have been followed)",
                    reason,
                    len(self._observed),
                )
            return
        now = time.time()
        by_kind: dict[str, list[str]] = {}
        for key, kind in self._observed.items():
            by_kind.setdefault(kind, []).append(key)
        for kind, keys in by_kind.items():
            self.store.add_pages(keys, kind, now)
        for kind, count in self._observed_responses.items():
            self.stats.inc_value(f"smn/incremental/recorded/{kind}", count)

    def _settle_pending(self) -> None:
        """Remove the links whose pages this run answered from the frontier (whatever the
        close reason: their own links are pending by now); count an attempt for those it
        made or resumed and did not judge."""
        settled = self._scratch.key_set()
        settled.update_from(self._answered)
        now = time.time()
        # Settled only once the dataset holds the article (ingested just now). A few
        # thousand keys at a time: a run's keys are never all in memory at once.
        for chunk in chunks(self._extracted, _SETTLE_BATCH):
            settled.update(self.store.lookup(chunk, now).keys())
        for chunk in chunks(settled, _SETTLE_BATCH):
            self.store.remove_pending(chunk)
        for chunk in chunks(self._tried.difference(settled), _SETTLE_BATCH):
            self.store.count_attempts(chunk)

    def _sync(self, store: SeenStore) -> SyncReport:
        """Sync ``store`` (never the guarded one: a store lost half-way would have every
        dataset file read again for nothing)."""
        report = sync(store, current_generation(self.config.dataset))
        # Met first here (dedup off, or a file published during the run): the report names it.
        record_in_stats(self.stats, report.quarantined)
        for name in ("ingested", "rows", "forgotten", "unreadable"):
            value = getattr(report, name)
            if value:
                key = "rows_ingested" if name == "rows" else f"files_{name}"
                self.stats.inc_value(f"smn/incremental/{key}", value)
        return report

    # -- knowledge -----------------------------------------------------------------------

    def unknown(self, requests: Sequence[Request]) -> list[Request]:
        """The requests to send: those whose page the state does not know."""
        if not requests:
            return []
        keys = [_key(r.url) for r in requests]
        known = self.store.lookup({k for k in keys if k is not None}, time.time())
        kept = []
        for request, key in zip(requests, keys, strict=True):
            kind = known.get(key) if key is not None else None
            if kind is None:
                kept.append(request)
            else:
                self.skipped(request, kind, key)
        return kept

    def stored(self, keys: Collection[str], hashes: Collection[str]) -> Stored | None:
        """What the published dataset holds of these article keys and story hashes (as of
        the files the state ingested), or None when the state cannot say: not open, or lost
        (damaged) by this call or an earlier one; then the caller must read the dataset."""
        store = self._store
        if store is None or store.lost:
            return None
        return store.guard(lambda: store.inner.stored(keys, hashes), None)

    def known_kind(self, url: str) -> str | None:
        key = _key(url)
        if key is None:
            return None
        return self.store.lookup([key], time.time()).get(key)

    def skipped(self, request: Request, kind: str, key: str | None = None) -> None:
        key = key or _key(request.url) or request.url
        # Counted once per page, however many pages link to it (as the duplicate filter
        # would have dropped the repeats anyway).
        if not self._skipped.add(key):
            return
        self.stats.inc_value("smn/incremental/skipped")
        self.stats.inc_value(f"smn/incremental/skipped/{kind}")
        logger.debug("Skipped known %s <%s>", kind, request.url)

    def record_pages(self, response: Response, kind: str) -> None:
        """Remember a response's page (and the URLs that redirected to it) as ``kind``, in
        the state if the run finishes."""
        for key in _response_keys(response):
            self._observed[key] = kind
        self._observed_responses[kind] += 1

    # -- the frontier --------------------------------------------------------------------

    def add_pending(self, requests: Sequence[Request]) -> None:
        """Make the links of ``requests`` pending, before they are scheduled (one write)."""
        self._add_pending([r.url for r in requests])

    def _add_pending(self, urls: Iterable[str]) -> None:
        links: dict[str, str] = {}
        for url in urls:
            key = _key(url)
            if key is not None:
                links[key] = url
        for touched in (self._tried, self._answered, self._extracted):
            for key in touched.members(links) if links else ():
                del links[key]
        if not links:
            return
        self._tried.update(links)
        added = self.store.add_pending(links, time.time())
        if added:
            self.stats.inc_value("smn/incremental/pending_added", added)

    def answered(self, urls: Iterable[str], *, article: bool = False) -> None:
        """These URLs' page got a judgement (``article``: it held one, to be stored)."""
        (self._extracted if article else self._answered).update(_keys(urls))

    def redirected(self, sources: Iterable[str], target_url: str) -> None:
        """A redirect answered for ``sources``: the frontier moves to its target (whose
        follow-up request skips the spider middlewares)."""
        target = _key(target_url)
        if target is None:
            return
        self._add_pending([target_url])
        # A redirect to itself settles nothing.
        self._answered.update(_keys(sources) - {target})

    def resume_pending(self, in_scope: Callable[[str], bool] | None = None) -> list[str]:
        """The pending links' URLs to start with, oldest first, after dropping those the
        state knows (stored, judged) and giving up those tried long enough. Links
        ``in_scope`` rejects (sites this run does not crawl) stay as they are: the
        off-site filter would refuse them, which would settle them."""
        now = time.time()
        links = self.store.pending()
        if not links:
            return []
        known = self.store.lookup([link.key for link in links], now)
        if in_scope is not None:
            links = [link for link in links if link.key in known or in_scope(link.url)]
        recheck = self.config.recheck_days * DAY
        exhausted = [
            link
            for link in links
            if link.key not in known
            and link.attempts >= self.config.pending_attempts
            and now - link.added_at >= recheck
        ]
        for link in exhausted:
            logger.warning(
                "Giving up the pending link <%s>: still not fetched after %d runs, %.1f days",
                link.url,
                link.attempts,
                (now - link.added_at) / DAY,
            )
        gone = {link.key for link in exhausted}
        self.store.remove_pending(known.keys() | gone)
        if gone:
            self.stats.inc_value("smn/incremental/pending_dropped", len(gone))
        rest = sorted(
            (link for link in links if link.key not in known and link.key not in gone),
            key=lambda link: (link.added_at, link.key),
        )
        self._tried.update(link.key for link in rest)
        if rest:
            logger.info("Resuming %d pending links of earlier runs", len(rest))
        return [link.url for link in rest]

    def record_aliases(self, urls: Iterable[str], target_url: str) -> None:
        """Remember that ``urls`` lead to ``target_url``'s page."""
        target = _key(target_url)
        if target is None:
            return
        aliases = {k: target for k in _keys(urls) if k != target}
        if aliases:
            self.store.add_aliases(aliases)
            self.stats.inc_value("smn/incremental/recorded/alias", len(aliases))


# One run per crawler; weak, so a finished crawler takes its run with it.
_RUNS: weakref.WeakKeyDictionary[Crawler, IncrementalRun] = weakref.WeakKeyDictionary()


def is_entry(meta: dict[str, Any]) -> bool:
    """Whether a request (or its response) is an entry point of the crawl."""
    return bool(meta.get(ENTRY_META))
