"""Bylines in every form of SMN-SITES.md, the lines that are not bylines, and bylines built
from parts (property-based): the names must come back."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.extract.bylines import (
    authors_of,
    byline_problem,
    looks_like_names,
    read_byline,
)


@pytest.mark.parametrize(
    ("line", "byline", "authors"),
    [
        ("by Jane Doe", "Jane Doe", ["Jane Doe"]),
        ("by Jane Doe and John Roe", "Jane Doe and John Roe", ["Jane Doe", "John Roe"]),
        ("by Marc Kaufman for SpaceDaily", "Marc Kaufman for SpaceDaily", ["Marc Kaufman"]),
        ("By Sebastian SMITH", "Sebastian SMITH", ["Sebastian SMITH"]),
        ("by Staff Writers", "Staff Writers", []),
        ("by AFP Staff Writers", "AFP Staff Writers", []),
        ("by UPI Staff Writers", "UPI Staff Writers", []),
        (
            "By Ivan Petrov, Marie Dupont and Kenji Sato",
            "Ivan Petrov, Marie Dupont and Kenji Sato",
            ["Ivan Petrov", "Marie Dupont", "Kenji Sato"],
        ),
        ("BY Hélène Dubois", "Hélène Dubois", ["Hélène Dubois"]),
    ],
)
def test_every_byline_form(line: str, byline: str, authors: list[str]) -> None:
    assert read_byline(line) == byline
    assert authors_of(byline) == authors


@pytest.mark.parametrize(
    "line",
    [
        "Editor's Note: This story was updated with comments from NASA.",
        "Published by SpaceDaily",
        "Posted by admin",
        "Photo by NASA",
        "Air Force Launches Sensor Program By US AFRL",
        "by the end of the year, the agency said.",
        "by 2030 the station will be gone",
    ],
)
def test_lines_that_are_no_byline(line: str) -> None:
    assert read_byline(line) is None
    assert not looks_like_names(line)


@pytest.mark.parametrize(
    ("byline", "bad"),
    [
        ("St.", True),
        ("Ft.", True),
        ("FL", True),
        ("Washington", True),
        ("Staff Writers Houston (SPX) Apr 2, 2013", True),
        ("Editor's Note: see below", True),
        ("Jane Doe", False),
        ("Staff Writers", False),
        ("J. R. Smith", False),
    ],
)
def test_implausible_bylines(byline: str, bad: bool) -> None:
    assert (byline_problem(byline) is not None) is bad


def test_names_without_by() -> None:
    assert looks_like_names("Lisa Smith")
    assert looks_like_names("Renée Laurent and Søren Ekström")
    assert not looks_like_names("SUPERPOWERS")
    assert not looks_like_names("China says backs direct talks")
    assert not looks_like_names("Spirit Lands On Mars After Seven Month Cruise Through Space")


FIRST = ["Jane", "John", "Marie", "Jean-Luc", "Søren", "Hélène", "Kenji", "Anna"]
LAST = ["Doe", "Roe", "Dupont", "Ekström", "O'Brien", "McDonald", "Sato", "Berg"]


@st.composite
def bylines(draw: st.DrawFn) -> tuple[str, list[str]]:
    count = draw(st.integers(min_value=1, max_value=3))
    names = []
    for _ in range(count):
        last = draw(st.sampled_from(LAST))
        if draw(st.booleans()):
            last = last.upper()  # AFP's "Name SURNAME"
        names.append(f"{draw(st.sampled_from(FIRST))} {last}")
    joined = names[0] if count == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    suffix = draw(st.sampled_from(["", " for SpaceDaily", " for AFP", " in Paris"]))
    by = draw(st.sampled_from(["by", "By", "BY"]))
    return f"{by} {joined}{suffix}", names


@settings(max_examples=300, deadline=None)
@given(bylines())
def test_bylines_built_from_parts_give_the_names_back(case: tuple[str, list[str]]) -> None:
    line, names = case
    byline = read_byline(line)
    assert byline is not None, line
    assert authors_of(byline) == names


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["", "AFP ", "UPI ", "SPX "]), st.sampled_from(["by", "By"]))
def test_staff_bylines_name_no_author(agency: str, by: str) -> None:
    byline = read_byline(f"{by} {agency}Staff Writers")
    assert byline == f"{agency}Staff Writers"
    assert authors_of(byline) == []
