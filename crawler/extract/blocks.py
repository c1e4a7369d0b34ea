"""A page as a flat list of text blocks in reading order.

Both network layouts are easier to read as a sequence of blocks (a paragraph, a list item, a
line between two ``<br>``) than as a tree: the classic layout's unclosed ``<p>`` tags and
nested tables make the tree's shape meaningless, while the order of the text is reliable.
Each block remembers the few things about its context the extractors need.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree
from lxml.html import HtmlElement

# Tags that start or end a block of text.
BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "dl",
        "dd",
        "dt",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "tr",
        "td",
        "th",
        "tbody",
        "thead",
        "tfoot",
        "center",
        "blockquote",
        "section",
        "article",
        "aside",
        "header",
        "footer",
        "nav",
        "main",
        "hr",
        "form",
        "figure",
        "pre",
        "address",
        "body",
        "html",
        "caption",
        "fieldset",
        "details",
        "summary",
        "menu",
    }
)
# Subtrees that never hold readable text.
SKIP_TAGS = frozenset(
    {
        "figcaption",
        "script",
        "style",
        "noscript",
        "iframe",
        "object",
        "embed",
        "template",
        "svg",
        "select",
        "button",
        "textarea",
        "head",
        "title",
        "map",
        "video",
        "audio",
        "canvas",
        "math",
        "input",
        "option",
        "frameset",
        "frame",
        "applet",
    }
)
_HEADING_TAGS = frozenset({"h2", "h3", "h4", "h5", "h6"})
_MAX_DEPTH = 400


@dataclass(slots=True)
class Block:
    """One block of text and the context it sits in."""

    index: int
    """Position in the page's reading order."""
    parts: list[str] = field(default_factory=list)
    """Raw text pieces; joined and whitespace-folded by ``text``."""
    link_chars: int = 0
    """Characters of the block that sit inside ``<a>`` elements."""
    in_h1: bool = False
    """The block is (part of) an ``<h1>``."""
    heading: bool = False
    """The block is an ``<h2>``-``<h6>`` heading."""
    list_item: bool = False
    """The block is an ``<li>``."""
    table_depth: int = 0
    """How many ``<table>`` elements enclose the block."""
    classes: set[str] = field(default_factory=set)
    """Lower-cased class names of the elements enclosing the block's text."""
    links: list[tuple[str, str]] = field(default_factory=list)
    """(href, text) of the links inside the block."""
    text: str = ""
    """The folded text, filled when the block is closed."""

    @property
    def link_density(self) -> float:
        """Share of the block's characters inside links."""
        return self.link_chars / len(self.text) if self.text else 0.0


@dataclass(slots=True)
class BlockPage:
    """All blocks of a page and where the HTML comments stood among them."""

    blocks: list[Block]
    comments: list[tuple[int, str]]
    """(index of the next block, comment text) for every comment in the body."""

    def comment_index(self, needle: str) -> int | None:
        """Index of the first block after the first comment containing ``needle``."""
        needle = needle.lower()
        for index, text in self.comments:
            if needle in text.lower():
                return index
        return None


class _Walker:
    __slots__ = (
        "_anchor",
        "_cls_stack",
        "_cls_words",
        "_current",
        "_heading",
        "_in_h1",
        "_li",
        "_pre",
        "_tables",
        "blocks",
        "comments",
    )

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.comments: list[tuple[int, str]] = []
        self._cls_stack: list[frozenset[str]] = []
        self._cls_words: frozenset[str] = frozenset()
        self._in_h1 = 0
        self._li = 0
        self._tables = 0
        self._heading = 0
        self._pre = 0
        self._anchor: tuple[str, list[str]] | None = None
        self._current: Block | None = None

    def _flush(self) -> None:
        block = self._current
        if block is None:
            return
        self._current = None
        text = " ".join("".join(block.parts).split())
        if text:
            block.text = text
            self.blocks.append(block)

    def _add_lines(self, text: str) -> None:
        # Inside <pre> a line break is a break between lines, as <br> elsewhere.
        first, *lines = text.split("\n")
        if first:
            self._add(first)
        for line in lines:
            self._flush()
            if line:
                self._add(line)

    def _add(self, text: str) -> None:
        if self._pre and "\n" in text:
            self._add_lines(text)
            return
        block = self._current
        if block is None:
            if text.isspace():
                return
            block = self._current = Block(
                index=len(self.blocks),
                in_h1=self._in_h1 > 0,
                heading=self._heading > 0,
                list_item=self._li > 0,
                table_depth=self._tables,
            )
        if self._cls_words:
            block.classes |= self._cls_words
        block.parts.append(text)
        if self._anchor is not None:
            block.link_chars += len(text.strip())
            self._anchor[1].append(text)

    def walk(self, el: HtmlElement, depth: int = 0) -> None:
        tag = el.tag
        if not isinstance(tag, str):
            if tag is etree.Comment:
                self._flush()
                self.comments.append((len(self.blocks), el.text or ""))
            tail = el.tail
            if tail:
                self._add(tail)
            return
        if tag in SKIP_TAGS or depth > _MAX_DEPTH:
            tail = el.tail
            if tail:
                self._add(tail)
            return
        block = tag in BLOCK_TAGS
        if block:
            self._flush()
        cls = el.get("class")
        if cls:
            self._cls_stack.append(self._cls_words)
            self._cls_words = self._cls_words | frozenset(cls.lower().split())
        is_anchor = tag == "a" and self._anchor is None
        if is_anchor:
            self._anchor = (el.get("href") or "", [])
        if tag == "h1":
            self._in_h1 += 1
        elif tag == "table":
            self._tables += 1
        elif tag == "li":
            self._li += 1
        elif tag in _HEADING_TAGS:
            self._heading += 1
        elif tag == "pre":
            self._pre += 1
        text = el.text
        if text:
            self._add(text)
        for child in el:
            self.walk(child, depth + 1)
        if tag == "h1":
            self._in_h1 -= 1
        elif tag == "table":
            self._tables -= 1
        elif tag == "li":
            self._li -= 1
        elif tag in _HEADING_TAGS:
            self._heading -= 1
        elif tag == "pre":
            self._pre -= 1
        if is_anchor and self._anchor is not None:
            href, texts = self._anchor
            self._anchor = None
            link_text = " ".join("".join(texts).split())
            if self._current is not None and href:
                self._current.links.append((href, link_text))
        if cls:
            self._cls_words = self._cls_stack.pop()
        if block:
            self._flush()
        tail = el.tail
        if tail:
            self._add(tail)


def page_blocks(root: HtmlElement) -> BlockPage:
    """Walk the page's body (or the whole tree) into blocks."""
    body = root.find("body") if root.tag == "html" else None
    walker = _Walker()
    walker.walk(body if body is not None else root)
    walker._flush()
    return BlockPage(walker.blocks, walker.comments)
