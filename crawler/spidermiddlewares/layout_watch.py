"""Spider middleware: what the layout watch (:mod:`crawler.outcome.layout_watch`) judges,
taken from what the spider found each page to be, and the judgement at the close.

For every page the spider read (its :data:`~crawler.protocol.PAGE_KIND_META` is set) that is
an article or has an article's URL shape, per site (``smn/site/<site>/...``):
``article_pages``; for every article record, ``articles``, ``recognised`` (read by a known
layout, not the fallback) and ``field/<name>`` for each watched field it has; ``unread`` for
a page at an article URL that gave no article (listed with its reason in ``smn/watch/unread``
and kept in the state until a run reads it). Each such page is also a
:class:`~crawler.incremental.watch.PageReading` of the site's window. Entry points count as
``entry_points`` and, when they link no article page, ``entry_points_empty``.

Pages the server did not really answer (``PageKind.ERROR``: empty, binary, a dying worker)
say nothing of the markup and are left out.

At the close (through the incremental run, before the state closes: the window and each
site's watch state live there; without a state, over the run's own pages) every site with
evidence or a stored state is judged (:func:`~crawler.outcome.layout_watch.judge_site`),
its new state stored, and the verdicts put in the stats (``smn/watch/verdicts``).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.crawl_id import whole_run_of
from crawler.extract import EXTRACTOR_VERSION, KNOWN_LAYOUTS
from crawler.incremental.run import IncrementalRun
from crawler.incremental.watch import PageReading, SiteWatch, UnreadPage
from crawler.items import Article
from crawler.network.urls import looks_like_article, site_domain, url_key
from crawler.outcome.layout_watch import (
    UNREAD_LISTED,
    UNREAD_STAT,
    VERDICTS_STAT,
    WATCHED_FIELDS,
    LayoutRules,
    judge_site,
    site_counts,
)
from crawler.outcome.stats import add_listed
from crawler.protocol import (
    ENTRY_ARTICLE_LINKS_META,
    PAGE_FIELDS_META,
    PAGE_KIND_META,
    PAGE_LAYOUT_META,
    PAGE_REASON_META,
    PageKind,
    site_stat,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector

    from crawler.incremental.store import SeenStore

logger = logging.getLogger(__name__)


class LayoutWatchCounts:
    """Counts and remembers article pages per site; judges every site at the close."""

    def __init__(self, crawler: Crawler, rules: LayoutRules) -> None:
        assert crawler.stats is not None
        self.crawler = crawler
        self.stats: StatsCollector = crawler.stats
        self.rules = rules
        # The newest pages of each site: only a window's worth can matter.
        self.readings: dict[str, deque[PageReading]] = {}
        self.unread: dict[str, UnreadPage] = {}
        self.read_keys: set[str] = set()
        """Pages read that the state listed as unread (only those: a set of every page read
        would grow with the run, 100,000 keys in a re-extraction of the archive)."""
        self.entry_sites: set[str] = set()
        self.run: IncrementalRun | None = None
        self._stored_unread: frozenset[str] | None = None
        self.started = time.time()
        """When this crawl began: a site state stored since, under its run's id, is that of
        another worker of the run (see :func:`~crawler.outcome.layout_watch.judge_site`)."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        watch = cls(crawler, LayoutRules.from_settings(crawler.settings))
        try:
            run = IncrementalRun.of(crawler)
        except NotConfigured:
            crawler.signals.connect(watch.spider_closed, signal=signals.spider_closed)
        else:
            watch.run = run
            run.at_close(watch.judge)
        return watch

    def stored_unread(self) -> frozenset[str]:
        """The keys of the pages the state listed as unread when the run began."""
        if self._stored_unread is None:
            keys: frozenset[str] = frozenset()
            if self.run is not None and self.run.opened:
                try:
                    keys = frozenset(p.key for p in self.run.store.unread())
                except Exception as exc:  # a damaged state: healed and judged at the close
                    logger.debug("The state's unread pages could not be read: %s", exc)
                    return keys
            self._stored_unread = keys
        return self._stored_unread

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        article: Article | None = None
        async for out in result:
            if isinstance(out, Article):
                article = out
            yield out
        links = response.meta.get(ENTRY_ARTICLE_LINKS_META)
        site = site_domain(response.url)
        if links is not None and site is not None:
            # An entry point that answers but links no article page: the site changed.
            self.entry_sites.add(site)
            self.stats.inc_value(site_stat(site, "entry_points"))
            if not links:
                self.stats.inc_value(site_stat(site, "entry_points_empty"))
        kind = response.meta.get(PAGE_KIND_META)
        if kind is not None:
            self._count(response, kind, article)

    def _count(self, response: Response, kind: str, article: Article | None) -> None:
        if kind == PageKind.ERROR:
            return  # a server or worker fault (an empty or binary answer), not markup
        url = response.url
        site = article.site if article is not None else site_domain(url)
        if site is None or (article is None and not looks_like_article(url)):
            return
        try:
            key = url_key(url)
        except ValueError:
            return
        self.stats.inc_value(site_stat(site, "article_pages"))
        layout = response.meta.get(PAGE_LAYOUT_META)
        known = article is not None and layout in KNOWN_LAYOUTS
        missing = tuple(n for n in WATCHED_FIELDS if article is None or not getattr(article, n))
        now = time.time()
        window = self.readings.setdefault(site, deque(maxlen=self.rules.window))
        window.append(
            PageReading(
                site=site,
                key=key,
                seen_at=now,
                run=whole_run_of(self.crawler),
                known=known,
                article=article is not None,
                layout=layout if isinstance(layout, str) else None,
                missing=missing,
                implausible=tuple(response.meta.get(PAGE_FIELDS_META) or ()),
            )
        )
        if article is None:
            self._unread(key, url, site, str(response.meta.get(PAGE_REASON_META) or kind), now)
            return
        if key in self.stored_unread():
            self.read_keys.add(key)
        self.stats.inc_value(site_stat(site, "articles"))
        if known:
            self.stats.inc_value(site_stat(site, "recognised"))
            self.stats.inc_value(site_stat(site, f"layout/{layout}"))
        for name in WATCHED_FIELDS:
            if name not in missing:
                self.stats.inc_value(site_stat(site, f"field/{name}"))

    def _unread(self, key: str, url: str, site: str, reason: str, now: float) -> None:
        self.stats.inc_value(site_stat(site, "unread"))
        logger.info("Article page gave no article (%s): <%s>", reason, url)
        if key not in self.unread:
            self.unread[key] = UnreadPage(key, url, site, reason, EXTRACTOR_VERSION, now, now)
        entry = {"url": url, "site": site, "reason": reason}
        add_listed(self.stats, UNREAD_STAT, entry, UNREAD_LISTED)

    # -- the close -------------------------------------------------------------------------

    def spider_closed(self) -> None:
        self.judge(None)

    def judge(self, store: SeenStore | None) -> None:
        """Judge every site with evidence or a stored state; store the new states."""
        now = time.time()
        run_id = whole_run_of(self.crawler)  # a distributed crawl's workers judge one run
        readings = [r for window in self.readings.values() for r in window]
        counts = site_counts(self.stats.get_stats(), self.rules)
        if store is not None:
            store.add_unread(self.unread.values())
            # Read now (by this run or an earlier one's fetch of the same page).
            store.remove_unread(self.read_keys - self.unread.keys())
            store.record_readings(readings, self.rules.window)
            before = store.site_watches()
            fired = {site for site, watch in before.items() if watch.fired}
            sites = set(self.readings) | self.entry_sites | fired
            windows = store.readings(sites)
        else:
            before = {}
            sites = set(self.readings) | self.entry_sites
            windows = {site: list(window) for site, window in self.readings.items()}
        verdicts = {}
        for site in sorted(sites):
            old = before.get(site, SiteWatch())
            verdict = judge_site(
                site,
                windows.get(site, []),
                old,
                counts.get(site),
                run_id,
                now,
                self.rules,
                started=self.started,
            )
            if store is not None and verdict.watch != old:
                store.set_site_watch(site, verdict.watch)
            if verdict.fired:
                logger.warning("Layout watch fired: %s", verdict.describe())
            elif verdict.watch.fired:
                logger.info("Layout watch (acknowledged): %s", verdict.describe())
            verdicts[site] = verdict.as_dict()
        self.stats.set_value(VERDICTS_STAT, verdicts)
