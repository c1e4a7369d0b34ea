"""What a layout extractor hands back: the raw parts of an article, before the record."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin

from crawler.extract.blocks import Block
from crawler.extract.boilerplate import block_key, is_stop
from crawler.extract.datelines import Dateline
from crawler.protocol import PageKind

_SKIP_LINK_SCHEMES = ("javascript:", "mailto:", "#", "tel:")
_SKIP_LINK_TEXT = frozenset({"tweet", "share", "", "email", "print", "facebook", "twitter"})
_MAX_RELATED = 40


class NotArticle(Exception):
    """The page is valid HTML but no article: its message says why, its ``kind`` what it is
    instead (a listing, or another page)."""

    def __init__(self, reason: str, kind: PageKind = PageKind.OTHER, *, final: bool = True) -> None:
        super().__init__(reason)
        self.kind = kind
        self.final = final
        """False when another of the network's layouts (or the fallback) may still read the
        page: the layout recognised it but found none of its landmarks."""


@dataclass(slots=True)
class Parts:
    """The pieces a layout found on an article page."""

    layout: str
    """Which extractor found them: "classic", "modern" or "fallback"."""
    title: str
    paragraphs: list[str]
    """Body blocks in reading order."""
    category: str | None = None
    section: str | None = None
    byline: str | None = None
    dateline: Dateline | None = None
    related_links: list[tuple[str, str]] = field(default_factory=list)
    """(absolute url, text) of the Related Links block."""
    image_url: str | None = None
    metadata_date: str | None = None
    """A date from the page's metadata (ISO text), used when there is no dateline."""


def related_links_after(blocks: list[Block], start: int, base_url: str) -> list[tuple[str, str]]:
    """Links of the Related Links block that starts at ``blocks[start]``, up to the next
    boilerplate block."""
    links: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, block in enumerate(blocks[start:], start):
        if i > start and is_stop(block.text):
            break
        for href, text in block.links:
            href = href.strip()
            if not href or href.lower().startswith(_SKIP_LINK_SCHEMES):
                continue
            if text.strip().lower() in _SKIP_LINK_TEXT:
                continue
            absolute = urljoin(base_url, href)
            if absolute in seen:
                continue
            seen.add(absolute)
            links.append((absolute, text))
            if len(links) >= _MAX_RELATED:
                return links
    return links


def related_links_from(
    blocks: list[Block], after: int, base_url: str, fallback: int | None = None
) -> list[tuple[str, str]]:
    """The links of the "Related Links" box: from its heading, the first at or after
    ``after`` (else from ``fallback``, when given); none without either."""
    start = next(
        (i for i in range(after, len(blocks)) if block_key(blocks[i].text) == "related links"),
        fallback,
    )
    return related_links_after(blocks, start, base_url) if start is not None else []
