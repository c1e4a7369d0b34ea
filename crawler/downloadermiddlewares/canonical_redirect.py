"""Downloader middleware: a redirect between two spellings of one URL is followed.

The duplicate filter compares canonical URLs (:mod:`crawler.fingerprint`), so the site
sending ``spacewar.com`` to ``www.spacewar.com`` would be filtered as a duplicate of itself.
Where the request may go is not decided here: every hop is checked against the allowed hosts
whatever this flag says (:mod:`crawler.downloadermiddlewares.allowed_hosts`).
"""

from __future__ import annotations

from urllib.parse import urljoin

from scrapy import Request
from scrapy.http import Response

from crawler.network.urls import url_key

REDIRECTS = frozenset({301, 302, 303, 307, 308})


class SameCanonicalRedirectMiddleware:
    """Downloader middleware (before RedirectMiddleware in the response chain) that marks a
    request ``dont_filter`` when its response redirects to another spelling of the same URL;
    RedirectMiddleware copies that flag to the redirected request. Redirect loops stay bounded
    by ``REDIRECT_MAX_TIMES``."""

    def process_response(self, request: Request, response: Response) -> Response:
        location_header = response.headers.get(b"Location")
        if response.status in REDIRECTS and location_header:
            location = location_header.decode("latin-1")
            if url_key(urljoin(request.url, location)) == url_key(request.url):
                request.dont_filter = True
        return response
