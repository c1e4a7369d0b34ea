"""Spider middleware of incremental runs: drops links to pages earlier runs stored or found
not worth fetching, keeps the rest pending in the state, and records what each fetched page
turned out to be (its :class:`~crawler.protocol.PageKind`). See :mod:`crawler.incremental.run`.

Register it close to the spider (950), so links it drops are not counted by the other
middlewares first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any, Self

from itemadapter import ItemAdapter
from scrapy import Request
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.url import url_is_from_any_domain

from crawler.incremental.run import (
    BATCH,
    DEAD,
    OTHER,
    IncrementalRun,
    is_entry,
    response_urls,
)
from crawler.protocol import DEAD_STATUSES, PAGE_KIND_META, PageKind

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.spiders import Spider


def scope(spider: Spider | None) -> Callable[[str], bool] | None:
    """Whether a URL is on the spider's ``allowed_domains`` (None: every URL is)."""
    domains = [d for d in getattr(spider, "allowed_domains", None) or () if d]
    if not domains:
        return None
    return lambda url: url_is_from_any_domain(url, domains)


class IncrementalSpiderMiddleware:
    """Drops links to known pages; records what fetched pages turned out to be."""

    def __init__(self, run: IncrementalRun) -> None:
        self.run = run

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(IncrementalRun.of(crawler))

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """The spider's entry points, then the links earlier runs left pending."""
        # Read before the first entry point goes out, so that the links of this run's own
        # first pages are not among them (the state could not be opened: none).
        spider = self.run.crawler.spider
        urls = self.run.resume_pending(scope(spider)) if self.run.opened else []
        async for out in start:
            yield out
        if not urls or not self.run.opened:
            return
        make = getattr(spider, "request_for", None)
        requests = [make(url) if make is not None else Request(url) for url in urls]
        kept = self.run.unknown(requests)
        if kept:
            self.run.stats.inc_value("smn/incremental/pending_resumed", len(kept))
        for request in kept:
            yield request

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        batch: list[Request] = []
        items: list[Any] = []
        canonical: list[str] = []
        async for out in result:
            if isinstance(out, Request):
                if is_entry(out.meta):
                    yield out
                    continue
                batch.append(out)
                if len(batch) >= BATCH:
                    for request in self._unknown(batch):
                        yield request
                    batch = []
                continue
            if ItemAdapter.is_item(out):
                url = ItemAdapter(out).get("canonical_url")
                if isinstance(url, str) and url:
                    canonical.append(url)
                # Held until the page's links are pending: its row may be published at
                # once (a file rolled over or evicted), and a kill before the links are
                # would lose them for good (a stored article is never fetched again).
                items.append(out)
                continue
            yield out
        for request in self._unknown(batch):
            yield request
        for item in items:
            yield item
        # After the callback is done: the page kind is set while the page is parsed.
        self._observe(response, canonical)

    def _unknown(self, requests: Sequence[Request]) -> list[Request]:
        kept = self.run.unknown(requests)
        # Pending before they are scheduled: a run killed now leaves them for the next.
        self.run.add_pending(kept)
        return kept

    def _observe(self, response: Response, canonical: list[str]) -> None:
        kind = response.meta.get(PAGE_KIND_META)
        if kind == PageKind.ERROR:
            return  # not judged (an empty or binary answer, a dying worker): stays pending
        # The page got an answer the spider read: its links have been yielded.
        self.run.answered(response_urls(response), article=kind == PageKind.ARTICLE)
        if is_entry(response.meta):
            return  # always fetched: nothing to remember
        if kind == PageKind.OTHER:
            self.run.record_pages(response, OTHER)
        elif kind == PageKind.ARTICLE and canonical:
            # The fetched URL and its redirects lead to the canonical page. Known through
            # the dataset only: if this article's row is lost, so is what the alias says.
            sources = [response.url, *response.meta.get("redirect_urls", ())]
            self.run.record_aliases(sources, canonical[0])

    def process_spider_exception(self, response: Response, exception: Exception) -> None:
        # HttpErrorMiddleware (nearer the engine) has turned the response into HttpError;
        # returning None leaves the exception to it.
        if isinstance(exception, HttpError) and response.status in DEAD_STATUSES:
            self.run.answered(response_urls(response))
            if not is_entry(response.meta):
                self.run.record_pages(response, DEAD)
