"""The lean baseline of benchmarks/throughput.py: the spider a user writes in a day with
Scrapy alone to fetch the network's articles, and nothing else.

    scrapy runspider benchmarks/lean_spider.py -s CONCURRENT_REQUESTS=64 ...

Run it outside the project directory (the benchmark does) so that Scrapy's defaults apply,
not the project's settings.

It starts from the entry points the smn and bare spiders start from (every site's feeds,
home page and section pages, from ``crawler.network.sites``) and follows only article links
(``crawler.network.urls.looks_like_article``: ``/reports/..._999.html``,
``/news/<topic>-<yy><letters>.html``, the newer platform's ``/<four-or-more-hyphenated-
words>/``) and the archive's listing pages (``/archive/...``, linked from every site's
navigation): without them it reaches the home pages' few dozen stories and none of the
replica's synthetic articles, listed only there (95 pages, whatever ``--scale``).

Links are found with two regular expressions over the raw bytes (``href="..."``, and the
text of a feed's ``<link>``, CDATA or not): no HTML parse, no extraction, no item, nothing
written. Each distinct absolute link is looked at once (a set of those seen); one to follow
gets the cheapest normalisation that keeps a plain spider from fetching an article twice
(https, lower-case host, ``www.`` on classic hosts, no query or fragment) and is made a
request once (a set of those requested).

Settings: Scrapy's defaults, the benchmark's (politeness off, its concurrency), and the smn
crawl's CONCURRENT_ITEMS: Scrapy's default of 100 makes 100 asyncio tasks per response,
whatever the callback yields, a cost a spider yielding a few requests per page need not pay.
"""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.http import Response
from scrapy.settings import BaseSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler import settings as project_settings
from crawler.network.sites import SITES
from crawler.network.urls import looks_like_article

# A literal prefix each: the regex engine jumps from one "href=" to the next (an alternation
# of the two would make it try every position, about 5 times slower).
_HREF = re.compile(rb"""href=["']([^"'\s<>#]+)""")
_FEED_LINK = re.compile(rb"<link>\s*(?:<!\[CDATA\[\s*)?([^<\s\]]+)")
_DOMAINS = tuple(d for s in SITES for d in (s.domain, *s.aliases))
_WWW_ONLY = frozenset(_DOMAINS) - {d for s in SITES for d in s.distinct_hosts}


def entry_points() -> Iterator[str]:
    """Every site's feeds, home page and sections (the smn spider's start URLs)."""
    for site in SITES:
        yield from site.feeds
        yield site.home
        yield from site.sections


class LeanSpider(scrapy.Spider):
    """Fetch the network's articles from its entry points; extract nothing."""

    name = "lean"
    allowed_domains: ClassVar[list[str]] = list(_DOMAINS)

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        # The smn crawl's value (crawler/settings.py), below the command line's -s.
        settings.set("CONCURRENT_ITEMS", project_settings.CONCURRENT_ITEMS, priority="spider")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: set[bytes] = set()
        self.requested: set[str] = set()

    async def start(self) -> AsyncIterator[Any]:
        for url in entry_points():
            yield scrapy.Request(url, callback=self.parse)

    def parse(self, response: Response) -> Iterator[scrapy.Request]:
        body = response.body
        seen = self.seen
        for raw in (*_HREF.findall(body), *_FEED_LINK.findall(body)):
            if raw in seen:
                continue
            if raw.startswith((b"http://", b"https://")):
                # The same URL wherever it appears: looked at once.
                seen.add(raw)
                url = raw.decode("latin-1")
            else:
                url = urljoin(response.url, raw.decode("latin-1"))
            if url := self.to_follow(url):
                yield scrapy.Request(url, callback=self.parse)

    def to_follow(self, url: str) -> str | None:
        """The URL to request for an article or archive link not requested yet, else None."""
        parts = urlsplit(url)
        if not (looks_like_article(url) or parts.path.startswith("/archive/")):
            return None
        host = (parts.hostname or "").lower()
        if not host.endswith(_DOMAINS):
            return None
        if host in _WWW_ONLY:
            host = "www." + host
        url = f"https://{host}{parts.path}"
        if url in self.requested:
            return None
        self.requested.add(url)
        return url
