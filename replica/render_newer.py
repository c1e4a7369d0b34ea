"""Pages of the newer WordPress-style platform on https://spacedaily.com/ (from 2026).

The markup is uncertain on the real site; this follows a common WordPress theme: doctype,
``<article>``, ``h1.entry-title``, ``div.entry-content``, ``article:published_time``, JSON-LD,
a sidebar, related posts and a footer. Listing pages also contain ``<article>`` elements
(one per excerpt), so the tag alone does not make a page an article.
"""

# ruff: noqa: E501  (HTML templates: markup lines stay whole so they read like the pages)

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from html import escape

from replica.model import Article, Link
from replica.network import NEWER_HOST, PUBLISHER_HOST

SITE_URL = f"https://{NEWER_HOST}/"
ABOUT_URL = f"{SITE_URL}about/"
PRIVACY_URL = f"{SITE_URL}privacy-policy/"
LOGIN_URL = f"{SITE_URL}wp-admin/"
"""Disallowed by robots.txt, yet linked from every page's sidebar."""

CATEGORIES: tuple[tuple[str, str], ...] = (
    ("News", "news"),
    ("Launch", "launch"),
    ("Moon", "moon"),
    ("Mars", "mars"),
    ("Earth", "earth"),
    ("Space Industry", "space-industry"),
    ("Technology", "technology"),
)


def category_slug(name: str) -> str:
    return name.lower().replace(" ", "-")


def published_at(article: Article) -> dt.datetime:
    """The post's publication time: the dateline's day at an hour derived from its id."""
    day = article.story.date
    return dt.datetime(
        day.year,
        day.month,
        day.day,
        6 + article.post_id % 12,
        article.post_id % 60,
        tzinfo=dt.UTC,
    )


def image_url(article: Article) -> str:
    when = article.story.date
    stem = article.story.image or "spacedaily-default"
    return f"{SITE_URL}wp-content/uploads/{when.year}/{when.month:02d}/{stem}.jpg"


def _t(value: str) -> str:
    return escape(value, quote=False)


def _a(value: str) -> str:
    return escape(value, quote=True)


def _head(title: str, url: str, description: str, extra: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en-US">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_t(title)} &#8211; SpaceDaily</title>
<meta name="description" content="{_a(description)}">
<meta name="robots" content="index, follow, max-image-preview:large">
<link rel="canonical" href="{_a(url)}">
<meta property="og:locale" content="en_US">
<meta property="og:site_name" content="SpaceDaily">
<meta property="og:title" content="{_a(title)}">
<meta property="og:description" content="{_a(description)}">
<meta property="og:url" content="{_a(url)}">
{extra}<link rel="alternate" type="application/rss+xml" title="SpaceDaily &raquo; Feed" href="{SITE_URL}feed/">
<link rel="stylesheet" id="smn-theme-css" href="{SITE_URL}wp-content/themes/smn-news/style.css?ver=2.4.1" media="all">
<link rel="stylesheet" href="https://fonts.googleapis.com/css2?family=Roboto:wght@400;700&amp;display=swap">
<script async src="https://pagead2.googlesyndication.com/pagead/js/adsbygoogle.js?client=ca-pub-4751431386573849" crossorigin="anonymous"></script>
</head>
"""


def _header() -> str:
    items = "".join(
        f'<li class="menu-item"><a href="{SITE_URL}category/{slug}/">{_t(name)}</a></li>'
        for name, slug in CATEGORIES
    )
    return f"""<div id="page" class="site">
<a class="skip-link screen-reader-text" href="#content">Skip to content</a>
<header id="masthead" class="site-header">
<div class="site-branding"><p class="site-title"><a href="{SITE_URL}" rel="home">SpaceDaily</a></p>
<p class="site-description">Your portal to space since 1995</p></div>
<nav id="site-navigation" class="main-navigation"><ul id="primary-menu" class="menu">
<li class="menu-item"><a href="{SITE_URL}">Home</a></li>{items}
<li class="menu-item"><a href="https://www.spacedaily.com/">Archive 1995-2025</a></li>
</ul></nav>
</header>
<div id="content" class="site-content">
"""


def _ad_block(n: int) -> str:
    return (
        f'<div class="code-block code-block-{n}" style="margin: 8px auto; text-align: center;">'
        '<ins class="adsbygoogle" style="display:block" data-ad-client="ca-pub-4751431386573849"'
        f' data-ad-slot="77{n}0" data-ad-format="auto"></ins>'
        "<script>(adsbygoogle = window.adsbygoogle || []).push({});</script></div>"
    )


def _sidebar(recent: Sequence[Article]) -> str:
    items = "\n".join(f'<li><a href="{_a(a.url)}">{_t(a.title)}</a></li>' for a in recent)
    return f"""<aside id="secondary" class="widget-area">
<section id="search-2" class="widget widget_search"><form role="search" method="get" class="search-form" action="{SITE_URL}">
<label><span class="screen-reader-text">Search for:</span><input type="search" class="search-field" name="s"></label></form></section>
<section id="recent-posts-2" class="widget widget_recent_entries"><h2 class="widget-title">Recent Posts</h2>
<ul>
{items}
</ul></section>
<section id="custom_html-3" class="widget widget_custom_html">{_ad_block(9)}</section>
<section id="meta-2" class="widget widget_meta"><h2 class="widget-title">Meta</h2><ul>
<li><a href="{LOGIN_URL}">Log in</a></li>
<li><a href="{SITE_URL}feed/">Entries feed</a></li>
<li><a href="https://wordpress.org/">WordPress.org</a></li>
</ul></section>
</aside>
"""


def _footer() -> str:
    return f"""</div><!-- #content -->
<footer id="colophon" class="site-footer"><div class="site-info">
&#169; 1995-2026 Space Media Network. All rights reserved.
<a href="{PRIVACY_URL}">Privacy Policy</a> | <a href="{ABOUT_URL}">About Us</a> |
<a href="https://{PUBLISHER_HOST}/">Advertise</a> |
<a href="https://twitter.com/spacedaily">Twitter</a> | <a href="https://www.facebook.com/spacedaily">Facebook</a>
</div></footer>
</div><!-- #page -->
<script src="{SITE_URL}wp-includes/js/wp-embed.min.js?ver=6.9"></script>
</body>
</html>
"""


def _json_ld(article: Article) -> str:
    when = published_at(article).isoformat()
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title,
        "datePublished": when,
        "dateModified": when,
        "author": {
            "@type": "Person" if "Staff" not in article.story.byline else "Organization",
            "name": article.story.byline_name,
        },
        "publisher": {
            "@type": "Organization",
            "name": "Space Media Network",
            "logo": {"@type": "ImageObject", "url": f"{SITE_URL}wp-content/uploads/smn-logo.png"},
        },
        "image": [image_url(article)],
        "mainEntityOfPage": {"@type": "WebPage", "@id": article.url},
        "articleSection": article.kicker,
    }
    return json.dumps(data, ensure_ascii=False)


def render_post(
    article: Article,
    teasers: Sequence[Article],
    recent: Sequence[Article],
    *,
    previous: Article | None = None,
    following: Article | None = None,
) -> bytes:
    story = article.story
    when = published_at(article)
    cat = category_slug(article.kicker)
    description = story.summary(160)
    extra = f"""<meta property="og:type" content="article">
<meta property="og:image" content="{_a(image_url(article))}">
<meta property="article:published_time" content="{when.isoformat()}">
<meta property="article:modified_time" content="{when.isoformat()}">
<meta property="article:section" content="{_a(article.kicker)}">
<meta name="author" content="{_a(story.byline_name)}">
<link rel="shortlink" href="{SITE_URL}?p={article.post_id}">
<script type="application/ld+json">{_json_ld(article)}</script>
"""
    body: list[str] = [f'<p class="smn-dateline"><strong>{_t(story.dateline)}</strong></p>']
    for i, paragraph in enumerate(story.paragraphs):
        body.append(f"<p>{_t(paragraph)}</p>")
        if i == 1:
            body.append(_ad_block(2))
    related_links = "<br>\n".join(
        f'<a href="{_a(link.url)}">{_t(link.text)}</a>' for link in article.related_links
    )
    if related_links:
        body.append(
            f'<div class="smn-related-links"><h3>Related Links</h3>\n<p>{related_links}</p></div>'
        )
    related_items = [
        f'<li><a href="{_a(t.url)}">{_t(t.title)}</a> <span class="related-date">'
        f"{_t(t.story.date_text)}</span><p>{_t(t.story.summary(140))}&#8230;</p></li>"
        for t in teasers
    ]
    related_items += [
        f'<li><a href="{_a(link.url)}">{_t(link.text)}</a></li>' for link in article.extra_headlines
    ]
    nav = ""
    if previous is not None or following is not None:
        prev_html = (
            f'<div class="nav-previous"><a href="{_a(previous.url)}" rel="prev">'
            f"{_t(previous.title)}</a></div>"
            if previous
            else ""
        )
        next_html = (
            f'<div class="nav-next"><a href="{_a(following.url)}" rel="next">'
            f"{_t(following.title)}</a></div>"
            if following
            else ""
        )
        nav = (
            '<nav class="navigation post-navigation" aria-label="Posts">'
            '<h2 class="screen-reader-text">Post navigation</h2>'
            f'<div class="nav-links">{prev_html}{next_html}</div></nav>'
        )
    newline = "\n"
    markup = (
        _head(story.title, article.url, description, extra)
        + f'<body class="post-template-default single single-post postid-{article.post_id}'
        ' single-format-standard">\n'
        + _header()
        + f"""<div id="primary" class="content-area"><main id="main" class="site-main">
<article id="post-{article.post_id}" class="post-{article.post_id} post type-post status-publish format-standard has-post-thumbnail hentry category-{cat}">
<header class="entry-header">
<span class="cat-links"><a href="{SITE_URL}category/{cat}/" rel="category tag">{_t(article.kicker)}</a></span>
<h1 class="entry-title">{_t(story.title)}</h1>
<div class="entry-meta"><span class="posted-on"><time class="entry-date published updated" datetime="{when.isoformat()}">{when:%B} {when.day}, {when.year}</time></span>
<span class="byline"> by <span class="author vcard">{_t(story.byline_name)}</span></span></div>
</header>
<div class="post-thumbnail"><img width="1024" height="576" src="{_a(image_url(article))}" class="attachment-post-thumbnail wp-post-image" alt="" decoding="async"></div>
<div class="entry-content">
{newline.join(body)}
</div><!-- .entry-content -->
<footer class="entry-footer"><span class="cat-links">Posted in <a href="{SITE_URL}category/{cat}/" rel="category tag">{_t(article.kicker)}</a></span>
<div class="sharedaddy"><a href="https://twitter.com/intent/tweet?url={_a(article.url)}" class="share-twitter">Share on X</a>
<a href="https://www.facebook.com/sharer/sharer.php?u={_a(article.url)}" class="share-facebook">Share on Facebook</a></div></footer>
</article>
<div class="related-posts"><h3 class="related-posts-title">Related Posts</h3><ul>
{newline.join(related_items)}
</ul></div>
{nav}
</main></div>
"""
        + _sidebar(recent)
        + _footer()
    )
    return markup.encode("utf-8")


def render_listing(
    *,
    url: str,
    title: str,
    heading: str | None,
    entries: Sequence[tuple[Article, str]],
    recent: Sequence[Article],
    pager: Sequence[Link] = (),
) -> bytes:
    """Home, category and archive pages: an ``<article>`` excerpt per post."""
    posts = []
    for article, href in entries:
        when = published_at(article)
        posts.append(f"""<article id="post-{article.post_id}" class="post-{article.post_id} post type-post status-publish format-standard hentry">
<header class="entry-header"><h2 class="entry-title"><a href="{_a(href)}" rel="bookmark">{_t(article.title)}</a></h2>
<div class="entry-meta"><time class="entry-date published" datetime="{when.isoformat()}">{when:%B} {when.day}, {when.year}</time></div></header>
<div class="entry-summary"><p>{_t(article.story.summary(220))} [&#8230;]</p></div>
</article>""")
    pager_html = ""
    if pager:
        pager_html = (
            '<nav class="navigation pagination"><div class="nav-links">'
            + " ".join(
                f'<a class="page-numbers" href="{_a(p.url)}">{_t(p.text)}</a>' for p in pager
            )
            + "</div></nav>"
        )
    heading_html = (
        f'<header class="page-header"><h1 class="page-title">{_t(heading)}</h1></header>\n'
        if heading
        else ""
    )
    ld = json.dumps(
        {"@context": "https://schema.org", "@type": "CollectionPage", "url": url, "name": title}
    )
    extra = (
        '<meta property="og:type" content="website">\n'
        f'<script type="application/ld+json">{ld}</script>\n'
    )
    newline = "\n"
    markup = (
        _head(title, url, "SpaceDaily: space news from the Space Media Network", extra)
        + '<body class="home blog">\n'
        + _header()
        + f"""<div id="primary" class="content-area"><main id="main" class="site-main">
{heading_html}{newline.join(posts)}
{pager_html}
</main></div>
"""
        + _sidebar(recent)
        + _footer()
    )
    return markup.encode("utf-8")


def render_static_page(*, url: str, title: str, paragraphs: Sequence[str]) -> bytes:
    """A WordPress "page" (About, Privacy): entry-title and entry-content, but no article."""
    ld = json.dumps({"@context": "https://schema.org", "@type": "WebPage", "url": url})
    extra = (
        '<meta property="og:type" content="website">\n'
        f'<script type="application/ld+json">{ld}</script>\n'
    )
    body = "\n".join(f"<p>{_t(p)}</p>" for p in paragraphs)
    markup = (
        _head(title, url, paragraphs[0][:160], extra)
        + '<body class="page-template-default page">\n'
        + _header()
        + f"""<div id="primary" class="content-area"><main id="main" class="site-main">
<article id="post-2" class="post-2 page type-page status-publish hentry">
<header class="entry-header"><h1 class="entry-title">{_t(title)}</h1></header>
<div class="entry-content">
{body}
</div>
</article>
</main></div>
"""
        + _sidebar(())
        + _footer()
    )
    return markup.encode("utf-8")
