"""The project's duplicate filter: one request per canonical URL, however many."""

from __future__ import annotations

import asyncio

from scrapy import Request, Spider
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler

from crawler.dupefilters import ScratchDupeFilter


def make_filter() -> ScratchDupeFilter:
    project = get_project_settings()
    assert project["DUPEFILTER_CLASS"] == "crawler.dupefilters.ScratchDupeFilter"
    names = ("DUPEFILTER_CLASS", "REQUEST_FINGERPRINTER_CLASS")
    crawler = get_crawler(Spider, {name: project[name] for name in names})
    return ScratchDupeFilter.from_crawler(crawler)


def test_one_request_per_canonical_url() -> None:
    dupes = make_filter()
    try:
        assert not dupes.request_seen(Request("https://www.spacewar.com/reports/a_999.html"))
        # http/https, www or not, tracking parameters: the same page
        assert dupes.request_seen(Request("http://spacewar.com/reports/a_999.html?utm_source=x"))
        assert not dupes.request_seen(Request("https://www.spacewar.com/reports/b_999.html"))
        # another method is another request
        post = Request("https://www.spacewar.com/reports/a_999.html", method="POST")
        assert not dupes.request_seen(post)
    finally:
        dupes.close("finished")


def test_a_long_crawl_is_remembered_whole() -> None:
    dupes = make_filter()
    try:
        urls = [f"https://www.spacedaily.com/reports/story_{i}_999.html" for i in range(20_000)]
        assert not any(dupes.request_seen(Request(u)) for u in urls)
        assert all(dupes.request_seen(Request(u)) for u in urls[::7])
    finally:
        dupes.close("finished")


def test_the_seen_question_answers_without_taking() -> None:
    """``filter.seen(request)`` (asked for every link a page yields) answers as request_seen
    would, and takes nothing."""
    dupes = make_filter()
    try:
        first = Request("https://www.terradaily.com/reports/x_999.html")
        assert not dupes.seen(first)
        assert not dupes.request_seen(first)  # not taken by the question
        assert dupes.seen(first)
        assert dupes.seen(Request("http://terradaily.com/reports/x_999.html/"))  # one page
        # past the in-memory recent set: still known, from disk
        for i in range(25_000):
            dupes.request_seen(Request(f"https://www.terradaily.com/reports/s{i}_999.html"))
        assert dupes.seen(first)
        assert dupes.request_seen(Request("https://terradaily.com/reports/x_999.html"))
    finally:
        dupes.close("finished")


class _Engine:
    def __init__(self, df: object) -> None:
        self.scheduler = type("Scheduler", (), {"df": df})()


def _through_middleware(df: object, outputs: list[object]) -> tuple[list[object], int]:
    """What SeenRequestsMiddleware lets through of a page's outputs, and the count it kept."""
    from scrapy.http import HtmlResponse

    from crawler.spidermiddlewares.seen_requests import SeenRequestsMiddleware

    crawler = get_crawler(Spider)
    crawler.engine = _Engine(df)  # type: ignore[assignment]
    assert crawler.stats is not None
    crawler.stats.open_spider()
    middleware = SeenRequestsMiddleware.from_crawler(crawler)
    response = HtmlResponse("https://www.spacewar.com/", body=b"<html></html>")

    async def result():  # type: ignore[no-untyped-def]
        for out in outputs:
            yield out

    async def collect() -> list[object]:
        return [o async for o in middleware.process_spider_output(response, result())]

    passed = asyncio.run(collect())
    return passed, crawler.stats.get_value("smn/links/requested_before", 0)


def test_links_the_filter_took_are_dropped_before_the_other_middlewares() -> None:
    dupes = make_filter()
    try:
        taken = Request("https://www.spacewar.com/reports/a_999.html")
        dupes.request_seen(taken)
        again = Request("http://spacewar.com/reports/a_999.html")  # the same page
        forced = Request("https://www.spacewar.com/reports/a_999.html", dont_filter=True)
        new = Request("https://www.spacewar.com/reports/b_999.html")
        item = {"title": "an item passes"}
        passed, dropped = _through_middleware(dupes, [again, forced, new, item])
        assert passed == [forced, new, item]
        assert dropped == 1
        assert not dupes.seen(new)  # asking took nothing
    finally:
        dupes.close("finished")


def test_with_a_filter_that_cannot_say_everything_passes() -> None:
    from scrapy.dupefilters import RFPDupeFilter

    link = Request("https://www.spacewar.com/reports/a_999.html")
    passed, dropped = _through_middleware(RFPDupeFilter(), [link])
    assert passed == [link]
    assert dropped == 0
