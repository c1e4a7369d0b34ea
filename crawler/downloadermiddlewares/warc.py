"""Downloader middleware: every response from a network host into the WARC archive.

At 880, above every middleware that changes a response on its way back (the redirect
middleware at 600, the decompression at 590, retries at 550): it sees each answer as the
download handler gave it, the body still content-encoded, redirects and 404s included, and
each request with every header the middlewares below it set (User-Agent, Accept-Encoding,
cookies). A response the HTTP cache served (``cached`` flag) is not archived again.

Archived: every ``http(s)`` answer whose ``Content-Type`` is text (HTML, feeds, XML, JSON,
plain text) or absent (redirects, empty answers); not images or other binary assets, which
the spider does not ask for anyway (counted ``warc/skipped/content_type``).

The response's record location (:class:`crawler.archive.writer.RecordLocation`) travels
to the spider in the request's meta (:data:`crawler.protocol.WARC_RECORD_META`; None when
not archived), which copies it onto the Article. The dataset writer asks
:func:`archive_of` the archive to publish its current file before it publishes any Parquet
file (``pipelines/parquet_writer.py``): a published row names a published WARC file.

Stats: ``warc/records``, ``warc/bytes``, ``warc/files_published``,
``warc/skipped/content_type``, ``warc/stale_removed``; ``smn/error/archive`` when the
archive cannot be written (the spider is closed with ``output_error``, exit 4: rows must
not point to records that were never written).
"""

from __future__ import annotations

import datetime as dt
import logging
import weakref
from importlib import metadata
from typing import TYPE_CHECKING, Self

import scrapy
from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_from_coro

from crawler.archive.writer import Exchange, WarcArchive
from crawler.crawl_id import crawl_id_of
from crawler.dataset.paths import archive_dir
from crawler.defaults import get_bool, get_int
from crawler.extract import EXTRACTOR_VERSION
from crawler.protocol import FETCHED_AT_META, WARC_RECORD_META

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Headers, Response
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

_ARCHIVES: weakref.WeakKeyDictionary[Crawler, WarcArchiveMiddleware] = weakref.WeakKeyDictionary()
_TEXT_SUBTYPES = frozenset(
    {b"html", b"xhtml+xml", b"xml", b"rss+xml", b"atom+xml", b"rdf+xml", b"json", b"ld+json"}
)


def archive_of(crawler: Crawler) -> WarcArchiveMiddleware | None:
    """The crawl's archive (its :meth:`~WarcArchiveMiddleware.publish`); None when
    archiving is off."""
    return _ARCHIVES.get(crawler)


def archivable(content_type: bytes | None) -> bool:
    """Text of any kind, or no declared type (redirects, empty answers)."""
    media = (content_type or b"").split(b";")[0].strip().lower()
    if not media:
        return True
    main, _, sub = media.partition(b"/")
    return main == b"text" or sub in _TEXT_SUBTYPES or sub.endswith((b"+xml", b"+json"))


def _pairs(headers: Headers) -> list[tuple[str, str]]:
    return [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in headers.items()
        for value in values
    ]


def _software() -> str:
    try:
        version = metadata.version("smn-crawler")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a bare checkout
        version = "unknown"
    warcio = metadata.version("warcio")
    return f"smn-crawler/{version} (Scrapy {scrapy.__version__}; warcio {warcio})"


class WarcArchiveMiddleware:
    """Writes each response (and its request) to the crawl's :class:`WarcArchive`."""

    def __init__(self, crawler: Crawler, archive: WarcArchive) -> None:
        self.crawler = crawler
        self.archive = archive
        self.failed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not get_bool(settings, "SMN_ARCHIVE"):
            raise NotConfigured("SMN_ARCHIVE is off")
        archive = WarcArchive(
            archive_dir(settings), "", max_bytes=get_int(settings, "SMN_ARCHIVE_MAX_MB") * 2**20
        )
        middleware = cls(crawler, archive)
        crawler.signals.connect(middleware._opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware._closed, signal=signals.spider_closed)
        _ARCHIVES[crawler] = middleware
        return middleware

    @property
    def stats(self) -> StatsCollector:
        assert self.crawler.stats is not None
        return self.crawler.stats

    def _opened(self) -> None:
        crawl_id = crawl_id_of(self.crawler)
        self.archive.crawl_id = crawl_id
        self.archive.info = {
            "software": _software(),
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/"
            "warc-format/warc-1.1/",
            "isPartOf": crawl_id,
            "crawl-id": crawl_id,
            "extractor-version": EXTRACTOR_VERSION,
            "http-header-user-agent": self.crawler.settings.get("USER_AGENT") or "",
            "robots": "obey" if self.crawler.settings.getbool("ROBOTSTXT_OBEY") else "ignore",
        }
        try:
            clean = get_bool(self.crawler.settings, "SMN_CLEAN_STALE_TMP")
            removed = self.archive.open(clean_stale=clean)
        except OSError as exc:
            self._fail(f"cannot create or write the archive {self.archive.root}: {exc}")
            return
        if removed:
            self.stats.inc_value("warc/stale_removed", len(removed))
        logger.info("Archiving pages to %s", self.archive.root.resolve())

    def _closed(self) -> None:
        if self.failed:
            self.archive.abort()
            return
        try:
            self._publish()
        except OSError as exc:
            self._fail(f"publishing {self.archive.root} failed: {exc}")

    def _publish(self) -> None:
        if self.archive.publish() is not None:
            self.stats.inc_value("warc/files_published")

    def publish(self) -> None:
        """Publish the current file (the dataset writer is about to publish rows pointing
        into it). Raises when it cannot, and while the archive has failed."""
        if self.failed:
            raise OSError("the WARC archive has failed: no row may point into it")
        try:
            self._publish()
        except OSError as exc:
            self._fail(f"publishing {self.archive.root} failed: {exc}")
            raise

    def process_response(self, request: Request, response: Response) -> Response:
        request.meta[WARC_RECORD_META] = None
        if self.failed or "cached" in response.flags:
            return response
        if not response.url.startswith(("http://", "https://")):
            return response
        if not archivable(response.headers.get(b"Content-Type")):
            self.stats.inc_value("warc/skipped/content_type")
            return response
        fetched_at = dt.datetime.now(dt.UTC)
        exchange = Exchange(
            url=response.url,
            status=response.status,
            headers=_pairs(response.headers),
            body=response.body,
            fetched_at=fetched_at,
            protocol=response.protocol or "HTTP/1.1",
            method=request.method,
            request_headers=_pairs(request.headers),
            request_body=request.body,
            ip_address=str(response.ip_address) if response.ip_address else None,
            truncated="dataloss" in response.flags,
        )
        files = len(self.archive.files_written)
        try:
            location = self.archive.write(exchange)
        except OSError as exc:
            self._fail(f"writing {self.archive.root} failed: {exc}")
            return response
        if len(self.archive.files_written) > files:
            self.stats.inc_value("warc/files_published")
        request.meta[WARC_RECORD_META] = location
        # The row's fetched_at is the record's WARC-Date: a re-extraction gives the same.
        request.meta[FETCHED_AT_META] = fetched_at
        self.stats.inc_value("warc/records")
        self.stats.inc_value("warc/bytes", location.length)
        return response

    def _fail(self, message: str) -> None:
        """Stop archiving and the crawl: rows must not point to records never written."""
        logger.error("WARC archive error: %s", message)
        self.stats.set_value("smn/error/archive", 1)
        if self.failed:
            return
        self.failed = True
        try:
            engine = self.crawler.engine
        except RuntimeError:
            return
        if engine is not None and engine.spider is not None:
            d = deferred_from_coro(engine.close_spider_async(reason="output_error"))
            d.addErrback(lambda f: logger.error("Closing the spider failed: %s", f.value))
