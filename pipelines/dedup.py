"""DedupPipeline: one row per canonical URL in the whole dataset, syndicated copies marked.

On open, the pipeline reads the ``canonical_url``, ``url``, ``content_hash`` and
``duplicate_of`` columns of the dataset at ``SMN_OUTPUT`` (column projection: the text
columns are never read), so a URL stored by any earlier run is not stored again.

* A record whose canonical URL is known (dataset or this run) is dropped:
  ``articles/dropped/duplicate_url``. Incremental runs re-find listed articles all the
  time, so these drops are logged at DEBUG.
* A record whose ``content_hash`` is known under another URL is the same wire story on
  another site: it keeps its row (it is a page of that site) and gets ``duplicate_of`` =
  the url of the first copy seen: ``articles/syndicated``. An empty hash never matches.

Concurrent runs writing the same dataset do not see each other's rows of the run.

A damaged dataset file (truncated, empty, not Parquet, a foreign schema, a damaged key
column) is quarantined while seeding (:class:`crawler.dataset.keys.KeyReader`: moved to
``<dataset>.quarantine``, logged at ERROR, counted in ``smn/dataset/quarantined`` and listed
in ``smn/dataset/quarantined_files`` for the run report) and the seed goes on with the rest.
A dataset that cannot be listed or read at all (permissions, I/O errors), or a damaged file
that cannot be moved, closes the spider with reason ``output_error`` (exit code 4): going on
without the seed would store duplicates of every known URL.

Memory: the seed is the whole dataset, read again by every run; URLs and story hashes are
held as 16-byte digests (a collision of two URLs has a chance near 2^-128 per pair) in a
temporary SQLite file (:mod:`crawler.util.scratch`), so the crawler's memory does not grow with
the dataset or the crawl; only the first copy of each story keeps its URL, for
``duplicate_of``.

Settings:

* ``SMN_DEDUP_ENABLED`` (bool, default True): False disables the pipeline.
* ``SMN_OUTPUT`` (str, default ``output/articles``): the dataset to seed from; empty: no
  seeding, dedup within the run only.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter
from scrapy.exceptions import CloseSpider, DropItem, NotConfigured

from crawler.dataset.files import published_files
from crawler.dataset.keys import KeyReader
from crawler.dataset.paths import dataset_dir
from crawler.dataset.quarantine import record_in_stats
from crawler.defaults import get_bool
from crawler.network.urls import url_key
from crawler.util.scratch import ScratchDb

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class DedupPipeline:
    """Drop known canonical URLs; point syndicated copies at their first copy."""

    def __init__(self, crawler: Crawler, output: Path | None) -> None:
        self.crawler = crawler
        self.output = output
        self._scratch = ScratchDb()
        # digests of the canonical URL keys stored or seen
        self.known_urls = self._scratch.bytes_set()
        # digest of a content_hash -> url of the first copy of the story
        self.first_copy = self._scratch.key_map()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not get_bool(settings, "SMN_DEDUP_ENABLED"):
            raise NotConfigured("SMN_DEDUP_ENABLED is off")
        return cls(crawler, dataset_dir(settings))

    def open_spider(self) -> None:
        if self.output is None or not self.output.is_dir():
            return
        try:
            self.seed(self.output)
        except Exception as exc:
            # Going on without the seed would store duplicates of every known URL.
            logger.error("Cannot read the dataset at %s to seed dedup: %s", self.output, exc)
            assert self.crawler.stats is not None
            self.crawler.stats.set_value("smn/error/dedup_seed", 1)
            raise CloseSpider("output_error") from exc

    def close_spider(self) -> None:
        self._scratch.close()

    def seed(self, path: Path) -> None:
        """Add the URLs and story hashes of the dataset at ``path``."""
        # File by file with pyarrow.parquet: pyarrow.dataset would pull pandas into the
        # crawler process (50 MB), and a file missing a column only lacks that column.
        # Sorted paths: the same first copy whatever the directory order.
        rows = 0
        reader = KeyReader(path)
        assert self.crawler.stats is not None
        try:
            for file in sorted(published_files(path), key=lambda f: f.path):
                keys = reader.read(file)  # None: gone, or damaged and quarantined
                if keys is None:
                    continue
                for batch, n in keys.batches():
                    self._seed_batch(batch, n)
                    rows += n
        finally:
            record_in_stats(self.crawler.stats, reader.quarantined)
        self.crawler.stats.set_value("dedup/seed_rows", rows)
        logger.info("Dedup seeded with %d rows, %d URLs from %s", rows, len(self.known_urls), path)

    def _seed_batch(self, data: dict[str, list[Any]], n: int) -> None:
        canonical, urls = data["canonical_url"], data["url"]
        hashes, dups = data["content_hash"], data["duplicate_of"]
        known: list[bytes] = []
        firsts: list[tuple[bytes, str]] = []
        for canon, url, digest, dup in zip(canonical, urls, hashes, dups, strict=True):
            if canon or url:
                known.append(_digest(url_key(canon or url)))
            # A stored copy names its original; the original names itself.
            first = dup or canon or url
            if digest and first:
                firsts.append((_digest(digest), first))
        self.known_urls.update(known)
        self.first_copy.update_missing(firsts)

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        url = adapter.get("canonical_url") or adapter.get("url") or ""
        # http/https, www or not, trailing slash: one page, one row.
        key = url_key(url)
        stats = self.crawler.stats
        assert stats is not None
        if not self.known_urls.add(_digest(key)):
            stats.inc_value("articles/dropped/duplicate_url")
            raise DropItem(f"duplicate_url: {key}", log_level="DEBUG")
        digest = adapter.get("content_hash")
        if digest:
            first = self.first_copy.setdefault(_digest(digest), url)
            if first != url:
                adapter["duplicate_of"] = first
                stats.inc_value("articles/syndicated")
        return item
