"""Crawl ids: one per run, stamped on every record and in every dataset file name.

The id is decided once, before the crawl starts: ``scrapy crawl`` sets ``SMN_CRAWL_ID``
(unless given) when it reads its options, and every component asks :func:`crawl_id_of`. A
worker of a distributed crawl has its own id (``<run>-w3``), given when it registers, before
the spider opens (:func:`assign_crawl_id`); :func:`whole_run_of` names the run its workers
share. A crawler made without the command (tests, ``scrapy runspider``) gets a new id at the
first question.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import weakref
from typing import TYPE_CHECKING

from crawler.defaults import get_str

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

_UNSAFE = re.compile(r"[^A-Za-z0-9_.=-]")
# The id of each crawler, once asked or assigned; weak: a finished crawler takes it along.
_IDS: weakref.WeakKeyDictionary[Crawler, str] = weakref.WeakKeyDictionary()
# The run a distributed worker belongs to (absent: the crawl is its own run).
_RUNS: weakref.WeakKeyDictionary[Crawler, str] = weakref.WeakKeyDictionary()


def new_crawl_id(now: dt.datetime | None = None) -> str:
    """A sortable, practically unique id such as ``20261123T181500Z-ab12cd``."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def crawl_id_of(crawler: Crawler) -> str:
    """The run's id: the one assigned, else ``SMN_CRAWL_ID``, else a new one (kept)."""
    crawl_id = _IDS.get(crawler)
    if crawl_id is None:
        crawl_id = _IDS[crawler] = get_str(crawler.settings, "SMN_CRAWL_ID") or new_crawl_id()
    return crawl_id


def assign_crawl_id(crawler: Crawler, crawl_id: str, run: str | None = None) -> None:
    """Give the crawler its id (a distributed worker's, at registration, before the spider
    opens and anything is written), and the id of the run it is a part of."""
    _IDS[crawler] = crawl_id
    if run is not None:
        _RUNS[crawler] = run


def whole_run_of(crawler: Crawler) -> str:
    """The id of the whole run: a distributed worker's run (which its workers share), else
    the crawl's own id."""
    return _RUNS.get(crawler) or crawl_id_of(crawler)


def filename_safe(crawl_id: str) -> str:
    """The id as it may appear in a file name (no path separators or spaces)."""
    return _UNSAFE.sub("_", crawl_id) or "unknown"
