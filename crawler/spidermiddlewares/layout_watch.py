"""Spider middleware: the per-site counts the layout watch judges (:mod:`crawler.outcome.
layout_watch`), taken from what the spider found each page to be.

For every page the spider read (its :data:`~crawler.protocol.PAGE_KIND_META` is set) that is
an article or has an article's URL shape: ``smn/site/<site>/article_pages``; for every article
record, ``articles``, ``recognised`` (read by a known layout, not the fallback) and
``field/<name>`` for each watched field it has. Pages the server did not really answer
(``PageKind.ERROR``: empty, binary, a dying worker) say nothing of the markup and are left out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Self

from crawler.extract import KNOWN_LAYOUTS
from crawler.items import Article
from crawler.network.urls import looks_like_article, site_domain
from crawler.outcome.layout_watch import WATCHED_FIELDS
from crawler.protocol import (
    ENTRY_ARTICLE_LINKS_META,
    PAGE_KIND_META,
    PAGE_LAYOUT_META,
    PageKind,
    site_stat,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector


class LayoutWatchCounts:
    """Counts article pages, known-layout reads and found fields per site."""

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        return cls(crawler.stats)

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
            self.stats.inc_value(site_stat(site, "entry_points"))
            if not links:
                self.stats.inc_value(site_stat(site, "entry_points_empty"))
        kind = response.meta.get(PAGE_KIND_META)
        if kind is not None:
            self._count(response.url, kind, response.meta.get(PAGE_LAYOUT_META), article)

    def _count(self, url: str, kind: str, layout: str | None, article: Article | None) -> None:
        if kind == PageKind.ERROR:
            return  # a server or worker fault (an empty or binary answer), not markup
        site = article.site if article is not None else site_domain(url)
        if site is None or (article is None and not looks_like_article(url)):
            return
        self.stats.inc_value(site_stat(site, "article_pages"))
        if article is None:
            return
        self.stats.inc_value(site_stat(site, "articles"))
        if layout in KNOWN_LAYOUTS:
            self.stats.inc_value(site_stat(site, "recognised"))
        for name in WATCHED_FIELDS:
            if getattr(article, name):
                self.stats.inc_value(site_stat(site, f"field/{name}"))
