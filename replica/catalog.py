"""Every page of the replica: the static pages rendered once at start-up, and the synthetic
ones rendered per request.

:meth:`Catalog.get` answers ``(host, path)`` for a canonical replicated host; host spelling,
schemes and off-network hosts are the server's business (see ``app.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from replica import render_classic, render_feeds, render_misc, render_newer
from replica.boilerplate import ABOUT_URL, ADVERTISING_URL, PRIVACY_URL
from replica.content import ARTICLES
from replica.layout import FEEDS, HOME_PAGES, RESTRICTED_TAGS, SECTION_PAGES, Ref, vary_url
from replica.model import Article, Link
from replica.network import (
    CLASSIC_BY_HOST,
    CLASSIC_SITES,
    NEWER_HOST,
    PUBLISHER_HOST,
    REPLICATED_HOSTS,
    SPACEDAILY,
    ClassicSite,
)
from replica.render_classic import Chrome, Entry
from replica.synth import DEFAULT_SEED, SYNTH_HOSTS, ArchivePage, Synth

PageKind = Literal[
    "article",
    "home",
    "section",
    "archive",
    "feed",
    "broken-feed",
    "robots",
    "info",
    "advertising",
    "redirect",
    "image",
    "binary",
    "disallowed",
]

CLASSIC_HTML = "text/html; charset=iso-8859-1"
NEWER_HTML = "text/html; charset=UTF-8"
CLASSIC_FEED = "text/xml"
NEWER_FEED = "application/rss+xml; charset=UTF-8"
ROBOTS = "text/plain"

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".gif", ".png")


@dataclass(frozen=True, slots=True)
class Page:
    status: int
    content_type: str
    body: bytes
    kind: PageKind
    location: str | None = None
    """Target of a redirect, as an absolute URL."""


def _html(body: bytes, kind: PageKind, *, newer: bool = False) -> Page:
    return Page(200, NEWER_HTML if newer else CLASSIC_HTML, body, kind)


def redirect(location: str) -> Page:
    return Page(301, CLASSIC_HTML, render_misc.redirect_page(location), "redirect", location)


def is_restricted(article: Article) -> bool:
    return bool(article.tags & RESTRICTED_TAGS)


class Catalog:
    """The replica's content at one scale."""

    def __init__(self, scale: int = 0, seed: int = DEFAULT_SEED) -> None:
        self.synth = Synth(scale, seed)
        self.articles: dict[str, Article] = {a.key: a for a in ARTICLES}
        self.chrome: dict[str, Chrome] = {s.host: self._chrome(s) for s in CLASSIC_SITES}
        newer_home = [self.articles[r.key] for r in HOME_PAGES[NEWER_HOST]]
        self.recent_newer: tuple[Article, ...] = tuple(newer_home)
        self._pages: dict[tuple[str, str], Page] = {}
        self._build()

    @property
    def scale(self) -> int:
        return self.synth.count

    # ------------------------------------------------------------------------ look-ups

    def article(self, key: str) -> Article:
        if key.startswith("synth:"):
            return self.synth.article(int(key.split(":", 1)[1]))
        return self.articles[key]

    def get(self, host: str, path: str) -> Page | None:
        """The page at a canonical host and path (query stripped), or None for a 404."""
        page = self._pages.get((host, path))
        if page is not None:
            return page
        return self._dynamic(host, path)

    def static_pages(self) -> Iterator[tuple[str, Page]]:
        """(URL, page) for every page rendered at start-up."""
        for (host, path), page in self._pages.items():
            yield f"https://{host}{path}", page

    def start_urls(self) -> tuple[str, ...]:
        """The replicated sites' home pages and feeds, as the crawler's registry lists them."""
        urls = [f"https://{NEWER_HOST}/", f"https://{NEWER_HOST}/feed/"]
        urls.append(f"https://{NEWER_HOST}/category/news/feed")
        urls += [s.home for s in CLASSIC_SITES]
        urls += [f"http://{s.host}{s.feed_path}" for s in CLASSIC_SITES]
        return tuple(urls)

    # ------------------------------------------------------------------------- building

    def _add(self, url: str, page: Page) -> None:
        host, path = url.split("://", 1)[1].split("/", 1)
        self._pages[(host, "/" + path)] = page

    def _chrome(self, site: ClassicSite) -> Chrome:
        nav = [Link("/", site.name)]
        nav += [Link(s.path, s.heading) for s in SECTION_PAGES if s.host == site.host]
        if self.synth.count:
            nav.append(Link(Synth.archive_url(site.host), "Archive"))
        if site is not SPACEDAILY:
            nav.append(Link("http://www.spacedaily.com/", "SpaceDaily"))
        nav += [Link(ADVERTISING_URL, "Advertise"), Link(ABOUT_URL, "About Us")]
        return Chrome(site, tuple(nav), self._headline_groups(site))

    def _headline_groups(self, site: ClassicSite) -> tuple[tuple[Link, ...], ...]:
        # Only freely linkable articles: a restricted one must keep its single way in.
        pool = [a for a in ARTICLES if not is_restricted(a) and a.platform == "classic"]
        start = CLASSIC_SITES.index(site) * 5
        pool = pool[start:] + pool[:start]
        groups = []
        for g in range(6):
            links = []
            for i, article in enumerate(pool[g * 4 : g * 4 + 4]):
                form = ("canonical", "http", "relative", "bare")[(g + i) % 4]
                href = vary_url(article.url, form, site.home)
                links.append(Link(href, article.title))
            groups.append(tuple(links))
        return tuple(groups)

    def _entries(self, refs: Sequence[Ref], page_url: str) -> list[Entry]:
        return [
            Entry(self.articles[r.key], vary_url(self.articles[r.key].url, r.form, page_url))
            for r in refs
        ]

    def _build(self) -> None:
        for article in ARTICLES:
            self._add(article.url, self._render_article(article))
        for site in CLASSIC_SITES:
            self._build_classic_site(site)
        self._build_newer()
        self._build_feeds()
        for host in REPLICATED_HOSTS:
            self._add(f"https://{host}/robots.txt", Page(200, ROBOTS, self._robots(host), "robots"))
        self._add(
            ADVERTISING_URL, Page(200, CLASSIC_HTML, render_misc.advertising_page(), "advertising")
        )
        self._add(
            f"https://{PUBLISHER_HOST}/spacemedianetwork-2017.pdf",
            Page(200, "application/pdf", render_misc.TINY_PDF, "binary"),
        )
        links = (Link(ADVERTISING_URL, "Advertise with us"), Link(SPACEDAILY.home, "SpaceDaily"))
        self._add(
            ABOUT_URL,
            _html(render_misc.classic_info_page("About Us", render_misc.ABOUT_TEXT, links), "info"),
        )
        self._add(
            PRIVACY_URL,
            _html(
                render_misc.classic_info_page("Privacy Statement", render_misc.PRIVACY_TEXT, links),
                "info",
            ),
        )

    @staticmethod
    def _robots(host: str) -> bytes:
        return render_misc.robots_txt(host)

    def _build_classic_site(self, site: ClassicSite) -> None:
        chrome = self.chrome[site.host]
        home = render_classic.render_index(
            chrome,
            url=site.home,
            title=f"{site.name}.com - {site.section}",
            heading=None,
            entries=self._entries(HOME_PAGES[site.host], site.home),
        )
        self._add(site.home, _html(home, "home"))
        # The 2013 feed's channel link names /index.html: the same page at a second URL.
        self._add(site.home + "index.html", _html(home, "home"))
        for section in SECTION_PAGES:
            if section.host != site.host:
                continue
            body = render_classic.render_index(
                chrome,
                url=section.url,
                title=f"{section.heading} - {site.name}.com",
                heading=section.heading,
                entries=self._entries(section.refs, section.url),
            )
            self._add(section.url, _html(body, "section"))

    def _build_newer(self) -> None:
        home_url = f"https://{NEWER_HOST}/"
        pager = (Link(Synth.archive_url(NEWER_HOST), "Older posts"),) if self.synth.count else ()
        entries = [(e.article, e.href) for e in self._entries(HOME_PAGES[NEWER_HOST], home_url)]
        home = render_newer.render_listing(
            url=home_url,
            title="Space News",
            heading=None,
            entries=entries,
            recent=self.recent_newer,
            pager=pager,
        )
        self._add(home_url, _html(home, "home", newer=True))
        listed = {s.path for s in SECTION_PAGES if s.host == NEWER_HOST}
        for section in SECTION_PAGES:
            if section.host == NEWER_HOST:
                pairs = [(e.article, e.href) for e in self._entries(section.refs, section.url)]
                self._add_newer_listing(section.url, section.heading, pairs)
        for name, slug in render_newer.CATEGORIES:
            path = f"/category/{slug}/"
            if path in listed:
                continue
            posts = [
                (a, a.url)
                for a in ARTICLES
                if a.platform == "newer" and a.kicker == name and not is_restricted(a)
            ]
            self._add_newer_listing(f"https://{NEWER_HOST}{path}", name, posts)
        self._add(
            render_newer.ABOUT_URL,
            _html(
                render_newer.render_static_page(
                    url=render_newer.ABOUT_URL, title="About Us", paragraphs=render_misc.ABOUT_TEXT
                ),
                "info",
                newer=True,
            ),
        )
        self._add(
            render_newer.PRIVACY_URL,
            _html(
                render_newer.render_static_page(
                    url=render_newer.PRIVACY_URL,
                    title="Privacy Policy",
                    paragraphs=render_misc.PRIVACY_TEXT,
                ),
                "info",
                newer=True,
            ),
        )

    def _add_newer_listing(
        self, url: str, heading: str, entries: Sequence[tuple[Article, str]]
    ) -> None:
        body = render_newer.render_listing(
            url=url,
            title=heading,
            heading=heading,
            entries=entries,
            recent=self.recent_newer,
        )
        self._add(url, _html(body, "section", newer=True))

    def _build_feeds(self) -> None:
        for feed in FEEDS:
            items = [
                (self.articles[r.key], vary_url(self.articles[r.key].url, r.form))
                for r in feed.refs
            ]
            if feed.kind == "broken":
                page = Page(200, CLASSIC_FEED, render_feeds.BROKEN_FEED, "broken-feed")
            elif feed.kind == "classic":
                body = render_feeds.render_classic_feed(
                    title=feed.title,
                    home=f"http://{feed.host}/",
                    build_time=feed.build_time,
                    items=items,
                )
                page = Page(200, CLASSIC_FEED, body, "feed")
            else:
                body = render_feeds.render_newer_feed(
                    title=feed.title, self_url=feed.url, build_time=feed.build_time, items=items
                )
                page = Page(200, NEWER_FEED, body, "feed")
            self._add(feed.url, page)

    # ------------------------------------------------------------------ article rendering

    def _render_article(self, article: Article) -> Page:
        teasers = [self.article(k) for k in article.teasers]
        if article.platform == "newer":
            previous = following = None
            order = list(self.recent_newer)
            if article in order:
                i = order.index(article)
                previous = order[i + 1] if i + 1 < len(order) else None
                following = order[i - 1] if i > 0 else None
            body = render_newer.render_post(
                article, teasers, self.recent_newer, previous=previous, following=following
            )
            return _html(body, "article", newer=True)
        chrome = self.chrome[article.host]
        return _html(render_classic.render_article(article, chrome, teasers), "article")

    def _dynamic(self, host: str, path: str) -> Page | None:
        a = self.synth.locate(host, path)
        if a is not None:
            return self._render_article(self.synth.article(a))
        archive = self.synth.locate_archive(host, path)
        if archive is not None:
            return self._render_archive(archive)
        if path.lower().endswith(IMAGE_SUFFIXES) and host in REPLICATED_HOSTS:
            return Page(200, "image/gif", render_misc.PIXEL_GIF, "image")
        if host in CLASSIC_BY_HOST and path.startswith("/cgi-bin/"):
            return _html(render_misc.cgi_page(path), "disallowed")
        if host == NEWER_HOST and path.startswith(("/wp-content/", "/wp-includes/")):
            if path.endswith(".css"):
                return Page(
                    200, "text/css", b"body { font-family: Roboto, sans-serif }\n", "binary"
                )
            if path.endswith(".js"):
                return Page(200, "application/javascript", b"/* wp */\n", "binary")
        if host == NEWER_HOST and path.startswith("/wp-admin/"):
            return _html(render_misc.cgi_page(path), "disallowed", newer=True)
        return None

    def _render_archive(self, page: ArchivePage) -> Page:
        url = Synth.archive_url(page.host, page.number)
        if page.number == 0:
            entries: list[tuple[Article, str]] = []
            pager = self.synth.index_links(page.host)
            heading = "Archive"
        else:
            entries = [
                (article, article.url)
                for article in map(
                    self.synth.article, self.synth.page_articles(page.host, page.number)
                )
            ]
            pager = self.synth.pager(page)
            heading = f"Archive - page {page.number} of {self.synth.pages_on(page.host)}"
        if page.host == NEWER_HOST:
            body = render_newer.render_listing(
                url=url,
                title=heading,
                heading=heading,
                entries=entries,
                recent=self.recent_newer,
                pager=pager,
            )
            return _html(body, "archive", newer=True)
        chrome = self.chrome[page.host]
        body = render_classic.render_index(
            chrome,
            url=url,
            title=f"{heading} - {chrome.site.name}.com",
            heading=heading,
            entries=[Entry(a, href) for a, href in entries],
            pager=pager,
        )
        return _html(body, "archive")


__all__ = ["SYNTH_HOSTS", "Catalog", "Page", "PageKind", "redirect"]
