"""The newer WordPress-style platform: ``<article>``, ``.entry-content``, JSON-LD."""

from __future__ import annotations

import copy

from lxml import etree
from lxml.html import HtmlElement

from crawler.extract.blocks import BlockPage, page_blocks
from crawler.extract.boilerplate import (
    MODERN,
    is_caption,
    is_drop,
    is_noise_token,
    is_stop,
)
from crawler.extract.bylines import byline_problem, looks_like_names, read_byline, strip_by
from crawler.extract.datelines import Dateline, find_dateline, read_dateline
from crawler.extract.layouts import Layout
from crawler.extract.origin import not_ours
from crawler.extract.page import Page, jsonld_text
from crawler.extract.parts import NotArticle, Parts, related_links_from
from crawler.protocol import PageKind

_MIN_WORDS = 20
_HEADER_PARTS = etree.XPath(
    "//*[contains(@class, 'dateline') or contains(@class, 'entry-meta')"
    " or contains(@class, 'post-meta')] | //article//header"
)
# Posts themselves, not related-post cards or comments (which are <article> elements too).
_POSTS = etree.XPath(
    "//article[starts-with(@id, 'post-') or contains(concat(' ', @class, ' '), ' type-post ')"
    " or contains(concat(' ', @class, ' '), ' hentry ')]"
)


_CONTENT_CLASSES = frozenset(
    {"entry-content", "post-content", "article-content", "td-post-content", "article-body"}
)
"""The content classes of ``MODERN.content``."""
_ARTICLE_BODY = etree.XPath("//*[@itemprop='articleBody']")


def _first(xpaths: tuple, root: HtmlElement) -> HtmlElement | None:
    for xp in xpaths:
        found = xp(root)
        if found:
            el: HtmlElement = found[0]
            return el
    return None


def _content(page: Page) -> HtmlElement | None:
    return _first(MODERN.content, page.root)


def detect(page: Page, bp: BlockPage | None = None) -> bool:
    """Whether the page is built on the newer platform (cheap: the classes the blocks
    carry, then ``<article>`` or an article body's itemprop)."""
    if bp is not None:
        if any(b.classes & _CONTENT_CLASSES for b in bp.blocks):
            return True
        return page.root.find(".//article") is not None or bool(_ARTICLE_BODY(page.root))
    return _content(page) is not None


def _strip_noise(el: HtmlElement) -> HtmlElement:
    el = copy.deepcopy(el)
    doomed = []
    for node in el.iter():
        if not isinstance(node.tag, str):
            continue
        tokens = f"{node.get('class', '')} {node.get('id', '')}".lower().split()
        if any(is_noise_token(t) for t in tokens):
            doomed.append(node)
    for node in doomed:
        if node.getparent() is not None:
            node.drop_tree()
    return el


def extract(page: Page, url: str, bp: BlockPage | None = None) -> Parts:
    """Parts of a newer-platform article; NotArticle for listings and empty posts."""
    foreign = not_ours(page, url, marks=True, bp=bp)
    if foreign is not None:
        # <article> and .entry-content are everybody's markup: a page of another site is
        # none of ours (the fallback refuses it too).
        raise NotArticle(foreign, final=False)
    body = page.root.find("body")
    body_classes = set((body.get("class") or "").lower().split()) if body is not None else set()
    if body_classes & MODERN.listing_body_classes and "single" not in body_classes:
        raise NotArticle("a listing of posts (archive, category or home page)", PageKind.LISTING)
    if body_classes & MODERN.static_page_body_classes and "single" not in body_classes:
        raise NotArticle("a static page (about, privacy), not a post")
    content = _content(page)
    if content is None:
        raise NotArticle("no article container")
    title_el = _first(MODERN.title, page.root)
    title = title_el.text_content().strip() if title_el is not None else ""
    title = title or jsonld_text(page.jsonld.get("headline")) or page.meta.get("og:title", "")
    if not title:
        raise NotArticle("no headline")
    if len(_POSTS(page.root)) > 1:
        raise NotArticle("a listing of posts (several posts on one page)", PageKind.LISTING)

    blocks = page_blocks(_strip_noise(content)).blocks
    paragraphs: list[str] = []
    dateline = None
    byline: str | None = None
    stop_at = len(blocks)
    for i, block in enumerate(blocks):
        text = block.text
        if block.in_h1 or text == title:
            continue
        if is_stop(text):
            stop_at = i
            break
        if is_drop(text) or is_caption(text):
            continue
        if not paragraphs:
            if dateline is None:
                found = read_dateline(text, title)
                if found is not None:
                    dateline = found
                    if byline is None and found.byline:
                        byline = found.byline
                    # "Paris (AFP) Mar 4, 2026 - The agency said ...": the dateline opens the
                    # first paragraph; keep the sentence, not the dateline.
                    rest = _after_dateline(text, found)
                    if not rest:
                        continue
                    text = rest
                    paragraphs.append(text)
                    continue
            name = read_byline(text)
            if byline is None and name is not None and len(name.split()) <= 8:
                byline = name
                continue
        paragraphs.append(text)
    if sum(len(p.split()) for p in paragraphs) < _MIN_WORDS:
        raise NotArticle("no article body")

    if dateline is None:
        dateline = _header_dateline(page)
    if byline is None:
        byline = _byline(page)
    if byline is None and dateline is not None:
        byline = dateline.byline
    category_el = _first(MODERN.category, page.root)
    category = category_el.text_content().strip() if category_el is not None else None
    related = related_links_from(blocks, stop_at, url)
    return Parts(
        layout="modern",
        title=title,
        paragraphs=paragraphs,
        category=category or jsonld_text(page.jsonld.get("articleSection")),
        byline=byline,
        dateline=dateline,
        related_links=related,
        metadata_date=(
            page.meta.get("article:published_time")
            or jsonld_text(page.jsonld.get("datePublished"))
            or _time_datetime(page)
        ),
    )


def _after_dateline(text: str, found: Dateline) -> str:
    return text[found.end :].lstrip(" \t-–—:|,.").strip()


def _header_dateline(page: Page) -> Dateline | None:
    """A dateline set in the post's header or meta line rather than in its body (a byline
    may share the line: "... by Staff Writers Boulder CO (SPX) Jan 05, 2026")."""
    for el in _HEADER_PARTS(page.root):
        found = find_dateline(" ".join(el.text_content().split()))
        if found is not None:
            return found
    return None


def _byline(page: Page) -> str | None:
    el = _first(MODERN.byline, page.root)
    if el is not None:
        text = strip_by(el.text_content().strip())[0].strip(" ,;-–—")
        if text and byline_problem(text) is None and (looks_like_names(text) or len(text) < 60):
            return text
    return jsonld_text(page.jsonld.get("author")) or page.meta.get("author") or None


def _time_datetime(page: Page) -> str | None:
    found = page.root.xpath("//article//time[@datetime]/@datetime | //time[@datetime]/@datetime")
    return str(found[0]) if found else None


LAYOUT = Layout("modern", detect, extract)
