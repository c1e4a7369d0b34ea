"""ReextractPipeline: a re-extracted record compared with the page's current row.

Only in a re-extraction (``scrapy reextract``; NotConfigured otherwise), after the stories
pipeline (300) and before the dataset writer (900). The page's current row is looked up in
the current dataset (:class:`crawler.reextract.source.SourceRows`, by dedup's key):

* no row: an article gained (``smn/reextract/articles_gained``);
* a row with the same ``content_hash``: the record keeps the row's ``duplicate_of``,
  ``story_id``, ``near_duplicate_of`` and ``near_duplicate_score``, which depend on which
  copy of a story came first (a re-extraction reads pages in another order than the crawls
  that found them did, and without the story index of the incremental state);
* then the record is compared with the row, every column but ``crawl_id``:
  ``smn/reextract/rows_changed`` or ``smn/reextract/rows_unchanged``.

Dedup itself is the crawl's, seeded from the (empty) new dataset: within a re-extraction a
page key is read once, so it drops nothing a crawl would keep.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter
from scrapy.exceptions import NotConfigured

from crawler.dataset.rows import normalised
from crawler.dataset.schema import article_schema, to_row
from crawler.reextract.run import ReextractRun, run_of
from crawler.reextract.source import KEPT_WHEN_UNCHANGED, row_digest, row_key
from crawler.stories.index import Assignment, BandStore
from crawler.stories.sqlite import SqliteBandStore
from pipelines.stories import StoriesPipeline

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler


class ReextractPipeline:
    """Keeps story fields of unchanged texts; counts rows changed and articles gained."""

    def __init__(self, crawler: Crawler, run: ReextractRun) -> None:
        self.crawler = crawler
        self.run = run
        self.names = article_schema().names

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        run = run_of(crawler)
        if run is None:
            raise NotConfigured("not a re-extraction")
        return cls(crawler, run)

    def process_item(self, item: Any) -> Any:
        if not ItemAdapter.is_item(item):
            return item
        stats = self.crawler.stats
        assert stats is not None
        adapter = ItemAdapter(item)
        current = self.run.source.get(row_key(adapter))
        if current is None:
            stats.inc_value("smn/reextract/articles_gained")
            return item
        if current.content_hash and current.content_hash == adapter.get("content_hash"):
            for name, value in zip(KEPT_WHEN_UNCHANGED, current.kept, strict=True):
                adapter[name] = value
        (row,) = normalised([to_row(item)])
        if row_digest(row, self.names) == current.digest:
            stats.inc_value("smn/reextract/rows_unchanged")
        else:
            stats.inc_value("smn/reextract/rows_changed")
        return item


class ReextractStoriesPipeline(StoriesPipeline):
    """The stories pipeline of a re-extraction (in place of the crawl's, at 300): its story
    index in a private temporary SQLite file (deleted when it closes or the process dies),
    not in memory (the incremental state is off, and an index in memory grows with every
    article of the archive: 560 MB at 50,000)."""

    def open_store(self) -> tuple[BandStore, str]:
        return SqliteBandStore(None, private=True), "in a temporary file"

    def story_of(
        self,
        adapter: ItemAdapter,
        url: str,
        signature: bytes | None,
        day: int,
        exact_of: str | None,
    ) -> Assignment:
        """A text that did not change keeps its row's story (:class:`ReextractPipeline`),
        and is filed in the index in that story: a changed copy of it then joins the story
        its row has, not one the re-extraction's order made up. No lookup: on an archive
        whose texts mostly did not change, this is most of the index's time."""
        run = run_of(self.crawler)
        current = run.source.get(row_key(adapter)) if run is not None else None
        if current is not None and current.content_hash == adapter.get("content_hash"):
            kept = dict(zip(KEPT_WHEN_UNCHANGED, current.kept, strict=True))
            story_id = kept["story_id"]
            if current.content_hash and isinstance(story_id, str) and story_id:
                given = Assignment(
                    story_id, kept["near_duplicate_of"], kept["near_duplicate_score"]
                )
                self.stats.inc_value("smn/reextract/stories_kept")
                if kept["duplicate_of"]:  # an exact copy: its original stands for it
                    return given
                return self._assign(url, signature, day, exact_of, given)
        return super().story_of(adapter, url, signature, day, exact_of)
