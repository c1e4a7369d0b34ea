"""No silently wrong field: every field is checked before it is written.

A value that cannot be right (a byline of one word ending in a period, a place holding "by"
or a date, a place of more than six words, a headline that is the site's name or a section
heading, a date before 1995 or after the fetch) is written as null and noted as
*implausible*; where two sources of one field disagree (the dateline's date and the page's
``article:published_time``, the ``<h1>`` and og:title), the winner is written and the
disagreement noted. The notes travel with the :class:`~crawler.extract.Extraction` (the
extractor runs in worker processes without stats); the spider counts them
(``smn/fields/implausible/<field>``, ``smn/fields/disagree/<field>``, and per site) and logs
the URL.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from crawler.extract.bylines import byline_problem
from crawler.extract.datelines import MONTH_RE
from crawler.extract.header import clean_title, is_section_heading
from crawler.extract.origin import is_site_name, without_site_name
from crawler.extract.times import DATE_ONLY, parse_time

EARLIEST = dt.date(1995, 1, 1)
"""No story of the network is older: the network's copyright runs from 1995."""
DATE_TOLERANCE = dt.timedelta(days=1)
"""A dateline's local date and a UTC timestamp of the same story may be a day apart: that is
no disagreement."""
EARLIEST_TIME = dt.datetime(1995, 1, 1, tzinfo=dt.UTC)
CLOCK_SLACK = dt.timedelta(hours=1)
"""How far after the fetch a page's time may be and still be taken: the site's clock and ours
may disagree a little. Zones are no reason for more (times are compared in UTC)."""
TIME_AGREEMENT = dt.timedelta(minutes=1)
"""Two sources of one time (``article:published_time``, JSON-LD) further apart disagree."""
_TITLE_MAX_CHARS = 300
_PLACE_MAX_WORDS = 6
_PLACE_DATE = re.compile(r"\d|\b" + MONTH_RE + r"\b\.?\s+\d", re.IGNORECASE)
_PLACE_PUNCT = re.compile(r"[()\[\]:;!?\"“”<>|@#*=+_/\\]")
_AGENCY = re.compile(r"^[A-Z][A-Za-z.&'/ -]{0,29}$")
_MONTH_WORD = re.compile(r"^" + MONTH_RE + r"\.?$", re.IGNORECASE)
_NORM = re.compile(r"[^\w]+")
_LABEL_MAX_WORDS = 8


@dataclass(slots=True)
class FieldNotes:
    """What the checks found on one page."""

    implausible: list[tuple[str, str]] = field(default_factory=list)
    """(field, why) of each value written as null (or replaced by the next source)."""
    disagreements: list[tuple[str, str]] = field(default_factory=list)
    """(field, what) of each field whose sources disagree."""

    def reject(self, name: str, why: str) -> None:
        self.implausible.append((name, why))

    def disagree(self, name: str, what: str) -> None:
        self.disagreements.append((name, what))


def place_problem(place: str) -> str | None:
    """Why a dateline's place cannot be one, or None."""
    words = place.replace(",", " ").split()
    if not words:
        return "empty"
    if len(words) > _PLACE_MAX_WORDS:
        return f"more than {_PLACE_MAX_WORDS} words"
    if any(w.casefold() == "by" for w in words):
        return "holds 'by' (a byline run into it)"
    if _PLACE_DATE.search(place):
        return "holds a date or digits"
    if _PLACE_PUNCT.search(place):
        return "holds punctuation no place has"
    if not place[0].isupper():
        return "does not start with a capital"
    return None


def agency_problem(agency: str) -> str | None:
    """Why the text in a dateline's parentheses cannot be an agency, or None."""
    if not _AGENCY.match(agency) or len(agency.split()) > 4:
        return "not an agency's name"
    if _MONTH_WORD.match(agency) or agency.casefold() == "by":
        return "a date word"
    return None


def title_problem(title: str) -> str | None:
    """Why a headline cannot be the story's, or None."""
    text = title.strip()
    if not text or not any(c.isalnum() for c in text):
        return "empty"
    if len(text) > _TITLE_MAX_CHARS:
        return "too long for a headline"
    if is_site_name(text):
        return "the site's name"
    if is_section_heading(text):
        return "a section heading"
    return None


def label_problem(label: str, title: str) -> str | None:
    """Why a kicker or section heading cannot be one, or None."""
    if len(label.split()) > _LABEL_MAX_WORDS:
        return "too long for a label"
    if _norm(label) == _norm(title):
        return "the headline itself"
    return None


def date_problem(date: dt.date, fetched: dt.date) -> str | None:
    """Why a publication date cannot be right, or None."""
    if date < EARLIEST:
        return f"before {EARLIEST.year}"
    if date > fetched:
        return "after the fetch"
    return None


def time_problem(value: dt.datetime, fetched_at: dt.datetime) -> str | None:
    """Why a page's time (UTC) cannot be right, or None."""
    if value < EARLIEST_TIME:
        return f"before {EARLIEST_TIME.year}"
    if value > fetched_at + CLOCK_SLACK:
        return "after the fetch"
    return None


def choose_time(
    name: str,
    sources: list[tuple[str, str | None]],
    fetched_at: dt.datetime,
    notes: FieldNotes,
) -> dt.datetime | None:
    """The first of ``sources`` (``(source, text)``, the page's own metadata first) that
    gives a time with its zone, not before 1995 nor after the fetch: in UTC. When none does
    but one gave something (a time without a zone, garbage, an implausible time), the first
    such is noted; a date alone is no time and no problem (it is ``published_date``'s). Two
    plausible sources more than :data:`TIME_AGREEMENT` apart are noted; the first wins."""
    chosen: tuple[str, dt.datetime] | None = None
    rejected: str | None = None
    for source, text in sources:
        value, problem = parse_time(text)
        if value is not None:
            problem = time_problem(value, fetched_at)
        if problem is not None or value is None:
            if problem is not None and problem != DATE_ONLY and rejected is None:
                rejected = f"{source} {(text or '')[:40]!r}: {problem}"
            continue
        if chosen is None:
            chosen = (source, value)
        elif abs(value - chosen[1]) > TIME_AGREEMENT:
            first, at = chosen
            notes.disagree(name, f"{first} {at.isoformat()}, {source} {value.isoformat()}")
            break
    if chosen is None:
        if rejected is not None:
            notes.reject(name, rejected)
        return None
    return chosen[1]


def _norm(text: str) -> str:
    return _NORM.sub(" ", text.casefold()).strip()


def choose_title(candidates: list[str | None], notes: FieldNotes) -> str | None:
    """The headline: the layout's (the page's ``<h1>``) when plausible, else the first
    plausible of og:title, JSON-LD and ``<title>`` (without the site's name). The layout's
    and og:title disagreeing is noted; the ``<h1>`` wins (it is what the reader sees)."""
    first, *others = candidates
    first = clean_title(first) if first else first
    chosen: str | None = None
    if first:
        problem = title_problem(first)
        if problem is None:
            chosen = first
        else:
            notes.reject("title", f"{first[:80]!r}: {problem}")
    og = others[0] if others else None
    if chosen is not None and og:
        other = clean_title(without_site_name(og))
        if other and _norm(other) != _norm(chosen) and title_problem(other) is None:
            notes.disagree("title", f"<h1> {chosen[:80]!r}, og:title {other[:80]!r}")
    if chosen is None:
        for candidate in others:
            if not candidate:
                continue
            text = clean_title(without_site_name(" ".join(candidate.split())))
            if title_problem(text) is None:
                return text
    return chosen


def checked_byline(byline: str | None, notes: FieldNotes) -> str | None:
    if not byline:
        return None
    problem = byline_problem(byline)
    if problem is not None:
        notes.reject("byline", f"{byline[:80]!r}: {problem}")
        return None
    return byline


def checked(name: str, value: str | None, problem: str | None, notes: FieldNotes) -> str | None:
    """``value``, or None (noted) when it has a problem."""
    if value is None or problem is None:
        return value
    notes.reject(name, f"{value[:80]!r}: {problem}")
    return None


def choose_date(
    dateline_date: dt.date | None,
    metadata: list[dt.date | None],
    fetched: dt.date,
    notes: FieldNotes,
) -> dt.date | None:
    """The publication date: the dateline's when plausible, else the first plausible
    metadata date. A metadata date more than a day from the dateline's is a disagreement;
    the dateline wins (it is the story's own date, the same on every site that carries the
    story; ``article:published_time`` is the upload time of one copy)."""
    chosen: dt.date | None = None
    if dateline_date is not None:
        problem = date_problem(dateline_date, fetched)
        if problem is None:
            chosen = dateline_date
        else:
            notes.reject("published_date", f"dateline {dateline_date}: {problem}")
    plausible = [d for d in metadata if d is not None and date_problem(d, fetched) is None]
    if chosen is not None:
        other = next(iter(plausible), None)
        if other is not None and abs(other - chosen) > DATE_TOLERANCE:
            notes.disagree("published_date", f"dateline {chosen}, metadata {other}")
        return chosen
    if any(d is not None for d in metadata) and not plausible and dateline_date is None:
        first = next(d for d in metadata if d is not None)
        notes.reject("published_date", f"metadata {first}: {date_problem(first, fetched)}")
    return plausible[0] if plausible else None
