"""Where each hand-written article is linked from: home pages, section pages and feeds.

A listing entry is an article key, optionally with the form its link takes (see
:func:`vary_url`): real pages link the same article as http and https, with and without
``www.``, relatively, and with tracking parameters, so a crawler has to canonicalise.

Articles tagged ``section-only``, ``feed-only``, ``sister-page-only`` or ``sister-feed-only``
in ``content.py`` appear in exactly the one listing that tag names, and in no headline list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from replica.network import (
    CLASSIC_BY_HOST,
    MARSDAILY,
    NEWER_HOST,
    SPACEDAILY,
    SPACEMART,
    SPACEWAR,
    TERRADAILY,
    ClassicSite,
)

RESTRICTED_TAGS = frozenset({"section-only", "feed-only", "sister-page-only", "sister-feed-only"})
"""Articles with these tags must be reachable only through the listing their tag names."""


@dataclass(frozen=True, slots=True)
class Ref:
    """A link to an article from a listing."""

    key: str
    form: str = "canonical"


def _refs(*entries: str | tuple[str, str]) -> tuple[Ref, ...]:
    return tuple(Ref(e) if isinstance(e, str) else Ref(*e) for e in entries)


@dataclass(frozen=True, slots=True)
class SectionPage:
    host: str
    path: str
    heading: str
    refs: tuple[Ref, ...]

    @property
    def url(self) -> str:
        return f"https://{self.host}{self.path}"


FeedKind = Literal["classic", "newer", "broken"]


@dataclass(frozen=True, slots=True)
class Feed:
    host: str
    path: str
    title: str
    kind: FeedKind
    build_time: str
    """Classic: the non-standard ``Thu, 04 APR 2013 20:37:27 AEST`` put on every item."""
    refs: tuple[Ref, ...] = ()

    @property
    def url(self) -> str:
        return f"https://{self.host}{self.path}"


HOME_PAGES: dict[str, tuple[Ref, ...]] = {
    SPACEWAR.host: _refs(
        "sw-arctic",
        "sw-baltic",
        ("sw-japan-radar", "relative"),
        "sw-nk",
        ("sw-sahel", "dotdot"),
        ("sw-india-missile", "http"),
        "sw-warning-sats",
        ("sw-intercept", "relative"),
        # Sister sites' stories on the home page, as the network cross-promotes.
        ("sm-export", "http"),
        ("td-glaciers", "bare"),
    ),
    SPACEDAILY.host: _refs(
        "sd-comet",
        ("sd-turbulence", "relative"),
        "sd-drag-sail",
        ("sd-china-crew", "http"),
        "sd-launchers",
        ("sd-bone-loss", "relative"),
        ("sd-bursts", "case"),
        ("td-glaciers", "http"),
        "md-crater",
    ),
    TERRADAILY.host: _refs(
        "td-arctic",
        ("td-glaciers", "relative"),
        "td-quake",
        ("td-monsoon", "http+utm"),
    ),
    MARSDAILY.host: _refs(
        "md-analog",
        ("md-crater", "relative"),
        "md-methane",
        ("md-greenhouse", "dotdot"),
        ("sd-comet", "http"),
    ),
    SPACEMART.host: _refs(
        "sm-warning-sats",
        ("sm-geo-order", "relative"),
        "sm-rideshare",
        ("sm-export", "case"),
        ("sd-launchers", "http"),
    ),
    NEWER_HOST: _refs(
        "wp-lunar-engine",
        "wp-debris",
        "wp-antarctic",
        "wp-helicopter",
        "wp-launch-record",
    ),
}

SECTION_PAGES: tuple[SectionPage, ...] = (
    SectionPage(
        SPACEWAR.host,
        "/Military_Space_News.html",
        "Military Space News",
        _refs("sw-baltic", "sw-japan-radar", "sw-nk", "sw-sahel", ("sw-intercept", "dotdot")),
    ),
    SectionPage(
        SPACEWAR.host,
        "/Superpowers.html",
        "Superpowers",
        _refs(("sw-drills", "relative"), "sw-arctic", ("sm-export", "http")),
    ),
    SectionPage(
        SPACEDAILY.host,
        "/Solar_Science.html",
        "Solar Science",
        _refs(("sd-sunspots", "http+bare"), "sd-bursts"),
    ),
    SectionPage(
        TERRADAILY.host,
        "/Earth_Science_News.html",
        "Earth Science News",
        _refs(("td-soil", "relative"), "td-glaciers", "td-quake"),
    ),
    SectionPage(
        MARSDAILY.host,
        "/Mars_Exploration.html",
        "Mars Exploration",
        _refs("md-crater", ("md-methane", "relative"), "sd-mars-ice"),
    ),
    SectionPage(
        SPACEMART.host,
        "/Space_Industry_and_Business_News.html",
        "Space Industry and Business News",
        _refs("sm-geo-order", "sm-rideshare", ("sm-warning-sats", "relative")),
    ),
    SectionPage(
        NEWER_HOST,
        "/category/news/",
        "News",
        _refs("wp-launch-record", "wp-helicopter", "wp-antarctic", "wp-debris", "wp-lunar-engine"),
    ),
)

# Classic feeds link over http, as the 2013 snapshot does; each feed is a snapshot taken at
# its own build time, which every item repeats as its pubDate.
FEEDS: tuple[Feed, ...] = (
    Feed(
        SPACEWAR.host,
        SPACEWAR.feed_path,
        "Military Space News From SpaceWar.Com",
        "classic",
        "Wed, 21 MAY 2025 05:17:52 AEST",
        _refs(
            ("sw-hack", "http"),
            ("sw-arctic", "http"),
            ("sw-baltic", "http+utm"),
            ("sw-japan-radar", "http"),
            ("sw-nk", "http"),
            ("sw-sahel", "http"),
        ),
    ),
    Feed(
        SPACEDAILY.host,
        SPACEDAILY.feed_path,
        "Space News From SpaceDaily.Com",
        "classic",
        "Fri, 05 APR 2013 06:41:09 AEST",
        _refs(
            ("sd-comet", "http"),
            ("sd-turbulence", "http"),
            ("td-glaciers", "http"),
            # The only way to the MarsDaily rover story: a sister site's feed.
            ("md-layers", "http+utm"),
            ("sd-drag-sail", "http"),
            ("sd-china-crew", "http"),
            ("td-monsoon", "http"),
            ("md-analog", "http"),
            ("sd-bone-loss", "http"),
        ),
    ),
    Feed(
        TERRADAILY.host,
        TERRADAILY.feed_path,
        "Earth Science News From TerraDaily.Com",
        "classic",
        "Fri, 05 APR 2013 06:43:30 AEST",
        _refs(
            ("td-arctic", "http"),
            ("td-glaciers", "http"),
            ("td-quake", "http"),
            ("td-monsoon", "http"),
        ),
    ),
    Feed(MARSDAILY.host, MARSDAILY.feed_path, "", "broken", ""),
    Feed(
        SPACEMART.host,
        SPACEMART.feed_path,
        "Space Industry News From SpaceMart.Com",
        "classic",
        "Sat, 07 NOV 2015 08:30:00 AEST",
        _refs(
            ("sm-warning-sats", "http"),
            ("sm-geo-order", "http"),
            ("sm-rideshare", "http"),
            ("sm-export", "http"),
        ),
    ),
    Feed(
        NEWER_HOST,
        "/feed/",
        "SpaceDaily",
        "newer",
        "Wed, 04 Feb 2026 09:12:33 +0000",
        _refs(
            ("wp-lunar-engine", "utm-rss"),
            ("wp-debris", "utm-rss"),
            ("wp-antarctic", "utm-rss"),
            ("wp-helicopter", "utm-rss"),
            ("wp-launch-record", "utm-rss"),
        ),
    ),
    Feed(
        NEWER_HOST,
        "/category/news/feed/",
        "News &#8211; SpaceDaily",
        "newer",
        "Wed, 04 Feb 2026 09:40:02 +0000",
        _refs("wp-optical-clock", "wp-lunar-engine", "wp-debris"),
    ),
)


def vary_url(url: str, form: str, page_url: str | None = None) -> str:
    """The link to ``url`` as a page at ``page_url`` writes it; ``form`` combines with "+":

    canonical, http, bare (no www), case (www.SpaceWar.com), utm (feed tracking),
    utm-rss (WordPress feed tracking), relative (/reports/...), dotdot (../reports/...).
    Relative forms fall back to absolute when the page is on another host.
    """
    scheme, host, path, query, _ = urlsplit(url)
    page_host = urlsplit(page_url).netloc if page_url else None
    relative = None
    for part in form.split("+"):
        if part == "canonical":
            continue
        if part == "http":
            scheme = "http"
        elif part == "bare":
            host = host.removeprefix("www.")
        elif part == "case":
            site: ClassicSite | None = CLASSIC_BY_HOST.get(host)
            host = f"www.{site.name}.com" if site else host.upper()
        elif part == "utm":
            query = "utm_source=feed&utm_medium=rss"
        elif part == "utm-rss":
            slug = path.strip("/")
            query = f"utm_source=rss&utm_medium=rss&utm_campaign={slug}"
        elif part in ("relative", "dotdot"):
            relative = part
        else:
            raise ValueError(f"unknown link form {part!r}")
    if relative and page_host == host:
        if relative == "relative":
            return urlunsplit(("", "", path, query, ""))
        depth = page_url.count("/") - 3 if page_url else 0
        return urlunsplit(("", "", "../" * max(depth, 1) + path.lstrip("/"), query, ""))
    return urlunsplit((scheme, host, path, query, ""))
