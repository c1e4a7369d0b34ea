"""One request per page, however a link spells its URL.

``CanonicalRequestFingerprinter`` makes Scrapy's duplicate filter compare canonical URLs
(``crawler.urls.url_key``): http and https, ``www.`` or not, a trailing slash and tracking
parameters do not make a second request. A redirect between two spellings of one URL (the
site sending ``spacewar.com`` to ``www.spacewar.com``) would then be filtered as a duplicate
of itself; ``SameCanonicalRedirectMiddleware`` lets exactly those through.
"""

from __future__ import annotations

import hashlib
from typing import Self
from urllib.parse import urljoin

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response

from crawler.urls import url_key

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Fingerprints remembered by URL. A request is fingerprinted when the spider makes it and
# again by the duplicate filter moments later: a small cache serves both, and a large one is
# only memory (about 400 bytes an entry). Cleared when full.
CACHE_SIZE = 10_000


class CanonicalRequestFingerprinter:
    """Request fingerprints from the method, the canonical URL and the body."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls()

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, bytes], bytes] = {}

    def fingerprint(self, request: Request) -> bytes:
        key = (request.method, request.url, request.body)
        cached = self._cache.get(key)
        if cached is None:
            digest = hashlib.sha1(usedforsecurity=False)
            digest.update(request.method.encode("ascii"))
            digest.update(b"\0" + url_key(request.url).encode("utf-8") + b"\0")
            digest.update(request.body)
            cached = digest.digest()
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = cached
        return cached


class SameCanonicalRedirectMiddleware:
    """Downloader middleware (before RedirectMiddleware in the response chain) that marks a
    request ``dont_filter`` when its response redirects to another spelling of the same URL;
    RedirectMiddleware copies that flag to the redirected request. Redirect loops stay bounded
    by ``REDIRECT_MAX_TIMES``."""

    def process_response(self, request: Request, response: Response) -> Response:
        location_header = response.headers.get(b"Location")
        if response.status in _REDIRECTS and location_header:
            location = location_header.decode("latin-1")
            if url_key(urljoin(request.url, location)) == url_key(request.url):
                request.dont_filter = True
        return response
