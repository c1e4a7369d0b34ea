"""Older pages of the network (before about 2010): no body comments, no dateline span.

Such a page is read by structure and by the network's own vocabulary of the era: the story is
the dateline ("Place (AGENCY) Date", or "Place - Date") with the most prose after it, up to
the first boilerplate block (``boilerplate.is_stop``: the wire trailer, "Community / Email This
Article", the AFP rights notice, "Source: ...", "Related Links", the newsletter and feed
lines, the copyright footer) or the next story's dateline (a teaser). The headline is the
block before the dateline that the page's ``<title>`` or og:title names, else its ``<h1>``
or nearest heading; whatever stands between the headline and the dateline (captions, a
pull-quote, a summary, unrelated headlines) is header, never body.

A page that gives no such reading (no dateline, no body) is left to the fallback
(``NotArticle(final=False)``); one that is not the network's at all is too, and the fallback
refuses it.
"""

from __future__ import annotations

import bisect
import re

from crawler.extract.blocks import Block, BlockPage, page_blocks
from crawler.extract.boilerplate import is_caption, is_drop, is_stop
from crawler.extract.bylines import is_social_line, read_byline
from crawler.extract.datelines import Dateline, read_dateline
from crawler.extract.fields import is_listing
from crawler.extract.header import (
    HEADER_MAX_BLOCKS,
    MIN_WORDS,
    after_dateline,
    body_depth,
    byline_between,
    clean_title,
    is_kicker,
    is_section_heading,
    is_wire_trailer,
    join_headline,
    kicker_before,
    section_before,
)
from crawler.extract.layouts import Layout
from crawler.extract.origin import is_site_name, not_ours, without_site_name
from crawler.extract.page import Page, jsonld_text
from crawler.extract.parts import NotArticle, Parts, related_links_from
from crawler.protocol import PageKind

_NAV_DENSITY = 0.5
_TITLE_MAX_WORDS = 40
_TEASER_TAIL_WORDS = 20
_LISTING_MAX_WORDS = 120
_LISTING_DATELINES = 3
_MAX_DATELINES = 300
_SCORED_BLOCKS = 200
"""More datelines than this on one page: a listing (an archive), however it reads."""
_WORDISH = re.compile(r"\w")
_BY_START = re.compile(r"^\s*by\b", re.IGNORECASE)
_READ_MORE = re.compile(r"\bread more\W*$", re.IGNORECASE)
_TEASER_BLOCKS = 2
_PROSE_WORDS = 25
_RESIDUE = " |\u00a0"
_SENTENCE_ENDS = (".", "!", "?", '"', "”", "’", "'", ")", ":")
_NORM = re.compile(r"[^\w]+")


def detect(page: Page, bp: BlockPage) -> bool:
    """Every page the other layouts left: whether it reads as a story is for ``extract`` to
    find (and the fallback reads what it cannot)."""
    return True


def _norm(text: str) -> str:
    return _NORM.sub(" ", text.casefold()).strip()


def title_hints(page: Page) -> list[str]:
    """What the page's metadata calls its headline (og:title, JSON-LD, ``<title>``), without
    the site's name; site names and section headings alone are no hint."""
    hints: list[str] = []
    for raw in (
        page.meta.get("og:title"),
        jsonld_text(page.jsonld.get("headline")),
        page.title_tag,
    ):
        if not raw:
            continue
        text = clean_title(without_site_name(" ".join(raw.split())))
        if text and not is_site_name(text) and not is_section_heading(text) and text not in hints:
            hints.append(text)
    return hints


def _matches(block_text: str, hint: str) -> int:
    """How well a block names the headline a hint gives: 2 equal, 1 one starts the other."""
    a, b = _norm(clean_title(block_text)), _norm(hint)
    if not a or not b:
        return 0
    if a == b:
        return 2
    shorter = min(len(a.split()), len(b.split()))
    return 1 if shorter >= 4 and (a.startswith(b) or b.startswith(a)) else 0


def _is_content(block: Block) -> bool:
    text = block.text
    return not (
        block.link_density > _NAV_DENSITY
        or not _WORDISH.search(text)
        or is_drop(text)
        or is_caption(text)
    )


def _headline_before(
    blocks: list[Block], d: int, lo: int, hints: list[str], lead: str | None
) -> tuple[int | None, str | None]:
    """(index, text) of the headline above the dateline at ``d``; the index is None when
    the headline is not a block of its own."""
    best: tuple[int, int] | None = None
    for i in range(d - 1, lo - 1, -1):
        text = blocks[i].text
        if len(text.split()) > _TITLE_MAX_WORDS:
            continue
        score = max((_matches(text, h) for h in hints), default=0)
        if score and (best is None or score > best[1]):
            best = (i, score)
            if score == 2:
                break
    if best is not None:
        return best[0], _joined_h1(blocks, best[0])
    for wanted in ("h1", "lead", "heading"):
        if wanted == "lead":
            if lead and not is_site_name(lead):
                return None, lead
            continue
        for i in range(d - 1, lo - 1, -1):
            block = blocks[i]
            flag = block.in_h1 if wanted == "h1" else block.heading
            text = block.text
            if (
                flag
                and len(text.split()) <= _TITLE_MAX_WORDS
                and not is_site_name(text)
                and not is_section_heading(text)
                and not is_kicker(text)
            ):
                return i, _joined_h1(blocks, i)
    # No heading tag: the line under the nearest kicker (a section heading may stand
    # between), else what the metadata says (unless it names a site: "Space News From
    # SpaceDaily"), else the nearest line that reads as a headline.
    for i in range(d - 2, lo - 1, -1):
        if is_kicker(blocks[i].text):
            j = i + 1
            while j < d and is_section_heading(blocks[j].text):
                j += 1
            if j < d and _headline_like(blocks[j]):
                return j, blocks[j].text
    for hint in hints:
        if not any(is_site_name(w) for w in hint.split()):
            return None, hint
    for i in range(d - 1, lo - 1, -1):
        if _headline_like(blocks[i]):
            return i, blocks[i].text
    return None, None


def _headline_like(block: Block) -> bool:
    text = block.text
    words = len(text.split())
    return (
        2 <= words <= _TITLE_MAX_WORDS
        and not block.list_item
        and not text.startswith(("•", "·", "*", "- ", "»"))
        and block.link_density <= _NAV_DENSITY
        and not text.endswith(".")
        and not is_kicker(text)
        and not is_caption(text)
        and not is_stop(text)
        and read_byline(text) is None
        and not _BY_START.match(text)
        and not is_social_line(text)
        and not any(is_site_name(w) for w in text.split())
        and not is_section_heading(text)
    )


def _joined_h1(blocks: list[Block], i: int) -> str:
    """A headline split over several blocks of one ``<h1>`` (a ``<br>`` inside) is one."""
    if not blocks[i].in_h1:
        return blocks[i].text
    first = i
    while first > 0 and blocks[first - 1].in_h1:
        first -= 1
    last = i
    while last + 1 < len(blocks) and blocks[last + 1].in_h1:
        last += 1
    return join_headline([b.text for b in blocks[first : last + 1]])


def _candidates(
    blocks: list[Block], stops: list[bool], hints: list[str]
) -> list[tuple[int, Dateline]]:
    found = []
    for i, block in enumerate(blocks):
        if stops[i] or block.link_density > _NAV_DENSITY:
            continue
        text = block.text
        title = next((h for h in hints if text.startswith(h)), None)
        dateline = read_dateline(text, title)
        if dateline is not None and (dateline.place or dateline.agency):
            found.append((i, dateline))
    return found


def _is_prose(text: str) -> bool:
    """A paragraph of the story set in a deeper table cell (not an insert: a caption, an ad)."""
    return len(text.split()) >= _PROSE_WORDS and text.rstrip().endswith(_SENTENCE_ENDS)


def _segment_words(blocks: list[Block], d: int, end: int, dateline: Dateline) -> int:
    """Words of prose after a dateline: paragraphs that end a sentence (a list of headlines
    under it is no story)."""
    words = len(after_dateline(blocks[d].text, dateline).split())
    for i in range(d + 1, end):
        block = blocks[i]
        if _is_content(block) and block.text.rstrip().endswith(_SENTENCE_ENDS):
            words += len(block.text.split())
    return words


def _is_teaser(blocks: list[Block], d: int, end: int, dateline: Dateline) -> bool:
    """Whether the text after a dateline is a teaser's summary ("... read more")."""
    texts = [after_dateline(blocks[d].text, dateline)]
    texts += [b.text for b in blocks[d + 1 : min(end, d + 1 + _TEASER_BLOCKS)] if _is_content(b)]
    return any(_READ_MORE.search(t) for t in texts[: _TEASER_BLOCKS + 1])


def extract(page: Page, url: str, bp: BlockPage | None = None) -> Parts:
    """Parts of an older network page; NotArticle when it reads as no story."""
    foreign = not_ours(page, url)
    if foreign is not None:
        raise NotArticle(foreign, final=False)
    bp = bp or page_blocks(page.root)
    blocks = bp.blocks
    stops = [is_stop(b.text) for b in blocks]
    hints = title_hints(page)
    candidates = _candidates(blocks, stops, hints)
    if not candidates:
        raise NotArticle("no dateline under a headline", final=False)
    if len(candidates) > _MAX_DATELINES:
        raise NotArticle(f"{len(candidates)} datelines: a listing", PageKind.LISTING)

    # Each dateline's story runs to the next boilerplate block or the next dateline.
    ends: list[int] = []
    # (A line of place and date without agency may be a list item of the story itself:
    # "Launch - March 3, 2004"; it ends no story.)
    bounds = sorted(
        {i for i, s in enumerate(stops) if s} | {d for d, dl in candidates if dl.agency}
    )
    for d, _ in candidates:
        at = bisect.bisect_right(bounds, d)
        ends.append(bounds[at] if at < len(bounds) else len(blocks))
    scored = []
    for k, (d, dateline) in enumerate(candidates):
        lo = max(0, d - HEADER_MAX_BLOCKS, candidates[k - 1][0] + 1 if k else 0)
        index, _ = _headline_before(blocks, d, lo, hints, None)
        named = index is not None and (
            blocks[index].in_h1 or any(_matches(blocks[index].text, h) for h in hints)
        )
        seen = min(ends[k], d + _SCORED_BLOCKS)  # enough to judge; bounded work per page
        teaser = _is_teaser(blocks, d, seen, dateline) or is_listing(
            [b.text for b in blocks[d:seen]]
        )
        words = _segment_words(blocks, d, seen, dateline)
        scored.append(((named or bool(dateline.lead), not teaser, words), k))
    best_key, k = max(scored, key=lambda s: (s[0], -s[1]))
    d, dateline = candidates[k]
    end = ends[k]
    named, not_teaser, words = best_key
    if not not_teaser or (
        len(candidates) >= _LISTING_DATELINES and not named and words < _LISTING_MAX_WORDS
    ):
        raise NotArticle("a listing of several stories (older page)", PageKind.LISTING)

    lo = max(0, d - HEADER_MAX_BLOCKS, candidates[k - 1][0] + 1 if k else 0)
    h_index, title = _headline_before(blocks, d, lo, hints, dateline.lead)
    if not title:
        raise NotArticle("no headline above the dateline", final=False)
    title = clean_title(title)

    byline = dateline.byline
    by_index: int | None = None
    if byline is None:
        found = byline_between(
            blocks, h_index + 1 if h_index is not None else max(lo, d - 4), d, title, names_at=d - 1
        )
        if found:
            by_index, byline = found
    category = kicker_before(blocks, h_index, title) if h_index is not None else None
    section = section_before(blocks, h_index if h_index is not None else d)

    # The story's blocks; a teaser's headline (and kicker) before the next dateline are not.
    body_blocks = list(range(d + 1, end))
    if end < len(blocks) and not stops[end]:
        while body_blocks:
            last = blocks[body_blocks[-1]]
            short = len(last.text.split()) <= _TEASER_TAIL_WORDS
            if short and (
                last.link_density > _NAV_DENSITY
                or is_kicker(last.text)
                or not last.text.rstrip().endswith((".", '"', "”", "'", "’", ":"))
            ):
                body_blocks.pop()
                continue
            break
    depth = body_depth([blocks[i] for i in body_blocks if _is_content(blocks[i])])
    paragraphs: list[str] = []
    first = after_dateline(blocks[d].text, dateline).strip(_RESIDUE)
    if first:
        paragraphs.append(first)
    stop_at = end
    for i in body_blocks:
        block = blocks[i]
        text = block.text
        if is_wire_trailer(text, category):
            stop_at = i
            break
        if not _is_content(block) or (block.table_depth > depth and not _is_prose(text)):
            continue
        text = text.strip(_RESIDUE)
        if text == title or clean_title(text) == title:
            continue
        if not paragraphs and byline is None and by_index is None:
            found_by = read_byline(text)
            if found_by is not None and len(found_by.split()) <= 8:
                byline = found_by
                continue
        paragraphs.append(text)
    if sum(len(p.split()) for p in paragraphs) < MIN_WORDS:
        raise NotArticle("no article body after the dateline", final=False)

    related = related_links_from(blocks, stop_at, url)
    return Parts(
        layout="legacy",
        title=title,
        paragraphs=paragraphs,
        category=category,
        section=section,
        byline=byline or None,
        dateline=dateline,
        related_links=related,
    )


LAYOUT = Layout("legacy", detect, extract)
