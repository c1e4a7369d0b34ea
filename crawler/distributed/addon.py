"""The add-on that turns ``scrapy crawl smn`` into a worker when ``SMN_REDIS_URL`` is set.

Registered in ``ADDONS`` for every crawl, so this module imports nothing of Redis: the
components it enables are named by their dotted paths, and only a crawl with
``SMN_REDIS_URL`` set loads them (and ``redis``, ``scrapy_redis`` with them).
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING, Self

from scrapy.exceptions import NotConfigured
from scrapy.utils.misc import load_object

from crawler.distributed.config import URL_SETTING, redis_url

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

_HERE = "crawler.distributed"
# (setting, the single-process component, the worker's): replaced where enabled.
_SWAPS: tuple[tuple[str, str, str], ...] = (
    (
        "ITEM_PIPELINES",
        "pipelines.parquet_writer.ParquetDatasetPipeline",
        "pipelines.distributed.DistributedParquetPipeline",
    ),
    (
        "ITEM_PIPELINES",
        "pipelines.stories.StoriesPipeline",
        "pipelines.distributed.DistributedStoriesPipeline",
    ),
    (
        "SPIDER_MIDDLEWARES",
        "crawler.spidermiddlewares.incremental.IncrementalSpiderMiddleware",
        f"{_HERE}.incremental.RedisIncrementalSpiderMiddleware",
    ),
    (
        "DOWNLOADER_MIDDLEWARES",
        "crawler.downloadermiddlewares.incremental.IncrementalRedirectMiddleware",
        f"{_HERE}.incremental.RedisIncrementalRedirectMiddleware",
    ),
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
        # crawl write one dataset, each under its own crawl id. -s SMN_DATASET_LOCK=1 wins.
        if redis_url(settings):
            settings.set("SMN_DATASET_LOCK", False, priority="project")

    def update_settings(self, settings: BaseSettings) -> None:
        url = redis_url(settings)
        if not url:
            return
        settings.set(URL_SETTING, url, priority="addon")
        # "project": crawler/settings.py names the single-machine scheduler and filter at
        # that priority.
        settings.set("SCHEDULER", f"{_HERE}.scheduler.RedisScheduler", priority="project")
        settings.set("DUPEFILTER_CLASS", f"{_HERE}.scheduler.RedisDupeFilter", priority="project")
        settings.set("SCHEDULER_PERSIST", True, priority="addon")
        settings.set("REDIS_URL", url, priority="addon")
        swaps = (
            *_SWAPS,
            (
                "DOWNLOADER_MIDDLEWARES_BASE",
                "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware",
                f"{_HERE}.worker.SharedRobotsTxtMiddleware",
            ),
        )
        for name, old, new in swaps:
            # KeyError: the component is not enabled, nothing to replace
            with suppress(KeyError):
                settings.replace_in_component_priority_dict(
                    name, load_object(old), load_object(new)
                )
        worker = f"{_HERE}.worker"
        spider_mws = "SPIDER_MIDDLEWARES"
        settings.set_in_component_priority_dict(
            spider_mws, load_object(f"{worker}.SeedOnceMiddleware"), 10
        )
        settings.set_in_component_priority_dict(
            "EXTENSIONS", load_object(f"{worker}.DistributedWorker"), 100
        )
