"""The project's duplicate filter: one request per canonical URL, however many."""

from __future__ import annotations

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


def test_the_spider_asks_without_taking() -> None:
    """``fingerprint in filter.fingerprints`` (the spider's question for every link it meets
    again) answers as request_seen would, and takes nothing."""
    dupes = make_filter()
    try:
        fingerprint = dupes.fingerprinter.fingerprint
        first = Request("https://www.terradaily.com/reports/x_999.html")
        assert fingerprint(first) not in dupes.fingerprints
        assert not dupes.request_seen(first)  # not taken by the question
        assert fingerprint(first) in dupes.fingerprints
        # past the in-memory recent set: still known, from disk
        for i in range(25_000):
            dupes.request_seen(Request(f"https://www.terradaily.com/reports/s{i}_999.html"))
        assert fingerprint(first) in dupes.fingerprints
        assert dupes.request_seen(Request("https://terradaily.com/reports/x_999.html"))
    finally:
        dupes.close("finished")
