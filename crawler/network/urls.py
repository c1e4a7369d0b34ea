"""URL canonicalisation: one key per page, however a link spells it."""

from __future__ import annotations

import posixpath
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crawler.network.sites import site_for_host

_TRACKING = re.compile(
    r"^(?:utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_ga|_gl|igshid|yclid|ref|ref_src"
    r"|source|src|cmpid|xtor|at_medium|at_campaign|feed|rss)$",
    re.IGNORECASE,
)
# Paths that are never pages: images, documents, media, scripts.
_ASSET = re.compile(
    r"\.(?:jpe?g|png|gif|webp|svg|ico|bmp|tiff?|pdf|docx?|xlsx?|pptx?|zip|gz|tgz|rar|7z|mp3"
    r"|mp4|m4a|wav|avi|mov|wmv|flv|swf|css|js|json|txt|exe|dmg|iso|woff2?|ttf|eot)$",
    re.IGNORECASE,
)
# Article URLs of every era: /reports/Title_999.html (older ones without _999),
# /news/topic-03zb.html (before 2005; the letters run on: gps-04zzzzzzzf), the AFP wire pages
# /2004/040612083015.ab3kx9qe.html (2002-2007: the folder's year, a yymmddhhmmss id, eight
# letters or digits) and /afp/260112083015.ab3kx9qe.html (SpaceDaily, 2026), and the newer
# platform's /<slug>/.
_ARTICLE_PATH = re.compile(
    r"^/(?:reports/[^/]+\.html?"
    r"|news/[a-z0-9_]+(?:-[a-z0-9_]+)*-\d\d[a-z]+\.html?"
    r"|(?:(?:19|20)\d\d|afp)/\d{12}\.[a-z0-9]{8}\.html?"
    r"|(?!category/|tag/|page/|feed|author/|wp-|archive)[a-z0-9]+(?:-[a-z0-9]+){3,}/?)$",
    re.IGNORECASE,
)


def clean_url(url: str) -> str:
    """The URL to request: tracking parameters and fragment dropped, host lower-cased."""
    parts = urlsplit(url.strip())
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)
    ]
    netloc = parts.netloc.lower()
    if netloc.endswith((":80", ":443")):
        default = ":80" if parts.scheme == "http" else ":443"
        netloc = netloc.removesuffix(default)
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", urlencode(query), ""))


def url_key(url: str) -> str:
    """The page's identity: scheme, ``www.``, trailing slash, tracking parameters, fragment
    and parameter order do not change it (``www.`` does on hosts where the registry says the
    bare domain serves other pages)."""
    parts = urlsplit(clean_url(url))
    host = parts.hostname or ""
    site = site_for_host(host)
    if site is None or host not in site.distinct_hosts:
        host = host.removeprefix("www.")
    else:
        host = "~" + host  # never equal to the www. form
    port = f":{parts.port}" if parts.port and parts.port not in (80, 443) else ""
    path = posixpath.normpath(parts.path) if parts.path not in ("", "/") else "/"
    if path != "/" and path.endswith("/"):
        path = path.rstrip("/")
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit(("https", host + port, path, query, ""))


def is_asset(url: str) -> bool:
    """Whether a URL names a file that is never an HTML page."""
    return bool(_ASSET.search(urlsplit(url).path))


def looks_like_article(url: str) -> bool:
    """Whether a URL has the shape of an article page on either layout."""
    return bool(_ARTICLE_PATH.match(urlsplit(url).path))


_FEED_PATH = re.compile(r"(?:\.xml|\.rss|/feed/?|/rss/?|/atom/?)$", re.IGNORECASE)


def looks_like_feed(url: str) -> bool:
    """Whether a URL has the shape of an RSS or Atom feed."""
    return bool(_FEED_PATH.search(urlsplit(url).path))


def site_domain(url: str) -> str | None:
    """The network site a URL belongs to (``spacewar.com``), or None."""
    site = site_for_host(urlsplit(url).hostname)
    return site.domain if site else None
