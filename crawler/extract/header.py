"""The header of a story on the network's table pages: the kicker, the section heading, the
headline, the byline and the dateline, and what stands between them (never body text).
Shared by the classic and the legacy layouts."""

from __future__ import annotations

import re

from crawler.extract.blocks import Block
from crawler.extract.boilerplate import CLASSIC, block_key, is_stop
from crawler.extract.bylines import byline_problem, looks_like_names, read_byline, strip_by
from crawler.extract.datelines import Dateline, read_dateline

_SECTION_TAIL = re.compile(r"((?:[A-Z][\w'&-]*\s+)(?:(?:and|of|&|the|[A-Z][\w'&-]*)\s+)*News)\s*$")
MIN_WORDS = 20
HEADER_MAX_BLOCKS = CLASSIC.header_window
"""How many blocks after the headline the dateline is looked for."""
_NEAR_BLOCKS = 8
_PROSE_WORDS = 25
_PROSE_BLOCKS = 3
_LEADING_DOT = re.compile(r"^\.\s+(?=\S)")
_KICKER_MAX = 60
_NOT_KICKERS = frozenset({"advertisement", "sponsored", "home", "news"})


def is_kicker(text: str) -> bool:
    """Whether a block is a topic label in capitals ("WAR REPORT", "SPACE.WIRE")."""
    return (
        len(text) <= _KICKER_MAX
        and text.isupper()
        and len(text.split()) <= 8
        and block_key(text) not in _NOT_KICKERS
    )


def headline_of(blocks: list[Block]) -> tuple[int, int, str] | None:
    """(first index, last index, text) of the first ``<h1>``."""
    first = next((i for i, b in enumerate(blocks) if b.in_h1), None)
    if first is None:
        return None
    last = first
    while last + 1 < len(blocks) and blocks[last + 1].in_h1:
        last += 1
    return first, last, join_headline([b.text for b in blocks[first : last + 1]])


def join_headline(parts: list[str]) -> str:
    """A headline split over several lines of one ``<h1>`` (a ``<br>`` inside); a line that
    repeats the one before it is not said twice."""
    kept = [p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1]]
    return " ".join(kept)


def dateline_at(
    blocks: list[Block], lo: int, hi: int, title: str | None
) -> tuple[int, Dateline] | None:
    """The header's dateline: in the dateline's span if it has one, else the first block
    that starts with one. Whatever stands between the headline and it (captions, a summary,
    a pull-quote, unrelated headlines) is header, not body; the search stops at the
    boilerplate or after a few paragraphs of prose (the body has begun)."""
    hi = min(hi, len(blocks), lo + HEADER_MAX_BLOCKS)
    for i in range(lo, hi):
        if is_stop(blocks[i].text):
            hi = i
            break
        if blocks[i].classes & CLASSIC.dateline_classes:
            found = read_dateline(blocks[i].text, title)
            if found is not None:
                return i, found
    prose = 0
    for i in range(lo, hi):
        text = blocks[i].text
        found = read_dateline(text, title)
        # Without an agency ("Houston - Apr 12, 2001") only near the headline: further down,
        # such a line is more likely an item of a list in the story.
        if found is not None and (found.agency or i < lo + _NEAR_BLOCKS):
            return i, found
        if len(text.split()) >= _PROSE_WORDS:
            prose += 1
            if prose >= _PROSE_BLOCKS:
                break
    return None


def byline_between(
    blocks: list[Block], lo: int, hi: int, title: str, *, names_at: int | None = None
) -> tuple[int, str] | None:
    """The byline among the header blocks ``lo:hi``: a block of a byline class, or one that
    starts with "by" (the nearest the dateline first), or a line of names alone at
    ``names_at`` (the block just before the dateline)."""
    candidates = [i for i in range(lo, hi) if blocks[i].text and blocks[i].text != title]
    for i in candidates:
        if blocks[i].classes & CLASSIC.byline_classes:
            name = strip_by(blocks[i].text)[0].strip(" ,;-–—")
            if name and byline_problem(name) is None:
                return i, name
    for i in reversed(candidates):
        found = read_byline(blocks[i].text)
        if found is not None:
            return i, found
    if names_at is not None and names_at in candidates:
        text = blocks[names_at].text
        if looks_like_names(text) and not is_kicker(text):
            return names_at, text
    return None


def kicker_before(blocks: list[Block], before: int, title: str) -> str | None:
    """The capitalised topic label above the headline; the section heading may stand
    between the two."""
    for i in range(before - 1, max(-1, before - 5), -1):
        text = blocks[i].text
        if text == title or not any(c.isalnum() for c in text):
            continue  # the headline repeated, table-cell residue ("|")
        if is_kicker(text):
            return text
        if not (_SECTION_TAIL.fullmatch(text) and len(text) <= 60):
            return None
    return None


def section_before(blocks: list[Block], before: int) -> str | None:
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


def body_depth(blocks: list[Block]) -> int:
    """The table depth most of the body's words sit at; deeper blocks are inserts (image
    captions, ad tables) set into the text."""
    words: dict[int, int] = {}
    for block in blocks:
        words[block.table_depth] = words.get(block.table_depth, 0) + len(block.text.split())
    return max(words, key=lambda d: words[d]) if words else 0


def clean_title(text: str) -> str:
    """A headline as stored: without the leading ". " of 2004-2006 SpaceWar pages."""
    return _LEADING_DOT.sub("", text.strip())


def after_dateline(text: str, dateline: Dateline) -> str:
    """What follows the date on the dateline's line: the first sentence of 2000-era pages
    ("Moscow (AFP) March 3, 2000 - Russia's ...") or of a header run into one line."""
    return text[dateline.end :].lstrip(" \t-–—:|,.").strip()


def is_wire_trailer(text: str, category: str | None) -> bool:
    """Whether a block after the body repeats the kicker ("SPACE.WIRE" under a SPACE WIRE
    story): the end of the story."""
    return (
        category is not None
        and len(text) <= len(category) + 8
        and is_kicker(text)
        and block_key(text) == block_key(category)
    )


_SECTION_WORDS = frozenset(
    {
        "space",
        "military",
        "earth",
        "science",
        "industry",
        "business",
        "and",
        "&",
        "of",
        "the",
        "energy",
        "defense",
        "defence",
        "war",
        "mars",
        "moon",
        "lunar",
        "nuclear",
        "power",
        "solar",
        "wind",
        "gps",
        "nano",
        "nanotech",
        "robot",
        "robotics",
        "radar",
        "oil",
        "gas",
        "seed",
        "farm",
        "china",
        "india",
        "russia",
        "russian",
        "saturn",
        "sky",
        "travel",
        "biofuel",
        "internet",
        "technology",
        "tech",
        "environment",
        "world",
        "satellite",
        "launch",
        "outer",
        "planet",
        "climate",
        "water",
        "terra",
        "daily",
        "latest",
    }
)


def is_section_heading(text: str) -> bool:
    """Whether a text is a section heading of the network ("Space News", "Military Space
    News", "Space Industry and Business News"): "... News" in the sections' vocabulary."""
    if len(text) > 60 or not _SECTION_TAIL.fullmatch(text.strip()):
        return False
    words = text.split()[:-1]
    return bool(words) and all(w.casefold() in _SECTION_WORDS for w in words)
