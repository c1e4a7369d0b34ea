"""Crawl ids: one per run, stamped on every record and in every dataset file name.

Setting: ``SMN_CRAWL_ID`` (default unset) forces the id when the spider has none, e.g. for
a worker of a distributed run (``<run>-w3``).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

_UNSAFE = re.compile(r"[^A-Za-z0-9_.=-]")


def new_crawl_id(now: dt.datetime | None = None) -> str:
    """A sortable, practically unique id such as ``20261123T181500Z-ab12cd``."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def resolve_crawl_id(crawler: Crawler) -> str:
    """The spider's ``crawl_id``, else ``SMN_CRAWL_ID``, else a new id.

    The id is set back on the spider when it had none, so every component of the run
    (the dataset writer, the feed, the run report) agrees on it.
    """
    spider = crawler.spider
    crawl_id = getattr(spider, "crawl_id", None)
    if not crawl_id:
        crawl_id = crawler.settings.get("SMN_CRAWL_ID") or new_crawl_id()
        if spider is not None:
            spider.crawl_id = crawl_id  # type: ignore[attr-defined]
    return str(crawl_id)


def filename_safe(crawl_id: str) -> str:
    """The id as it may appear in a file name (no path separators or spaces)."""
    return _UNSAFE.sub("_", crawl_id) or "unknown"
