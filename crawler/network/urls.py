"""URL canonicalisation: one key per page, however a link spells it."""

from __future__ import annotations

import functools
import posixpath
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

from crawler.network.sites import site_for_host

KEY_RULES = "2"
"""The version of the rules that make a :func:`url_key`. Keys stored under other rules (the
incremental state's) are made again when it changes: 2 put every URL through
``w3lib.url.canonicalize_url`` first (one percent-encoding per page)."""

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


# URLs of these characters only (no percent sign, nothing outside ASCII) have one spelling:
# canonicalize_url would change nothing in them that url_key does not fold itself (host case,
# parameter order, dot segments, fragment). tests/unit/test_urls_encoding.py checks it.
_ONE_SPELLING = re.compile(r"[A-Za-z0-9!$&'()*+,\-./:;=?@\[\]_|~#]*")


def respelled(url: str) -> str:
    """``url`` in its one percent-encoding (``w3lib.url.canonicalize_url``: ``%7e`` and
    ``~``, ``caf%C3%A9`` and ``café``, ``%2f`` and ``%2F`` become one spelling; an IDN host
    becomes punycode; parameters sorted; fragment dropped), or as it is when that cannot be
    done (a bad port or IPv6 host, a lone surrogate): a key is then made by the project's
    rules alone, as before, and whatever raised there still raises."""
    try:
        return canonicalize_url(url)
    except ValueError:  # UnicodeError included
        return url


def clean_url(url: str) -> str:
    """The URL to request: one percent-encoding (:func:`respelled`), tracking parameters and
    fragment dropped, host lower-cased. ValueError for a URL that cannot be requested (a bad
    port or IPv6 host, a lone surrogate): what canonicalize_url cannot take, Scrapy's
    ``Request`` cannot either."""
    return _cleaned(canonicalize_url(url.strip()))


def _cleaned(url: str) -> str:
    parts = urlsplit(url)
    encoding = _query_encoding(parts.query)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True, encoding=encoding)
        if not _TRACKING.match(k)
    ]
    netloc = parts.netloc.lower()
    if netloc.endswith((":80", ":443")):
        default = ":80" if parts.scheme == "http" else ":443"
        netloc = netloc.removesuffix(default)
    return urlunsplit(
        (parts.scheme.lower(), netloc, parts.path or "/", urlencode(query, encoding=encoding), "")
    )


def _query_encoding(query: str) -> str:
    """Latin-1 (both ways) keeps a percent-encoded query's bytes as they are: decoded as
    UTF-8, every byte that is not (``?q=caf%E9``) would become U+FFFD, and two pages one key.
    A query left unencoded (a URL :func:`respelled` could not take) stays UTF-8."""
    return "latin-1" if query.isascii() else "utf-8"


# A page's URL is keyed several times on its way (request, dedup, story, state, report):
# remembered for the last few thousand, it is worked out once.
@functools.lru_cache(maxsize=4096)
def url_key(url: str) -> str:
    """The page's identity: percent-encoding, scheme, ``www.``, trailing slash, tracking
    parameters, fragment and parameter order do not change it (``www.`` does on hosts where
    the registry says the bare domain serves other pages)."""
    url = url.strip()
    # Most URLs have one spelling: canonicalize_url (twice url_key's own cost) only for the
    # others, as the dedup seed keys every row of the dataset.
    parts = urlsplit(_cleaned(url if _ONE_SPELLING.fullmatch(url) else respelled(url)))
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
    encoding = _query_encoding(parts.query)
    query = urlencode(
        sorted(parse_qsl(parts.query, keep_blank_values=True, encoding=encoding)),
        encoding=encoding,
    )
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
