"""Which hosts exist in the replica, which belong to the network, and how each host answers.

The replica keeps its own list of the network's domains (from the 2017 advertising page)
instead of importing the crawler's registry: it replicates the real network, not the
crawler's beliefs about it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit, urlunsplit

NETWORK_DOMAINS: tuple[str, ...] = (
    "spacedaily.com",
    "spacewar.com",
    "terradaily.com",
    "energy-daily.com",
    "energydaily.com",
    "biofueldaily.com",
    "gpsdaily.com",
    "indodaily.com",
    "interndaily.com",
    "marsdaily.com",
    "moondaily.com",
    "nanodaily.com",
    "nuclearpowerdaily.com",
    "radardaily.com",
    "robodaily.com",
    "oilgasdaily.com",
    "russodaily.com",
    "saturndaily.com",
    "seeddaily.com",
    "sinodaily.com",
    "skynightly.com",
    "solardaily.com",
    "spacemart.com",
    "space-travel.com",
    "winddaily.com",
)
"""Every news site of the network, registered domain without ``www.``."""

SERVICE_DOMAINS: tuple[str, ...] = ("spxdaily.com", "spacemedianetwork.com")
"""Network domains without articles: the image host and the publisher."""

IMAGE_HOST = "www.spxdaily.com"
PUBLISHER_HOST = "www.spacemedianetwork.com"
NEWER_HOST = "spacedaily.com"
"""The WordPress-style platform SpaceDaily moved to in 2026: no ``www``."""


@dataclass(frozen=True, slots=True)
class ClassicSite:
    """A site replicated on the classic table layout, served on ``www.<domain>``."""

    name: str
    """As the network writes it: "SpaceWar"."""
    domain: str
    section: str
    """The section heading printed above every article of the site."""
    tagline: str

    @property
    def host(self) -> str:
        return f"www.{self.domain}"

    @property
    def home(self) -> str:
        return f"https://{self.host}/"

    @property
    def stem(self) -> str:
        return self.name.lower()

    @property
    def feed_path(self) -> str:
        return f"/{self.stem}.xml"

    @property
    def feed_url(self) -> str:
        return f"https://{self.host}{self.feed_path}"


SPACEWAR = ClassicSite("SpaceWar", "spacewar.com", "Military Space News", "Space War News")
SPACEDAILY = ClassicSite("SpaceDaily", "spacedaily.com", "Space News", "Your Portal To Space")
TERRADAILY = ClassicSite(
    "TerraDaily", "terradaily.com", "Earth Science News", "News About Planet Earth"
)
MARSDAILY = ClassicSite("MarsDaily", "marsdaily.com", "Mars News", "News About The Red Planet")
SPACEMART = ClassicSite(
    "SpaceMart", "spacemart.com", "Space Industry and Business News", "Space Industry News"
)

CLASSIC_SITES: tuple[ClassicSite, ...] = (SPACEWAR, SPACEDAILY, TERRADAILY, MARSDAILY, SPACEMART)
CLASSIC_BY_HOST: dict[str, ClassicSite] = {s.host: s for s in CLASSIC_SITES}

REPLICATED_HOSTS: tuple[str, ...] = (
    *(s.host for s in CLASSIC_SITES),
    NEWER_HOST,
    PUBLISHER_HOST,
    IMAGE_HOST,
)
"""Hosts that serve content; every other host of the network answers 404."""

# robots.txt rules per host, as path prefixes: both the robots.txt text and the server's
# record of impolite requests come from here, so they cannot disagree.
CLASSIC_DISALLOW: tuple[str, ...] = ("/cgi-bin/",)
NEWER_DISALLOW: tuple[str, ...] = ("/wp-admin/",)
NEWER_ALLOW: tuple[str, ...] = ("/wp-admin/admin-ajax.php",)


def robots_rules(host: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(allow, disallow) path prefixes of a replicated host's robots.txt."""
    if host == NEWER_HOST:
        return NEWER_ALLOW, NEWER_DISALLOW
    if host in CLASSIC_BY_HOST:
        return (), CLASSIC_DISALLOW
    return (), ()


def is_disallowed(host: str, path: str) -> bool:
    """Whether robots.txt of ``host`` forbids ``path`` (longest match wins, as Google does)."""
    allow, disallow = robots_rules(host)
    best_allow = max((len(p) for p in allow if path.startswith(p)), default=-1)
    best_disallow = max((len(p) for p in disallow if path.startswith(p)), default=-1)
    return best_disallow > best_allow


class HostKind(Enum):
    SERVED = "served"
    """A replicated host in its canonical form."""
    REDIRECT = "redirect"
    """Another spelling of a replicated host: answers 301 to the canonical host."""
    UNREPLICATED = "unreplicated"
    """A network host the replica does not reproduce: every path answers 404."""
    OFF_NETWORK = "off-network"
    """Not the network at all: a polite crawler never asks for it."""


@dataclass(frozen=True, slots=True)
class HostRoute:
    kind: HostKind
    host: str
    """The canonical host to serve or redirect to; the normalised input otherwise."""


def normalise_host(host: str) -> str:
    """Lower case, no port, no trailing dot."""
    host = host.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def registered_domain(host: str) -> str | None:
    """The network domain a host belongs to, or None when it is off the network."""
    host = normalise_host(host)
    for domain in (*NETWORK_DOMAINS, *SERVICE_DOMAINS):
        if host == domain or host.endswith("." + domain):
            return domain
    return None


WEB_PORTS: tuple[int, ...] = (80, 443)


def with_port(host: str, port: int | None) -> str:
    """``host`` as a request names it: with its port only when that is no web port (the
    network serves nothing there, so such a host is off the network)."""
    return host if port is None or port in WEB_PORTS else f"{host}:{port}"


def route_host(host: str) -> HostRoute:
    """Decide how a request for ``host`` is answered, the way the real servers would."""
    if not host.startswith("[") and host.count(":") == 1:
        port = host.rsplit(":", 1)[1]
        if not port.isdigit() or int(port) not in WEB_PORTS:
            return HostRoute(HostKind.OFF_NETWORK, host.strip().lower())
    host = normalise_host(host)
    if host in REPLICATED_HOSTS:
        return HostRoute(HostKind.SERVED, host)
    domain = registered_domain(host)
    if domain is None:
        return HostRoute(HostKind.OFF_NETWORK, host)
    # The bare domain of a classic site and of the service hosts redirect to www; the bare
    # spacedaily.com is the newer platform itself and so is served above.
    if host == domain and f"www.{domain}" in REPLICATED_HOSTS:
        return HostRoute(HostKind.REDIRECT, f"www.{domain}")
    return HostRoute(HostKind.UNREPLICATED, host)


def is_own_authority(authority: str, own_port: int) -> bool:
    """Whether a URL's authority (``host[:port]``, as a request line or Host header gives it)
    names the replica server itself: a loopback name or address on the replica's own port.

    Any other address (``169.254.169.254``, ``10.0.0.1``, ``127.0.0.1:22``) is a host of its
    own, off the network, so a request a crawler sends there is seen and logged as such."""
    authority = authority.strip().lower()
    if not authority:
        return True
    host, port = authority, 80
    if authority.startswith("["):
        host, _, rest = authority[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif authority.count(":") == 1:
        host, port_text = authority.split(":", 1)
    else:
        port_text = ""
    if port_text:
        if not port_text.isdigit():
            return False
        port = int(port_text)
    host = host.rstrip(".")
    if host != "localhost":
        try:
            if not ipaddress.ip_address(host).is_loopback:
                return False
        except ValueError:
            return False
    return port == own_port


TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "fbclid", "gclid")


def canonical_url(url: str) -> str:
    """The canonical form of a network page URL, as its ``og:url`` would give it.

    https, lower-case host, ``www.`` for the classic sites (and for classic paths asked of
    the bare spacedaily.com, which redirects them), tracking parameters and fragments dropped.
    Off-network URLs are returned unchanged.
    """
    parts = urlsplit(url)
    host = normalise_host(parts.netloc)
    domain = registered_domain(host)
    if domain is None:
        return url
    if host == domain and host != NEWER_HOST:
        host = f"www.{domain}"
    elif host == NEWER_HOST and is_classic_path(parts.path):
        host = f"www.{NEWER_HOST}"
    query = "&".join(
        p for p in parts.query.split("&") if p and not p.lower().startswith(TRACKING_PREFIXES)
    )
    return urlunsplit(("https", host, parts.path or "/", query, ""))


def is_classic_path(path: str) -> bool:
    """Paths that only the classic layout has (the newer platform redirects them to www)."""
    if path.startswith("/wp-"):
        return False
    return path.startswith(("/reports/", "/news/", "/cgi-bin/")) or path.endswith((".html", ".xml"))
