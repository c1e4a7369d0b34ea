"""No silently wrong field: implausible values are written as null and noted, disagreeing
sources are noted, and the crawl counts both (globally and per site)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from crawler.extract import extract
from crawler.extract.checks import (
    FieldNotes,
    agency_problem,
    choose_date,
    choose_title,
    date_problem,
    place_problem,
    title_problem,
)
from crawler.spiders.smn import SmnSpider
from tests.support.fixture_pages import load_fixtures

FETCHED = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
FIXTURES = {f.name[:2]: f for f in load_fixtures()}


@pytest.mark.parametrize(
    ("place", "bad"),
    [
        ("Beijing", False),
        ("St. Petersburg FL", False),
        ("Kourou, French Guiana", False),
        ("Washington D.C.", False),
        ("over the equator by Staff Writers Boulder CO", True),
        ("TOKYO, Feb 24", True),
        ("Moscow 2000", True),
        ("One Two Three Four Five Six Seven", True),
        ("Paris (France)", True),
        ("said the agency", True),
    ],
)
def test_place_checks(place: str, bad: bool) -> None:
    assert (place_problem(place) is not None) is bad


@pytest.mark.parametrize(
    ("agency", "bad"),
    [("AFP", False), ("Interfax", False), ("XNA", False), ("Feb", True), ("2004", True)],
)
def test_agency_checks(agency: str, bad: bool) -> None:
    assert (agency_problem(agency) is not None) is bad


@pytest.mark.parametrize(
    ("title", "bad"),
    [
        ("SpaceWar", True),
        ("SpaceDaily.com", True),
        ("Space Daily", True),
        ("Military Space News", True),
        ("Space Industry and Business News", True),
        ("", True),
        ("Good News For Hubble", False),
        ("Kenya Offers Site For Regional Satellite Ground Station", False),
    ],
)
def test_title_checks(title: str, bad: bool) -> None:
    assert (title_problem(title) is not None) is bad


def test_dates_before_1995_or_after_the_fetch_are_implausible() -> None:
    fetched = dt.date(2026, 11, 23)
    assert date_problem(dt.date(1994, 12, 31), fetched) is not None
    assert date_problem(dt.date(2026, 11, 24), fetched) is not None
    assert date_problem(dt.date(1995, 1, 1), fetched) is None


def test_the_dateline_date_wins_and_a_disagreement_of_over_a_day_is_noted() -> None:
    fetched = dt.date(2026, 11, 23)
    notes = FieldNotes()
    got = choose_date(dt.date(2021, 10, 14), [dt.date(2022, 10, 14)], fetched, notes)
    assert got == dt.date(2021, 10, 14)
    assert [n for n, _ in notes.disagreements] == ["published_date"]
    notes = FieldNotes()  # a dateline's local date a day from a UTC timestamp: no disagreement
    assert choose_date(dt.date(2026, 3, 10), [dt.date(2026, 3, 11)], fetched, notes)
    assert notes.disagreements == []
    notes = FieldNotes()  # an implausible dateline date: the metadata's, noted
    got = choose_date(dt.date(1907, 6, 7), [None, dt.date(2007, 6, 7)], fetched, notes)
    assert got == dt.date(2007, 6, 7)
    assert [n for n, _ in notes.implausible] == ["published_date"]


def test_the_h1_wins_over_og_title_and_the_disagreement_is_noted() -> None:
    notes = FieldNotes()
    title = choose_title(["Rover Lands", "Rover Lands Safely On Mars - SpaceDaily"], notes)
    assert title == "Rover Lands"
    assert [n for n, _ in notes.disagreements] == ["title"]
    notes = FieldNotes()  # the same headline with the site's name: no disagreement
    assert choose_title(["Rover Lands", "SpaceDaily - Rover Lands"], notes) == "Rover Lands"
    assert notes.disagreements == []
    notes = FieldNotes()  # an <h1> that is the site's name: og:title, noted
    assert choose_title(["SpaceWar", "Radar Upgrade Finished"], notes) == "Radar Upgrade Finished"
    assert [n for n, _ in notes.implausible] == ["title"]


def test_an_implausible_byline_is_null_and_noted() -> None:
    page = (
        "<html><head><title>Rover Lands</title></head><body><h1>Rover Lands</h1>"
        "<span class=BDL>St.</span><br><span class=BHS>Petersburg FL (SPX) Oct 01, 2008</span>"
        "<!--body-2-incontainer.php--><p>" + "The rover landed on Mars on Monday. " * 6 + "</p>"
        "<!--RELATED LINKS--></body></html>"
    )
    result = extract(page, "https://www.spacedaily.com/reports/Rover_Lands_999.html")
    assert result.article is not None
    assert result.article.byline is None and result.article.authors == []
    assert result.article.dateline == "Petersburg FL"


def test_the_fixture_with_a_site_name_headline_and_a_1907_date() -> None:
    fixture = FIXTURES["52"]
    result = extract(fixture.html.read_bytes(), fixture.url, fetched_at=FETCHED)
    assert result.article is not None
    assert result.article.title == "Radar Upgrade Finished At Thule"
    assert result.article.published_date is None
    assert sorted(n for n, _ in result.implausible) == ["published_date", "title"]


def test_pages_of_other_sites_and_garbage_are_no_article() -> None:
    for key in ("48", "49", "50"):
        fixture = FIXTURES[key]
        result = extract(fixture.html.read_bytes(), fixture.url, fetched_at=FETCHED)
        assert result.article is None and result.reason, key
    other = extract(FIXTURES["49"].html.read_bytes(), FIXTURES["49"].url)
    assert "a page of another site (www.example-news.com)" in (other.reason or "")


def _crawl_one(body: bytes, url: str) -> dict[str, Any]:
    crawler = get_crawler(SmnSpider, {"SMN_EXTRACT_WORKERS": 1})
    spider = SmnSpider.from_crawler(crawler)
    crawler.spider = spider
    assert crawler.stats is not None
    crawler.stats.open_spider()
    response = HtmlResponse(
        url, body=body, headers={"Content-Type": "text/html"}, request=Request(url)
    )

    async def run() -> None:
        async for _ in spider.parse_page(response):
            pass

    try:
        asyncio.run(run())
    finally:
        assert spider.pool is not None
        spider.pool.close()
    return crawler.stats.get_stats()


def test_the_crawl_counts_implausible_and_disagreeing_fields_per_site() -> None:
    implausible = FIXTURES["52"]
    stats = _crawl_one(implausible.html.read_bytes(), implausible.url)
    assert stats["smn/fields/implausible/title"] == 1
    assert stats["smn/fields/implausible/published_date"] == 1
    assert stats["smn/site/spacewar.com/implausible/title"] == 1
    assert stats["smn/site/spacewar.com/implausible/published_date"] == 1
    disagreeing = FIXTURES["17"]
    stats = _crawl_one(disagreeing.html.read_bytes(), disagreeing.url)
    assert stats["smn/fields/disagree/published_date"] == 1
    assert stats["smn/site/spacedaily.com/disagree/published_date"] == 1
    assert not any("implausible" in key for key in stats)


def test_a_place_of_more_than_six_words_is_null_but_the_date_and_agency_stay() -> None:
    page = (
        "<html><head><title>Probe Finds Ice</title></head><body><h1>Probe Finds Ice</h1>"
        "<span class=BHS>NASA Goddard Space Flight Center, Greenbelt MD (SPX) Jan 5, 2009</span>"
        "<!--body-2-incontainer.php--><p>" + "The probe found ice near the pole. " * 6 + "</p>"
        "<!--RELATED LINKS--></body></html>"
    )
    result = extract(page, "https://www.spacedaily.com/reports/Probe_Finds_Ice_999.html")
    assert result.article is not None
    a = result.article
    assert (a.dateline, a.agency, a.published_date) == (None, "SPX", dt.date(2009, 1, 5))
    assert [n for n, _ in result.implausible] == ["dateline"]


def test_another_sites_page_declaring_no_url_at_a_network_url_is_no_article() -> None:
    html = FIXTURES["48"].html.read_text(encoding="utf-8")
    html = html.replace('<meta property="og:url"', '<meta property="og:x"')
    url = "https://www.spacewar.com/reports/Space_agency_picks_landing_site_999.html"
    result = extract(html, url, fetched_at=FETCHED)
    assert result.article is None
    assert "nothing on it names the network" in (result.reason or "")
    # The same story with the network's name in its title is read (by the fallback).
    ours = html.replace("| Example News</title>", "| SpaceWar</title>")
    assert extract(ours, url, fetched_at=FETCHED).article is not None
