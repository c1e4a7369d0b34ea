"""ValidationPipeline: drop records that are not articles, fix what can be fixed safely.

Runs first, so later pipelines (dedup, the dataset writer) and the feed exports only see
records that fit the schema.

Drops (``DropItem``), counted in the stats as ``articles/dropped/<reason>``:

* ``no_url``: url empty.
* ``no_title``: title missing or only whitespace.
* ``no_text``: text missing or only whitespace.
* ``schema_error``: any other mismatch with :func:`crawler.dataset.schema.article_schema`
  (wrong type, unknown field, null in a non-nullable field).

Fixes, counted as ``articles/fixed/<reason>``:

* ``future_date``: ``published_date`` after the fetch date (UTC) plus the tolerance is
  set to None: the field is documented as "never after the fetch date", and a wrong
  date would put the row in the wrong partition and the wrong day of the analysts'
  per-day counts.

Settings:

* ``SMN_VALIDATION_ENABLED`` (bool, default True): False disables the pipeline.
* ``SMN_FUTURE_DATE_TOLERANCE_DAYS`` (int, default 0): days a published_date may be
  ahead of the UTC fetch date. A dateline's local date (Beijing, Sydney) can be one
  day ahead of UTC; set 1 to keep those dates rather than blank them.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem, NotConfigured

from crawler.dataset.schema import SchemaError, check_row, to_row
from crawler.defaults import get_bool, get_int

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


def _blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()


def _fetch_date(fetched_at: Any) -> dt.date:
    if isinstance(fetched_at, dt.datetime):
        if fetched_at.tzinfo is not None:
            fetched_at = fetched_at.astimezone(dt.UTC)
        return fetched_at.date()
    return dt.datetime.now(dt.UTC).date()


class ValidationPipeline:
    """Drop records without url/title/text or not fitting the schema; blank future dates."""

    def __init__(self, crawler: Crawler, tolerance_days: int = 0) -> None:
        self.crawler = crawler
        self.tolerance = dt.timedelta(days=tolerance_days)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not get_bool(settings, "SMN_VALIDATION_ENABLED"):
            raise NotConfigured("SMN_VALIDATION_ENABLED is off")
        return cls(crawler, get_int(settings, "SMN_FUTURE_DATE_TOLERANCE_DAYS"))

    def _drop(self, reason: str, detail: str, level: str = "WARNING") -> DropItem:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"articles/dropped/{reason}")
        return DropItem(f"{reason}: {detail}", log_level=level)

    def process_item(self, item: Any) -> Any:
        try:
            adapter = ItemAdapter(item)
        except TypeError:
            name = type(item).__name__
            raise self._drop("schema_error", f"not an item: {name}", "ERROR") from None
        url = adapter.get("url")
        if _blank(url):
            raise self._drop("no_url", repr(adapter.get("title")))
        if _blank(adapter.get("title")):
            raise self._drop("no_title", str(url))
        if _blank(adapter.get("text")):
            raise self._drop("no_text", str(url))
        self._fix_future_date(adapter)
        try:
            check_row(to_row(item))
        except SchemaError as exc:
            raise self._drop("schema_error", f"{url}: {exc}", "ERROR") from exc
        return item

    def _fix_future_date(self, adapter: ItemAdapter) -> None:
        published = adapter.get("published_date")
        if not isinstance(published, dt.date):
            return  # None, or a wrong type that the schema check reports
        if isinstance(published, dt.datetime):
            published = published.date()
        if published > _fetch_date(adapter.get("fetched_at")) + self.tolerance:
            logger.info(
                "published_date %s after fetch date, set to None: %s",
                published,
                adapter.get("url"),
            )
            adapter["published_date"] = None
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("articles/fixed/future_date")
