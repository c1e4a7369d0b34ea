"""RSS feeds: the classic per-site feed, the newer WordPress feed, and a broken one.

The classic feed mimics the 2013 snapshot's quirks: title, link and description in CDATA,
no guid, and one non-standard pubDate (``Thu, 04 APR 2013 20:37:27 AEST``), the feed's build
time, repeated on every item. The description starts with the dateline and a 160x128
thumbnail, then about 600 characters of the story cut mid-word.
"""

# ruff: noqa: E501  (HTML templates: markup lines stay whole so they read like the pages)

from __future__ import annotations

from collections.abc import Sequence
from email.utils import format_datetime
from html import escape

from replica.model import Article
from replica.network import IMAGE_HOST, NEWER_HOST
from replica.render_newer import published_at


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def render_classic_feed(
    *, title: str, home: str, build_time: str, items: Sequence[tuple[Article, str]]
) -> bytes:
    """``items`` pairs each article with its link as the feed writes it."""
    parts = [
        '<?xml version="1.0"?>',
        '<rss version="2.0">',
        "<channel>",
        f"<title>{escape(title)}</title>",
        f"<link>{escape(home)}index.html</link>",
        f"<pubDate>{build_time}</pubDate>",
        f"<lastBuildDate>{build_time}</lastBuildDate>",
        "<language>en-us</language>",
    ]
    for article, link in items:
        story = article.story
        stem = story.image or "smn-default"
        # The feed carries the CMS's raw text: straight quotes, not the page's entities.
        raw = " ".join(p for p in story.raw_paragraphs if not p.startswith("- "))
        description = (
            f"\n{story.dateline}<br/>\n"
            f'<img src="http://{IMAGE_HOST}/images-bg/{stem}-bg.jpg" hspace=5 vspace=2 '
            "align=right border=0 width=160 height=128>\n\n"
            f"{raw[:600]}"
        )
        parts += [
            "<item>",
            f"<title>{_cdata(story.title)}</title>",
            f"<link>{_cdata(link)}</link>",
            f"<description>{_cdata(description)}</description>",
            f"<pubDate>{build_time}</pubDate>",
            "</item>",
        ]
    parts += ["</channel>", "</rss>", ""]
    return "\n".join(parts).encode("utf-8")


def render_newer_feed(
    *, title: str, self_url: str, build_time: str, items: Sequence[tuple[Article, str]]
) -> bytes:
    """A WordPress RSS 2.0 feed: guid, dc:creator, RFC 822 dates and content:encoded."""
    head = f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:wfw="http://wellformedweb.org/CommentAPI/"
	xmlns:dc="http://purl.org/dc/elements/1.1/"
	xmlns:atom="http://www.w3.org/2005/Atom"
	xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
	xmlns:slash="http://purl.org/rss/1.0/modules/slash/"
	>

<channel>
	<title>{title}</title>
	<atom:link href="{escape(self_url)}" rel="self" type="application/rss+xml" />
	<link>https://{NEWER_HOST}</link>
	<description>Your portal to space since 1995</description>
	<lastBuildDate>{build_time}</lastBuildDate>
	<language>en-US</language>
	<sy:updatePeriod>hourly</sy:updatePeriod>
	<sy:updateFrequency>1</sy:updateFrequency>
	<generator>https://wordpress.org/?v=6.9</generator>
"""
    items_xml = []
    for article, link in items:
        story = article.story
        content = "\n".join(f"<p>{escape(p, quote=False)}</p>" for p in story.paragraphs)
        # WordPress writes "&" in links as "&#038;".
        link_xml = escape(link, quote=False).replace("&amp;", "&#038;")
        items_xml.append(f"""	<item>
		<title>{escape(story.title, quote=False)}</title>
		<link>{link_xml}</link>
		<dc:creator>{_cdata(story.byline_name)}</dc:creator>
		<pubDate>{format_datetime(published_at(article))}</pubDate>
		<category>{_cdata(article.kicker)}</category>
		<guid isPermaLink="false">https://{NEWER_HOST}/?p={article.post_id}</guid>
		<description>{_cdata(story.summary(300) + " [&#8230;]")}</description>
		<content:encoded>{_cdata(content)}</content:encoded>
	</item>
""")
    return (head + "".join(items_xml) + "</channel>\n</rss>\n").encode("utf-8")


BROKEN_FEED = b"""<br />
<b>Warning</b>:  mysqli_connect(): (HY000/1040): Too many connections in <b>/home/smn/public_html/rss/build-feed.php</b> on line <b>14</b><br />
<html><head><title>Feed temporarily unavailable</title></head>
<body bgcolor="#FFFFFF">
<p><font face="Arial"><b>The news feed could not be built.</b><br>
Please try again in a few minutes.&nbsp;&nbsp;<a href="https://www.marsdaily.com/">MarsDaily home</a>
</body></html>
"""
"""Served as the MarsDaily feed with an XML content type: a PHP error page, not XML at all."""
