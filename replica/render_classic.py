"""Pages of the classic table layout: articles, home pages, section and archive indexes.

Markup follows SMN-SITES.md: no doctype, tables, ``<h1>TITLE<br></h1>``, the dateline in
``<span class="BHS">``, the body between ``<!--body-2-incontainer.php-->`` and
``<!--RELATED LINKS-->`` as unclosed ``<p>`` paragraphs, then the seeds' boilerplate.
"""

# ruff: noqa: E501  (HTML templates: markup lines stay whole so they read like the pages)

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from replica import boilerplate as bp
from replica.layout import vary_url
from replica.model import Article, Link, is_subheading
from replica.network import CLASSIC_BY_HOST, IMAGE_HOST, ClassicSite

HeadlineGroup = tuple[Link, ...]


@dataclass(frozen=True, slots=True)
class Chrome:
    """What a classic page shows around its content; depends on the site only."""

    site: ClassicSite
    nav: tuple[Link, ...]
    headline_groups: tuple[HeadlineGroup, ...]
    """Lists of headlines shown at the bottom; each is labelled with the page's kicker, as
    on the seed pages."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One article in a listing, with the link as the listing writes it."""

    article: Article
    href: str


def encode_classic(markup: str, *, cp1252: bool = False) -> bytes:
    """ISO-8859-1 bytes with numeric entities for what Latin-1 lacks (curly quotes, dashes).

    With ``cp1252`` those characters become windows-1252 bytes (0x93, 0x94, ...) instead,
    although the page still declares ISO-8859-1: the mismatch SMN-SITES.md warns about.
    """
    return markup.encode("cp1252" if cp1252 else "latin-1", errors="xmlcharrefreplace")


def _text(value: str) -> str:
    return escape(value, quote=False)


def _attr(value: str) -> str:
    return escape(value, quote=True)


def _variant(key: str, choices: int) -> int:
    # crc32, not hash(): the choice must not change between runs.
    return zlib.crc32(key.encode()) % choices


def og_image(article: Article, site: ClassicSite) -> str:
    stem = article.story.image or f"{site.stem}-default"
    return f"https://{IMAGE_HOST}/images-hg/{stem}-hg.jpg"


def thumbnail(article: Article) -> str:
    stem = article.story.image or "smn-default"
    return f"https://{IMAGE_HOST}/images-bg/{stem}-bg.jpg"


def _head(
    site: ClassicSite, title: str, url: str, description: str, image: str, *, og_type: str
) -> str:
    return f"""<html>
<head>
<title>{_text(title)}</title>
<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">
<meta name="description" content="{_attr(description)}">
<meta name="keywords" content="space news, military space, earth science, space industry">
<meta property="og:title" content="{_attr(title)}">
<meta property="og:type" content="{og_type}">
<meta property="og:url" content="{_attr(url)}">
<meta property="og:image" content="{_attr(image)}">
<meta property="og:description" content="{_attr(description)}">
<meta name="twitter:card" content="summary_large_image">
<link rel="alternate" type="application/rss+xml" title="RSS" href="{site.feed_path}">
<style>.BH {{ font-family: Arial; font-size: 11px; color: #800000; font-weight: bold }}
.BHS {{ font-family: Arial; font-size: 12px; font-weight: bold }}</style>
<script async src="https://www.googletagmanager.com/gtag/js?id=UA-35851366-1"></script>
</head>
"""


def _masthead(chrome: Chrome) -> str:
    site = chrome.site
    nav = " | ".join(
        f'<a href="{_attr(link.url)}"><font color="#ffffff">{_text(link.text)}</font></a>'
        for link in chrome.nav
    )
    return f"""<body bgcolor="#FFFFFF" text="#000000" link="#800000" vlink="#800000" alink="#800000" topmargin="0" leftmargin="0">
<table width="1000" align="center" cellpadding="0" cellspacing="0" border="0"><tr>
<td width="300"><a href="https://{site.host}/"><img src="https://{site.host}/images/{site.stem}-logo.jpg" width="300" height="90" border="0" alt="{site.name}"></a></td>
<td align="right">{bp.ad_script("top-728")}</td></tr></table>
<table width="1000" align="center" cellpadding="4" cellspacing="0" border="0"><tr><td bgcolor="#000000">
<font face="Arial" size="-1">{nav}</font></td></tr></table>
"""


def _right_column(site: ClassicSite) -> str:
    return f"""<td width="320" valign="top" bgcolor="#f0f0f0">
{bp.ad_iframe("right-1")}<br>
<img src="https://{site.host}/white.jpg" width="300" height="10" border="0"><br>
{bp.sponsor(site, "spacetechexpo")}<br>
<img src="https://{site.host}/white.jpg" width="300" height="10" border="0"><br>
{bp.ad_iframe("right-2")}
</td>"""


def _page_end(chrome: Chrome) -> str:
    return f"""</tr></table>
{bp.network_strip()}
{bp.footer()}
</body>
</html>
"""


def _headline_groups(label: str, groups: Sequence[HeadlineGroup]) -> str:
    parts = []
    for links in groups:
        items = "\n".join(
            f'<a href="{_attr(link.url)}">{_text(link.text)}</a><br><br>' for link in links
        )
        parts.append(f'<p><span class="BH">{_text(label)}</span><br>\n{items}')
    return "\n".join(parts)


def _teaser(article: Article, href: str) -> str:
    story = article.story
    summary = story.summary(420)
    return f"""<table width="100%" cellpadding="2" cellspacing="0" border="0"><tr><td>
<span class="BH">{_text(article.kicker)}</span><br>
<a href="{_attr(href)}"><font face="Arial" size="+1"><b>{_text(story.title)}</b></font></a><br>
<span class="BHS">{_text(story.dateline)}</span><br>
<font face="Arial" size="-1">{_text(summary)} ... <a href="{_attr(href)}">read more</a></font>
</td></tr></table>"""


def _byline(article: Article) -> str:
    byline = _text(article.story.byline)
    # The byline's tag is uncertain on the real pages: vary it so extractors stay tolerant.
    style = _variant(article.key, 3)
    if style == 0:
        return f'<span class="BY">{byline}</span><br>'
    if style == 1:
        return f"<b>{byline}</b><br>"
    return f'<font face="Arial" size="-1">{byline}</font><br>'


def _body(article: Article) -> str:
    site_host = article.host
    out: list[str] = []
    if article.story.image:
        out.append(
            '<table align="right" cellpadding="4" cellspacing="0" border="0"><tr><td>'
            f'<img src="https://{IMAGE_HOST}/images-lg/{article.story.image}-lg.jpg" '
            'width="400" height="300" alt="illustration only"></td></tr></table>'
        )
    for i, paragraph in enumerate(article.story.paragraphs):
        out.append(f"<p>{_text(paragraph)}")
        if is_subheading(paragraph):
            continue
        # Ads sit between paragraphs, as the network's in-body ad slots do.
        if i == 0:
            out.append("<center></center>")
        elif i == 1:
            out.append(f"<p><center>{bp.ad_iframe('incontent-1')}</center>")
        elif i == 3:
            out.append(bp.ad_script("incontent-2"))
        elif i == 4:
            out.append(f"<p><center>{bp.sponsor(_site_of(article), 'orbitalgear')}</center>")
    out.append(f'<img src="https://{site_host}/black.jpg" width="1" height="1" border="0">')
    return "\n".join(out)


def _site_of(article: Article) -> ClassicSite:
    return CLASSIC_BY_HOST[article.host]


def render_article(article: Article, chrome: Chrome, teasers: Sequence[Article]) -> bytes:
    """A classic article page, as bytes in its declared (or misdeclared) encoding."""
    site = chrome.site
    story = article.story
    title = story.title
    url = article.url
    description = story.summary(200)
    related = "\n".join(
        f'<a href="{_attr(link.url)}">{_text(link.text)}</a><br>' for link in article.related_links
    )
    teaser_html = "\n".join(
        _teaser(t, vary_url(t.url, "dotdot" if i % 2 == 0 else "canonical", url))
        for i, t in enumerate(teasers)
    )
    rotate = _variant(article.key, max(len(chrome.headline_groups), 1))
    groups = [*chrome.headline_groups[rotate:], *chrome.headline_groups[:rotate]]
    if article.extra_headlines:
        groups.insert(1, article.extra_headlines)
    markup = (
        _head(site, title, url, description, og_image(article, site), og_type="article")
        + _masthead(chrome)
        + f"""<table width="1000" align="center" cellpadding="6" cellspacing="0" border="0"><tr>
<td width="680" valign="top">
<font face="Arial" size="-2" color="#999999">date {story.date.isoformat()}</font> <font face="Arial" size="+1" color="#800000"><b>{_text(site.section)}</b></font><br>
<span class="BH">{_text(article.kicker)}</span><br>
<h1>{_text(title)}<br></h1>
{_byline(article)}
<span class="BHS">{_text(story.dateline)}</span><br><br>
<!--body-2-incontainer.php-->
{_body(article)}
<!--RELATED LINKS-->
<p><font face="Arial"><b>Related Links</b></font><br>
{related}
<br>
{bp.newsletter_box(site)}
<p>{bp.tweet_button(url, title)}
<p>{bp.DONATION_BOX}
<p><font face="Arial"><b>RELATED CONTENT</b></font><br>
<font face="Arial" size="-1">The following news reports may link to other Space Media Network websites.</font>
{teaser_html}
{bp.disqus_block(url, article.key)}
{bp.share_links(site, url, title)}
{_headline_groups(article.kicker, groups)}
{bp.newsletter_box(site)}
</td>
{_right_column(site)}
"""
        + _page_end(chrome)
    )
    return encode_classic(markup, cp1252=article.cp1252)


def _listing(entries: Sequence[Entry]) -> str:
    blocks = []
    for entry in entries:
        story = entry.article.story
        href = _attr(entry.href)
        blocks.append(f"""<table width="100%" cellpadding="4" cellspacing="0" border="0"><tr><td>
<span class="BH">{_text(entry.article.kicker)}</span><br>
<a href="{href}"><font face="Arial" size="+1"><b>{_text(story.title)}</b></font></a><br>
<a href="{href}"><img src="{thumbnail(entry.article)}" hspace="5" vspace="2" align="right" border="0" width="160" height="128"></a>
<span class="BHS">{_text(story.dateline)}</span><br>
<font face="Arial" size="-1">{_text(story.summary(500))} ... <a href="{href}">read more</a></font>
</td></tr></table>""")
    return "\n".join(blocks)


def render_index(
    chrome: Chrome,
    *,
    url: str,
    title: str,
    heading: str | None,
    entries: Sequence[Entry],
    pager: Sequence[Link] = (),
) -> bytes:
    """A home, section or archive page: listings of articles, then the headline lists.

    Section and archive pages carry an ``<h1>`` like articles do: a crawler must tell them
    apart by their lack of a dateline and body, not by the headline tag.
    """
    site = chrome.site
    heading_html = f"<h1>{_text(heading)}<br></h1>\n" if heading else ""
    pager_html = ""
    if pager:
        pager_html = (
            '<p><font face="Arial" size="-1">'
            + " ".join(f'<a href="{_attr(p.url)}">{_text(p.text)}</a>' for p in pager)
            + "</font>"
        )
    description = f"{site.name} - {site.section}: {site.tagline}"
    markup = (
        _head(
            site,
            title,
            url,
            description,
            f"https://{IMAGE_HOST}/images/{site.stem}-logo-hg.jpg",
            og_type="website",
        )
        + _masthead(chrome)
        + f"""<table width="1000" align="center" cellpadding="6" cellspacing="0" border="0"><tr>
<td width="680" valign="top">
<font face="Arial" size="+1" color="#800000"><b>{_text(site.section)}</b></font><br>
{heading_html}{_listing(entries)}
{pager_html}
{bp.newsletter_box(site)}
{_headline_groups(site.section.upper(), chrome.headline_groups)}
</td>
{_right_column(site)}
"""
        + _page_end(chrome)
    )
    return encode_classic(markup)
