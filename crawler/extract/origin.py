"""Whose page it is: a page of the network (its URL, or the URL it declares for itself, is on
a network site), and the network's names as they appear in titles."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from lxml import etree

from crawler.extract.blocks import BlockPage
from crawler.extract.page import Page
from crawler.network.sites import SITES, is_network_host, site_for_host

_NAMES = sorted(
    {
        *(s.name for s in SITES),
        *(s.domain for s in SITES),
        *(re.sub(r"(?<=[a-z])(?=[A-Z])", " ", s.name) for s in SITES),  # "Space Daily"
        "Space Media Network",
        "SpaceMediaNetwork",
    },
    key=len,
    reverse=True,
)
_NAME_RE = "|".join(re.escape(n) + r"(?:\.com)?" for n in _NAMES)
_SEP = r"\s*[-:|–—•·»]+\s*"
_SITE_AFFIX = re.compile(rf"^(?:www\.)?(?:{_NAME_RE}){_SEP}|{_SEP}(?:www\.)?(?:{_NAME_RE})$", re.I)
_SITE_NAMES = frozenset(re.sub(r"[^a-z0-9]", "", n.casefold()) for n in _NAMES) | frozenset(
    re.sub(r"[^a-z0-9]", "", n.casefold()) + "com" for n in _NAMES
)


def declared_url(page: Page, url: str) -> str | None:
    """The absolute URL the page declares for itself (og:url, else rel=canonical)."""
    for candidate in (page.meta.get("og:url"), page.links.get("canonical")):
        if candidate and candidate.strip():
            try:
                return urljoin(url, candidate.strip())
            except ValueError:
                continue
    return None


_REFERENCES = etree.XPath("//a/@href | //img/@src | //link/@href | //script/@src")
_REFERENCES_CHECKED = 400
_BLOCKS_CHECKED = 400
_NETWORK_WORDS = re.compile(r"space\s*media\s*network|spxdaily", re.IGNORECASE)


def on_network(page: Page, url: str, *, marks: bool = False, bp: BlockPage | None = None) -> bool:
    """Whether the page is the network's: fetched from a network site (or a copy of one
    that declares a network URL), and not declaring itself another site's page. With
    ``marks``, a page that declares no URL must also bear one of the network's marks (its
    name in the title or text, a link or image on a network host): ``<article>`` and
    trafilatura read any site's story, and another site's page saved under a network URL is
    none of ours."""
    return not_ours(page, url, marks=marks, bp=bp) is None


def not_ours(
    page: Page, url: str, *, marks: bool = False, bp: BlockPage | None = None
) -> str | None:
    """Why the page is not the network's (see :func:`on_network`), or None when it is."""
    declared = declared_url(page, url)
    if declared is not None:
        host = urlsplit(declared).hostname
        return None if site_for_host(host) is not None else f"a page of another site ({host})"
    if site_for_host(urlsplit(url).hostname) is None:
        return "not a page of the Space Media Network"
    if marks and not network_marks(page, bp):
        return "no layout of the network reads it, and nothing on it names the network"
    return None


def network_marks(page: Page, bp: BlockPage | None = None) -> bool:
    """Whether the page names the network or a site of it (title, og:site_name, text) or
    links to or shows something on a network host."""
    names = (page.title_tag, page.meta.get("og:site_name"), page.meta.get("application-name"))
    if any(name and _names_network(name) for name in names):
        return True
    for ref in _REFERENCES(page.root)[:_REFERENCES_CHECKED]:
        ref = str(ref)
        if "//" in ref:
            try:
                host = urlsplit(ref.strip()).hostname
            except ValueError:
                continue
            if is_network_host(host):
                return True
    if bp is not None:
        return any(_names_network(b.text) for b in bp.blocks[:_BLOCKS_CHECKED])
    return False


def _names_network(text: str) -> bool:
    if _NETWORK_WORDS.search(text):
        return True
    return any(is_site_name(word) for word in re.split(r"[\s|:,;()\[\]-]+", text) if word)


def without_site_name(title: str) -> str:
    """A ``<title>`` or og:title without the site's name before or after it
    ("SpaceDaily - Headline", "Headline | SpaceWar.com")."""
    previous = None
    text = title.strip()
    while text != previous:
        previous = text
        text = _SITE_AFFIX.sub("", text).strip()
    return text


def is_site_name(text: str) -> bool:
    """Whether a text is only a site's (or the network's) name."""
    return re.sub(r"[^a-z0-9]", "", text.casefold()) in _SITE_NAMES
