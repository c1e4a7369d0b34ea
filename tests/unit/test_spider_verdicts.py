"""What the spider tells the incremental state and the layout watch about a page that holds
no article: a page that lists stories is fetched again every run, and a server's empty or
binary answer is neither remembered nor taken for a markup change."""

from __future__ import annotations

import asyncio
from typing import Any

from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from crawler.spidermiddlewares.layout_watch import LayoutWatchCounts
from crawler.spiders.smn import SmnSpider

SITE = "https://www.spacewar.com"


def parse(body: bytes, url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the spider's page callback on one response, through the layout watch's spider
    middleware: (response meta, crawl stats)."""
    crawler = get_crawler(SmnSpider, {"SMN_EXTRACT_WORKERS": 1})
    spider = SmnSpider.from_crawler(crawler)
    crawler.spider = spider
    assert crawler.stats is not None
    crawler.stats.open_spider()
    response = HtmlResponse(
        url, body=body, headers={"Content-Type": "text/html"}, request=Request(url)
    )

    # The layout watch counts what passes its spider middleware, as in a crawl.
    watch = LayoutWatchCounts.from_crawler(crawler)

    async def run() -> None:
        async for _ in watch.process_spider_output(response, spider.parse_page(response)):
            pass

    try:
        asyncio.run(run())
    finally:
        assert spider.pool is not None
        spider.pool.close()
    return response.meta, crawler.stats.get_stats()


def page(links: int) -> bytes:
    anchors = "".join(
        f'<li><a href="/reports/Story_Number_{i}_999.html">Story {i}</a>' for i in range(links)
    )
    return (
        "<html><head><title>Archive</title></head><body><table><tr><td>"
        f"<b>Older stories</b><ul>{anchors}</ul><p>Contact us.</p></td></tr></table>"
        "</body></html>"
    ).encode()


def test_a_page_that_links_many_stories_is_a_listing() -> None:
    meta, _ = parse(page(links=8), f"{SITE}/archive/2019.html")
    assert meta["smn_page_kind"] == "listing"


def test_a_page_with_a_story_link_or_two_is_other() -> None:
    meta, _ = parse(page(links=2), f"{SITE}/about.html")
    assert meta["smn_page_kind"] == "other"


def test_empty_and_binary_answers_are_errors_not_layout_changes() -> None:
    url = f"{SITE}/reports/Some_Story_999.html"
    for body in (b"", b"   \n", bytes(range(256)) * 8):
        meta, stats = parse(body, url)
        assert meta["smn_page_kind"] == "error", body[:10]
        assert not any(key.startswith("smn/site/") for key in stats), stats


def test_an_article_page_no_layout_reads_still_counts_for_the_layout_watch() -> None:
    url = f"{SITE}/reports/Some_Story_999.html"
    meta, stats = parse(b"<html><body><p>Nothing here.</p></body></html>", url)
    assert meta["smn_page_kind"] == "other"
    assert stats["smn/site/spacewar.com/article_pages"] == 1


def test_a_page_with_more_links_than_the_cap_yields_the_first_ones_and_counts_the_rest() -> None:
    anchors = "".join(f'<a href="/reports/Story_{i}_999.html">{i}</a>' for i in range(300))
    body = f"<html><body><p>{anchors}</p></body></html>".encode()
    crawler = get_crawler(SmnSpider, {"SMN_EXTRACT_WORKERS": 1, "SMN_MAX_LINKS_PER_PAGE": 100})
    spider = SmnSpider.from_crawler(crawler)
    crawler.spider = spider
    assert crawler.stats is not None
    crawler.stats.open_spider()
    url = f"{SITE}/archive/2019.html"
    response = HtmlResponse(
        url, body=body, headers={"Content-Type": "text/html"}, request=Request(url)
    )

    async def run() -> list[Any]:
        return [out async for out in spider.parse_page(response)]

    try:
        outputs = asyncio.run(run())
    finally:
        assert spider.pool is not None
        spider.pool.close()
    requests = [o for o in outputs if isinstance(o, Request)]
    assert [r.url for r in requests] == [f"{SITE}/reports/Story_{i}_999.html" for i in range(100)]
    assert crawler.stats.get_value("smn/links/over_cap") == 200
