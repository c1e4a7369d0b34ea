"""The duplicate request filter, with its fingerprints on disk.

Scrapy's ``RFPDupeFilter`` keeps a fingerprint of every request in a Python set: about 100
bytes a request, for the whole crawl. :class:`ScratchDupeFilter` keeps them in a
:mod:`crawler.util.scratch` set (a temporary SQLite file), so a long backfill does not grow the
crawler's memory. The fingerprints are the project's (``REQUEST_FINGERPRINTER_CLASS``:
canonical URLs, :mod:`crawler.fingerprint`).

It does not persist the fingerprints in ``JOBDIR``: the incremental state
(:mod:`crawler.incremental.run`) is what carries a crawl's knowledge from one run to the next.
A distributed crawl replaces it with scrapy-redis's filter (:mod:`crawler.distributed`).

Settings: ``DUPEFILTER_DEBUG`` (Scrapy's) logs every filtered request.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from scrapy.dupefilters import BaseDupeFilter
from scrapy.utils.request import referer_str

from crawler.util.scratch import ScratchDb

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.utils.request import RequestFingerprinterProtocol

logger = logging.getLogger(__name__)


@runtime_checkable
class SeenRequests(Protocol):
    """A duplicate filter that says whether it has taken a request already, without taking
    it: :mod:`crawler.spidermiddlewares.seen_requests` drops such links before they cost
    anything more (the scheduler would drop them anyway)."""

    def seen(self, request: Request) -> bool: ...


# Fingerprints also kept in memory, the most recently met: pages link the same few
# thousand URLs (navigation, sister sites, teasers) over and over, and every link is asked
# about (:meth:`ScratchDupeFilter.seen`). About 100 bytes each.
RECENT_SIZE = 20_000


class ScratchDupeFilter(BaseDupeFilter):
    """Filter requests whose fingerprint was seen in this run."""

    def __init__(self, fingerprinter: RequestFingerprinterProtocol, debug: bool = False) -> None:
        self.fingerprinter = fingerprinter
        self.debug = debug
        self._logged = False
        self._scratch = ScratchDb()
        self._seen = self._scratch.bytes_set()
        self._recent: set[bytes] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.request_fingerprinter is not None
        return cls(crawler.request_fingerprinter, crawler.settings.getbool("DUPEFILTER_DEBUG"))

    def request_seen(self, request: Request) -> bool:
        fingerprint = self.fingerprinter.fingerprint(request)
        if fingerprint in self._recent:
            return True
        self._remember(fingerprint)
        return not self._seen.add(fingerprint)

    def seen(self, request: Request) -> bool:
        """The answer :meth:`request_seen` would give, without taking the request."""
        fingerprint = self.fingerprinter.fingerprint(request)
        if fingerprint in self._recent:
            return True
        if fingerprint in self._seen:
            self._remember(fingerprint)
            return True
        return False

    def _remember(self, fingerprint: bytes) -> None:
        if len(self._recent) >= RECENT_SIZE:
            self._recent.clear()
        self._recent.add(fingerprint)

    def close(self, reason: str) -> None:
        self._scratch.close()

    def log(self, request: Request, spider: Spider) -> None:
        if self.debug:
            logger.debug(
                "Filtered duplicate request: %(request)s (referer: %(referer)s)",
                {"request": request, "referer": referer_str(request)},
                extra={"spider": spider},
            )
        elif not self._logged:
            logger.debug(
                "Filtered duplicate request: %(request)s - no more duplicates will be shown"
                " (see DUPEFILTER_DEBUG to show all duplicates)",
                {"request": request},
                extra={"spider": spider},
            )
            self._logged = True
