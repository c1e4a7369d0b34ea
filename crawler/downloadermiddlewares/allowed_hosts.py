"""Downloader middleware: no request leaves for a host the crawl may not ask.

Replaces Scrapy's ``OffsiteMiddleware`` (downloader, 50) at the same place in the chain: it
checks every request with the spider's :class:`~crawler.network.hosts.AllowedHosts`, whatever
``dont_filter`` or ``allow_offsite`` say, so every hop of a redirect is checked before it is
sent (the redirect middleware hands each hop back to the engine, and so to this chain). It
runs before ``RobotsTxtMiddleware`` (100): a refused host's robots.txt is not asked either.

Stats: ``offsite/filtered`` and ``offsite/domains`` as the stock middleware keeps them, and
``smn/offsite/refused/<reason>`` by reason (``an_ip_address``, ``another_port``, ...).
Refused redirects are logged at WARNING (a server chose that address), other refusals at
DEBUG.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest

from crawler.network.hosts import AllowedHosts

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

_KEY = re.compile(r"[^a-z0-9]+")


class AllowedHostsMiddleware:
    """Refuses (``IgnoreRequest``) every request the spider's allowed hosts do not allow."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._policy: AllowedHosts | None = None
        self._hosts_seen: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = cls(crawler)
        # Refused when scheduled already, so a refused request never waits in the queue.
        crawler.signals.connect(middleware.request_scheduled, signal=signals.request_scheduled)
        return middleware

    def request_scheduled(self, request: Request) -> None:
        self.process_request(request)

    def _allowed(self) -> AllowedHosts:
        if self._policy is None:
            spider = self.crawler.spider
            policy = getattr(spider, "allowed_hosts", None)
            if not isinstance(policy, AllowedHosts):
                # A spider of another project: its allowed_domains, on the web ports only.
                policy = AllowedHosts.build(getattr(spider, "allowed_domains", None) or ())
            self._policy = policy
        return self._policy

    def process_request(self, request: Request) -> None:
        reason = self._allowed().refusal(request.url)
        if reason is None:
            return
        stats = self.crawler.stats
        host = urlsplit(request.url).hostname or ""
        if stats is not None:
            stats.inc_value("offsite/filtered")
            stats.inc_value(f"smn/offsite/refused/{_KEY.sub('_', reason.lower()).strip('_')}")
            if host not in self._hosts_seen:
                self._hosts_seen.add(host)
                stats.inc_value("offsite/domains")
        chain = request.meta.get("redirect_urls")
        if chain:
            logger.warning(
                "Refused a redirect to <%s> (%s), from <%s>", request.url, reason, chain[0]
            )
        else:
            logger.debug("Refused a request to <%s> (%s)", request.url, reason)
        raise IgnoreRequest(f"host not allowed: {reason}")
