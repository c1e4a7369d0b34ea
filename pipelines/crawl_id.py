"""CrawlIdPipeline: stamps every record with the run's id, the one place that does.

First of the pipelines, so dedup, the dataset writer and the ``-O`` feed all see the id
(:func:`crawler.crawl_id.crawl_id_of`: decided once, before the crawl starts). A record that
carries an id already keeps it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter

from crawler.crawl_id import crawl_id_of

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler


class CrawlIdPipeline:
    """Fills in ``crawl_id`` on items that have the field and no value."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if ItemAdapter.is_item(item):
            adapter = ItemAdapter(item)
            if "crawl_id" in adapter.field_names() and not adapter.get("crawl_id"):
                adapter["crawl_id"] = crawl_id_of(self.crawler)
        return item
