"""The classic table layout: headline, byline, dateline span, body between comment markers."""

from __future__ import annotations

from crawler.extract.blocks import BlockPage, page_blocks
from crawler.extract.boilerplate import CLASSIC, is_caption, is_drop, is_stop
from crawler.extract.bylines import read_byline
from crawler.extract.fields import is_listing
from crawler.extract.header import (
    MIN_WORDS,
    after_dateline,
    body_depth,
    byline_between,
    clean_title,
    dateline_at,
    headline_of,
    is_wire_trailer,
    kicker_before,
    section_before,
)
from crawler.extract.layouts import Layout
from crawler.extract.page import Page
from crawler.extract.parts import NotArticle, Parts, related_links_from
from crawler.protocol import PageKind


def detect(page: Page, bp: BlockPage) -> bool:
    """Whether the page is built on the classic layout."""
    if bp.comment_index(CLASSIC.body_start_comments[0]) is not None:
        return True
    return any(b.classes & CLASSIC.dateline_classes for b in bp.blocks) and any(
        b.in_h1 for b in bp.blocks
    )


def extract(page: Page, url: str, bp: BlockPage | None = None) -> Parts:
    """Parts of a classic article page; NotArticle when the page lists or shows no article."""
    bp = bp or page_blocks(page.root)
    blocks = bp.blocks
    head = headline_of(blocks)
    marker = bp.comment_index(CLASSIC.body_start_comments[0])
    if head is None:
        # The body markers without a headline: the legacy reading may still find one.
        raise NotArticle("no headline (<h1>)", final=False)
    h_first, h_last, raw_title = head
    title = clean_title(raw_title)

    end_marker = next(
        (
            i
            for i, text in bp.comments
            if any(n in text.lower() for n in CLASSIC.body_end_comments)
            and (marker is None or i >= marker)
        ),
        None,
    )
    search_end = end_marker if end_marker is not None and end_marker > h_last else len(blocks)
    if marker is not None and marker > h_last:
        search_end = min(search_end, marker + 3)  # the dateline opens the body, if inside
    dated = dateline_at(blocks, h_last + 1, search_end, raw_title)
    dl_index = dated[0] if dated else None
    dateline = dated[1] if dated else None

    byline: str | None = None
    by_index: int | None = None
    if dateline is not None and dl_index is not None:
        if dateline.byline:
            byline, by_index = dateline.byline, dl_index
        else:
            found = byline_between(blocks, h_last + 1, dl_index, raw_title, names_at=dl_index - 1)
            if found:
                by_index, byline = found
    else:
        found = byline_between(blocks, h_last + 1, min(h_last + 4, len(blocks)), raw_title)
        if found:
            by_index, byline = found

    category = kicker_before(blocks, h_first, raw_title)
    section = section_before(blocks, h_first)

    header = [i for i in (h_last, dl_index, by_index) if i is not None]
    start = max(header) + 1
    if marker is not None:
        inside = [i for i in header if marker <= i]
        start = max(inside) + 1 if inside else marker
    end = end_marker if end_marker is not None and end_marker >= start else len(blocks)

    paragraphs: list[str] = []
    if dateline is not None and dl_index is not None and dl_index < start:
        first = after_dateline(blocks[dl_index].text, dateline)
        if first:
            paragraphs.append(first)
    stop_at = next(
        (
            i
            for i in range(start, end)
            if is_stop(blocks[i].text) or is_wire_trailer(blocks[i].text, category)
        ),
        end,
    )
    depth = body_depth(blocks[start:stop_at])
    for i in range(start, stop_at):
        text = blocks[i].text
        if is_drop(text) or is_caption(text) or text in (raw_title, title):
            continue
        if blocks[i].table_depth > depth:
            continue
        if not paragraphs and byline is None:
            found_by = read_byline(text)
            if found_by is not None and len(found_by.split()) <= 8:
                byline = found_by
                continue
        paragraphs.append(text)
    if is_listing([b.text for b in blocks[start:stop_at]]):
        raise NotArticle("a listing of several stories (home or section page)", PageKind.LISTING)
    if sum(len(p.split()) for p in paragraphs) < MIN_WORDS:
        raise NotArticle("no article body")
    if dateline is None and byline is None:
        # Every story of the network carries a dateline or a byline; an about or privacy
        # page built on the same template does not.
        raise NotArticle("no dateline or byline: not a story")

    marker = end_marker if end_marker is not None and end_marker < len(blocks) else None
    related = related_links_from(blocks, stop_at, url, fallback=marker)
    return Parts(
        layout="classic",
        title=title,
        paragraphs=paragraphs,
        category=category,
        section=section,
        byline=byline or None,
        dateline=dateline,
        related_links=related,
    )


LAYOUT = Layout("classic", detect, extract)
