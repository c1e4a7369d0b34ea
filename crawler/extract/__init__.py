"""The boilerplate stripper: a clean article record from any Space Media Network page.

``extract_article(body, url)`` returns an ``Article`` or None (and logs why); it never raises.
The network's own layouts are tried first (``classic``, ``modern``, then ``legacy`` for the
older pages without the classic markers); a page none of them reads goes to trafilatura with
the network's boilerplate cut from its output (``fallback``), if it is a page of the network.
Every field is checked before it is written (:mod:`crawler.extract.checks`).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from itertools import islice
from urllib.parse import urljoin, urlsplit

from lxml import etree

from crawler.extract.blocks import BlockPage, page_blocks
from crawler.extract.checks import (
    FieldNotes,
    agency_problem,
    checked,
    checked_byline,
    choose_date,
    choose_time,
    choose_title,
    label_problem,
    place_problem,
)
from crawler.extract.decode import decode_html
from crawler.extract.fields import (
    authors_of,
    content_hash,
    fold_text,
    is_junk,
    parse_iso_date,
    without_controls,
    word_count,
)
from crawler.extract.layouts import KNOWN_LAYOUTS, LAYOUTS
from crawler.extract.origin import not_ours
from crawler.extract.page import NotHtml, Page, jsonld_text, parse_page
from crawler.extract.parts import NotArticle, Parts
from crawler.extract.times import jsonld_time
from crawler.items import Article, RelatedLink
from crawler.network.sites import site_for_host
from crawler.network.urls import clean_url
from crawler.protocol import PageKind

__all__ = [
    "EXTRACTOR_VERSION",
    "KNOWN_LAYOUTS",
    "Extraction",
    "extract",
    "extract_article",
    "extract_page",
    "read_page",
]

# Bump whenever a change can alter any extracted field.
EXTRACTOR_VERSION = "1.4.0"

logger = logging.getLogger(__name__)

MAX_TAGS = 100_000
"""Bodies with more ``<`` than this are not parsed: a page of the network has a few thousand
tags (a heavy section page about 10,000)."""
FALLBACK_MAX_ELEMENTS = 25_000
"""Pages of no known layout with more elements than this are not given to trafilatura: a
news article of the network has a few thousand."""

_ERROR_TITLES = ("404", "not found", "page not found", "error", "forbidden", "unavailable")
_METADATA_DATES = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "date",
    "dc.date",
    "dc.date.issued",
    "pubdate",
    "publishdate",
    "sailthru.date",
)


@dataclass(frozen=True, slots=True)
class Extraction:
    """The outcome of one page: an article, or the reason there is none."""

    article: Article | None
    reason: str | None = None
    """Why the page gave no article (None when it gave one), for people: never parsed."""
    layout: str | None = None
    """The layout that read (or last tried) the page: "classic", "modern", "legacy",
    "fallback" or None."""
    kind: PageKind = PageKind.OTHER
    """What the page is: ``ARTICLE`` when it gave one."""
    implausible: tuple[tuple[str, str], ...] = ()
    """(field, why) of each value that could not be right and was written as null (or
    replaced by the next source): counted as ``smn/fields/implausible/<field>``."""
    disagreements: tuple[tuple[str, str], ...] = ()
    """(field, what) of each field whose sources disagreed (the dateline's date and
    ``article:published_time``, the ``<h1>`` and og:title): ``smn/fields/disagree/<field>``."""


def extract_article(
    body: bytes | str,
    url: str,
    *,
    content_type: str | None = None,
    fetched_at: dt.datetime | None = None,
) -> Article | None:
    """The article on a page, or None (logged with the reason) when it shows none."""
    result = extract(body, url, content_type=content_type, fetched_at=fetched_at)
    if result.article is None:
        logger.info("Not an article: %s <%s>", result.reason, url)
    return result.article


def extract(
    body: bytes | str,
    url: str,
    *,
    content_type: str | None = None,
    fetched_at: dt.datetime | None = None,
) -> Extraction:
    """Extract a page; never raises (but MemoryError): unexpected failures come back as a
    reason."""
    page = read_page(body, content_type)
    if isinstance(page, Extraction):
        return page
    return extract_page(page, url, fetched_at=fetched_at)


def read_page(body: bytes | str, content_type: str | None = None) -> Page | Extraction:
    """The parsed page, or the outcome of a body that is none; never raises."""
    tags = body.count(b"<") if isinstance(body, bytes) else body.count("<")
    if tags > MAX_TAGS:
        # Parsing alone would cost a worker seconds and hundreds of MB (8 MB of 450,000
        # paragraphs: 4 s, 460 MB); no page of the network comes near.
        # Not judged, like an empty or binary answer: what it says of the site's markup
        # is nothing, and the layout watch must not count it.
        return Extraction(
            None, f"too many tags for a page of the network ({tags})", kind=PageKind.ERROR
        )
    try:
        return parse_page(decode_html(body, content_type))
    except NotHtml as exc:
        return Extraction(None, str(exc), kind=exc.kind)
    except MemoryError:
        raise  # the worker's memory limit: the pool replaces the worker
    except Exception as exc:  # a bad page must never stop a crawl
        return Extraction(None, f"unreadable page: {type(exc).__name__}: {exc}")


def extract_page(page: Page, url: str, *, fetched_at: dt.datetime | None = None) -> Extraction:
    """Extract an already parsed page (the crawler parses once for links and extraction);
    never raises."""
    try:
        return _extract_page(page, url, fetched_at or dt.datetime.now(dt.UTC))
    except MemoryError:
        raise  # the worker's memory limit: the pool replaces the worker
    except Exception as exc:  # a bad page must never stop a crawl
        return _failed(exc, url)


def _failed(exc: Exception, url: str) -> Extraction:
    if isinstance(exc, RecursionError):
        return Extraction(None, "page too deeply nested to read")
    logger.exception("Extraction failed on <%s>", url)
    return Extraction(None, f"extraction error: {type(exc).__name__}: {exc}")


def _extract_page(page: Page, url: str, fetched_at: dt.datetime) -> Extraction:
    if _is_error_page(page):
        return Extraction(None, f"error page: {page.title_tag or 'no title'}")
    bp = page_blocks(page.root)
    parts: Parts | None = None
    tried: NotArticle | None = None
    for layout in LAYOUTS:
        if not layout.detect(page, bp):
            continue
        try:
            parts = layout.extract(page, url, bp)
        except NotArticle as exc:
            if exc.final or exc.kind is PageKind.LISTING:
                return Extraction(None, str(exc), layout=layout.name, kind=exc.kind)
            # The layout found none of its landmarks: a later one (or the fallback) may.
            tried = tried or exc
            continue
        break
    if parts is None:
        try:
            parts = _fallback(page, url, bp)
        except NotArticle as exc:
            reason = str(exc)
            if tried is not None and str(tried) != reason:
                reason = f"{reason} (network reading: {tried})"
            return Extraction(None, reason, layout="fallback", kind=exc.kind)
    return _checked(page, parts, url, fetched_at)


def _fallback(page: Page, url: str, bp: BlockPage) -> Parts:
    """trafilatura's reading of a page no layout of the network reads; only for pages of
    the network (a page of another site is no article of the dataset)."""
    if _larger_than(page, FALLBACK_MAX_ELEMENTS):
        # trafilatura on a huge page costs a worker half a minute and a gigabyte (8 MB
        # of 450,000 paragraphs: 34 s, 1.2 GB), and no network story is that big.
        too_large = f"over {FALLBACK_MAX_ELEMENTS} elements"
        raise NotArticle(f"no known layout, and too large for the fallback ({too_large})")
    foreign = not_ours(page, url, marks=True, bp=bp)
    if foreign is not None:
        raise NotArticle(foreign)
    # Imported on first use: trafilatura costs the crawler process (which only unpickles
    # the workers' results) memory and start-up time for nothing; the workers import it
    # when they start (crawler.extraction.worker.warm_up).
    from crawler.extract import fallback

    return fallback.extract(page, url)


def _larger_than(page: Page, elements: int) -> bool:
    return next(islice(page.root.iter(), elements, None), None) is not None


def _is_error_page(page: Page) -> bool:
    title = page.title_tag.lower()
    h1 = " ".join(page.root.xpath("string(//h1)").split()).lower()
    return any(title.startswith(t) or h1.startswith(t) for t in _ERROR_TITLES) or (
        "page not found" in title or "404" in h1
    )


def _absolute(base: str, href: str | None) -> str | None:
    if not href or not href.strip():
        return None
    href = href.strip()
    if href.lower().startswith(("javascript:", "data:", "mailto:")):
        return None
    return urljoin(base, href)


def _canonical(page: Page, url: str) -> str:
    """og:url or rel=canonical when it is on the network, else ``url``; spelled as requests
    are (:func:`~crawler.network.urls.clean_url`), so the record's key is the request's."""
    for candidate in (page.meta.get("og:url"), page.links.get("canonical")):
        try:
            absolute = _absolute(url, candidate)
            if not absolute:
                continue
            cleaned = clean_url(absolute)
            if site_for_host(urlsplit(cleaned).hostname) is not None:
                return cleaned
        except ValueError:  # a bad port or IPv6 host: no page of the network
            continue
    try:
        return clean_url(url)
    except ValueError:
        return url


def _metadata_dates(parts: Parts, page: Page) -> list[dt.date | None]:
    dates = [parse_iso_date(parts.metadata_date)]
    dates.extend(parse_iso_date(page.meta.get(key)) for key in _METADATA_DATES)
    dates.append(parse_iso_date(jsonld_text(page.jsonld.get("datePublished"))))
    return dates


# The post's own time on the newer platform (WordPress: "entry-date published"); not any
# <time>: comments and teasers carry theirs.
_PUBLISHED_TIME = etree.XPath(
    "(//time[contains(concat(' ', normalize-space(@class), ' '), ' published ')]/@datetime)[1]"
)


def _times(
    page: Page, fetched_at: dt.datetime, notes: FieldNotes
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``published_at`` and ``modified_at``: the page's metadata first, then JSON-LD."""
    element = _PUBLISHED_TIME(page.root)
    published = choose_time(
        "published_at",
        [
            ("article:published_time", page.meta.get("article:published_time")),
            ("og:published_time", page.meta.get("og:published_time")),
            ("JSON-LD datePublished", jsonld_time(page.jsonld.get("datePublished"))),
            ("<time class=published>", str(element[0]) if element else None),
        ],
        fetched_at,
        notes,
    )
    modified = choose_time(
        "modified_at",
        [
            ("article:modified_time", page.meta.get("article:modified_time")),
            ("og:updated_time", page.meta.get("og:updated_time")),
            ("JSON-LD dateModified", jsonld_time(page.jsonld.get("dateModified"))),
        ],
        fetched_at,
        notes,
    )
    return published, modified


def _checked(page: Page, parts: Parts, url: str, fetched_at: dt.datetime) -> Extraction:
    """The record of a page's parts, every field checked (:mod:`crawler.extract.checks`)."""
    notes = FieldNotes()
    title = choose_title(
        [
            parts.title,
            page.meta.get("og:title"),
            jsonld_text(page.jsonld.get("headline")),
            page.title_tag,
        ],
        notes,
    )
    if title is None:
        return Extraction(
            None,
            "no plausible headline",
            layout=parts.layout,
            implausible=tuple(notes.implausible),
        )
    article = _record(page, parts, url, fetched_at, title, notes)
    return Extraction(
        article,
        layout=parts.layout,
        kind=PageKind.ARTICLE,
        implausible=tuple(notes.implausible),
        disagreements=tuple(notes.disagreements),
    )


def _record(
    page: Page, parts: Parts, url: str, fetched_at: dt.datetime, title: str, notes: FieldNotes
) -> Article:
    # Garbage bytes inside a body (a broken server, a corrupted page) are no paragraph.
    paragraphs = [
        p for p in (without_controls(fold_text(p)) for p in parts.paragraphs) if not is_junk(p)
    ]
    text = "\n\n".join(paragraphs)
    host = urlsplit(url).hostname or ""
    canonical = _canonical(page, url)
    # A page fetched from a mirror or a local replica still says where it belongs.
    site = site_for_host(host) or site_for_host(urlsplit(canonical).hostname)
    image = parts.image_url or next(
        (
            u
            for u in (
                page.meta.get("og:image"),
                page.meta.get("twitter:image"),
                jsonld_text(page.jsonld.get("image")),
                page.links.get("image_src"),
            )
            if u
        ),
        None,
    )
    description = (
        page.meta.get("description")
        or page.meta.get("og:description")
        or (paragraphs[0] if paragraphs else None)
    )
    lang = (page.root.get("lang") or page.meta.get("content-language") or "en").strip()
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=dt.UTC)
    title = fold_text(title).strip()
    byline = checked_byline(fold_text(parts.byline).strip() if parts.byline else None, notes)
    dateline = parts.dateline
    place = fold_text(dateline.place).strip() if dateline and dateline.place else None
    place = checked("dateline", place, place and place_problem(place), notes)
    agency = dateline.agency if dateline else None
    agency = checked("agency", agency, agency and agency_problem(agency), notes)
    category = parts.category
    category = checked("category", category, category and label_problem(category, title), notes)
    section = parts.section
    section = checked("section", section, section and label_problem(section, title), notes)
    published = choose_date(
        dateline.date if dateline else None,
        _metadata_dates(parts, page),
        fetched_at.astimezone(dt.UTC).date(),
        notes,
    )
    published_at, modified_at = _times(page, fetched_at.astimezone(dt.UTC), notes)
    return Article(
        url=url,
        canonical_url=canonical,
        site=site.domain if site else host.lower().removeprefix("www."),
        title=title,
        text=text,
        section=section,
        category=category,
        byline=byline,
        authors=authors_of(byline),
        agency=agency,
        dateline=place,
        published_date=published,
        published_at=published_at,
        modified_at=modified_at,
        description=fold_text(description).strip() if description else None,
        image_url=_absolute(url, image),
        related_links=[RelatedLink(url=u, text=fold_text(t)) for u, t in parts.related_links],
        language=(lang.split("-")[0].split("_")[0].lower() or "en")[:8],
        word_count=word_count(text),
        content_hash=content_hash(text),
        fetched_at=fetched_at.astimezone(dt.UTC),
        extractor_version=EXTRACTOR_VERSION,
        layout=parts.layout,
    )
