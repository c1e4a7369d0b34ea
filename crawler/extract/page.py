"""A parsed page and the metadata every layout reads the same way (meta tags, JSON-LD)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

from crawler.extract.fields import fold_text
from crawler.protocol import PageKind

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_FEED_START = re.compile(
    r"^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<(rss|feed|rdf:rdf)\b", re.IGNORECASE | re.DOTALL
)
# libxml2 2.14 drops everything after an </html> (or </body>); browsers ignore a stray one
# and go on reading. The page's own end tags stay (what follows them is junk: tracking
# pixels, garbage); others, and an end followed by a page's worth of markup, go.
_DOCUMENT_END = re.compile(r"</(?:html|body)\s*>", re.IGNORECASE)
_TRAILER_MAX = 2048


def _without_stray_ends(text: str) -> str:
    ends = list(_DOCUMENT_END.finditer(text))
    if not ends:
        return text
    last = ends[-1]
    if len(text) - last.end() > _TRAILER_MAX:
        keep_from = len(ends)  # even the last is followed by a page: none is the real end
    else:
        # the run of end tags at the close of the page: "</body>\n</html>"
        keep_from = len(ends) - 1
        while (
            keep_from > 0 and not text[ends[keep_from - 1].end() : ends[keep_from].start()].strip()
        ):
            keep_from -= 1
    if keep_from == 0:
        return text
    pieces = []
    at = 0
    for m in ends[:keep_from]:
        pieces.append(text[at : m.start()])
        at = m.end()
    pieces.append(text[at:])
    return "".join(pieces)


_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f]")
# lxml.html's parser, with its element classes chosen in C: lxml.html's own lookup is a
# Python call per element touched (form and input classes nobody here uses), about a tenth
# of the extraction's time.
_PARSER = lxml.html.HTMLParser()
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=HtmlElement,
        comment=lxml.html.HtmlComment,
        pi=lxml.html.HtmlProcessingInstruction,
        entity=lxml.html.HtmlEntity,
    )
)
_META = etree.XPath("//meta")
_LINKS = etree.XPath("//link[@rel][@href]")
_JSONLD = etree.XPath("//script[@type='application/ld+json']/text()")
_TITLE = etree.XPath("string(//title)")
_ARTICLE_TYPES = frozenset(
    {
        "newsarticle",
        "article",
        "blogposting",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "report",
    }
)


class NotHtml(ValueError):
    """The body is no HTML page: a feed, binary data, nothing at all. ``kind`` says which:
    a feed, no page at all (what a failing server sends: not judged), or another body."""

    def __init__(self, reason: str, kind: PageKind = PageKind.OTHER) -> None:
        super().__init__(reason)
        self.kind = kind


EMPTY = "empty page"
NO_MARKUP = "not HTML: no markup"
BINARY = "binary data, not HTML"
NOT_A_PAGE = frozenset({EMPTY, NO_MARKUP, BINARY})
"""Reasons for a body that is no page at all: what a failing server sends (an empty or
truncated answer, an error blob), not what the URL holds."""


@dataclass(slots=True)
class Page:
    """A parsed page with its metadata."""

    root: HtmlElement
    meta: dict[str, str] = field(default_factory=dict)
    """``<meta>`` contents by lower-cased name or property; the first of each wins."""
    links: dict[str, str] = field(default_factory=dict)
    """``<link rel>`` hrefs by lower-cased rel."""
    jsonld: dict[str, Any] = field(default_factory=dict)
    """The first JSON-LD object of an article type, if any."""
    title_tag: str = ""
    """The ``<title>`` text."""


TRUNCATED = "truncated answer (the page does not end with </body> or </html>)"
_END_TAG = re.compile(rb"</\s*(?:html|body)\s*>", re.IGNORECASE)


def looks_truncated(body: bytes) -> bool:
    """The body stops before the end of the page (no ``</body>`` or ``</html>`` in its last
    8 KB): a connection that closed early, as a server fault can leave a page that declared no
    length. Such a page is a fault, not a change of markup, and its text may be cut."""
    return _END_TAG.search(body[-8192:]) is None


def sniff(text: str) -> None:
    """Raise NotHtml for bodies that cannot be an article page."""
    head = text[:2048]
    if not head.strip():
        raise NotHtml(EMPTY, PageKind.ERROR)
    if _FEED_START.match(head):
        raise NotHtml("feed (RSS/Atom), not a page", PageKind.FEED)
    if "<" not in head and "<" not in text[:65536]:
        raise NotHtml(NO_MARKUP, PageKind.ERROR)
    controls = len(_CONTROLS.findall(head))
    if controls > len(head) // 20:
        raise NotHtml(BINARY, PageKind.ERROR)


def parse_page(text: str) -> Page:
    """Parse decoded HTML into a Page; raise NotHtml when lxml finds no document."""
    sniff(text)
    text = _XML_DECL.sub("", text, count=1).replace("\x00", "")
    text = _without_stray_ends(text)
    try:
        root = lxml.html.document_fromstring(text, parser=_PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise NotHtml(f"unparseable HTML: {exc}") from None
    page = Page(root=root, title_tag=fold_text(str(_TITLE(root))).strip())
    for el in _META(root):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        content = el.get("content")
        if key and content is not None and key not in page.meta:
            page.meta[key] = fold_text(content).strip()
    for el in _LINKS(root):
        for rel in (el.get("rel") or "").lower().split():
            page.links.setdefault(rel, el.get("href") or "")
    page.jsonld = _article_jsonld(_JSONLD(root))
    return page


def _article_jsonld(scripts: list[str]) -> dict[str, Any]:
    for raw in scripts:
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            continue
        for obj in _walk_jsonld(data, 0):
            kind = obj.get("@type")
            kinds = kind if isinstance(kind, list) else [kind]
            if any(isinstance(k, str) and k.lower() in _ARTICLE_TYPES for k in kinds):
                return obj
    return {}


def _walk_jsonld(data: Any, depth: int) -> list[dict[str, Any]]:
    if depth > 4:
        return []
    if isinstance(data, list):
        return [o for item in data for o in _walk_jsonld(item, depth + 1)]
    if isinstance(data, dict):
        found = [data]
        graph = data.get("@graph")
        if graph is not None:
            found.extend(_walk_jsonld(graph, depth + 1))
        return found
    return []


def jsonld_text(value: Any) -> str | None:
    """A JSON-LD value as text: a string, or the name/url of an object, or the first of a list."""
    if isinstance(value, list):
        texts = [t for t in (jsonld_text(v) for v in value) if t]
        return ", ".join(texts) if texts else None
    if isinstance(value, dict):
        value = value.get("name") or value.get("url") or value.get("@id")
    if isinstance(value, str) and value.strip():
        return fold_text(value).strip()
    return None
