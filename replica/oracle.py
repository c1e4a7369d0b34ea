"""What a correct crawl of the replica must find, for the crawler's tests.

Computed, not written down: the pages are rendered and their links resolved through the same
routing the server uses, so the manifest cannot disagree with what is served.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from html import unescape
from urllib.parse import urljoin, urlsplit

from replica.app import ReplicaApp, Request
from replica.catalog import Catalog
from replica.model import Article, Link, Platform
from replica.network import (
    CLASSIC_BY_HOST,
    HostKind,
    canonical_url,
    is_disallowed,
    route_host,
)
from replica.render_classic import og_image
from replica.render_newer import image_url
from replica.synth import DEFAULT_SEED, PER_PAGE, SYNTH_HOSTS, Synth

NON_ARTICLE_KINDS = frozenset({"home", "section", "archive", "info", "advertising"})


@dataclass(frozen=True, slots=True)
class ArticleEntry:
    """One article page and what a crawler should extract from it."""

    url: str
    """Canonical URL (the page's og:url)."""
    site: str
    """Domain without www: "spacewar.com"; "spacedaily.com" for both SpaceDaily platforms."""
    title: str
    story: str
    """Identifies the story: syndicated copies of a wire story share it."""
    copy_of: str | None
    """For a syndicated copy, the canonical URL of the network's original; else None."""
    platform: Platform
    section: str | None
    kicker: str
    byline: str
    """Without the leading "by": "AFP Staff Writers"."""
    agency: str
    place: str
    date: dt.date
    date_text: str
    paragraphs: tuple[str, ...]
    """The body as a reader sees it (curly quotes), subheadings included."""
    related_links: tuple[Link, ...]
    image_url: str | None
    synthetic: bool
    tags: frozenset[str]
    linked_from: tuple[str, ...]
    """Canonical URLs of the pages and feeds that link here (hand-written articles only;
    synthetic ones list their archive page)."""

    @property
    def syndicated(self) -> bool:
        """Whether the story appears on more than one page of the network."""
        return "syndicated-original" in self.tags or self.copy_of is not None

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


@dataclass(frozen=True)
class Manifest:
    scale: int
    seed: int
    articles: tuple[ArticleEntry, ...]
    non_article_urls: tuple[str, ...]
    """HTML pages that are not articles: home, section, archive, About, Privacy, the
    publisher's advertising page. A crawl writes no row for them."""
    feed_urls: tuple[str, ...]
    """Every feed, the broken one included."""
    broken_feed_urls: tuple[str, ...]
    robots_urls: tuple[str, ...]
    start_urls: tuple[str, ...]
    """The replicated sites' homes and feeds, as the crawler's site registry gives them."""
    dead_urls: tuple[str, ...]
    """Linked from pages, on replicated hosts, answering 404."""
    unreplicated_urls: tuple[str, ...]
    """Linked network URLs on sites the replica does not reproduce (they answer 404)."""
    off_network_urls: tuple[str, ...]
    """URLs off the network found in the static pages' links, images, scripts and forms.
    Synthetic pages add share links of the same hosts; see :attr:`off_network_hosts`."""
    disallowed_urls: tuple[str, ...]
    """Linked URLs that robots.txt disallows."""
    redirects: dict[str, str]
    """Linked URLs that answer 3xx, mapped to the URL the redirects end at."""

    @functools.cached_property
    def _by_url(self) -> dict[str, ArticleEntry]:
        return {a.url: a for a in self.articles}

    @property
    def article_urls(self) -> frozenset[str]:
        return frozenset(self._by_url)

    @property
    def off_network_hosts(self) -> frozenset[str]:
        return frozenset((urlsplit(u).hostname or "") for u in self.off_network_urls)

    def article(self, url: str) -> ArticleEntry | None:
        """The article a URL names, in any of the forms links use (http, no www, tracking
        parameters, host case), or None."""
        return self._by_url.get(canonical_url(url))

    def syndicated_groups(self) -> dict[str, tuple[ArticleEntry, ...]]:
        """Story -> its copies, for stories published on more than one page."""
        groups: defaultdict[str, list[ArticleEntry]] = defaultdict(list)
        for entry in self.articles:
            groups[entry.story].append(entry)
        return {k: tuple(v) for k, v in groups.items() if len(v) > 1}

    def hand_written(self) -> tuple[ArticleEntry, ...]:
        return tuple(a for a in self.articles if not a.synthetic)


_URL_ATTR = re.compile(r"""\b(?:href|src|action)\s*=\s*(["'])(.*?)\1""", re.IGNORECASE | re.DOTALL)
_FEED_LINK = re.compile(r"<link>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</link>", re.DOTALL)


def _links(body: bytes, content_type: str, page_url: str) -> Iterable[str]:
    text = body.decode("latin-1" if "iso-8859-1" in content_type else "utf-8", errors="replace")
    if "xml" in content_type:
        for match in _FEED_LINK.finditer(text):
            yield unescape(match.group(1).strip())
        return
    for match in _URL_ATTR.finditer(text):
        value = unescape(match.group(2).strip())
        if value and not value.startswith(("#", "javascript:", "mailto:", "data:")):
            yield urljoin(page_url, value)


def _entry(article: Article, catalog: Catalog, linked_from: Iterable[str]) -> ArticleEntry:
    story = article.story
    site = CLASSIC_BY_HOST.get(article.host)
    image: str | None
    if article.platform == "newer":
        image = image_url(article)
    else:
        image = og_image(article, site) if site else None
    copy_of = catalog.article(article.copy_of).url if article.copy_of else None
    return ArticleEntry(
        url=article.url,
        site=article.site,
        title=article.title,
        story=story.key,
        copy_of=copy_of,
        platform=article.platform,
        section=site.section if site else None,
        kicker=article.kicker,
        byline=story.byline_name,
        agency=story.agency,
        place=story.place,
        date=story.date,
        date_text=story.date_text,
        paragraphs=story.paragraphs,
        related_links=article.related_links,
        image_url=image,
        synthetic=article.synthetic,
        tags=article.tags,
        linked_from=tuple(sorted(linked_from)),
    )


class _Resolver:
    """Follows a URL through the replica's routing without a socket."""

    def __init__(self, catalog: Catalog) -> None:
        self.app = ReplicaApp(catalog, log_size=1)

    def final(self, url: str) -> tuple[int, str]:
        for _ in range(6):
            parts = urlsplit(url)
            request = Request(
                "GET", parts.scheme, (parts.hostname or "").lower(), parts.path or "/", parts.query
            )
            response = self.app.respond(request)
            location = response.header("Location")
            if response.status in (301, 302, 303, 307, 308) and location:
                url = urljoin(url, location)
                continue
            return response.status, url
        return 310, url


@functools.lru_cache(maxsize=8)
def manifest(scale: int = 0, *, seed: int = DEFAULT_SEED) -> Manifest:
    """The manifest of the replica served with ``--scale scale --seed seed``."""
    catalog = Catalog(scale, seed)
    resolver = _Resolver(catalog)
    linked_from: defaultdict[str, set[str]] = defaultdict(set)
    dead: set[str] = set()
    unreplicated: set[str] = set()
    off_network: set[str] = set()
    disallowed: set[str] = set()
    redirects: dict[str, str] = {}
    non_articles: list[str] = []
    feeds: list[str] = []
    broken: list[str] = []
    robots: list[str] = []
    for page_url, page in catalog.static_pages():
        if page.kind in NON_ARTICLE_KINDS:
            non_articles.append(page_url)
        elif page.kind == "feed":
            feeds.append(page_url)
        elif page.kind == "broken-feed":
            feeds.append(page_url)
            broken.append(page_url)
        elif page.kind == "robots":
            robots.append(page_url)
        if page.kind not in ("article", "feed", *NON_ARTICLE_KINDS):
            continue
        for url in _links(page.body, page.content_type, page_url):
            route = route_host(urlsplit(url).hostname or "")
            if route.kind is HostKind.OFF_NETWORK:
                off_network.add(url)
                continue
            if route.kind is HostKind.UNREPLICATED:
                unreplicated.add(url)
                continue
            if is_disallowed(route.host, urlsplit(url).path):
                disallowed.add(url)
                continue
            status, final = resolver.final(url)
            if final != url:
                redirects[url] = final
            if status == 404:
                dead.add(url)
            elif status == 200 and canonical_url(final) != page_url:
                linked_from[canonical_url(final)].add(page_url)
    entries = [_entry(a, catalog, linked_from[a.url]) for a in catalog.articles.values()]
    synth = catalog.synth
    stride = len(SYNTH_HOSTS)
    for article in synth.articles():
        a = int(article.key.split(":")[1])
        number = a // stride // PER_PAGE + 1
        entries.append(_entry(article, catalog, (Synth.archive_url(article.host, number),)))
    non_articles += synth.archive_urls()
    return Manifest(
        scale=scale,
        seed=seed,
        articles=tuple(entries),
        non_article_urls=tuple(non_articles),
        feed_urls=tuple(feeds),
        broken_feed_urls=tuple(broken),
        robots_urls=tuple(robots),
        start_urls=catalog.start_urls(),
        dead_urls=tuple(sorted(dead)),
        unreplicated_urls=tuple(sorted(unreplicated)),
        off_network_urls=tuple(sorted(off_network)),
        disallowed_urls=tuple(sorted(disallowed)),
        redirects=redirects,
    )
