"""The components a worker runs: seeding once per crawl, sent links, the worker
extension, the claiming dataset writer and the fixed robots.txt middleware."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Self

import redis
from itemadapter import ItemAdapter
from scrapy import Request, signals
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import DontCloseSpider, DropItem
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from crawler.dataset.files import partition_of
from crawler.distributed.coordination import DistributedCrawl
from crawler.network.urls import url_key
from crawler.protocol import ENTRY_META
from pipelines.parquet_writer import ParquetDatasetPipeline

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.robotstxt import RobotParser
    from scrapy.statscollectors import StatsCollector

    from pipelines.parquet_writer import _Partition


logger = logging.getLogger(__name__)


class SeedOnceMiddleware:
    """Spider middleware: of all the workers of a crawl, the first enqueues the spider's
    entry points (``start()``); the others start from the shared queue."""

    def __init__(self, crawl: DistributedCrawl) -> None:
        self.crawl = crawl

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(DistributedCrawl.of(crawler))

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        if not self.crawl.begin_seeding():
            logger.info("Crawl %r is seeded: not enqueuing entry points", self.crawl.config.crawl)
            return
        logger.info("Worker %s enqueues the crawl's entry points", self.crawl.worker)
        try:
            async for out in start:
                yield out
        except GeneratorExit:
            # Closed before it was done (shutdown): the flag goes when this worker leaves,
            # and the next worker to join seeds again (the duplicate filter keeps what was).
            raise
        except Exception:
            self.crawl.end_seeding()  # start() failed: the run says so (start_error)
            raise
        self.crawl.end_seeding()


class SentLinksMiddleware:
    """Spider middleware, nearest the spider: drops the links this worker already sent to
    the shared duplicate filter, before the other middlewares and the incremental lookup
    spend time on them (the scheduler would drop them anyway). The spider does the same
    for Scrapy's stock duplicate filter only."""

    def __init__(self, crawl: DistributedCrawl, stats: StatsCollector) -> None:
        self.crawl = crawl
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        return cls(DistributedCrawl.of(crawler), crawler.stats)

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        scheduler = self.crawl.scheduler
        dropped = 0
        async for out in result:
            if (
                scheduler is not None
                and isinstance(out, Request)
                and not out.dont_filter
                and scheduler.df.sent_before(scheduler.df.request_fingerprint(out))
            ):
                dropped += 1
                continue
            yield out
        if dropped:
            self.stats.inc_value("smn/distributed/links_sent_before", dropped)


class DistributedWorker:
    """Extension: the worker's heartbeat, its idle rule, the crawl's entry point count."""

    def __init__(self, crawl: DistributedCrawl) -> None:
        self.crawl = crawl

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        worker = cls(DistributedCrawl.of(crawler))
        crawler.signals.connect(worker.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(worker.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(worker.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(worker.response_received, signal=signals.response_received)
        return worker

    def spider_opened(self) -> None:
        self.crawl.stats.set_value("smn/distributed/worker", self.crawl.worker)
        self.crawl.start()

    def spider_idle(self) -> None:
        try:
            done = self.crawl.idle()
        except redis.RedisError as exc:
            logger.warning("Redis unavailable while idle (%s): waiting", exc)
            raise DontCloseSpider from exc
        if not done:
            raise DontCloseSpider

    def spider_closed(self) -> None:
        self.crawl.stop()

    def response_received(self, response: Response, request: Request) -> None:
        if request.meta.get(ENTRY_META) and 200 <= response.status < 300:
            self.crawl.entry_fetched()


class DistributedParquetPipeline(ParquetDatasetPipeline):
    """The dataset writer of a worker: claims each record's canonical URL in Redis before
    writing it (a record another worker wrote is dropped: ``articles/dropped/claimed``),
    keeps ``duplicate_of`` consistent across workers, publishes its files at checkpoints,
    and discards its unpublished rows when the worker was declared dead."""

    crawl: DistributedCrawl
    _claims: dict[str, list[str]]

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        pipeline = super().from_crawler(crawler)
        pipeline.crawl = DistributedCrawl.of(crawler)
        pipeline.crawl.writer = pipeline
        # partition -> canonical keys claimed for its rows not yet in a published file
        pipeline._claims = {}
        return pipeline

    @property
    def failed(self) -> bool:
        """The writer hit an output error: rows were lost."""
        return self._failed

    @property
    def unpublished(self) -> int:
        """Rows claimed and not yet in a published file."""
        return sum(map(len, self._claims.values()))

    def process_item(self, item: Any) -> Any:
        if not ItemAdapter.is_item(item) or self._failed:
            return super().process_item(item)
        adapter = ItemAdapter(item)
        url = adapter.get("canonical_url") or adapter.get("url") or ""
        key = url_key(url)
        claimed, first = self.crawl.claim(
            key, adapter.get("content_hash") or None, adapter.get("duplicate_of") or url
        )
        if claimed is None:
            self.stats.inc_value("articles/dropped/worker_expired")
            raise DropItem("worker_expired: another worker redoes this page", log_level="DEBUG")
        if not claimed:
            self.stats.inc_value("articles/dropped/claimed")
            raise DropItem(f"claimed: another worker wrote {url}", log_level="DEBUG")
        if first is not None and first != url:
            # Another copy of the story was the crawl's first (perhaps on another worker).
            if not adapter.get("duplicate_of"):
                self.stats.inc_value("articles/syndicated")
            adapter["duplicate_of"] = first
        elif first == url and adapter.get("duplicate_of"):
            # The crawl's first copy is this one: a worker that died claimed it first, and
            # this worker, redoing its page, saw another copy before it. That other copy
            # points here; pointing back would leave the story with no original.
            self.stats.inc_value("articles/syndicated", -1)
            adapter["duplicate_of"] = None
        # Claim and write in one synchronous call: a file holds the rows of every claim
        # recorded for its partition when it is published.
        claims = self._claims.setdefault(partition_of(adapter), [])
        claims.append(key)
        try:
            return super().process_item(item)
        except DropItem:
            claims.remove(key)  # not written (schema error): give the claim back
            self.crawl.unclaim(key)
            raise

    def _publish(self, part: _Partition) -> None:
        """Publish a file (checkpoint, rollover, least recently used partition, close):
        first make sure this worker still owns its claims, after publishing make them
        permanent."""
        if not self.crawl.renew() or part.file is None:
            self._abort(part)
            return
        claims = self._claims.pop(part.key, [])
        final = part.file.final_path
        # Recorded before the rename, cleared after: a worker killed in between leaves the
        # record, and the one that reaps it looks for the file (_settle_publishing).
        self.crawl.publishing(final, claims)
        super()._publish(part)
        self.crawl.published(final, claims)

    def checkpoint(self) -> None:
        """Publish every open file (new rows go to new files)."""
        super().close_spider()

    def close_spider(self) -> None:
        if self.crawl.expired:
            self.discard()
        else:
            super().close_spider()

    def discard(self) -> None:
        """Abort the open files: this worker's leases and claims were given to others."""
        for key in list(self._partitions):
            self._abort(self._partitions.pop(key))

    def _abort(self, part: _Partition) -> None:
        rows = len(part.rows) + part.file_rows
        self._abort_file(part)
        self._drop_rows(part)
        self._claims.pop(part.key, None)
        self.stats.inc_value("smn/distributed/rows_discarded", rows)


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy 2.19's ``RobotsTxtMiddleware`` with its waiters fixed.

    Requests for a host whose robots.txt is being fetched all await one Deferred; with the
    asyncio reactor each ``await`` converts it with ``Deferred.asFuture``, whose callback
    returns None, so only the first waiter gets the parser and the others get None,
    which the middleware reads as "no robots.txt": they are not checked. A single crawl
    rarely has several requests of a host waiting then; a worker joining a distributed
    crawl starts with a queue of links to every host, and fetched disallowed pages. Here
    each waiter gets its own Deferred, relayed without consuming the result.
    """

    async def robot_parser(self, request: Request) -> RobotParser | None:
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if not isinstance(pending, Deferred):
            return await super().robot_parser(request)
        waiter: Deferred[RobotParser | None] = Deferred()

        def relay(result: RobotParser | None) -> RobotParser | None:
            waiter.callback(result)
            return result

        pending.addCallback(relay)
        return await maybe_deferred_to_future(waiter)
