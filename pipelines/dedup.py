"""DedupPipeline: one row per canonical URL in the whole dataset, syndicated copies marked.

* A record whose URL key (of its canonical URL, else its URL) is one the dataset or this run
  already holds (a stored row's ``url`` or ``canonical_url``) is dropped:
  ``articles/dropped/duplicate_url``. Incremental runs re-find listed articles all the time,
  so these drops are logged at DEBUG.
* A record whose ``content_hash`` is known under another URL is the same wire story on
  another site: it keeps its row (it is a page of that site) and gets ``duplicate_of`` =
  the url of the first copy seen: ``articles/syndicated``; when an earlier run stored the
  first copy, the URL that copy's row gives (its ``duplicate_of``, else its own URL). An
  empty hash never matches.

**What the dataset holds** is asked of the incremental state when incremental runs are on
(:meth:`crawler.incremental.store.SeenStore.stored`): the state ingests every published file
once, its article keys and its story copies with it (:mod:`crawler.incremental.sync`), so a
run reads nothing of the dataset it has seen before, whatever its size; each record costs
one query (one round trip for the Redis state of a distributed crawl). The state is synced
when the spider opens, after the pipelines open, so the source is chosen at the first
record: the state when the run has it open. Otherwise (``SMN_INCREMENTAL=0``, ``SMN_STATE``
empty, a state lost during the run) the pipeline reads the ``canonical_url``, ``url``,
``content_hash`` and ``duplicate_of`` columns of every dataset file at ``SMN_OUTPUT``
(column projection: the text columns are never read), at open when incremental runs are
off, else at the first record that needs it. Both give the same answers: a state rebuilt
from the dataset is the dataset's index.

This run's own rows are kept in a scratch set (their URL keys, and the first copy chosen for
each story), as are the keys of a file seed.

Concurrent runs writing the same dataset do not see each other's rows of the run (those of
a run that closed, and whose files the state ingested, they do see).

A damaged dataset file (truncated, empty, not Parquet, a foreign schema, a damaged key
column) is quarantined by whichever reads it first, the state's sync or the file seed
(:class:`crawler.dataset.keys.KeyReader`: moved to ``<dataset>.quarantine``, logged at ERROR,
counted in ``smn/dataset/quarantined`` and listed in ``smn/dataset/quarantined_files`` for the
run report), and the reading goes on with the rest. A dataset the file seed cannot list or
read at all (permissions, I/O errors), or a damaged file that cannot be moved, closes the
spider with reason ``output_error`` (exit code 4): going on without the seed would store
duplicates of every known URL (the state's sync raises those the same way: ``state_error``).

Memory: URLs and story hashes are held as 16-byte digests (a collision of two URLs has a
chance near 2^-128 per pair) in a temporary SQLite file (:mod:`crawler.util.scratch`), so the
crawler's memory does not grow with the dataset or the crawl; only the first copy of each
story keeps its URL, for ``duplicate_of``.

Stats: ``dedup/seed_rows`` (rows read by a file seed), ``dedup/state_lookups`` (records
asked of the state).

Settings:

* ``SMN_DEDUP_ENABLED`` (bool, default True): False disables the pipeline.
* ``SMN_OUTPUT`` (str, default ``output/articles``): the dataset; empty: no dataset, dedup
  within the run only.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter
from scrapy.exceptions import CloseSpider, DropItem, NotConfigured
from scrapy.utils.defer import deferred_from_coro

from crawler.dataset.files import published_files
from crawler.dataset.keys import KeyReader
from crawler.dataset.paths import dataset_dir
from crawler.dataset.quarantine import record_in_stats
from crawler.defaults import get_bool
from crawler.incremental.run import IncrementalConfig, IncrementalRun
from crawler.network.urls import url_key
from crawler.util.scratch import ScratchDb

if TYPE_CHECKING:
    from typing import NoReturn, Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class DedupPipeline:
    """Drop known canonical URLs; point syndicated copies at their first copy."""

    def __init__(self, crawler: Crawler, output: Path | None, *, incremental: bool) -> None:
        self.crawler = crawler
        self.output = output
        self.incremental = incremental
        self._scratch = ScratchDb()
        # digests of the URL keys stored by this run (and by the dataset, after a file seed)
        self.known_urls = self._scratch.bytes_set()
        # digest of a content_hash -> url of the first copy of the story
        self.first_copy = self._scratch.key_map()
        self._state: IncrementalRun | None = None
        self._seeded = False
        self._failed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not get_bool(settings, "SMN_DEDUP_ENABLED"):
            raise NotConfigured("SMN_DEDUP_ENABLED is off")
        try:
            IncrementalConfig.from_settings(settings)
            incremental = True
        except NotConfigured:
            incremental = False
        return cls(crawler, dataset_dir(settings), incremental=incremental)

    @property
    def stats(self) -> StatsCollector:
        assert self.crawler.stats is not None
        return self.crawler.stats

    def open_spider(self) -> None:
        if self.incremental:
            return  # the state opens after the pipelines: the first record chooses
        self._seed_or_close(at_open=True)

    def close_spider(self) -> None:
        self._scratch.close()

    # -- where the dataset's keys come from --------------------------------------------

    def _source(self) -> IncrementalRun | None:
        """The run whose state answers for the dataset, or None once the dataset's keys
        are in the scratch sets (read from the files)."""
        if self._state is None and not self._seeded and self.incremental:
            try:
                run = IncrementalRun.of(self.crawler)
            except NotConfigured:
                run = None
            if run is not None and run.opened:
                self._state = run
                logger.info("Dedup asks the incremental state what the dataset holds")
            else:
                self._seed_or_close()
        return self._state

    def _state_lost(self) -> None:
        """The state can no longer answer (damaged during the run): read the files."""
        self._state = None
        logger.warning("Dedup: the incremental state is lost, reading the dataset instead")
        self._seed_or_close()

    def _seed_or_close(self, *, at_open: bool = False) -> None:
        self._seeded = True
        if self.output is None or not self.output.is_dir():
            return
        try:
            self.seed(self.output)
        except Exception as exc:
            # Going on without the seed would store duplicates of every known URL.
            logger.error("Cannot read the dataset at %s to seed dedup: %s", self.output, exc)
            self.stats.set_value("smn/error/dedup_seed", 1)
            self._failed = True
            if at_open:
                raise CloseSpider("output_error") from exc
            self._close_spider()

    def _close_spider(self) -> None:
        """Close the spider with ``output_error`` from a record in flight (records that
        still come are dropped: there is no seed to tell their duplicates)."""
        try:
            engine = self.crawler.engine
        except RuntimeError:
            return  # no crawl running (the pipeline is driven directly)
        if engine is not None and engine.spider is not None:
            d = deferred_from_coro(engine.close_spider_async(reason="output_error"))
            d.addErrback(lambda f: logger.error("Closing the spider failed: %s", f.value))

    def seed(self, path: Path) -> None:
        """Add the URLs and story hashes of the dataset at ``path``."""
        # File by file with pyarrow.parquet: pyarrow.dataset would pull pandas into the
        # crawler process (50 MB), and a file missing a column only lacks that column.
        # Sorted paths: the same first copy whatever the directory order.
        rows = 0
        reader = KeyReader(path)
        try:
            for file in sorted(published_files(path), key=lambda f: f.path):
                keys = reader.read(file)  # None: gone, or damaged and quarantined
                if keys is None:
                    continue
                for batch, n in keys.batches():
                    self._seed_batch(batch, n)
                    rows += n
        finally:
            record_in_stats(self.stats, reader.quarantined)
        self.stats.set_value("dedup/seed_rows", rows)
        logger.info("Dedup seeded with %d rows, %d URLs from %s", rows, len(self.known_urls), path)

    def _seed_batch(self, data: dict[str, list[Any]], n: int) -> None:
        canonical, urls = data["canonical_url"], data["url"]
        hashes, dups = data["content_hash"], data["duplicate_of"]
        known: list[bytes] = []
        firsts: list[tuple[bytes, str]] = []
        for canon, url, digest, dup in zip(canonical, urls, hashes, dups, strict=True):
            known.extend(_url_digests(canon, url))
            # A stored copy names its original; the original names itself.
            first = dup or canon or url
            if digest and first:
                firsts.append((_digest(digest), first))
        self.known_urls.update(known)
        self.first_copy.update_missing(firsts)

    # -- records -------------------------------------------------------------------------

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        url = adapter.get("canonical_url") or adapter.get("url") or ""
        # http/https, www or not, trailing slash: one page, one row.
        key = url_key(url)
        if self._failed:
            raise DropItem("dedup has no seed (output_error): not stored")
        state = self._source()
        if _digest(key) in self.known_urls:
            self._duplicate(key)
        digest = adapter.get("content_hash") or ""
        first: str | None = None
        if digest:
            first = self.first_copy.get(_digest(digest))
        if state is not None:
            stored = state.stored([key], [digest] if digest and first is None else [])
            if stored is None:
                self._state_lost()
                return self.process_item(item)
            self.stats.inc_value("dedup/state_lookups")
            if key in stored.keys:
                self._duplicate(key)
            first = first or stored.first_copies.get(digest)
        self.known_urls.update(_url_digests(adapter.get("canonical_url"), adapter.get("url")))
        self.known_urls.add(_digest(key))
        if digest:
            first = self.first_copy.setdefault(_digest(digest), first or url)
            if first != url:
                adapter["duplicate_of"] = first
                self.stats.inc_value("articles/syndicated")
        return item

    def _duplicate(self, key: str) -> NoReturn:
        self.stats.inc_value("articles/dropped/duplicate_url")
        raise DropItem(f"duplicate_url: {key}", log_level="DEBUG")


def _url_digests(*urls: str | None) -> list[bytes]:
    """The digests of the URL keys of a row's ``canonical_url`` and ``url``."""
    out = []
    for url in urls:
        if url:
            try:
                out.append(_digest(url_key(url)))
            except ValueError:
                continue  # a malformed URL (bad IPv6 host) names no page
    return out
