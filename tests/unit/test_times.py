"""published_at and modified_at: a page's times with their zones, in UTC; times without a
zone, dates alone, garbage and impossible times give null (counted, except a date alone)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from crawler.extract import extract
from crawler.extract.times import DATE_ONLY, NO_ZONE, NOT_A_TIME, parse_time
from tests.support.fixture_pages import PAGES

UTC = dt.UTC


def _utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-12T09:30:00+00:00", _utc(2026, 1, 12, 9, 30)),
        ("2026-01-12T09:30:00Z", _utc(2026, 1, 12, 9, 30)),
        ("2026-01-12t09:30:00z", _utc(2026, 1, 12, 9, 30)),
        ("2026-01-12T09:30:00+08:00", _utc(2026, 1, 12, 1, 30)),
        ("2026-01-12T09:30:00+0800", _utc(2026, 1, 12, 1, 30)),
        ("2026-01-12T09:30:00+08", _utc(2026, 1, 12, 1, 30)),
        ("2026-01-12T01:30:00-05:30", _utc(2026, 1, 12, 7, 0)),
        ("2026-01-01T02:00:00+10:00", _utc(2025, 12, 31, 16, 0)),  # the year changes
        ("2022-10-14T06:40:00+10:00", _utc(2022, 10, 13, 20, 40)),
        ("2026-01-12T09:30:00.5Z", _utc(2026, 1, 12, 9, 30, 0, 500_000)),
        ("2026-01-12T09:30:00.123456789+00:00", _utc(2026, 1, 12, 9, 30, 0, 123_456)),
        ("2026-01-12T09:30Z", _utc(2026, 1, 12, 9, 30)),
        ("2026-01-12 09:30:00 +01:00", _utc(2026, 1, 12, 8, 30)),
        ("  2026-01-12T09:30:00 UTC ", _utc(2026, 1, 12, 9, 30)),
    ],
)
def test_times_with_a_zone_are_read_in_utc(text: str, expected: dt.datetime) -> None:
    value, problem = parse_time(text)
    assert (value, problem) == (expected, None)
    assert value is not None and value.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("2026-01-12T09:30:00", NO_ZONE),
        ("2026-01-12 09:30", NO_ZONE),
        ("2026-01-12", DATE_ONLY),
        ("2026-02-30", NOT_A_TIME),
        ("2026-01-12T25:00:00Z", NOT_A_TIME),
        ("2026-02-30T10:00:00Z", NOT_A_TIME),
        ("2026-01-12T09:30:00+15:00", NOT_A_TIME),  # no zone is that far
        ("2026-01-12T09:30:00+05:75", NOT_A_TIME),
        ("Thu, 04 APR 2013 20:37:27 AEST", NOT_A_TIME),
        ("yesterday", NOT_A_TIME),
        ("2026-01-12T09:30:00+00:00garbage", NOT_A_TIME),
        ("2026-01-12T09:30:00" + "0" * 10_000 + "Z", NOT_A_TIME),
        ("0001-01-01T00:00:00+01:00", NOT_A_TIME),  # before the year 1 in UTC
    ],
)
def test_what_is_no_time_with_a_zone_says_why(text: str, problem: str) -> None:
    assert parse_time(text) == (None, problem)


def test_no_text_is_no_problem() -> None:
    assert parse_time(None) == (None, None)
    assert parse_time("  ") == (None, None)


# Fixture 20 (the newer platform): its times in the meta tags, a JSON-LD @graph and the post's
# <time>; each test keeps the sources it is about.
FIXTURE = PAGES / "20_new_spacedaily_solar_records_no_dateline.html"
URL = "https://spacedaily.com/century-old-solar-records-refine-future-cycle-forecasts-999/"
FETCHED = _utc(2026, 11, 23, 12, 0)
_META = re.compile(r'<meta property="article:(published|modified)_time" content="[^"]*">\n')
_TIME_EL = re.compile(r'<time class="entry-date published" datetime="[^"]*">')


def _page(
    *, meta: str | None = None, jsonld: str | None = None, jsonld_modified: str | None = None
) -> bytes:
    html = FIXTURE.read_text(encoding="utf-8")
    html = _META.sub("", html)
    html = _TIME_EL.sub('<time class="entry-date published">', html)
    if meta is not None:
        html = html.replace(
            "</head>", f'<meta property="article:published_time" content="{meta}">\n</head>'
        )
    html = html.replace('"datePublished":"2026-01-12T09:30:00+00:00"', jsonld or '"x":0')
    html = html.replace('"dateModified":"2026-01-12T11:02:41+00:00"', jsonld_modified or '"y":0')
    return html.encode("utf-8")


def test_a_jsonld_graph_gives_the_times() -> None:
    result = extract(
        _page(
            jsonld='"datePublished":"2026-01-12T17:30:00+08:00"',
            jsonld_modified='"dateModified":["2026-01-13T00:00:00Z"]',
        ),
        URL,
        fetched_at=FETCHED,
    )
    assert result.article is not None
    assert result.article.published_at == _utc(2026, 1, 12, 9, 30)
    assert result.article.modified_at == _utc(2026, 1, 13)
    # published_date is still the page's date (no dateline here: the metadata's)
    assert result.article.published_date == dt.date(2026, 1, 12)


def test_the_posts_time_element_is_the_last_source() -> None:
    html = _page().replace(
        b'<time class="entry-date published">',
        b'<time class="entry-date published" datetime="2026-01-12T10:30:00+01:00">',
    )
    article = extract(html, URL, fetched_at=FETCHED).article
    assert article is not None
    assert article.published_at == _utc(2026, 1, 12, 9, 30)
    assert article.modified_at is None


@pytest.mark.parametrize(
    ("meta", "why"),
    [
        ("2026-01-12T09:30:00", "no time zone"),
        ("1990-06-01T12:00:00Z", "before 1995"),
        ("2026-11-23T14:00:00+00:00", "after the fetch"),
        ("not a time at all", "not an ISO 8601 time"),
    ],
)
def test_a_time_that_cannot_be_right_is_null_and_counted(meta: str, why: str) -> None:
    result = extract(_page(meta=meta), URL, fetched_at=FETCHED)
    assert result.article is not None
    assert result.article.published_at is None
    notes = [note for name, note in result.implausible if name == "published_at"]
    assert len(notes) == 1 and why in notes[0]


def test_a_little_after_the_fetch_is_the_sites_clock() -> None:
    result = extract(_page(meta="2026-11-23T12:30:00Z"), URL, fetched_at=FETCHED)
    assert result.article is not None and result.article.published_at == _utc(2026, 11, 23, 12, 30)


def test_a_date_alone_is_no_time_and_no_problem() -> None:
    result = extract(_page(meta="2026-01-12"), URL, fetched_at=FETCHED)
    assert result.article is not None
    assert result.article.published_at is None
    assert result.implausible == ()
    assert result.article.published_date == dt.date(2026, 1, 12)


def test_a_later_source_stands_in_for_one_without_zone() -> None:
    result = extract(
        _page(meta="2026-01-12T09:30:00", jsonld='"datePublished":"2026-01-12T09:30:00Z"'),
        URL,
        fetched_at=FETCHED,
    )
    assert result.article is not None
    assert result.article.published_at == _utc(2026, 1, 12, 9, 30)
    assert result.implausible == ()


def test_sources_that_disagree_are_noted_and_the_meta_tag_wins() -> None:
    result = extract(
        _page(meta="2026-01-12T09:30:00Z", jsonld='"datePublished":"2026-01-12T19:30:00Z"'),
        URL,
        fetched_at=FETCHED,
    )
    assert result.article is not None
    assert result.article.published_at == _utc(2026, 1, 12, 9, 30)
    assert [name for name, _ in result.disagreements] == ["published_at"]
