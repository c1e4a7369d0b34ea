"""Datelines in every form of SMN-SITES.md ("What the text of real pages shows"), one by one
and built from parts (property-based): the parts must come back."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.extract.datelines import find_dateline, place_case, read_dateline


@pytest.mark.parametrize(
    ("line", "place", "agency", "date"),
    [
        ("Tokyo (AFP) June 1, 2023", "Tokyo", "AFP", "2023-06-01"),
        ("Moscow (AFP) July 21, 2000", "Moscow", "AFP", "2000-07-21"),
        ("Pasadena CA (JPL) May 7, 2009", "Pasadena CA", "JPL", "2009-05-07"),
        ("Paris (ESA) Feb. 9, 2001", "Paris", "ESA", "2001-02-09"),
        ("Greenbelt MD (SPX) Sept. 21, 2005", "Greenbelt MD", "SPX", "2005-09-21"),
        ("Houston (UPI) Sept 3, 2002", "Houston", "UPI", "2002-09-03"),
        ("Huntsville AL (SPX) Apr 04, 2013", "Huntsville AL", "SPX", "2013-04-04"),
        ("NAIROBI (AFP) Mar 03, 2004", "Nairobi", "AFP", "2004-03-03"),
        ("KOUROU, French Guiana (AFP) Feb 12, 2005", "Kourou, French Guiana", "AFP", "2005-02-12"),
        ("Perth, Australia (SPX) Nov 06, 2015", "Perth, Australia", "SPX", "2015-11-06"),
        ("Washington DC (UPI) Apr 2, 2013", "Washington DC", "UPI", "2013-04-02"),
        ("St. Petersburg FL (SPX) Oct 1, 2008", "St. Petersburg FL", "SPX", "2008-10-01"),
        ("Ft. Worth TX (UPI) Jan 15, 2007", "Ft. Worth TX", "UPI", "2007-01-15"),
        ("Washington D.C. (UPI) Dec. 10, 2003", "Washington D.C.", "UPI", "2003-12-10"),
        ("Beijing (XNA) Aug 8, 2008", "Beijing", "XNA", "2008-08-08"),
        ("Moscow (Interfax) Apr 12, 2011", "Moscow", "Interfax", "2011-04-12"),
        ("Houston - Apr 12, 2001", "Houston", None, "2001-04-12"),
        ("Houston - Apr 12, 2001 -", "Houston", None, "2001-04-12"),
        ("TOKYO, Feb 24 (AFP) Feb 24, 2007", "Tokyo", "AFP", "2007-02-24"),
        (
            "CAPE CANAVERAL, Florida, February 24 (AFP) Feb 24, 2007",
            "Cape Canaveral, Florida",
            "AFP",
            "2007-02-24",
        ),
        ("   Paris (AFP) Jan 5, 2006", "Paris", "AFP", "2006-01-05"),
        ("• Paris (AFP) Jan 5, 2006", "Paris", "AFP", "2006-01-05"),
        ("RIO DE JANEIRO (AFP) Nov 6, 2006", "Rio de Janeiro", "AFP", "2006-11-06"),
        ("WASHINGTON (AFP) Nov 6, 2006", "Washington", "AFP", "2006-11-06"),
        ("LONDON, UK (AFP) Nov 6, 2006", "London, UK", "AFP", "2006-11-06"),
        ("(UPI) Nov 06, 2015", None, "UPI", "2015-11-06"),
    ],
)
def test_every_dateline_form(line: str, place: str | None, agency: str | None, date: str) -> None:
    found = read_dateline(line)
    assert found is not None
    assert (found.place, found.agency, found.date) == (place, agency, dt.date.fromisoformat(date))
    assert found.byline is None


def test_the_first_sentence_on_the_dateline_line_is_left_after_it() -> None:
    line = "Moscow (AFP) March 3, 2000 - Russia's space agency said on Friday it would wait."
    found = read_dateline(line)
    assert found is not None and found.place == "Moscow"
    assert line[found.end :] == " - Russia's space agency said on Friday it would wait."
    no_agency = "Houston - Apr 12, 2001 - NASA managers said the shuttle is ready."
    found = read_dateline(no_agency)
    assert found is not None and found.agency is None
    assert no_agency[found.end :] == " - NASA managers said the shuttle is ready."


@pytest.mark.parametrize(
    ("line", "byline", "place"),
    [
        ("by Staff Writers Boulder CO (SPX) Jan 05, 2026 The day", "Staff Writers", "Boulder CO"),
        ("by AFP Staff Writers Paris (AFP) Jan 05, 2006", "AFP Staff Writers", "Paris"),
        ("By Sebastian SMITH Washington (AFP) March 14, 2022", "Sebastian SMITH", "Washington"),
        (
            "by Jane Doe and John Roe Los Angeles (AFP) Feb 3, 2024",
            "Jane Doe and John Roe",
            "Los Angeles",
        ),
        ("by Jane Doe for SpaceDaily Paris (SPX) Feb 3, 2024", "Jane Doe for SpaceDaily", "Paris"),
        ("by Anna Berg St. Petersburg FL (SPX) Feb 3, 2004", "Anna Berg", "St. Petersburg FL"),
        (
            "By Jean DUPONT CAPE CANAVERAL, Florida (AFP) Feb 3, 2004",
            "Jean DUPONT",
            "Cape Canaveral, Florida",
        ),
    ],
)
def test_a_byline_run_into_the_dateline_is_split_from_the_place(
    line: str, byline: str, place: str
) -> None:
    found = read_dateline(line)
    assert found is not None
    assert (found.byline, found.place) == (byline, place)


def test_headline_byline_dateline_and_first_sentence_in_one_line() -> None:
    line = (
        "Lasers Tested Over The Equator by Staff Writers Boulder CO (SPX) Jan 05, 2026 "
        "The first sentence follows."
    )
    found = read_dateline(line)
    assert found is not None
    assert (found.lead, found.byline, found.place, found.agency) == (
        "Lasers Tested Over The Equator",
        "Staff Writers",
        "Boulder CO",
        "SPX",
    )
    assert line[found.end :].strip() == "The first sentence follows."
    # A headline that itself holds " By ": the byline is the last "by".
    line = "Sensor Program By US AFRL by Staff Writers Dayton OH (SPX) Jan 05, 2026"
    found = read_dateline(line)
    assert found is not None and (found.byline, found.place) == ("Staff Writers", "Dayton OH")


@pytest.mark.parametrize(
    "line",
    [
        "The agency said on March 3, 2000 that it would launch.",
        "NASA (the US space agency) said on Monday it would launch.",
        "Launch - next week, maybe",
        "He said the launch (AFP) was set.",
        "by Staff Writers",
        "Editor's Note: this story by Jane Doe (AFP) Jan 5, 2006 was updated",
    ],
)
def test_lines_that_are_no_dateline(line: str) -> None:
    assert read_dateline(line) is None


def test_find_dateline_finds_a_teasers_dateline_after_other_text() -> None:
    found = find_dateline("Progress Docks With ISS\nMoscow (AFP) Jul 17, 2006\nAn unmanned ...")
    assert found is not None and (found.place, found.agency) == ("Moscow", "AFP")


@pytest.mark.parametrize(
    ("printed", "stored"),
    [
        ("BEIJING", "Beijing"),
        ("CAPE CANAVERAL, Florida", "Cape Canaveral, Florida"),
        ("WASHINGTON DC", "Washington DC"),
        ("ST. PETERSBURG FL", "St. Petersburg FL"),
        ("PORT-AU-PRINCE", "Port-au-Prince"),
        ("N'DJAMENA", "N'Djamena"),
        ("MCLEAN, Virginia", "McLean, Virginia"),
        ("LA PAZ", "La Paz"),
        ("EDWARDS AFB, California", "Edwards AFB, California"),
        ("Washington D.C.", "Washington D.C."),
        ("Greenbelt MD", "Greenbelt MD"),
        ("LONDON, UK", "London, UK"),
    ],
)
def test_a_place_in_capitals_is_stored_title_cased_with_its_codes(
    printed: str, stored: str
) -> None:
    assert place_case(printed) == stored


# -- built from parts ------------------------------------------------------------------

PLACES = [
    "Tokyo",
    "Beijing",
    "Houston",
    "Greenbelt MD",
    "Washington DC",
    "Washington D.C.",
    "St. Petersburg FL",
    "Ft. Worth TX",
    "Mt. Pleasant SC",
    "Perth, Australia",
    "Kourou, French Guiana",
    "Cape Canaveral, Florida",
    "Munich, Germany",
    "Rio de Janeiro",
    "Port-au-Prince",
    "Sydney NSW",
    "London, UK",
    "New Delhi",
    "Los Angeles",
    "Pasadena CA",
]
MONTHS = [
    ("January", "Jan"),
    ("February", "Feb"),
    ("March", "Mar"),
    ("April", "Apr"),
    ("May", "May"),
    ("June", "Jun"),
    ("July", "Jul"),
    ("August", "Aug"),
    ("September", "Sep"),
    ("October", "Oct"),
    ("November", "Nov"),
    ("December", "Dec"),
]
AGENCIES = ["AFP", "SPX", "UPI", "XNA", "ESA", "IANS", "Interfax", None]
BYLINES = [
    None,
    "Staff Writers",
    "AFP Staff Writers",
    "Jane Doe",
    "Jean DUPONT",
    "Jane Doe and John Roe",
    "Jane Doe for SpaceDaily",
]
LEADS = ["", " ", "   ", "• ", "\u00a0"]
SENTENCE = "The agency said the launch went well."


@st.composite
def datelines(draw: st.DrawFn) -> tuple[str, dict]:
    place = draw(st.sampled_from(PLACES))
    capitals = draw(st.sampled_from(["none", "all", "first"]))
    if capitals == "all":
        printed = place.upper()
    elif capitals == "first":
        head, _, tail = place.partition(",")
        printed = head.upper() + ("," + tail if tail else "")
    else:
        printed = place
    day = draw(st.dates(min_value=dt.date(1999, 1, 1), max_value=dt.date(2026, 12, 31)))
    full, short = MONTHS[day.month - 1]
    month = draw(
        st.sampled_from([full, short, short + "."] + (["Sept.", "Sept"] if day.month == 9 else []))
    )
    padded = draw(st.booleans())
    date_text = f"{month} {day.day:02d}, {day.year}" if padded else f"{month} {day.day}, {day.year}"
    agency = draw(st.sampled_from(AGENCIES))
    doubled = agency == "AFP" and draw(st.booleans())
    first = printed + (f", {short} {day.day}" if doubled else "")
    if agency is None:
        line = f"{first} - {date_text}" + draw(st.sampled_from(["", " -"]))
    else:
        line = f"{first} ({agency}) {date_text}"
    byline = draw(st.sampled_from(BYLINES))
    if byline is not None:
        line = f"{draw(st.sampled_from(['by', 'By']))} {byline} {line}"
    trailing = draw(st.sampled_from(["", f" - {SENTENCE}", f" {SENTENCE}"]))
    if agency is None and trailing == f" {SENTENCE}":
        trailing = f" - {SENTENCE}"
    line = draw(st.sampled_from(LEADS)) + line + trailing
    expected = {
        "place": place,
        "agency": agency,
        "date": day,
        "byline": byline,
        "rest": SENTENCE if trailing else "",
    }
    return line, expected


@settings(max_examples=600, deadline=None)
@given(datelines())
def test_datelines_built_from_parts_give_the_parts_back(case: tuple[str, dict]) -> None:
    line, expected = case
    found = read_dateline(line)
    assert found is not None, line
    rest = line[found.end :].lstrip(" -").strip()
    got = {
        "place": found.place,
        "agency": found.agency,
        "date": found.date,
        "byline": found.byline,
        "rest": rest,
    }
    assert got == expected, line


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_any_text_reads_as_a_dateline_or_none_never_raises(text: str) -> None:
    for found in (read_dateline(text), find_dateline(text)):
        if found is not None and found.place is not None:
            assert not any(ch.isdigit() for ch in found.place)
            assert "by" not in found.place.casefold().split()
