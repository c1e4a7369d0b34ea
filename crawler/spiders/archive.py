"""``smn-archive``: the crawl of a re-extraction (run it with ``scrapy reextract``).

The archived pages (:mod:`crawler.reextract.plan`: the newest 200 HTML record of each page,
oldest fetch first, after ``--months``/``--sites``/``--stale``) are requests answered from
their WARC record (:mod:`crawler.downloadermiddlewares.archive_replay`) and read by the
crawl's own ``parse_page``, in the same extraction pool; their links are not followed. It
refuses to run without the offline download handler (``scrapy crawl smn-archive`` would
otherwise be a crawl that may reach the network).

Spider arguments (the ``reextract`` command sets them): ``source`` (the current dataset),
``months``, ``sites``, ``stale``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Self

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import UsageError
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.dataset.paths import archive_dir
from crawler.extract import EXTRACTOR_VERSION
from crawler.items import Article
from crawler.network.urls import url_key
from crawler.offline import OFFLINE_HANDLER
from crawler.protocol import ARCHIVED_RECORD_META, PAGE_KIND_META, PageKind
from crawler.reextract.plan import Selection, parse_months, parse_sites
from crawler.reextract.run import ReextractRun
from crawler.spiders.smn import SmnSpider

logger = logging.getLogger(__name__)

IN_FLIGHT = 64
"""Pages read but not yet done at once. start() waits for room: Scrapy takes a spider's
start requests as fast as they come whenever its downloader is busy, and the whole archive
would wait in the scheduler (with a disk queue, at a mkdir, rmdir and write per request:
a third of the run's time; in memory, memory growing with the archive)."""


class SmnArchiveSpider(SmnSpider):
    """Reads the archive's pages again; follows no link."""

    name = "smn-archive"

    def __init__(
        self,
        source: str | None = None,
        months: str | None = None,
        sites: str | None = None,
        stale: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        try:
            self.selection = Selection(
                months=parse_months(months),
                sites=parse_sites(sites),
                stale=bool(stale) and stale not in ("0", "false", "False"),
                extractor_version=EXTRACTOR_VERSION,
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        self.source_dir = Path(source) if source else None
        self.run: ReextractRun | None = None
        self._in_flight = 0
        self._room = asyncio.Event()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        handlers = crawler.settings.getdict("DOWNLOAD_HANDLERS")
        if handlers.get("http") != OFFLINE_HANDLER or handlers.get("https") != OFFLINE_HANDLER:
            raise UsageError(
                "the smn-archive spider runs only as 'scrapy reextract' (no network access)"
            )
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.run = ReextractRun(
            archive_dir(crawler.settings), spider.source_dir, spider.selection
        )
        spider.run.register(crawler)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        assert self.run is not None
        stats = self.crawler.stats
        assert stats is not None
        planned = self.run.open()
        stats.set_value("smn/reextract/pages_planned", planned)
        stats.set_value("smn/reextract/archived_pages", self.run.plan.archived_pages)
        stats.set_value("smn/reextract/warc_files", self.run.plan.warc_files)
        stats.set_value("smn/reextract/current_rows", self.run.source.rows)
        if self.run.plan.unindexed:
            stats.set_value("smn/reextract/unindexed_files", len(self.run.plan.unindexed))
        for page in self.run.plan.pages():
            while self._in_flight >= IN_FLIGHT:
                self._room.clear()
                await self._room.wait()
            self._in_flight += 1
            yield scrapy.Request(
                page.url,
                callback=self.parse_page,
                errback=self._not_read,
                dont_filter=True,  # one request per page key already
                meta={ARCHIVED_RECORD_META: (page.filename, page.offset, page.length)},
            )

    def _page_done(self) -> None:
        self._in_flight -= 1
        self._room.set()

    def _not_read(self, failure: Failure) -> None:
        """A damaged record (counted by the replay middleware), or any other failure."""
        self._page_done()

    async def parse_page(self, response: Response) -> AsyncIterator[Any]:
        article = False
        try:
            async for out in super().parse_page(response):
                article = article or isinstance(out, Article)
                yield out
        finally:
            self._page_done()
        kind = response.meta.get(PAGE_KIND_META)
        if article:
            what = "article"
        elif kind is None:
            what = "not_html"
        elif kind is PageKind.ERROR:
            what = "not_judged"
        else:
            what = "no_article"
        assert self.run is not None
        try:
            key = url_key(response.url)
        except ValueError:
            key = response.url
        self.run.note(key, what)
        self._inc("smn/reextract/pages_done")

    def _capped(self, links: list[str], url: str) -> list[str]:
        """No link is followed: the archive is the whole crawl."""
        return []
