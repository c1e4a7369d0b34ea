"""Pages of no known layout: trafilatura, with the network's boilerplate cut from its output."""

from __future__ import annotations

import trafilatura

from crawler.extract.boilerplate import is_drop, is_stop
from crawler.extract.fields import find_dateline, is_listing, strip_by
from crawler.extract.page import Page
from crawler.extract.parts import NotArticle, Parts
from crawler.protocol import PageKind

_MIN_WORDS = 50
_MIN_PARAGRAPHS = 2
# Containers trafilatura would otherwise keep: comment threads and share bars.
_PRUNE = [
    "//*[@id='disqus_thread']",
    "//*[contains(@class, 'share')]",
    "//*[contains(@class, 'related')]",
]


def extract(page: Page, url: str) -> Parts:
    """Parts of an article of unknown layout, as trafilatura finds them."""
    doc = trafilatura.bare_extraction(
        page.root,
        url=url,
        include_comments=False,
        include_tables=False,
        with_metadata=True,
        prune_xpath=_PRUNE,
    )
    if doc is None or isinstance(doc, dict) or not doc.text:
        raise NotArticle("no article text found (unknown layout)")
    title = (getattr(doc, "title", None) or "").strip()
    paragraphs: list[str] = []
    dateline = None
    for line in (doc.text or "").split("\n"):
        line = " ".join(line.split())
        if not line:
            continue
        if is_stop(line):
            break
        if is_drop(line) or line == title:
            continue
        if not paragraphs and dateline is None:
            found = find_dateline(line)
            if found is not None and found.start < 60 and len(line) < 120:
                dateline = found
                continue
        paragraphs.append(line)
    if not title:
        raise NotArticle("no headline (unknown layout)")
    if sum(len(p.split()) for p in paragraphs) < _MIN_WORDS or len(paragraphs) < _MIN_PARAGRAPHS:
        raise NotArticle("no article body (unknown layout)")
    if is_listing(paragraphs):
        raise NotArticle("a listing of several stories (unknown layout)", PageKind.LISTING)
    # Without a layout to trust, only a page that says it is a story counts as one: a date
    # guessed from anywhere on the page (as trafilatura does) is no such sign.
    says_article = (
        page.meta.get("og:type") == "article"
        or bool(page.jsonld)
        or "article:published_time" in page.meta
    )
    if dateline is None and not says_article:
        raise NotArticle("no dateline or article markup (unknown layout)")
    author = getattr(doc, "author", None)
    return Parts(
        layout="fallback",
        title=title,
        paragraphs=paragraphs,
        byline=strip_by(author)[0] if author else None,
        dateline=dateline,
        metadata_date=getattr(doc, "date", None),
        category=None,
    )
