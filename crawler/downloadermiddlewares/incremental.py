"""Downloader middleware of incremental runs: remembers redirects, and drops a redirect's
follow-up request when its target page is known (``RedirectMiddleware`` schedules it without
passing the spider middlewares). See :mod:`crawler.incremental.run`.

Register it just above ``RedirectMiddleware`` (600): responses pass the middlewares from high
numbers to low, so it sees the 3xx before ``RedirectMiddleware`` turns it into the follow-up
request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self
from urllib.parse import urljoin

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http.request import NO_CALLBACK

from crawler.incremental.run import IncrementalRun, is_entry
from crawler.protocol import REDIRECTS

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response


class IncrementalRedirectMiddleware:
    """Remembers redirects; drops the follow-up of a redirect to a known page."""

    def __init__(self, run: IncrementalRun) -> None:
        self.run = run

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(IncrementalRun.of(crawler))

    def process_request(self, request: Request) -> None:
        sources = request.meta.get("redirect_urls")
        # Other requests came through the spider middleware already.
        if not sources or is_entry(request.meta):
            return
        kind = self.run.known_kind(request.url)
        if kind is not None:
            # The whole chain leads here: the next run drops the first link of it already.
            self.run.record_aliases(sources, request.url)
            self.run.skipped(request, kind)
            raise IgnoreRequest(f"known {kind}: {request.url}")

    def process_response(self, request: Request, response: Response) -> Response:
        location = response.headers.get(b"Location")
        if response.status in REDIRECTS and location and not is_entry(request.meta):
            # Recorded now, whatever the target turns out to be: the alias counts only while
            # its target is known, and the follow-up may never reach a middleware (the
            # duplicate filter drops it when the target was fetched earlier in the run).
            target = urljoin(request.url, location.decode("latin-1"))
            self.run.record_aliases([request.url], target)
            # Requests components make for themselves (robots.txt) are no links.
            if request.callback is not NO_CALLBACK:
                self.run.redirected([request.url], target)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        # The crawl itself refused the request (robots.txt, off-site, known redirect
        # target, from a process_request): asking again next run would get the same.
        if isinstance(exception, IgnoreRequest):
            self.run.answered([request.url])
