"""The baseline of benchmarks/throughput.py: bare Scrapy fetching the pages ``scrapy crawl
smn`` fetches, and extracting nothing.

    scrapy runspider benchmarks/bare_spider.py -s CONCURRENT_REQUESTS=64 ...

Run it outside the project directory (the benchmark does) so Scrapy's own defaults apply,
not the project's settings: no pipelines, no custom fingerprinter, no extraction pool.

Same discovery as the smn spider: the same entry points (every site's feeds, home page and
section pages, from ``crawler.network.sites``), then every link on a network host, found with a few
regular expressions over the raw bytes (``<a href>``, ``<area href>``, ``<link
rel=alternate|next>``, and the text of ``<link>``/``<guid>`` in feeds), each made a
``scrapy.Request`` as any plain spider does, duplicates left to Scrapy's filter. Links get
the cheapest normalisation that makes them name the pages the smn spider's canonical URLs
name (https, lower-case host, ``www.`` on classic hosts, no fragment, no ``utm_*``
parameters), so the bare spider neither fetches http/https twins nor misses pages; the
benchmark prints both page counts.
"""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit, urlunsplit

import scrapy
from scrapy.http import Response

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.network.sites import SERVICE_DOMAINS, SITES

# <a href>, <area href>, <link rel=alternate|next href> (as the smn spider), or the text of
# a feed's <link> and <guid>.
_LINK = re.compile(rb"<(a|area|link)\s([^>]*)>|<(?:link|guid)[^>]*>\s*([^<\s]+)\s*<", re.I)
_HREF = re.compile(rb"""\bhref\s*=\s*["']?([^"'\s>]+)""", re.I)
_FOLLOWED_REL = re.compile(rb"""\brel\s*=\s*["']?(?:alternate|next)\b""", re.I)
_SKIP = re.compile(
    r"\.(?:jpe?g|png|gif|webp|svg|ico|pdf|zip|gz|mp[34]|css|js|json|txt|woff2?)$", re.I
)
_TRACKING = re.compile(r"(?:^|&)(?:utm_[a-z]+|fbclid|gclid)=[^&]*", re.I)
_DOMAINS = tuple(d for s in SITES for d in (s.domain, *s.aliases)) + tuple(SERVICE_DOMAINS)
_WWW_ONLY = frozenset(_DOMAINS) - {d for s in SITES for d in s.distinct_hosts}


def entry_points() -> Iterator[str]:
    """The smn spider's start URLs: every site's feeds, home page and sections."""
    for site in SITES:
        yield from site.feeds
        yield site.home
        yield from site.sections


def normalise(url: str) -> str | None:
    """The URL to fetch, or None for links off the network, assets and non-http links."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return None
    host = (parts.hostname or "").lower()
    if not host.endswith(_DOMAINS) or _SKIP.search(parts.path):
        return None
    if host in _WWW_ONLY:
        host = "www." + host
    query = _TRACKING.sub("", parts.query).lstrip("&")
    return urlunsplit(("https", host, parts.path or "/", query, ""))


class BareSpider(scrapy.Spider):
    """Fetch every page of the network the smn spider would; extract nothing."""

    name = "bare"
    allowed_domains: ClassVar[list[str]] = list(_DOMAINS)

    async def start(self) -> AsyncIterator[Any]:
        for url in entry_points():
            yield scrapy.Request(url, callback=self.parse)

    def parse(self, response: Response) -> Iterator[scrapy.Request]:
        for match in _LINK.finditer(response.body):
            if match.group(1) is None:
                raw = match.group(3).decode("latin-1")
            else:
                attrs = match.group(2)
                if match.group(1).lower() == b"link" and not _FOLLOWED_REL.search(attrs):
                    continue
                href = _HREF.search(attrs)
                if href is None:
                    continue
                raw = href.group(1).decode("latin-1")
            if raw.startswith(("#", "javascript:", "mailto:")):
                continue
            url = normalise(urljoin(response.url, raw.replace("&amp;", "&")))
            if url is not None:
                yield scrapy.Request(url, callback=self.parse)
