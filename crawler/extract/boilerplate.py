"""What the extractors know of each layout of the network, as data.

Everything here is observed markup or wording of Space Media Network pages (see
``../shared/SMN-SITES.md``, including "What the text of real pages shows" for the older
pages' boilerplate and captions); the layouts (``classic``, ``modern``, ``legacy``) only
interpret it. XPaths are compiled once, at import.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from lxml import etree


@dataclass(frozen=True, slots=True)
class ClassicLayout:
    """The table layout of the archive (1999-2025)."""

    body_start_comments: tuple[str, ...]
    """Comment texts that open the article body."""
    body_end_comments: tuple[str, ...]
    """Comment texts that close it (the Related Links block follows)."""
    dateline_classes: frozenset[str]
    """Classes of the element holding "Place (AGENCY) Date"."""
    byline_classes: frozenset[str]
    """Classes a byline element may carry."""
    header_window: int
    """How many blocks after the headline may hold the byline and dateline (the header zone
    may hold a caption, a summary, a pull-quote and a list of unrelated headlines)."""


CLASSIC = ClassicLayout(
    body_start_comments=("body-2-incontainer",),
    body_end_comments=("related links",),
    dateline_classes=frozenset({"bhs"}),
    byline_classes=frozenset({"bdl", "byline", "author", "bylines"}),
    header_window=40,
)


@dataclass(frozen=True, slots=True)
class ModernLayout:
    """The WordPress-style platform SpaceDaily moved to in 2026."""

    content: tuple[etree.XPath, ...]
    """Where the article body lives, most specific first."""
    title: tuple[etree.XPath, ...]
    """The headline, most specific first."""
    category: tuple[etree.XPath, ...]
    """The category label (the kicker of the classic layout)."""
    byline: tuple[etree.XPath, ...]
    """Author names shown on the page."""
    listing_body_classes: frozenset[str]
    """``<body>`` classes of WordPress pages that list posts instead of showing one."""
    static_page_body_classes: frozenset[str]
    """``<body>`` classes of WordPress static pages (about, privacy): no news."""


def _xp(expr: str) -> etree.XPath:
    return etree.XPath(expr)


def _has_class(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


MODERN = ModernLayout(
    content=(
        _xp(f"//*[{_has_class('entry-content')}]"),
        _xp("//*[@itemprop='articleBody']"),
        _xp(
            f"//*[{_has_class('post-content')} or {_has_class('article-content')}"
            f" or {_has_class('td-post-content')} or {_has_class('article-body')}]"
        ),
        _xp("//article"),
    ),
    title=(
        _xp(f"//h1[{_has_class('entry-title')} or {_has_class('post-title')}]"),
        _xp("//article//h1"),
        _xp("//h1"),
    ),
    category=(
        _xp("//a[contains(concat(' ', normalize-space(@rel), ' '), ' category ')]"),
        _xp(
            f"//*[{_has_class('cat-links')} or {_has_class('entry-category')}"
            f" or {_has_class('post-category')}]//a"
        ),
    ),
    byline=(
        _xp(
            f"//*[{_has_class('byline')} or {_has_class('author')} or {_has_class('author-name')}"
            f" or {_has_class('entry-author')}]//*[self::a or self::span][normalize-space()]"
        ),
        _xp("//a[@rel='author']"),
    ),
    listing_body_classes=frozenset(
        {"archive", "category", "tag", "home", "blog", "search", "error404", "author", "date"}
    ),
    static_page_body_classes=frozenset({"page", "page-template-default"}),
)

# Class or id tokens of elements that hold ads, share buttons, related posts and the like
# inside an article container. Whole tokens or token prefixes, never substrings ("ad" must
# not match "header").
NOISE_TOKENS = frozenset(
    {
        "ad",
        "ads",
        "adsbygoogle",
        "advert",
        "advertisement",
        "sponsor",
        "sponsored",
        "share",
        "sharing",
        "sharedaddy",
        "social",
        "related",
        "yarpp",
        "jp-relatedposts",
        "newsletter",
        "subscribe",
        "comments",
        "comment-respond",
        "disqus_thread",
        "post-tags",
        "tags",
        "tag-links",
        "navigation",
        "post-navigation",
        "nav-links",
        "author-box",
        "widget",
        "sidebar",
        "code-block",
        "addtoany",
        "wp-block-buttons",
        "donate",
        "donation",
        "promo",
        "wp-caption-text",
        "wp-element-caption",
    }
)
NOISE_PREFIXES = (
    "ad-",
    "ads-",
    "advert",
    "sponsor",
    "share",
    "social",
    "related",
    "yarpp",
    "jp-relatedposts",
    "newsletter",
    "subscribe",
    "a2a",
    "addtoany",
    "wpcnt",
    "google-ad",
    "dfp",
    "taboola",
    "outbrain",
    "ai-viewport",
    "code-block",
)


def is_noise_token(token: str) -> bool:
    """Whether one class or id token marks an ad, share or related-content element."""
    return token in NOISE_TOKENS or token.startswith(NOISE_PREFIXES)


# Boilerplate of the network, by wording. A block that *is* one of these ends the article
# body; matching whole blocks (not words) keeps body sentences that mention "related links",
# "copyright" or "subscribe".
STOP_EXACT = frozenset(
    {
        "related links",
        "related content",
        "tweet",
        "subscribe free to our daily newsletters",
        "share this article",
        "related posts",
        "related articles",
        "you may also like",
        "more news",
        "read more",
        "comments",
        "leave a reply",
    }
)
STOP_PREFIXES = (
    "subscribe free to our daily newsletter",
    "the following news reports may link to other space media network websites",
    "thanks for being here",
    "we need your help. the spacedaily news network",
    "comment using your disqus",
    "share this article via these popular social media networks",
    "the content herein, unless otherwise known to be public domain",
    "all websites are published in australia",
    "advertising does not imply endorsement",
    "spacedaily contributor",
    "spacedaily monthly supporter",
)
# The boilerplate of older pages (before about 2010), by wording: it ends the body. Compared
# with the block's key (lower case, edges stripped); words may run together
# ("CommunityEmail This ArticleComment On This Article").
LEGACY_STOP = re.compile(
    r"^(?:"
    r"community\s*(?:email\s*this\s*article|comment\s*on\s*this\s*article|$)"
    r"|email\s*this\s*article|comment\s*on\s*this\s*article|printer\s*friendly\s*version$"
    r"|(?:newsletters|xml\s*feeds)\s*::"
    r"|all\s+rights\s+reserved"
    r"|(?:copyright\s*)?(?:\(c\)|©)\s*(?:19|20)\d\d"
    r"|copyright\s*(?:19|20)\d\d"
    r"|source\s*:\s*[^.:]{2,60}$"
    r"|subscribe\s+to\s+\S+\s+express"
    r"|search\s+\S+(?:daily|war|mart|nightly|travel)(?:\.com)?$"
    r"|\S+(?:daily|war|mart|nightly|travel)\.com$"
    r"|[a-z]+[.\s]wire$"
    r"|share\s+this\s+article"
    r")"
)
# Photo captions: never body text, wherever they stand (header zone or body). How they start,
# and words they hold anywhere.
CAPTION_START = re.compile(
    r"(?:file\s+(?:photo|image|picture|pic)\b|(?:photo|image|picture)(?:graph)?\s*(?:credit)?\s*:"
    r"|illustration\s*:|(?:an\s+)?artist'?s?['’]?s?\s+(?:concept|impression|illustration"
    r"|rendering)\b)",
    re.IGNORECASE,
)
CAPTION_WORDS = (
    "afp photo",
    "(afp/",
    "( afp /",
    "illustration only",
    "file photo",
    "for a larger version of this image",
)
_CAPTION_MAX_CHARS = 400
# Lines dropped wherever they stand in a body (ad labels), without ending it.
DROP_EXACT = frozenset(
    {
        "advertisement",
        "advertisements",
        "sponsored",
        "sponsored content",
        "ad",
        "tweet",
        "share",
        "print",
        "email",
        "illustration only",
        "illustration only.",
    }
)
# Phrases whose presence anywhere in an extracted text means boilerplate leaked: used by the
# fallback extractor to cut its output, and by tests and benchmarks to check every text.
LEAK_PHRASES = (
    "Subscribe Free To Our Daily Newsletters",
    "The following news reports may link to other Space Media Network websites",
    "Thanks for being here",
    "We need your help. The SpaceDaily news network",
    "Comment using your Disqus",
    "Share this article via these popular social media networks",
    "The content herein, unless otherwise known to be public domain",
    "Space Media Network. All websites are published in Australia",
    "SpaceDaily Monthly Supporter",
    "$5 Billed Once",
    "RELATED CONTENT",
    "Email This Article",
    "Comment On This Article",
    "All rights reserved. (c)",
    "Sections of the information displayed on this page",
    "The material on this page",
    "Newsletters ::",
    "XML Feeds ::",
    "Comment on this article via your Facebook",
    "Wire Stories are copyright",
    "Subscribe To SpaceDaily Express",
)

_EDGE = string.punctuation + string.whitespace + "\u00a0“”‘’–—…•·|»«›‹"
_LONGEST_EXACT = max(len(p) for p in STOP_EXACT | DROP_EXACT) + 8
_LONGEST_PREFIX = max(len(p) for p in STOP_PREFIXES) + 8


def block_key(text: str) -> str:
    """A block's text as the boilerplate tables compare it."""
    return text.strip(_EDGE).casefold()


def is_stop(text: str) -> bool:
    """Whether a block is network boilerplate that ends the article body."""
    if len(text) <= _LONGEST_EXACT and block_key(text) in STOP_EXACT:
        return True
    key = block_key(text[:_LONGEST_PREFIX])
    return key.startswith(STOP_PREFIXES) or LEGACY_STOP.match(key) is not None


def is_caption(text: str) -> bool:
    """Whether a block is a photo caption ("File Photo: ...", "... (AFP Photo)",
    "illustration only")."""
    if len(text) > _CAPTION_MAX_CHARS:
        return False
    if CAPTION_START.match(text):
        return True
    lowered = text.lower()
    return any(w in lowered for w in CAPTION_WORDS)


def is_drop(text: str) -> bool:
    """Whether a block is an ad label or button text to leave out."""
    return len(text) <= _LONGEST_EXACT and block_key(text) in DROP_EXACT
