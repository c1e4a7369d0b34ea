"""The extractor against hand-built pages of both layouts, with hand-written gold records."""

from __future__ import annotations

import datetime as dt

import pytest

from crawler.extract import extract
from tests.support.fixture_pages import METADATA_FIELDS, Fixture, load_fixtures
from tests.support.quality import leaked_phrases, score

FIXTURES = load_fixtures()
ARTICLES = [f for f in FIXTURES if f.is_article]
NON_ARTICLES = [f for f in FIXTURES if not f.is_article]
FETCHED = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
# Fields that must match the gold exactly; text is scored by F1.
EXACT_FIELDS = (
    *METADATA_FIELDS,
    "canonical_url",
    "site",
    "image_url",
    "related_links",
)


def _record(fixture: Fixture) -> dict:
    result = extract(fixture.html.read_bytes(), fixture.url, fetched_at=FETCHED)
    assert result.article is not None, f"{fixture.name}: not extracted ({result.reason})"
    a = result.article
    return {
        "title": a.title,
        "byline": a.byline,
        "authors": a.authors,
        "agency": a.agency,
        "dateline": a.dateline,
        "published_date": a.published_date.isoformat() if a.published_date else None,
        "published_at": a.published_at.isoformat() if a.published_at else None,
        "modified_at": a.modified_at.isoformat() if a.modified_at else None,
        "category": a.category,
        "section": a.section,
        "canonical_url": a.canonical_url,
        "site": a.site,
        "image_url": a.image_url,
        "related_links": [{"url": link.url, "text": link.text} for link in a.related_links],
        "text": a.text,
    }


# Every form of SMN-SITES.md ("What the text of real pages shows") has a page of its own.
FORMS = {
    "dateline: full month, unpadded day, first sentence on the line (2000)": "31",
    "dateline: no agency, Place - Mon DD, YYYY -": "32",
    "dateline: AFP feed page, the date twice, place in capitals": "33",
    "dateline: the date twice, place and country, /afp/ URL (2026)": "34",
    "dateline: a period in the place (St. Petersburg FL)": "35",
    "dateline: Ft. Worth TX, Sept.": "36",
    "dateline: Washington D.C., dotted month": "37",
    "dateline: capitals and a country (KOUROU, French Guiana)": "38",
    "dateline: place and country, stray bullet and blanks": "39",
    "dateline: XNA": "40",
    "dateline: Interfax": "41",
    "dateline: capitals on an AFP wire page": "30",
    "byline: by Name and Name": "37",
    "byline: by Name for SpaceDaily": "32",
    "byline: By Name SURNAME": "38",
    "byline: by AFP Staff Writers": "34",
    "byline, dateline and first sentence in one line": "42",
    "headline, byline, dateline and first sentence in one line": "43",
    "not bylines: Editor's Note, Published by, a headline with By": "44",
    "newer platform: byline and dateline in one entry-meta line": "45",
    "header zone: photo captions": "38",
    "header zone: pull-quote, subheading, repeated headline": "46",
    "header zone: a summary paragraph": "47",
    "header zone: a list of unrelated headlines": "44",
    "header zone: a subheading": "40",
    "headline with a leading '. '": "30",
    "headline starting with a quote": "41",
    "legacy boilerplate: wire trailer, Community, Source, AFP rights, newsletters": "30",
    "legacy boilerplate: social lines, teaser with its own dateline": "33",
    "URL: AFP wire /yyyy/<id>.<8>.html": "30",
    "URL: /afp/<id>.<8>.html": "34",
    "URL: /news/<topic>-<yy><long letter run>.html": "39",
    "implausible: the site's name as headline, a date before 1995": "52",
    "no article: a page of another site": "48",
    "no article: another site's page at a network URL": "49",
    "no article: a garbage page": "50",
    "no article: an older listing page": "51",
}


def test_fixture_set_covers_the_issue() -> None:
    assert len(FIXTURES) >= 45
    assert len(NON_ARTICLES) >= 9
    names = {f.name[:2] for f in FIXTURES}
    assert {form: key for form, key in FORMS.items() if key not in names} == {}


@pytest.mark.parametrize("fixture", ARTICLES, ids=lambda f: f.name)
def test_article_text_matches_gold(fixture: Fixture) -> None:
    record = _record(fixture)
    s = score(record["text"], fixture.expected["text"])
    assert s.f1 == 1.0, f"F1 {s.f1:.3f} (P {s.precision:.3f} R {s.recall:.3f})"
    assert leaked_phrases(record["text"]) == []


@pytest.mark.parametrize("fixture", ARTICLES, ids=lambda f: f.name)
def test_article_fields_match_gold(fixture: Fixture) -> None:
    record = _record(fixture)
    wrong = {
        field: (record[field], fixture.expected[field])
        for field in EXACT_FIELDS
        if field in fixture.expected and record[field] != fixture.expected[field]
    }
    assert wrong == {}


def test_average_f1_is_at_least_099() -> None:
    f1s = [score(_record(f)["text"], f.expected["text"]).f1 for f in ARTICLES]
    assert sum(f1s) / len(f1s) >= 0.99


@pytest.mark.parametrize("fixture", NON_ARTICLES, ids=lambda f: f.name)
def test_non_article_pages_give_no_record(fixture: Fixture) -> None:
    result = extract(fixture.html.read_bytes(), fixture.url, fetched_at=FETCHED)
    assert result.article is None
    assert result.reason


def test_every_record_is_clean_and_consistent() -> None:
    for fixture in ARTICLES:
        result = extract(fixture.html.read_bytes(), fixture.url, fetched_at=FETCHED)
        a = result.article
        assert a is not None
        assert a.word_count == len(a.text.split())
        assert a.language == "en"
        assert a.published_date is None or a.published_date <= FETCHED.date()
        assert "\n\n\n" not in a.text and a.text == a.text.strip()
        assert all(p.strip() == p and p for p in a.text.split("\n\n"))
        assert len(a.content_hash) == 32
        assert a.extractor_version
