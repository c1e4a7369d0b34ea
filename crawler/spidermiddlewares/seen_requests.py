"""Spider middleware, nearest the spider: drops the links whose request the duplicate filter
has taken already, before the other middlewares and the incremental state spend time on
them (the scheduler would drop them anyway).

Pages link the same URLs over and over (navigation, sister sites, teasers): most links of a
page are requested already. The filter is asked through one method,
:class:`crawler.dupefilters.SeenRequests` (the project's filter and the distributed crawl's);
with another filter the middleware passes everything.

Stats: ``smn/links/requested_before`` (links dropped).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Self

from scrapy import Request

from crawler.dupefilters import SeenRequests

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response


class SeenRequestsMiddleware:
    """Drops requests the duplicate filter has taken already (``dont_filter`` ones pass)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._filter: SeenRequests | None = None
        self._resolved = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _seen_requests(self) -> SeenRequests | None:
        """The scheduler's filter, once the engine has one (the spider opened)."""
        if not self._resolved:
            self._resolved = True
            df = getattr(self.crawler.engine.scheduler, "df", None)
            self._filter = df if isinstance(df, SeenRequests) else None
        return self._filter

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        df = self._seen_requests()
        dropped = 0
        async for out in result:
            if df is not None and isinstance(out, Request) and not out.dont_filter and df.seen(out):
                dropped += 1
                continue
            yield out
        if dropped and self.crawler.stats is not None:
            self.crawler.stats.inc_value("smn/links/requested_before", dropped)
