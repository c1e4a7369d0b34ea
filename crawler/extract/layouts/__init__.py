"""The network's own page layouts, one module each, behind one small protocol.

A layout says whether a page is its own (:attr:`Layout.detect`) and reads the parts of an
article from it (:attr:`Layout.extract`, raising ``NotArticle`` with a page kind when the
page is none). They are tried in :data:`LAYOUTS` order; a page none of them claims goes to
the trafilatura fallback (:mod:`crawler.extract.fallback`). A new platform is one new module
here, listed in :data:`LAYOUTS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crawler.extract.blocks import BlockPage
from crawler.extract.page import Page
from crawler.extract.parts import Parts


@dataclass(frozen=True, slots=True)
class Layout:
    """One layout of the network's pages."""

    name: str
    """As the records' layout and the stats say it: "classic", "modern", "legacy"."""
    detect: Callable[[Page, BlockPage], bool]
    """Whether the page is of this layout (cheap: every page is asked)."""
    extract: Callable[[Page, str, BlockPage], Parts]
    """The article's parts (page, URL, blocks); NotArticle when the page holds none (with
    ``final=False`` when a later layout, or the fallback, may still read it)."""


def _layouts() -> tuple[Layout, ...]:
    from crawler.extract.layouts import classic, legacy, modern

    return (classic.LAYOUT, modern.LAYOUT, legacy.LAYOUT)


LAYOUTS: tuple[Layout, ...] = _layouts()
"""Tried in this order."""
KNOWN_LAYOUTS = frozenset(layout.name for layout in LAYOUTS)
"""The network's own layouts (a page of none goes to the trafilatura fallback)."""
