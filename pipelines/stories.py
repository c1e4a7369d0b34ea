"""StoriesPipeline: every record gets its ``story_id``; near copies name their first copy.

Runs after dedup (200: URL duplicates are dropped, ``duplicate_of`` is set) and before the
dataset writer (900). For each record it asks the story index (:mod:`crawler.stories.index`)
with the MinHash signature the extraction worker computed (``story_signature``; computed here
for a record that comes without one), its canonical URL and its day (``published_date``, else
the fetch date), and sets:

* ``story_id``: the story of the most similar earlier copy published within
  ``SMN_STORIES_WINDOW_DAYS`` whose similarity reaches ``SMN_STORIES_THRESHOLD``, else a new
  story (the hash of its own canonical URL). An exact copy (``duplicate_of``) always takes its
  original's story.
* ``near_duplicate_of`` and ``near_duplicate_score``: for a near copy only.

**Where the index lives**: in the incremental state when incremental runs are on (the state
file's ``story_*`` tables: :mod:`crawler.stories.sqlite`; Redis in a distributed crawl:
:class:`pipelines.distributed.DistributedStoriesPipeline`), so that a copy published days after
its original, in a later cron run or at another worker, joins its story; in memory otherwise
(the run's own copies only). Its entries are written before each dataset file is published
(``dataset_file_publishing``), so a crash never leaves a published row whose story the
index lost. It is opened on the first record, once the incremental state has
opened (and, if damaged, healed) the file, and entries added more than
``SMN_STORIES_KEEP_DAYS`` ago are pruned then. An index that fails during the run (a damaged
state, Redis gone) is logged once, counted (``smn/stories/index_errors``) and replaced by an
in-memory one for the rest of the run: rows still get a story, of this run only.

Stats: ``smn/stories/new``, ``smn/stories/near_copies``, ``smn/stories/exact_copies``.

Settings: ``SMN_STORIES``, ``SMN_STORIES_THRESHOLD``, ``SMN_STORIES_WINDOW_DAYS``,
``SMN_STORIES_KEEP_DAYS`` (crawler/defaults.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter
from scrapy.exceptions import NotConfigured

from crawler.defaults import get_bool, get_float
from crawler.incremental.run import IncrementalRun
from crawler.protocol import dataset_file_publishing
from crawler.stories.index import (
    Assignment,
    BandStore,
    MemoryBandStore,
    StoryIndex,
    day_of,
)
from crawler.stories.signature import signature_bytes
from crawler.stories.sqlite import SqliteBandStore

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

DAY = 86_400.0


class StoriesPipeline:
    """Give every record its story (see the module docstring)."""

    def __init__(
        self, crawler: Crawler, *, threshold: float, window_days: float, keep_days: float
    ) -> None:
        self.crawler = crawler
        self.threshold = threshold
        self.window_days = window_days
        self.keep_days = keep_days
        self._index: StoryIndex | None = None
        self._failed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not get_bool(settings, "SMN_STORIES"):
            raise NotConfigured("SMN_STORIES is off")
        threshold = get_float(settings, "SMN_STORIES_THRESHOLD")
        window = get_float(settings, "SMN_STORIES_WINDOW_DAYS")
        keep = get_float(settings, "SMN_STORIES_KEEP_DAYS")
        if not 0 < threshold <= 1:
            raise ValueError(f"SMN_STORIES_THRESHOLD must be in (0, 1], got {threshold}")
        if window < 0:
            raise ValueError(f"SMN_STORIES_WINDOW_DAYS must be >= 0, got {window}")
        if keep < window:
            raise ValueError(
                f"SMN_STORIES_KEEP_DAYS ({keep}) must be at least SMN_STORIES_WINDOW_DAYS"
                f" ({window}): a copy could not find an original pruned before its window ends"
            )
        pipeline = cls(crawler, threshold=threshold, window_days=window, keep_days=keep)
        crawler.signals.connect(pipeline.checkpoint, signal=dataset_file_publishing)
        return pipeline

    @property
    def stats(self) -> StatsCollector:
        assert self.crawler.stats is not None
        return self.crawler.stats

    # -- the index -----------------------------------------------------------------------

    def open_store(self) -> tuple[BandStore, str]:
        """The store of the index and how to name it: the incremental state's file when the
        run has one open, else memory. A distributed crawl overrides it (Redis)."""
        try:
            run = IncrementalRun.of(self.crawler)
        except NotConfigured:
            return MemoryBandStore(), "in memory (incremental runs are off)"
        if not run.opened:
            return MemoryBandStore(), "in memory (the incremental state is not open)"
        path = run.config.state
        return SqliteBandStore(path), f"in the state {path}"

    def index(self) -> StoryIndex:
        if self._index is None:
            try:
                store, name = self.open_store()
                pruned = store.prune(time.time() - self.keep_days * DAY)
            except Exception as exc:
                self._index_failed(exc)
                store, name, pruned = MemoryBandStore(), "in memory (the index failed)", 0
            logger.info("Story index %s (%d entries pruned)", name, pruned)
            self._index = StoryIndex(store, threshold=self.threshold, window_days=self.window_days)
        return self._index

    def _index_failed(self, exc: Exception) -> None:
        self.stats.inc_value("smn/stories/index_errors")
        if not self._failed:
            self._failed = True
            logger.error("Story index unusable (%s): stories are grouped within this run only", exc)

    def checkpoint(self) -> None:
        """Before a dataset file is published: its rows' story entries are written, so that
        a crash after it cannot leave a published row whose story the index lost (a later
        copy of it would start a story of its own)."""
        if self._index is None:
            return
        try:
            self._index.store.checkpoint()
        except Exception as exc:
            self._index_failed(exc)

    def close_spider(self) -> None:
        if self._index is not None:
            try:
                self._index.store.close()
            except Exception as exc:  # closing a damaged file or a lost connection
                logger.warning("Closing the story index: %s", exc)
            self._index = None

    # -- records -------------------------------------------------------------------------

    def process_item(self, item: Any) -> Any:
        if not ItemAdapter.is_item(item):
            return item
        adapter = ItemAdapter(item)
        url = adapter.get("canonical_url") or adapter.get("url") or ""
        signature = adapter.get("story_signature")
        if signature is None:
            signature = signature_bytes(adapter.get("text") or "")
        published = adapter.get("published_date")
        fetched = adapter.get("fetched_at")
        day = day_of(
            published if isinstance(published, dt.date) else None,
            fetched if isinstance(fetched, dt.datetime) else None,
        )
        exact_of = adapter.get("duplicate_of") or None
        story = self.story_of(adapter, url, signature, day, exact_of)
        adapter["story_id"] = story.story_id
        adapter["near_duplicate_of"] = story.near_duplicate_of
        adapter["near_duplicate_score"] = story.near_duplicate_score
        if "story_signature" in adapter:
            adapter["story_signature"] = None  # no further use; rows are buffered
        if exact_of is not None:
            self.stats.inc_value("smn/stories/exact_copies")
        elif story.near_duplicate_of is not None:
            self.stats.inc_value("smn/stories/near_copies")
        else:
            self.stats.inc_value("smn/stories/new")
        return item

    def story_of(
        self,
        adapter: ItemAdapter,
        url: str,
        signature: bytes | None,
        day: int,
        exact_of: str | None,
    ) -> Assignment:
        """The record's story (a re-extraction overrides it)."""
        return self._assign(url, signature, day, exact_of)

    def _assign(
        self,
        url: str,
        signature: bytes | None,
        day: int,
        exact_of: str | None,
        given: Assignment | None = None,
    ) -> Assignment:
        """Ask the index; with ``given``, file the record in that story."""
        now = time.time()

        def ask(index: StoryIndex) -> Assignment:
            if given is not None:
                return index.file(url, signature, day, given, now=now)
            return index.assign(url, signature, day, exact_of=exact_of, now=now)

        index = self.index()
        try:
            return ask(index)
        except Exception as exc:
            self._index_failed(exc)
            try:
                index.store.close()
            except Exception as error:
                logger.debug("Closing the failed story index: %s", error)
            self._index = StoryIndex(
                MemoryBandStore(), threshold=self.threshold, window_days=self.window_days
            )
            return ask(self._index)
