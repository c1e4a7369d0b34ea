"""Download faults counted by kind: ``smn/faults/<kind>``, for the run report.

Scrapy counts a failed download by exception class (``downloader/exception_type_count/...``)
and says nothing at all about two ways a response is thrown away after it arrived: a body
that inflates past ``DOWNLOAD_MAXSIZE`` (a gzip bomb) and a redirect chain longer than
``REDIRECT_MAX_TIMES`` (a redirect loop). Both raise ``IgnoreRequest`` from a middleware's
``process_response``, which goes to the request's errback, past every ``process_exception``
and every stat, and is logged at WARNING and DEBUG. Kinds:

* ``timeout``: no complete answer within ``DOWNLOAD_TIMEOUT`` (a stalled or trickling
  server);
* ``connection_lost``: the connection was reset or closed before the response was complete
  (``DownloadFailedError``, Twisted's ``ConnectionLost``/``ConnectionDone``);
* ``data_loss``: fewer body bytes than the Content-Length promised (a truncated body);
* ``size_cap``: a download cancelled for exceeding ``DOWNLOAD_MAXSIZE`` (declared or
  counted as it arrives);
* ``decompression_cap``: a body dropped for inflating past ``DOWNLOAD_MAXSIZE``;
* ``redirect_max``: a redirect chain given up after ``REDIRECT_MAX_TIMES``;
* ``refused``, ``dns``, ``tunnel`` (the proxy refused the CONNECT), ``other``.

Every attempt counts, retried ones included (as ``downloader/exception_type_count``).
``IgnoreRequest`` raised before the download (robots.txt, offsite) is not a fault: those
have their own stats (``robotstxt/forbidden``, ``offsite/filtered``).

Registered in ``crawler/settings.py``: :class:`FaultCounters` above ``DownloaderStats``
(850) so it sees every download exception before a middleware turns it into a retry, and
the two stock middlewares replaced by subclasses that count their drops.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import IgnoreRequest

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector

PREFIX = "smn/faults"

# By class name along the exception's MRO (Scrapy's own exceptions first, then Twisted's and
# the builtins a custom download handler may raise), so no Twisted internals are imported.
_KINDS = {
    "DownloadTimeoutError": "timeout",
    "TimeoutError": "timeout",
    "TCPTimedOutError": "timeout",
    "ResponseDataLossError": "data_loss",
    "DownloadCancelledError": "size_cap",
    "DownloadFailedError": "connection_lost",
    "ResponseFailed": "connection_lost",
    "ConnectionLost": "connection_lost",
    "ConnectionDone": "connection_lost",
    "ConnectionResetError": "connection_lost",
    "DownloadConnectionRefusedError": "refused",
    "ConnectionRefusedError": "refused",
    "CannotResolveHostError": "dns",
    "DNSLookupError": "dns",
    "TunnelError": "tunnel",
}


def fault_kind(exception: BaseException) -> str | None:
    """The kind of a download exception, or None for one that is no fault (IgnoreRequest)."""
    if isinstance(exception, IgnoreRequest):
        return None
    for cls in type(exception).__mro__:
        kind = _KINDS.get(cls.__name__)
        if kind is not None:
            return kind
    return "other"


class FaultCounters:
    """Downloader middleware: counts download exceptions by kind; handles nothing."""

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        return cls(crawler.stats)

    def process_exception(self, request: Request, exception: Exception) -> None:
        kind = fault_kind(exception)
        if kind is not None:
            self.stats.inc_value(f"{PREFIX}/{kind}")


def _counting_drops(
    stats: StatsCollector | None, kind: str, respond: Callable[[], Request | Response]
) -> Request | Response:
    """``respond()``, counting the response it drops (``IgnoreRequest``) as ``kind``."""
    try:
        return respond()
    except IgnoreRequest:
        if stats is not None:
            stats.inc_value(f"{PREFIX}/{kind}")
        raise


class CountingHttpCompressionMiddleware(HttpCompressionMiddleware):
    """Scrapy's HttpCompressionMiddleware, counting the bodies it drops for inflating past
    ``DOWNLOAD_MAXSIZE`` (the only IgnoreRequest it raises)."""

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        # ``spider``: the stock signature (optional, never passed by Scrapy 2.19)
        respond = functools.partial(super().process_response, request, response)
        return _counting_drops(self.stats, "decompression_cap", respond)


class CountingRedirectMiddleware(RedirectMiddleware):
    """Scrapy's RedirectMiddleware, counting the chains it gives up on after
    ``REDIRECT_MAX_TIMES`` (the only IgnoreRequest it raises)."""

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        # ``spider``: the stock signature (optional, never passed by Scrapy 2.19)
        respond = functools.partial(super().process_response, request, response)
        return _counting_drops(self.crawler.stats, "redirect_max", respond)
