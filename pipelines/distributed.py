"""The dataset writer and the stories pipeline of a distributed crawl's worker
(crawler/distributed/, enabled by its add-on in place of
:class:`~pipelines.parquet_writer.ParquetDatasetPipeline` and
:class:`~pipelines.stories.StoriesPipeline`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem, NotConfigured

from crawler.dataset.files import partition_of
from crawler.distributed.coordination import DistributedCrawl
from crawler.distributed.stories import RedisBandStore
from crawler.incremental.run import IncrementalConfig
from crawler.network.urls import url_key
from crawler.stories.index import BandStore
from pipelines.parquet_writer import ParquetDatasetPipeline
from pipelines.stories import StoriesPipeline

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class DistributedParquetPipeline(ParquetDatasetPipeline):
    """The dataset writer of a worker: claims each record's canonical URL in Redis before
    writing it (a record another worker wrote is dropped: ``articles/dropped/claimed``),
    keeps ``duplicate_of`` consistent across workers, publishes its files at checkpoints,
    and discards its unpublished rows when the worker was declared dead.

    The dataset writer's :class:`~crawler.dataset.writer.PublishHook`: a file is published
    only while this worker still owns its claims, which become permanent then."""

    crawl: DistributedCrawl
    _claims: dict[str, list[str]]
    shares_dataset = True  # the workers of a crawl publish into one dataset, lock-free

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        pipeline = super().from_crawler(crawler)
        pipeline.crawl = DistributedCrawl.of(crawler)
        pipeline.crawl.writer = pipeline
        pipeline.writer.hook = pipeline
        # partition -> canonical keys claimed for its rows not yet in a published file
        pipeline._claims = {}
        return pipeline

    @property
    def failed(self) -> bool:
        """The writer hit an output error: rows were lost."""
        return self.writer.failed

    @property
    def unpublished(self) -> int:
        """Rows claimed and not yet in a published file."""
        return sum(map(len, self._claims.values()))

    def process_item(self, item: Any) -> Any:
        if not ItemAdapter.is_item(item) or self.writer.failed:
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

    # -- the writer's publish hook --------------------------------------------------------

    def before_publish(self, partition: str, final_path: Path) -> bool:
        """Publish a file (checkpoint, rollover, least recently used partition, close) only
        while this worker still owns its claims."""
        if not self.crawl.renew():
            return False
        # Recorded before the rename, cleared after: a worker killed in between leaves the
        # record, and the one that reaps it looks for the file (_settle_publishing).
        self.crawl.publishing(final_path, self._claims.get(partition, []))
        return True

    def after_publish(self, partition: str, final_path: Path) -> None:
        self.crawl.published(final_path, self._claims.pop(partition, []))

    def aborted(self, partition: str, rows: int) -> None:
        self._claims.pop(partition, None)
        self.stats.inc_value("smn/distributed/rows_discarded", rows)

    # -------------------------------------------------------------------------------------

    def checkpoint(self) -> None:
        """Publish every open file (new rows go to new files)."""
        self.writer.publish_all()

    def close_spider(self) -> None:
        if self.crawl.expired:
            self.discard()
        else:
            super().close_spider()

    def discard(self) -> None:
        """Abort the open files: this worker's leases and claims were given to others."""
        self.writer.abort_all()


class DistributedStoriesPipeline(StoriesPipeline):
    """The stories pipeline of a worker: the story index in the crawl's Redis, under the
    incremental state's prefix (kept across crawls; :mod:`crawler.distributed.stories`), so
    that copies extracted by different workers, in this crawl or a later one, share a story.
    With incremental runs off the index is the worker's own, in memory."""

    def open_store(self) -> tuple[BandStore, str]:
        try:
            IncrementalConfig.from_settings(self.crawler.settings)
        except NotConfigured:
            return super().open_store()
        crawl = DistributedCrawl.of(self.crawler)
        store = RedisBandStore.from_url(
            crawl.config.url, crawl.keys.state, keep_days=self.keep_days
        )
        return store, f"in Redis ({store.prefix})"
