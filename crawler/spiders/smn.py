"""``scrapy crawl smn``: every site of the Space Media Network, from its feeds and pages.

Arguments:
    -a sites=spacewar.com,spacedaily.com   crawl only these sites (domains or names)
    -a start_urls=URL[,URL...]             start from these URLs instead of the registry's

Discovery: each site's feeds, home page and section pages, then every on-network link of the
pages fetched (sister sites included when selected). Article-shaped URLs go first.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import AsyncIterator
from typing import Any, Self
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import UsageError
from scrapy.http import Response, TextResponse

from crawler.defaults import default, get_int
from crawler.extract import Extraction
from crawler.extract.page import TRUNCATED, looks_truncated
from crawler.extraction.pool import ExtractionPool
from crawler.items import Article
from crawler.network.feeds import NotAFeed, read_feed
from crawler.network.hosts import AllowedHosts
from crawler.network.sites import Site, select_sites
from crawler.network.urls import (
    clean_url,
    is_asset,
    looks_like_article,
    looks_like_feed,
    site_domain,
)
from crawler.outcome.stats import add_listed
from crawler.protocol import (
    ENTRY_ARTICLE_LINKS_META,
    ENTRY_META,
    FETCHED_AT_META,
    NOT_JUDGED_LISTED,
    NOT_JUDGED_STAT,
    PAGE_FIELDS_META,
    PAGE_KIND_META,
    PAGE_LAYOUT_META,
    PAGE_REASON_META,
    WARC_RECORD_META,
    PageKind,
    site_stat,
)

logger = logging.getLogger(__name__)

ARTICLE_PRIORITY = 10
_HTML_TYPES = (b"text/html", b"application/xhtml", b"text/plain", b"")
_FEED_TYPES = (b"xml", b"rss", b"atom")
_REASON_KEY = re.compile(r"[^a-z0-9]+")
# Response meta: a feed that was no XML, read as a page (not judged by the layout watch).
BROKEN_FEED_META = "smn_broken_feed"
_NOT_LINKS = ("#", "javascript:", "mailto:", "tel:", "data:")
# http(s) with a host: what urljoin makes of it, cleaned, does not depend on the page (";"
# aside: urljoin drops an empty ";params" only when the page has the link's scheme).
_ABSOLUTE = re.compile(r"https?://[^/\\]")
# Links remembered (resolved URL, or why not followed); cleared when full.
_LINK_CACHE_SIZE = 20_000
# A remembered link: (url, is a feed, priority), or, not followed, the stats key to count
# ("" for none).
_Link = tuple[str, bool, int] | str


LISTING_MIN_STORY_LINKS = 5
"""A page that is no article and links this many article-shaped URLs lists stories."""


def _links_stories(base: str, hrefs: list[str]) -> bool:
    return _article_links(base, hrefs, enough=LISTING_MIN_STORY_LINKS) >= LISTING_MIN_STORY_LINKS


def _article_links(base: str, hrefs: list[str], enough: int = 1) -> int:
    """How many distinct article-shaped URLs ``hrefs`` hold, counted up to ``enough``."""
    stories: set[str] = set()
    for href in hrefs:
        try:
            url = urljoin(base, href.strip())
        except ValueError:
            continue
        if url != base and looks_like_article(url):
            stories.add(url)
            if len(stories) >= enough:
                break
    return len(stories)


def _link_kind(url: str) -> tuple[bool, int]:
    """Whether a link is a feed, and its request's priority (articles first)."""
    is_feed = looks_like_feed(url)
    return is_feed, 0 if is_feed or not looks_like_article(url) else ARTICLE_PRIORITY


def reason_key(reason: str | None) -> str:
    """A short stats key for a free-text reason: "no headline (<h1>)" -> "no_headline"."""
    head = re.split(r"[:(]", reason or "unknown", maxsplit=1)[0]
    return _REASON_KEY.sub("_", head.lower()).strip("_")[:40] or "unknown"


class SmnSpider(scrapy.Spider):
    """Crawls the network's sites into Article records."""

    name = "smn"

    def __init__(
        self, sites: str | None = None, start_urls: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        try:
            self.sites: tuple[Site, ...] = select_sites(sites)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        self.allowed_domains = [s.domain for s in self.sites]
        self._domains = frozenset(self.allowed_domains)
        self.override_urls = [u.strip() for u in (start_urls or "").split(",") if u.strip()]
        # Hosts named by overridden start URLs (a local replica, a mirror) are crawlable too.
        self._extra_hosts = frozenset(
            (urlsplit(u).hostname or "").lower() for u in self.override_urls
        ) - {""}
        self.allowed_domains += sorted(self._extra_hosts)
        # Every request is checked against these before it is sent, redirects included
        # (crawler/downloadermiddlewares/allowed_hosts.py); links to others are not made.
        self.allowed_hosts = AllowedHosts.build(self._domains, self.override_urls)
        self.pool: ExtractionPool | None = None
        self._links: dict[str, _Link] = {}
        self.max_links = default("SMN_MAX_LINKS_PER_PAGE")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.pool = ExtractionPool.from_crawler(crawler)
        spider.max_links = get_int(crawler.settings, "SMN_MAX_LINKS_PER_PAGE")
        crawler.signals.connect(spider._opened, signal=signals.spider_opened)
        crawler.signals.connect(spider._closed, signal=signals.spider_closed)
        return spider

    def _opened(self) -> None:
        # Scrapy's shutdown handlers are installed by now: a SIGTERM first stops the pool,
        # so the graceful shutdown does not wait for a page stuck in a worker.
        if self.pool is not None:
            self.pool.abandon_on_shutdown_signals()

    def _closed(self) -> None:
        if self.pool is not None:
            self.pool.close()

    def _inc(self, key: str, count: int = 1) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key, count)

    async def start(self) -> AsyncIterator[Any]:
        """Entry points: the registry's feeds and pages, or the overriding start URLs."""
        if self.override_urls:
            for url in self.override_urls:
                yield scrapy.Request(
                    url, callback=self.parse_any, dont_filter=True, meta={ENTRY_META: True}
                )
            return
        for site in self.sites:
            for feed in site.feeds:
                yield scrapy.Request(feed, callback=self.parse_feed, meta={ENTRY_META: True})
            for page in (site.home, *site.sections):
                yield scrapy.Request(page, callback=self.parse_page, meta={ENTRY_META: True})

    async def parse_any(self, response: Response) -> AsyncIterator[Any]:
        """A start URL of unknown kind: a feed if it reads as one, else a page."""
        content_type = (response.headers.get(b"Content-Type") or b"").lower()
        if any(t in content_type for t in _FEED_TYPES) or response.body[:200].lstrip().startswith(
            b"<?xml"
        ):
            async for out in self.parse_feed(response):
                yield out
        else:
            async for out in self.parse_page(response):
                yield out

    async def parse_feed(self, response: Response) -> AsyncIterator[Any]:
        """Follow every item of a feed; a feed that is not XML is read as a page."""
        self._inc("smn/feeds/fetched")
        try:
            feed = read_feed(response.body)
        except NotAFeed as exc:
            self._inc("smn/feeds/broken")
            logger.warning("Feed <%s> is unreadable (%s); reading it as a page", response.url, exc)
            # A server's fault, not the site's layout: the watch does not judge it.
            response.meta[BROKEN_FEED_META] = True
            async for out in self.parse_page(response):
                yield out
            return
        if feed.declares_entities:
            # Hostile or broken (entities are never expanded): counted, plain links followed.
            self._inc("smn/feeds/broken")
            self._inc("smn/feeds/entity_declarations")
            logger.warning("Feed <%s> declares XML entities (not expanded)", response.url)
        self._inc("smn/feeds/items", len(feed.links))
        if response.meta.get(ENTRY_META) and not feed.declares_entities:
            response.meta[ENTRY_ARTICLE_LINKS_META] = _article_links(response.url, feed.links)
        for href in self._capped(feed.links, response.url):
            request = self._follow(response.url, href)
            if request is not None:
                yield request

    async def parse_page(self, response: Response) -> AsyncIterator[Any]:
        """Extract the article of a page (if it holds one) and follow its links."""
        header = response.headers.get(b"Content-Type")
        content_type = (header or b"").split(b";")[0].strip().lower()
        if not isinstance(response, TextResponse) or not content_type.startswith(_HTML_TYPES):
            self._inc("smn/pages/not_html")
            return
        assert self.pool is not None
        # The archived record's time when there is one (a re-extraction reads it back).
        fetched_at = response.meta.get(FETCHED_AT_META) or dt.datetime.now(dt.UTC)
        result = await self.pool.analyse(
            response.body, response.url, header.decode("latin-1") if header else None, fetched_at
        )
        self._inc("smn/pages/analysed")
        extraction = result.extraction
        if extraction.layout:
            self._inc(f"smn/pages/layout/{extraction.layout}")
        article: Article | None = extraction.article
        # What the page turned out to be, for the middlewares downstream (incremental state).
        kind = extraction.kind
        reason = extraction.reason
        if (
            kind is not PageKind.ERROR
            and b"Content-Length" not in response.headers
            and looks_truncated(response.body)
        ):
            # An answer that ended with its connection, short of the page's end: a record of
            # it could hold half a text. Not judged: asked again by the next run.
            kind, reason, article = PageKind.ERROR, TRUNCATED, None
        if kind is PageKind.OTHER and _links_stories(response.url, result.links):
            # An archive or "more stories" page: new articles turn up through it, so it is
            # fetched every run like a listing, not trusted for SMN_STATE_RECHECK_DAYS.
            kind = PageKind.LISTING
        response.meta[PAGE_KIND_META] = kind
        response.meta[PAGE_LAYOUT_META] = extraction.layout
        response.meta[PAGE_REASON_META] = reason
        response.meta[PAGE_FIELDS_META] = tuple(name for name, _ in extraction.implausible)
        if (
            response.meta.get(ENTRY_META)
            and kind is not PageKind.ERROR
            and not response.meta.get(BROKEN_FEED_META)
        ):
            response.meta[ENTRY_ARTICLE_LINKS_META] = _article_links(response.url, result.links)
        if extraction.implausible or extraction.disagreements:
            self._count_fields(article.site if article else site_domain(response.url), extraction)
            if extraction.implausible:
                logger.info(
                    "Implausible fields written as null on <%s>: %s",
                    response.url,
                    "; ".join(f"{name} {why}" for name, why in extraction.implausible),
                )
        if kind is PageKind.ERROR:
            self._not_judged(response.url, reason or "unknown")
        if article is not None:
            self._inc("smn/articles/extracted")
            record = response.meta.get(WARC_RECORD_META)
            if record is not None:
                # The page as fetched, for re-extraction and `scrapy archived`.
                article.warc_filename = record.filename
                article.warc_record_offset = record.offset
                article.warc_record_length = record.length
            yield article
        else:
            self._inc(f"smn/pages/not_article/{reason_key(reason)}")
            logger.debug("Not an article: %s <%s>", reason, response.url)
        for href in self._capped(result.links, response.url):
            request = self._follow(response.url, href)
            if request is not None:
                yield request

    def _not_judged(self, url: str, reason: str) -> None:
        """A page the extraction could not judge (a worker past its time or memory limit, or
        that died; an empty, binary or monstrous answer): counted and listed for the report;
        it stays pending, so the next run asks for it again."""
        self._inc("smn/pages/not_judged")
        assert self.crawler.stats is not None
        entry = {"url": url, "reason": reason}
        add_listed(self.crawler.stats, NOT_JUDGED_STAT, entry, NOT_JUDGED_LISTED)

    def _count_fields(self, site: str | None, extraction: Extraction) -> None:
        """``smn/fields/implausible/<field>`` and ``smn/fields/disagree/<field>``, also per
        site: what the extractor's checks noted (crawler/extract/checks.py)."""
        for kind, notes in (
            ("implausible", extraction.implausible),
            ("disagree", extraction.disagreements),
        ):
            for name, _ in notes:
                self._inc(f"smn/fields/{kind}/{name}")
                if site:
                    self._inc(site_stat(site, f"{kind}/{name}"))

    def _capped(self, links: list[str], url: str) -> list[str]:
        """At most ``SMN_MAX_LINKS_PER_PAGE`` of a page's links: a page of 200,000 links is
        no page of the network, and each would cost memory and a pending link."""
        if self.max_links <= 0 or len(links) <= self.max_links:
            return links
        self._inc("smn/links/over_cap", len(links) - self.max_links)
        self._inc("smn/pages/links_capped")
        logger.warning(
            "<%s> has %d links: only the first %d are followed (SMN_MAX_LINKS_PER_PAGE)",
            url,
            len(links),
            self.max_links,
        )
        return links[: self.max_links]

    def _follow(self, base: str, href: str) -> scrapy.Request | None:
        """A request for a link, or None for links the crawl must not follow.

        Pages link the same URLs over and over (navigation, sister sites, teasers): what a
        link resolves to is remembered (``_links``), and a link is made a request once while
        it is remembered. Whether its page was requested already (through another link, or
        before the memory was cleared) is the duplicate filter's answer, asked by a spider
        middleware (:mod:`crawler.spidermiddlewares.seen_requests`)."""
        href = href.strip()
        if not href or href.startswith(_NOT_LINKS):
            return None
        if _ABSOLUTE.match(href) and ";" not in href:
            key = href
        else:
            try:
                key = urljoin(base, href)
            except ValueError:
                self._inc("smn/links/invalid")
                return None
        link = self._links.get(key)
        if link is None:
            link = self._resolve(key, base, href)
        if isinstance(link, str):
            if link:
                self._inc(link)
            return None
        # Made once: the next page linking it again (navigation, teasers: most links of a
        # page) costs a dict lookup, not a request that the duplicate filter then drops.
        self._links[key] = ""
        return self._request(*link)

    def _resolve(self, key: str, base: str, href: str) -> _Link:
        """What a link not in ``_links`` leads to, remembered under ``key``."""
        if len(self._links) >= _LINK_CACHE_SIZE:
            self._links.clear()
        link: _Link
        try:
            url = clean_url(urljoin(base, href))
        except ValueError:
            link = "smn/links/invalid"
        else:
            scheme = urlsplit(url).scheme
            if scheme not in ("http", "https") or is_asset(url):
                link = ""
            elif not self.allowed_hosts.allows(url):
                link = "smn/links/offsite"
            else:
                link = (url, *_link_kind(url))
        self._links[key] = link
        return link

    def request_for(self, url: str) -> scrapy.Request:
        """A request for a page found by an earlier run (the incremental state's pending
        links), made as a link to it would be."""
        return self._request(url, *_link_kind(url))

    def _request(self, url: str, is_feed: bool, priority: int) -> scrapy.Request:
        if is_feed:
            return scrapy.Request(url, callback=self.parse_any)
        return scrapy.Request(url, callback=self.parse_page, priority=priority)
