"""RSS and Atom feeds as the network serves them: lenient, and safe against hostile XML.

The classic feeds carry no ``guid`` and a non-standard ``pubDate`` that is the feed's build
time, so only the item links are used. Entity expansion and network access are off, which
defuses "billion laughs" and external-entity payloads served where a feed should be.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

_PARSER_OPTIONS = {
    "recover": True,
    "resolve_entities": False,
    "no_network": True,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}
_LINKS = etree.XPath("//*[local-name()='item' or local-name()='entry']/*[local-name()='link']")
_GUIDS = etree.XPath("//*[local-name()='item']/*[local-name()='guid'][not(@isPermaLink='false')]")


class NotAFeed(ValueError):
    """The body is not an RSS or Atom document."""


@dataclass(frozen=True, slots=True)
class Feed:
    """What a feed gave."""

    links: list[str]
    """Item links in feed order, without repeats."""
    declares_entities: bool
    """The feed's DTD declares entities (never expanded): no real feed does; a billion
    laughs or an external-entity payload does. Its plain links are still followed."""


def read_feed(body: bytes) -> Feed:
    """Read an RSS 2.0, RSS 1.0 or Atom feed; NotAFeed when the body is none."""
    head = body[:1024].lstrip()
    if not head.startswith(b"<") or head[:15].lower().startswith((b"<!doctype html", b"<html")):
        raise NotAFeed("not XML")
    parser = etree.XMLParser(**_PARSER_OPTIONS)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise NotAFeed(f"broken XML: {exc}") from None
    if root is None:
        raise NotAFeed("empty XML document")
    name = etree.QName(root).localname.lower()
    if name not in {"rss", "feed", "rdf", "channel"}:
        raise NotAFeed(f"XML root <{name}> is not a feed")
    links: list[str] = []
    seen: set[str] = set()
    for el in [*_LINKS(root), *_GUIDS(root)]:
        href = (el.get("href") or el.text or "").strip()
        if el.get("rel") not in (None, "alternate"):
            continue
        if href and href not in seen:
            seen.add(href)
            links.append(href)
    dtd = root.getroottree().docinfo.internalDTD
    return Feed(links, dtd is not None and any(True for _ in dtd.iterentities()))
