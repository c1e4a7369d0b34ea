"""The classic table layout: headline, byline, dateline span, body between comment markers."""

from __future__ import annotations

import re

from crawler.extract.blocks import Block, BlockPage, page_blocks
from crawler.extract.boilerplate import CLASSIC, block_key, is_drop, is_stop
from crawler.extract.fields import (
    Dateline,
    find_dateline,
    is_listing,
    looks_like_names,
    strip_by,
)
from crawler.extract.layouts import Layout
from crawler.extract.page import Page
from crawler.extract.parts import NotArticle, Parts, related_links_after
from crawler.protocol import PageKind

_SECTION_TAIL = re.compile(r"((?:[A-Z][\w'&-]*\s+)(?:(?:and|of|&|the|[A-Z][\w'&-]*)\s+)*News)\s*$")
_MIN_WORDS = 20
_KICKER_MAX = 60
_NOT_KICKERS = frozenset({"advertisement", "sponsored", "home", "news"})


def detect(page: Page, bp: BlockPage) -> bool:
    """Whether the page is built on the classic layout."""
    if bp.comment_index(CLASSIC.body_start_comments[0]) is not None:
        return True
    return any(b.classes & CLASSIC.dateline_classes for b in bp.blocks) and any(
        b.in_h1 for b in bp.blocks
    )


def _is_kicker(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return (
        bool(letters)
        and all(c.isupper() for c in letters)
        and len(text) <= _KICKER_MAX
        and len(text.split()) <= 8
        and block_key(text) not in _NOT_KICKERS
    )


def _headline(blocks: list[Block]) -> tuple[int, int, str] | None:
    """(first index, last index, text) of the first ``<h1>``."""
    first = next((i for i, b in enumerate(blocks) if b.in_h1), None)
    if first is None:
        return None
    last = first
    while last + 1 < len(blocks) and blocks[last + 1].in_h1:
        last += 1
    return first, last, " ".join(b.text for b in blocks[first : last + 1])


def _dateline_at(blocks: list[Block], lo: int, hi: int) -> tuple[int, Dateline] | None:
    hi = min(hi, len(blocks))
    for i in range(lo, hi):
        if blocks[i].classes & CLASSIC.dateline_classes:
            found = find_dateline(blocks[i].text)
            if found is not None:
                return i, found
    for i in range(lo, hi):
        found = find_dateline(blocks[i].text)
        # A dateline stands alone or opens its block; a match deep in a sentence is text.
        if found is not None and (found.start < 80 and len(blocks[i].text) < 160):
            return i, found
    return None


def _byline_between(blocks: list[Block], lo: int, hi: int, title: str) -> tuple[int, str] | None:
    candidates = [i for i in range(lo, hi) if blocks[i].text and blocks[i].text != title]
    for i in candidates:
        if blocks[i].classes & CLASSIC.byline_classes:
            return i, strip_by(blocks[i].text)[0]
    for i in candidates:
        name, had_by = strip_by(blocks[i].text)
        if had_by and name and len(name) <= 120:
            return i, name
    for i in candidates:
        if looks_like_names(blocks[i].text) and not _is_kicker(blocks[i].text):
            return i, blocks[i].text
    return None


def _kicker_before(blocks: list[Block], before: int, title: str) -> str | None:
    """The capitalised topic label above the headline; the section heading may stand
    between the two."""
    for i in range(before - 1, max(-1, before - 5), -1):
        text = blocks[i].text
        if text == title:
            continue
        if _is_kicker(text):
            return text
        if not (_SECTION_TAIL.fullmatch(text) and len(text) <= 60):
            return None
    return None


def _section_before(blocks: list[Block], before: int) -> str | None:
    """The nearest heading before the headline that names a section ("... News"); links
    are navigation, not the heading."""
    for i in range(before - 1, -1, -1):
        block = blocks[i]
        if block.link_density > 0.5 or len(block.text) > 120:
            continue
        m = _SECTION_TAIL.search(block.text)
        if m and len(m.group(1).split()) <= 8:
            return m.group(1)
    return None


def _body_depth(blocks: list[Block]) -> int:
    """The table depth most of the body's words sit at; deeper blocks are inserts (image
    captions, ad tables) set into the text."""
    words: dict[int, int] = {}
    for block in blocks:
        words[block.table_depth] = words.get(block.table_depth, 0) + len(block.text.split())
    return max(words, key=lambda d: words[d]) if words else 0


def extract(page: Page, url: str, bp: BlockPage | None = None) -> Parts:
    """Parts of a classic article page; NotArticle when the page lists or shows no article."""
    bp = bp or page_blocks(page.root)
    blocks = bp.blocks
    head = _headline(blocks)
    marker = bp.comment_index(CLASSIC.body_start_comments[0])
    if head is None:
        raise NotArticle("no headline (<h1>)")
    h_first, h_last, title = head

    window_end = h_last + 1 + CLASSIC.header_window
    if marker is not None and marker > h_last:
        window_end = max(window_end, marker + 3)
    dated = _dateline_at(blocks, h_last + 1, window_end)
    dl_index = dated[0] if dated else None
    dateline = dated[1] if dated else None

    byline: str | None = None
    by_index: int | None = None
    if dl_index is not None:
        prefix = blocks[dl_index].text[: dateline.start].strip() if dateline else ""
        if prefix:
            name, _ = strip_by(prefix)
            byline, by_index = name or None, dl_index
        else:
            found = _byline_between(blocks, h_last + 1, dl_index, title)
            if found:
                by_index, byline = found
    else:
        found = _byline_between(blocks, h_last + 1, min(h_last + 4, len(blocks)), title)
        if found and strip_by(blocks[found[0]].text)[1]:
            by_index, byline = found

    category = _kicker_before(blocks, h_first, title)
    section = _section_before(blocks, h_first)

    header = [i for i in (h_last, dl_index, by_index) if i is not None]
    end_marker = next(
        (
            i
            for i, text in bp.comments
            if any(n in text.lower() for n in CLASSIC.body_end_comments)
            and (marker is None or i >= marker)
        ),
        None,
    )
    start = max(header) + 1
    if marker is not None:
        inside = [i for i in header if marker <= i]
        start = max(inside) + 1 if inside else marker
    end = end_marker if end_marker is not None and end_marker >= start else len(blocks)

    paragraphs: list[str] = []
    stop_at = next((i for i in range(start, end) if is_stop(blocks[i].text)), end)
    depth = _body_depth(blocks[start:stop_at])
    for i in range(start, stop_at):
        text = blocks[i].text
        if is_drop(text) or text == title or blocks[i].table_depth > depth:
            continue
        if not paragraphs and byline is None:
            name, had_by = strip_by(text)
            if had_by and len(name.split()) <= 8:
                byline = name
                continue
        paragraphs.append(text)
    if is_listing([b.text for b in blocks[start:stop_at]]):
        raise NotArticle("a listing of several stories (home or section page)", PageKind.LISTING)
    if sum(len(p.split()) for p in paragraphs) < _MIN_WORDS:
        raise NotArticle("no article body")
    if dateline is None and byline is None:
        # Every story of the network carries a dateline or a byline; an about or privacy
        # page built on the same template does not.
        raise NotArticle("no dateline or byline: not a story")

    related_start = next(
        (i for i in range(stop_at, len(blocks)) if block_key(blocks[i].text) == "related links"),
        end_marker if end_marker is not None and end_marker < len(blocks) else None,
    )
    related = related_links_after(blocks, related_start, url) if related_start is not None else []
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
