"""The components a worker runs: seeding once per crawl, sent links, the worker
extension, the claiming dataset writer and the fixed robots.txt middleware."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Self

import redis
from scrapy import Request, signals
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from crawler.distributed.coordination import DistributedCrawl
from crawler.protocol import ENTRY_META

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.robotstxt import RobotParser


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
