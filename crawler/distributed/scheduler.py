"""scrapy-redis 0.9.1 adapted to Scrapy 2.19: the scheduler, its leased queue and the
duplicate filter (see the package docstring)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Self

import redis
from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import CallLaterResult, call_later
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from crawler.distributed.config import LEASE_META
from crawler.distributed.coordination import DistributedCrawl, as_text

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from scrapy.spiders import Spider
    from scrapy.statscollectors import StatsCollector


logger = logging.getLogger(__name__)


class LeasedQueue(PriorityQueue):
    """scrapy-redis' priority queue (a sorted set of pickled requests, score -priority),
    pushed with the duplicate check in one round trip and popped into a lease."""

    def __init__(self, crawl: DistributedCrawl, spider: Spider) -> None:
        super().__init__(server=crawl.server, spider=spider, key=crawl.keys.requests)
        self.crawl = crawl

    def _encode_request(self, request: Request) -> bytes:
        data = request.to_dict(spider=self.spider)
        # A lease is this worker's: a request pushed again (a redirect) gets its own.
        data["meta"] = {k: v for k, v in data["meta"].items() if k != LEASE_META}
        encoded: bytes = self.serializer.dumps(data)
        return encoded

    def push_many(self, batch: Sequence[tuple[str, int, bytes]]) -> int:
        """Enqueue (fingerprint or "" for ``dont_filter``, score, encoded request) triples,
        those whose fingerprint is not in the duplicate filter; the number enqueued."""
        args = [value for triple in batch for value in triple]
        return int(self.crawl.push_script(keys=[self.crawl.keys.dupefilter, self.key], args=args))

    def push(self, request: Request) -> None:
        self.push_many([("", -request.priority, self._encode_request(request))])

    def pop(self, timeout: int = 0) -> Request | None:
        crawl = self.crawl
        if crawl.expired:
            return None
        result = crawl.pop_script(
            keys=[
                self.key,
                crawl.keys.leases(crawl.worker),
                crawl.keys.idle,
                crawl.keys.alive(crawl.worker),
            ],
            args=[crawl.worker],
        )
        if result is None:
            return None
        if isinstance(result, int):
            crawl.on_expired()
            return None
        lease, data = result
        request: Request = self._decode_request(data)
        crawl.leased(as_text(lease), request)
        return request


class RedisDupeFilter(RFPDupeFilter):
    """scrapy-redis' duplicate filter (a Redis set of fingerprints shared by the workers)
    with the crawler's request fingerprinter, hex-encoded."""

    def __init__(
        self,
        server: redis.Redis,
        key: str,
        fingerprint: Callable[[Request], bytes],
        stats: StatsCollector | None = None,
        debug: bool = False,
    ) -> None:
        super().__init__(server, key=key, debug=debug)
        self._fingerprint = fingerprint
        self._stats = stats
        self._sent: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        crawl = DistributedCrawl.of(crawler)
        return cls(
            crawl.server,
            crawl.keys.dupefilter,
            crawler.request_fingerprinter.fingerprint,
            crawler.stats,
            debug=crawler.settings.getbool("DUPEFILTER_DEBUG"),
        )

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self:
        raise NotConfigured("RedisDupeFilter is built from the crawler only")

    def request_fingerprint(self, request: Request) -> str:
        return self._fingerprint(request).hex()

    def seen(self, request: Request) -> bool:
        """Whether this worker has sent (or found) the request in the shared set; the
        shared set is not asked (a round trip per link)."""
        return self.sent_before(self.request_fingerprint(request))

    def sent_before(self, fingerprint: str) -> bool:
        """Whether this worker has added (or found) ``fingerprint`` in the shared set."""
        return fingerprint in self._sent

    def remember(self, fingerprint: str) -> None:
        self._sent.add(fingerprint)

    def request_seen(self, request: Request) -> bool:
        fingerprint = self.request_fingerprint(request)
        if fingerprint in self._sent:
            return True
        self._sent.add(fingerprint)
        return bool(self.server.sadd(self.key, fingerprint) == 0)

    def close(self, reason: str = "") -> None:
        # scrapy-redis deletes the set here: it is the crawl's, not this worker's.
        self._sent.clear()

    def log(self, request: Request, spider: Spider) -> None:
        if self._stats is not None:
            self._stats.inc_value("dupefilter/filtered")
        super().log(request, spider)


class RedisScheduler(Scheduler):
    """scrapy-redis' scheduler on the shared, leased queue (see the module docstring).

    Requests are pushed in batches: ``enqueue_request`` checks the fingerprints this worker
    sent already, then buffers the request; the buffer goes to Redis in one round trip at
    the end of the reactor turn (or at 500), before the next pop, and before a checkpoint
    releases the leases of the requests whose links they are. A request the shared filter
    finds a duplicate at that point is counted (``dupefilter/filtered``) but has already been
    reported as scheduled: no ``request_dropped`` signal for it."""

    BATCH = 500

    def __init__(
        self, crawl: DistributedCrawl, dupefilter: RedisDupeFilter, stats: StatsCollector
    ) -> None:
        super().__init__(
            server=crawl.server,
            persist=True,
            queue_key=crawl.keys.requests,
            dupefilter=dupefilter,
            dupefilter_key=crawl.keys.dupefilter,
        )
        self.crawl = crawl
        self.df: RedisDupeFilter = dupefilter
        self.stats = stats
        self.queue: LeasedQueue | None = None
        self._pending: list[tuple[str, int, bytes]] = []
        self._flush_call: CallLaterResult | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        dupefilter = RedisDupeFilter.from_crawler(crawler)
        return cls(DistributedCrawl.of(crawler), dupefilter, crawler.stats)

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self:
        raise NotConfigured("RedisScheduler is built from the crawler only")

    def open(self, spider: Spider) -> None:
        self.spider = spider
        self.queue = LeasedQueue(self.crawl, spider)
        self.crawl.scheduler = self
        queued = len(self.queue)
        if queued:
            logger.info("Joining crawl %r: %d requests queued", self.crawl.config.crawl, queued)

    def close(self, reason: str) -> None:
        self.crawl.finish(reason)

    def __len__(self) -> int:
        return (len(self.queue) if self.queue is not None else 0) + len(self._pending)

    def enqueue_request(self, request: Request) -> bool:
        assert self.queue is not None
        fingerprint = None if request.dont_filter else self.df.request_fingerprint(request)
        if fingerprint is not None:
            if self.df.sent_before(fingerprint):
                self.df.log(request, self.spider)
                return False
            self.df.remember(fingerprint)
        encoded = self.queue._encode_request(request)
        self._pending.append((fingerprint or "", -request.priority, encoded))
        if len(self._pending) >= self.BATCH:
            self.flush()
        elif self._flush_call is None:
            self._flush_call = call_later(0, self.flush)
        return True

    def flush(self) -> None:
        """Send the buffered requests to Redis (kept for the next try if that fails)."""
        if self._flush_call is not None:
            self._flush_call.cancel()  # nothing when it is this very call
            self._flush_call = None
        if not self._pending or self.queue is None:
            return
        batch, self._pending = self._pending, []
        try:
            added = self.queue.push_many(batch)
        except Exception:
            self._pending[:0] = batch
            raise
        self.stats.inc_value("scheduler/enqueued/redis", added)
        if len(batch) > added:
            self.stats.inc_value("dupefilter/filtered", len(batch) - added)

    def next_request(self) -> Request | None:
        assert self.queue is not None
        self.flush()
        request = self.queue.pop()
        if request is not None:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        return not self.crawl.expired and len(self) > 0
