"""New articles for a site of the replica, in its own layout or redesigned, linked from the
site's feed: what a cron run meets when a site changes its markup between two runs."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from collections.abc import Callable, Sequence

from replica import render_classic, render_feeds
from replica.app import Request, Response
from replica.model import Article, Story, classic_url
from replica.server import ReplicaHandle

Redesign = Callable[[Article, bytes], bytes]

_COMMENT = re.compile(rb"<!--.*?-->", re.S)
_BHS = re.compile(rb'<span class="BHS">(.*?)</span>', re.S)
_H1 = re.compile(rb"<h1>(.*?)</h1>", re.S)


def stripped(article: Article, page: bytes) -> bytes:
    """The redesign of the issue: the page lost its body comments, the ``BHS`` span (the
    dateline) and the ``<h1>``; everything else as before."""
    page = _COMMENT.sub(b"", page)
    page = _BHS.sub(rb'<div class="dl">\1</div>', page)
    return _H1.sub(rb'<div class="headline">\1</div>', page)


def app_shell(article: Article, page: bytes) -> bytes:
    """Another redesign: a new template altogether (divs, a JSON-LD block, no table layout,
    no landmark of the classic pages), the story's words unchanged."""
    story = article.story
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in story.raw_paragraphs)
    title = html.escape(story.title)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title}</title></head><body><div id='root'><div class='top'>"
        "<a href='/'>Home</a></div><div class='post'><div class='post-title'>"
        f"{title}</div><div class='post-meta'>{html.escape(story.dateline)}</div>"
        f"<div class='post-body'>{paragraphs}</div></div></div></body></html>"
    ).encode()


def script_shell(article: Article, page: bytes) -> bytes:
    """A redesign no reader of HTML can read: the page is an empty shell that a script fills
    in from a JSON blob (the words are there, but not as markup)."""
    story = article.story
    data = json.dumps({"title": story.title, "paragraphs": list(story.raw_paragraphs)})
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>SpaceWar</title>"
        "<script src='/static/app.js' defer></script></head><body><div id='app'></div>"
        f"<script type='application/json' id='state'>{html.escape(data, quote=False)}</script>"
        "</body></html>"
    ).encode()


def as_before(article: Article, page: bytes) -> bytes:
    return page


def as_new_page(base: Article, key: str, story: Story, url: str) -> Article:
    """``base`` as another page: its story and URL replaced, nothing linked from or to it."""
    return dataclasses.replace(
        base,
        key=key,
        story=story,
        url=url,
        related_links=(),
        teasers=(),
        extra_headlines=(),
        copy_of=None,
        tags=frozenset(),
    )


def new_articles(replica: ReplicaHandle, host: str, titles: Sequence[str]) -> list[Article]:
    """New stories of ``host``, one per title, modelled on one of its articles."""
    catalog = replica.app.catalog
    base = next(a for a in catalog.articles.values() if a.host == host and not a.copy_of)
    out = []
    for title in titles:
        key = "new-" + re.sub(r"\W+", "-", title.lower())
        story = dataclasses.replace(base.story, key=key, title=title)
        out.append(as_new_page(base, key, story, classic_url(host, title)))
    return out


def publish(
    replica: ReplicaHandle, feed_path: str, articles: Sequence[tuple[Article, Redesign]]
) -> list[str]:
    """Serve each article (through its redesign) and list them at the top of the site's
    feed; their URLs."""
    catalog = replica.app.catalog
    host = articles[0][0].host
    feed_page = catalog.get(host, feed_path)
    assert feed_page is not None
    items = b""
    for article, redesign in articles:
        page = render_classic.render_article(article, catalog.chrome[host], [])
        replica.add_route(host, article.url.split(host, 1)[1], _serve(redesign(article, page)))
        one = render_feeds.render_classic_feed(
            title=host, home=f"http://{host}/", build_time="", items=[(article, article.url)]
        )
        items += one[one.index(b"<item>") : one.index(b"</item>") + len(b"</item>")] + b"\n"
    feed = feed_page.body.replace(b"<item>", items + b"<item>", 1)
    replica.add_route(host, feed_path, _serve(feed, feed_page.content_type))
    return [a.url for a, _ in articles]


def _serve(body: bytes, content_type: str = "text/html; charset=iso-8859-1") -> Callable:
    def handler(request: Request) -> Response:
        return Response(200, [("Content-Type", content_type)], body, compressible=True)

    return handler


COPY_URL = "https://www.spacewar.com/reports/Edited_copy_of_a_stored_story_999.html"
FEED_PATH = "/spacewar.xml"


def add_edited_copy(replica: ReplicaHandle, original_url: str) -> None:
    """An edited copy of the stored article at ``original_url`` (another headline, its first
    paragraph split in two, curly quotes, its last paragraph cut), on a new SpaceWar page at
    the top of the site's feed."""
    catalog = replica.app.catalog
    base = next(a for a in catalog.articles.values() if a.url == original_url)
    paragraphs = [p.replace('"', "“") for p in base.story.raw_paragraphs]
    head, _, tail = paragraphs[0].partition(", ")
    edited = [f"{head}.", tail.capitalize(), *paragraphs[1:-1]] if tail else paragraphs[:-1]
    story = dataclasses.replace(
        base.story, key="stories-copy", title="An edited copy", raw_paragraphs=tuple(edited)
    )
    publish(replica, FEED_PATH, [(as_new_page(base, "stories-copy", story, COPY_URL), as_before)])
