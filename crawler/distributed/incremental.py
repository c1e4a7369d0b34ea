"""The incremental state of a distributed crawl, shared through Redis."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Self

from scrapy.exceptions import CloseSpider

from crawler.distributed.coordination import DistributedCrawl
from crawler.incremental import (
    IncrementalRedirectMiddleware,
    IncrementalRun,
    IncrementalSpiderMiddleware,
)
from crawler.incremental_redis import RedisSeenStore, default_scope
from crawler.incremental_state import StateError

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


logger = logging.getLogger(__name__)


class RedisIncrementalRun(IncrementalRun):
    """The incremental state of a distributed crawl: :class:`RedisSeenStore` in the crawl's
    Redis, under ``<crawl>:state``, instead of the SQLite file."""

    def spider_opened(self) -> None:
        crawl = DistributedCrawl.of(self.crawler)
        config = self.config
        try:
            store = RedisSeenStore.from_url(
                crawl.config.url,
                crawl.keys.state,
                recheck_days=config.recheck_days,
                scope=crawl.config.dataset_scope or default_scope(config.dataset),
                dataset=config.dataset,
            )
        except StateError as exc:
            logger.error("Incremental state unusable: %s", exc)
            self.stats.set_value("smn/error/state", 1)
            raise CloseSpider("state_error") from exc
        self._store = store
        if store.created:
            self.stats.set_value("smn/incremental/state_created", 1)
        report = self._sync()
        pruned = store.prune(time.time())
        logger.info(
            "Incremental state in Redis (%s, scope %s): %d dataset files (%d new, %d rows; "
            "%d gone), %d expired page observations dropped",
            crawl.keys.state,
            store.scope,
            len(store.ingested_files()),
            report.ingested,
            report.rows,
            report.forgotten,
            pruned,
        )


class RedisIncrementalSpiderMiddleware(IncrementalSpiderMiddleware):
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(RedisIncrementalRun.of(crawler))


class RedisIncrementalRedirectMiddleware(IncrementalRedirectMiddleware):
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(RedisIncrementalRun.of(crawler))
