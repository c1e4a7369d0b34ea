"""Which hosts a request may be sent to: the selected sites on their web ports, and the exact
host and port of each overriding start URL; nothing else, however the request was made.

A redirect is a request the server chose. Scrapy's offsite filter lets through every request
marked ``dont_filter`` (start URLs, same-page redirects), and the redirect middleware copies
that mark to the next hop, so a site, or a page posing as one, could send the crawler to a
cloud metadata address (``169.254.169.254``) or a service on the crawl host. The policy here
is checked on every request instead, whatever its flags.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from crawler.network.sites import site_for_host

WEB_PORTS: dict[str, int] = {"http": 80, "https": 443}
"""The schemes a crawl requests, with their default ports: the only ports of a network host."""


def is_ip_literal(host: str) -> bool:
    """Whether a host name is an address in any spelling a resolver accepts (``127.1``,
    ``0x7f000001`` and ``2130706433`` are 127.0.0.1 to ``getaddrinfo``)."""
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return True
    try:
        socket.inet_aton(host)
    except (OSError, ValueError):
        return False
    return True


def is_loopback_name(host: str) -> bool:
    return host == "localhost" or host.endswith(".localhost")


@dataclass(frozen=True, slots=True)
class AllowedHosts:
    """The hosts (and ports) a crawl may request."""

    domains: frozenset[str]
    """Registered domains of the selected sites: any of their hosts on port 80 or 443."""
    origins: frozenset[tuple[str, int]]
    """(host, port) of each overriding start URL (a local replica, a mirror): that host on
    that port only, an address included."""

    @classmethod
    def build(cls, domains: Iterable[str], start_urls: Iterable[str] = ()) -> AllowedHosts:
        origins: set[tuple[str, int]] = set()
        for url in start_urls:
            origin = _origin(url)
            if origin is not None:
                origins.add(origin)
        return cls(frozenset(d.lower() for d in domains), frozenset(origins))

    def refusal(self, url: str) -> str | None:
        """Why a request for ``url`` must not be sent (a short phrase for the log and the
        stats key), or None when it may be."""
        try:
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            port = parts.port
        except ValueError:
            return "invalid URL"
        if scheme not in WEB_PORTS:
            return "not http(s)"
        host = (parts.hostname or "").rstrip(".")
        if not host:
            return "no host"
        if (host, port or WEB_PORTS[scheme]) in self.origins:
            return None
        if is_ip_literal(host):
            return "an IP address"
        if is_loopback_name(host):
            return "a loopback name"
        site = site_for_host(host)
        if site is None or site.domain not in self.domains:
            return "off the selected sites"
        if port is not None and port not in WEB_PORTS.values():
            return "another port"
        return None

    def allows(self, url: str) -> bool:
        return self.refusal(url) is None


def _origin(url: str) -> tuple[str, int] | None:
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").rstrip(".")
        port = parts.port or WEB_PORTS.get(scheme)
    except ValueError:
        return None
    if scheme not in WEB_PORTS or not host or port is None:
        return None
    return host, port
