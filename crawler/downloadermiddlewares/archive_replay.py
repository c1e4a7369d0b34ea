"""Downloader middleware of a re-extraction: each request answered from its WARC record.

First of the downloader middlewares (10): a request carrying
:data:`~crawler.protocol.ARCHIVED_RECORD_META` (filename, offset, length) gets the response
record there (:class:`crawler.archive.index.RecordReader`: its body as it came off the
wire) and never goes further; the response passes every middleware's ``process_response``
like a downloaded one, so Scrapy's decompression middleware undoes its Content-Encoding
exactly as it did in the crawl (gzip, x-gzip, deflate, br, several in a row, a stream cut
short: the same bytes, or the same error). Its headers are the stored ones without
``Transfer-Encoding`` and the archive's ``X-Crawler-*`` notes; a ``Content-Length`` (the
stored body's) only when the server declared one, for the spider judges an answer without
one that ends short of ``</html>`` as cut off. (A body stored chunked, by another tool, comes
decoded whole, without its ``Content-Encoding``.) The response carries
the record's ``WARC-Date`` (:data:`~crawler.protocol.FETCHED_AT_META`: the row's
``fetched_at``) and its location (:data:`~crawler.protocol.WARC_RECORD_META`: the row's
``warc_*`` fields).

A record that cannot be read (a truncated or corrupted file, a missing one) is skipped:
logged at WARNING, counted (``smn/reextract/damaged_records``), listed (the first 200, in
``smn/reextract/damaged_list``) and the request dropped (IgnoreRequest); never fatal.

Stats: ``smn/reextract/records_read``; ``smn/reextract/read_seconds``, the CPU time the
reading of records took (the reactor thread's), estimated from every
:data:`CPU_SAMPLE`-th record, and ``smn/reextract/read_wall_seconds``, the time it took on the
clock (with the moments the thread waited for the GIL while the extraction pool's threads held
it), for the benchmark's shares.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Headers
from scrapy.responsetypes import responsetypes

from crawler.archive.index import RecordReader
from crawler.archive.writer import RecordLocation
from crawler.dataset.paths import archive_dir
from crawler.network.urls import url_key
from crawler.protocol import ARCHIVED_RECORD_META, FETCHED_AT_META, WARC_RECORD_META
from crawler.reextract.run import run_of

if TYPE_CHECKING:
    from pathlib import Path

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

DAMAGED_LISTED = 200
CPU_SAMPLE = 16
"""The reading's CPU time is measured on one record in this many, and counted this many
times: a thread's CPU clock is a system call, and read around every record it took 5% of
the reactor thread's time in a re-extraction (the wall clock costs nothing)."""
_DROPPED = frozenset({"transfer-encoding", "content-length"})


def parse_warc_date(value: str) -> dt.datetime:
    """``2026-12-05T10:15:00.123456Z`` (or without the fraction) as an aware datetime."""
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)


def replay_headers(
    stored: list[tuple[str, str]], body_length: int, *, decoded: bool = False
) -> list[tuple[str, str]]:
    """The response headers a re-extraction's response gets (see the module docstring);
    ``decoded``: the body comes with its Content-Encoding undone."""
    names = {name.lower() for name, _ in stored}
    declared = "x-crawler-content-length" in names or (
        "content-length" in names and "x-crawler-transfer-encoding" not in names
    )
    headers = [
        (name, value)
        for name, value in stored
        if name.lower() not in _DROPPED
        and not name.lower().startswith("x-crawler-")
        and not (decoded and name.lower() == "content-encoding")
    ]
    if declared:
        headers.append(("Content-Length", str(body_length)))
    return headers


class ArchiveReplayMiddleware:
    """Answers a re-extraction's requests from the archive."""

    def __init__(self, crawler: Crawler, root: Path) -> None:
        self.crawler = crawler
        self.root = root
        self.reader = RecordReader(root)
        self._records = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = cls(crawler, archive_dir(crawler.settings))
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def spider_closed(self) -> None:
        self.reader.close()

    @property
    def stats(self) -> StatsCollector:
        assert self.crawler.stats is not None
        return self.crawler.stats

    def process_request(self, request: Request) -> Response | None:
        where = request.meta.get(ARCHIVED_RECORD_META)
        if where is None:
            return None  # on to the offline download handler, which refuses it
        filename, offset, length = where
        self._records += 1
        sampled = self._records % CPU_SAMPLE == 0
        started = time.perf_counter()
        cpu = time.thread_time() if sampled else 0.0
        try:
            page = self.reader.read(filename, offset, length, decode=False)
            status = int(page.status_line.split()[1])
            fetched_at = parse_warc_date(page.date)
        except (OSError, ValueError, IndexError, EOFError) as exc:
            self._damaged(request.url, filename, offset, exc)
            raise IgnoreRequest(f"damaged WARC record: {exc}") from None
        except Exception as exc:  # warcio's own errors on garbage
            self._damaged(request.url, filename, offset, exc)
            raise IgnoreRequest(f"damaged WARC record: {exc!r}") from None
        finally:
            wall = time.perf_counter() - started
            if sampled:
                self._spent("smn/reextract/read_seconds", CPU_SAMPLE * (time.thread_time() - cpu))
            self._spent("smn/reextract/read_wall_seconds", wall)
        self.stats.inc_value("smn/reextract/records_read")
        request.meta[FETCHED_AT_META] = fetched_at
        request.meta[WARC_RECORD_META] = RecordLocation(filename, offset, length)
        headers = Headers(replay_headers(page.headers, len(page.body), decoded=page.decoded))
        response_class = responsetypes.from_args(headers=headers, url=page.url, body=page.body)
        return response_class(
            url=page.url,
            status=status,
            headers=headers,
            body=page.body,
            request=request,
            flags=["archived"],
            protocol=page.status_line.split()[0],
        )

    def _spent(self, stat: str, seconds: float) -> None:
        self.stats.set_value(stat, self.stats.get_value(stat, 0.0) + seconds)

    def _damaged(self, url: str, filename: str, offset: int, exc: Any) -> None:
        logger.warning(
            "Skipped <%s>: its WARC record %s:%d is damaged (%s)", url, filename, offset, exc
        )
        self.stats.inc_value("smn/reextract/damaged_records")
        listed = self.stats.get_value("smn/reextract/damaged_list")
        if not isinstance(listed, list):
            listed = []
            self.stats.set_value("smn/reextract/damaged_list", listed)
        if len(listed) < DAMAGED_LISTED:
            listed.append({"url": url, "record": f"{filename}:{offset}", "error": str(exc)})
        run = run_of(self.crawler)
        if run is not None:
            try:
                key = url_key(url)
            except ValueError:
                key = url
            run.note(key, "damaged")
