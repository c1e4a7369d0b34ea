"""The add-on that turns ``scrapy crawl smn`` into a worker when ``SMN_REDIS_URL`` is set."""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING, Self

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import NotConfigured

from crawler.distributed.config import URL_SETTING, redis_url
from crawler.distributed.incremental import (
    RedisIncrementalRedirectMiddleware,
    RedisIncrementalSpiderMiddleware,
)
from crawler.distributed.worker import (
    DistributedParquetPipeline,
    DistributedWorker,
    SeedOnceMiddleware,
    SentLinksMiddleware,
    SharedRobotsTxtMiddleware,
)
from crawler.downloadermiddlewares.incremental import IncrementalRedirectMiddleware
from crawler.spidermiddlewares.incremental import IncrementalSpiderMiddleware
from pipelines.parquet_writer import ParquetDatasetPipeline

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings


_SWAPS: tuple[tuple[str, type, type], ...] = (
    ("ITEM_PIPELINES", ParquetDatasetPipeline, DistributedParquetPipeline),
    ("SPIDER_MIDDLEWARES", IncrementalSpiderMiddleware, RedisIncrementalSpiderMiddleware),
    ("DOWNLOADER_MIDDLEWARES", IncrementalRedirectMiddleware, RedisIncrementalRedirectMiddleware),
)


class RedisAddon:
    """Scrapy add-on (``ADDONS``): turns ``scrapy crawl smn`` into a worker of a distributed
    crawl when ``SMN_REDIS_URL`` is set; does nothing otherwise."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not redis_url(crawler.settings):
            raise NotConfigured  # without a message: Scrapy skips it silently
        return cls()

    @classmethod
    def update_pre_crawler_settings(cls, settings: BaseSettings) -> None:
        # Read by the crawl command before the crawler applies add-ons: the workers of one
        # crawl write one dataset, each under its own crawl id. At "project" priority, as
        # crawler/settings.py sets the lock's default there; -s SMN_DATASET_LOCK=1 wins.
        if redis_url(settings):
            settings.set("SMN_DATASET_LOCK", False, priority="project")

    def update_settings(self, settings: BaseSettings) -> None:
        url = redis_url(settings)
        if not url:
            return
        settings.set(URL_SETTING, url, priority="addon")
        settings.set("SCHEDULER", "crawler.distributed.RedisScheduler", priority="addon")
        # "project": crawler/settings.py names the single-machine filter at that priority.
        settings.set("DUPEFILTER_CLASS", "crawler.distributed.RedisDupeFilter", priority="project")
        settings.set("SCHEDULER_PERSIST", True, priority="addon")
        settings.set("REDIS_URL", url, priority="addon")
        for name, old, new in _SWAPS:
            # KeyError: the component is not enabled, nothing to replace
            with suppress(KeyError):
                settings.replace_in_component_priority_dict(name, old, new)
        with suppress(KeyError):
            settings.replace_in_component_priority_dict(
                "DOWNLOADER_MIDDLEWARES_BASE", RobotsTxtMiddleware, SharedRobotsTxtMiddleware
            )
        settings.set_in_component_priority_dict("SPIDER_MIDDLEWARES", SeedOnceMiddleware, 10)
        # Output passes spider middlewares from the highest number down: before the
        # incremental one (950).
        settings.set_in_component_priority_dict("SPIDER_MIDDLEWARES", SentLinksMiddleware, 990)
        settings.set_in_component_priority_dict("EXTENSIONS", DistributedWorker, 100)
