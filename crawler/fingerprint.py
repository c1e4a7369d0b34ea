"""One request per page, however a link spells its URL (``REQUEST_FINGERPRINTER_CLASS``).

``CanonicalRequestFingerprinter`` makes Scrapy's duplicate filter compare canonical URLs
(``crawler.network.urls.url_key``): http and https, ``www.`` or not, a trailing slash and
tracking parameters do not make a second request. A redirect between two spellings of one URL
would then be filtered as a duplicate of itself: see
:mod:`crawler.downloadermiddlewares.canonical_redirect`.
"""

from __future__ import annotations

import hashlib
from typing import Self

from scrapy import Request
from scrapy.crawler import Crawler

from crawler.network.urls import url_key

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
