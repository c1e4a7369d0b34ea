"""ParquetDatasetPipeline: the crawl's articles into the Hive-partitioned dataset.

The item pipeline only checks items against the schema and converts them to rows; the files
(partitions, row groups, spill, publishing) are :mod:`crawler.dataset.writer`'s, which
documents the layout.

Settings: ``SMN_OUTPUT`` (the dataset directory; empty disables the pipeline),
``SMN_ROW_GROUP_SIZE``, ``SMN_FILE_MAX_ROWS``, ``SMN_MAX_OPEN_FILES``,
``SMN_MAX_BUFFERED_ROWS``, ``SMN_MAX_OPEN_ROW_GROUPS``, ``SMN_PARQUET_COMPRESSION``,
``SMN_CLEAN_STALE_TMP``, ``SMN_CRAWL_ID`` (README "Settings"; declared in
crawler/defaults.py).

Stats: the writer's, and ``articles/dropped/schema_error``. The published files are listed in
:attr:`ParquetDatasetPipeline.files_written`, for the run report.

An output directory that cannot be created or written closes the spider at once with
reason ``output_error`` (``NotConfigured`` would let the crawl run and write nothing).

A pipeline that shares the dataset with other writers without the dataset lock
(:attr:`ParquetDatasetPipeline.shares_dataset`: a distributed worker's) first makes sure the
dataset is migrated to generations (:func:`crawler.dataset.lock.join_generations`): a
compaction may then switch generations while it writes, and its files still land in the
current one (:mod:`crawler.dataset.writer`).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.exceptions import CloseSpider, DropItem, NotConfigured
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task

from crawler.crawl_id import crawl_id_of
from crawler.dataset.clock import clock_behind
from crawler.dataset.lock import join_generations
from crawler.dataset.pandas_probe import answer_pandas_probe
from crawler.dataset.paths import dataset_dir
from crawler.dataset.schema import SchemaError, check_row, to_row
from crawler.dataset.schema_check import OUTDATED_SCHEMA_STAT, outdated_files
from crawler.dataset.writer import DatasetWriter, OutputError
from crawler.defaults import get_bool, get_float
from crawler.downloadermiddlewares.warc import archive_of
from crawler.protocol import dataset_file_published, dataset_file_publishing

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class ParquetDatasetPipeline:
    """Item pipeline: checks each item against the schema and hands its row to the dataset
    writer (:class:`crawler.dataset.writer.DatasetWriter`), which publishes the files."""

    shares_dataset: ClassVar[bool] = False
    """Other processes publish into the same dataset without its lock (distributed workers):
    migrate it to generations before writing."""

    def __init__(self, crawler: Crawler, output: Path) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.output = output
        self.clean_stale_tmp = get_bool(settings, "SMN_CLEAN_STALE_TMP")
        self.publish_interval = get_float(settings, "SMN_PUBLISH_INTERVAL_SECONDS")
        self._timer: task.LoopingCall | None = None
        self.crawl_id = ""
        assert crawler.stats is not None
        # Made here (the limits are checked at once); the crawl id is known at open.
        self.writer = DatasetWriter.from_settings(
            output,
            crawler.stats,
            settings,
            on_failure=self._stop_crawl,
            on_published=self._published,
        )
        self.writer.before_publish = self._before_publish

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        output = dataset_dir(crawler.settings)
        if output is None:
            raise NotConfigured("SMN_OUTPUT is empty")
        pipeline = cls(crawler, output)
        # A crawl's clock: spider_opened comes only from a running engine (a pipeline
        # driven directly has no reactor to time it).
        crawler.signals.connect(pipeline._start_timer, signal=signals.spider_opened)
        return pipeline

    def _start_timer(self) -> None:
        if self.publish_interval > 0 and self._timer is None:
            self._timer = task.LoopingCall(self._publish_now)
            self._timer.start(self.publish_interval, now=False)

    def _publish_now(self) -> None:
        """Every open file published: a run killed from now on keeps what it wrote."""
        if not self.writer.failed:
            self.writer.publish_all()
            self.stats.inc_value("parquet/interval_publishes")

    @property
    def stats(self) -> StatsCollector:
        assert self.crawler.stats is not None
        return self.crawler.stats

    @property
    def files_written(self) -> list[Path]:
        """The files this run published, for the run report."""
        return self.writer.files_written

    # -- spider lifecycle ----------------------------------------------------------------

    def open_spider(self) -> None:
        self.crawl_id = self.writer.crawl_id = crawl_id_of(self.crawler)
        answer_pandas_probe()
        behind = clock_behind(self.output)
        if behind is not None:
            hours = behind.total_seconds() / 3600
            self.stats.set_value("smn/clock/behind_hours", round(hours, 1))
            logger.error(
                "The system clock (%s) is %.0f hours behind the newest fetch time in %s:"
                " nothing is written until the clock is right",
                dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                hours,
                self.output,
            )
            raise CloseSpider("clock_error")
        if self.shares_dataset:
            try:
                join_generations(self.output)
            except OSError as exc:
                logger.error("Cannot migrate the dataset %s to generations: %s", self.output, exc)
                self.stats.set_value("smn/error/output", 1)
                raise CloseSpider("output_error") from exc
        try:
            self.writer.open(clean_stale_tmp=self.clean_stale_tmp)
        except OutputError as exc:
            raise CloseSpider("output_error") from exc
        self._count_outdated_files()

    def _count_outdated_files(self) -> None:
        """Files of an older schema: the summary says to run ``scrapy compact``."""
        try:
            outdated = outdated_files(self.output)
        except OSError as exc:
            logger.warning("Cannot check the schema of the files in %s: %s", self.output, exc)
            return
        if outdated:
            self.stats.set_value(OUTDATED_SCHEMA_STAT, len(outdated))
            logger.warning(
                "%d files of %s are of an older schema (first: %s): `scrapy compact` rewrites them",
                len(outdated),
                self.output,
                outdated[0],
            )

    def close_spider(self) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        # Runs for every close reason: publishing what was written keeps every row
        # already accepted, and every published file is a complete Parquet file.
        self.writer.close()

    # -- items ---------------------------------------------------------------------------

    def process_item(self, item: Any) -> Any:
        try:
            row = to_row(item)
            check_row(row)
        except SchemaError as exc:
            url = ItemAdapter(item).get("url") if ItemAdapter.is_item(item) else None
            logger.error("Article does not fit the schema, dropped: %s: %s", url, exc)
            self.stats.inc_value("articles/dropped/schema_error")
            raise DropItem(f"schema_error: {exc}", log_level="DEBUG") from exc
        if not self.writer.write(row):
            raise DropItem("output_error: the dataset writer has failed", log_level="DEBUG")
        return item

    def _before_publish(self) -> None:
        """Before a dataset file is published: the WARC file its rows point into is
        published first (a published row names a published WARC file), and the components
        its rows depend on make them survive a crash (``dataset_file_publishing``)."""
        archive = archive_of(self.crawler)
        if archive is not None:
            archive.publish()
        self.crawler.signals.send_catch_log(dataset_file_publishing)

    def _published(self, path: Path) -> None:
        self.crawler.signals.send_catch_log(dataset_file_published, path=path)

    def _stop_crawl(self) -> None:
        """The writer failed: close the spider (a disk full or gone fails every row)."""
        try:
            engine = self.crawler.engine
        except RuntimeError:
            return  # no crawl running (the pipeline is driven directly)
        if engine.spider is not None:
            d = deferred_from_coro(engine.close_spider_async(reason="output_error"))
            d.addErrback(lambda f: logger.error("Closing the spider failed: %s", f.value))
