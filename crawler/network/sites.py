"""The registry of Space Media Network sites: per-site knowledge as data.

Each site lists its home page, its feeds and the section pages known to list articles. The
spider starts from these URLs; everything else is discovered by following links.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Site:
    """One site of the network."""

    name: str
    """Display name, as the network writes it: "SpaceWar"."""
    domain: str
    """Registered domain without ``www.``: "spacewar.com"."""
    home: str
    """Home page URL."""
    feeds: tuple[str, ...] = ()
    """RSS feed URLs."""
    sections: tuple[str, ...] = ()
    """Section index pages that list articles (beyond the home page)."""
    aliases: tuple[str, ...] = ()
    """Other registered domains that serve the same site."""
    distinct_hosts: tuple[str, ...] = ()
    """Hosts whose pages differ from the ``www.`` ones (another platform on the bare domain),
    so ``www.`` is part of a page's identity there."""


def _classic(name: str, domain: str | None = None, aliases: tuple[str, ...] = ()) -> Site:
    """A site on the classic table layout: ``www.<domain>`` with its feed at ``/<name>.xml``."""
    domain = domain or f"{name.lower()}.com"
    stem = name.lower()
    return Site(
        name=name,
        domain=domain,
        home=f"https://www.{domain}/",
        feeds=(f"https://www.{domain}/{stem}.xml",),
        aliases=aliases,
    )


SITES: tuple[Site, ...] = (
    # SpaceDaily moved to a WordPress-style platform in 2026 (no www, /feed/); the classic
    # www pages and feed still hold most of the archive.
    Site(
        name="SpaceDaily",
        domain="spacedaily.com",
        home="https://spacedaily.com/",
        feeds=(
            "https://spacedaily.com/feed/",
            "https://spacedaily.com/category/news/feed",
            "http://www.spacedaily.com/spacedaily.xml",
        ),
        sections=("https://www.spacedaily.com/",),
        distinct_hosts=("spacedaily.com",),
    ),
    _classic("SpaceWar"),
    _classic("TerraDaily"),
    # The 2017 network page links www.EnergyDaily.com; the site itself is energy-daily.com.
    _classic("EnergyDaily", "energy-daily.com", aliases=("energydaily.com",)),
    _classic("BiofuelDaily"),
    _classic("GPSDaily"),
    _classic("IndoDaily"),
    _classic("InternDaily"),
    _classic("MarsDaily"),
    _classic("MoonDaily"),
    _classic("NanoDaily"),
    _classic("NuclearPowerDaily"),
    _classic("RadarDaily"),
    _classic("RoboDaily"),
    _classic("OilGasDaily"),
    _classic("RussoDaily"),
    _classic("SaturnDaily"),
    _classic("SeedDaily"),
    _classic("SinoDaily"),
    _classic("SkyNightly"),
    _classic("SolarDaily"),
    _classic("SpaceMart"),
    _classic("Space-Travel"),
    _classic("WindDaily"),
)

_BY_DOMAIN: dict[str, Site] = {d: s for s in SITES for d in (s.domain, *s.aliases)}

# Domains that belong to the network but hold no articles of their own (images, publisher).
SERVICE_DOMAINS: frozenset[str] = frozenset({"spxdaily.com", "spacemedianetwork.com"})


def site_for_host(host: str | None) -> Site | None:
    """The site a host name belongs to (``www.`` or not, any case, port ignored), or None."""
    if not host:
        return None
    host = host.lower().rsplit(":", 1)[0] if host.count(":") == 1 else host.lower()
    host = host.rstrip(".")
    while host:
        site = _BY_DOMAIN.get(host)
        if site is not None:
            return site
        if "." not in host:
            return None
        host = host.split(".", 1)[1]
    return None


def is_network_host(host: str | None) -> bool:
    """Whether a host belongs to the network (a site or one of its service domains)."""
    if site_for_host(host) is not None:
        return True
    if not host:
        return False
    host = host.lower().split(":", 1)[0].rstrip(".")
    return any(host == d or host.endswith("." + d) for d in SERVICE_DOMAINS)


def select_sites(names: str | Iterable[str] | None) -> tuple[Site, ...]:
    """Sites named by domain (``spacewar.com``) or name (``SpaceWar``); all when None or empty.

    Raises ValueError naming the unknown entries, so a typo in ``-a sites=`` fails loudly.
    """
    if names is None:
        return SITES
    if isinstance(names, str):
        names = [n for n in (p.strip() for p in names.split(",")) if n]
    wanted = list(names)
    if not wanted:
        return SITES
    by_key = {s.domain: s for s in SITES} | {s.name.lower(): s for s in SITES}
    chosen: list[Site] = []
    unknown: list[str] = []
    for raw in wanted:
        key = raw.lower().removeprefix("www.")
        site = by_key.get(key) or by_key.get(key + ".com")
        if site is None:
            unknown.append(raw)
        elif site not in chosen:
            chosen.append(site)
    if unknown:
        known = ", ".join(s.domain for s in SITES)
        raise ValueError(f"unknown site(s): {', '.join(unknown)}; known sites: {known}")
    return tuple(chosen)
