"""The incremental state of a distributed crawl, shared through Redis."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Self

from crawler.distributed.coordination import DistributedCrawl
from crawler.distributed.store import RedisSeenStore, default_scope
from crawler.downloadermiddlewares.incremental import IncrementalRedirectMiddleware
from crawler.incremental.run import IncrementalRun
from crawler.incremental.store import SeenStore
from crawler.spidermiddlewares.incremental import IncrementalSpiderMiddleware

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


logger = logging.getLogger(__name__)


class RedisIncrementalRun(IncrementalRun):
    """The incremental state of a distributed crawl: :class:`RedisSeenStore` in the crawl's
    Redis, under ``<crawl>:state``, instead of the SQLite file."""

    def open_store(self) -> tuple[SeenStore, str]:
        crawl = DistributedCrawl.of(self.crawler)
        config = self.config
        store = RedisSeenStore.from_url(
            crawl.config.url,
            crawl.keys.state,
            recheck_days=config.recheck_days,
            scope=crawl.config.dataset_scope or default_scope(config.dataset),
            dataset=config.dataset,
        )
        return store, f"in Redis ({crawl.keys.state}, scope {store.scope})"


class RedisIncrementalSpiderMiddleware(IncrementalSpiderMiddleware):
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(RedisIncrementalRun.of(crawler))


class RedisIncrementalRedirectMiddleware(IncrementalRedirectMiddleware):
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(RedisIncrementalRun.of(crawler))
