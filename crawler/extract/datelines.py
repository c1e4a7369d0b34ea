"""Datelines in every form the network prints them, and the byline that may share their line.

The forms (``../shared/SMN-SITES.md``, "What the text of real pages shows")::

    Tokyo (AFP) June 1, 2023                    place, agency in parentheses, date
    NAIROBI (AFP) Mar 03, 2004                  place in capitals (stored title-cased)
    KOUROU, French Guiana (AFP) Feb. 9, 2001    place and country; dotted month, unpadded day
    Greenbelt MD (SPX) Sept. 21, 2005           place and state code (kept in capitals)
    St. Petersburg FL (UPI) ...                 periods inside the place
    Moscow (AFP) March 3, 2000 - Russia's ...   the first sentence on the same line
    Houston - Apr 12, 2001 -                    no agency
    TOKYO, Feb 24 (AFP) Feb 24, 2007            AFP feed pages: the date twice
    by Staff Writers Boulder CO (SPX) Jan 5, 2026 Text ...   a byline on the same line
    • Paris (AFP) ...                           a stray bullet or blanks before it

:func:`read_dateline` reads a line that *is* a header line (it starts with the dateline, or
with the headline and the byline run into it); :func:`find_dateline` finds a dateline
anywhere in a text (teasers of listings, the first paragraph of a post).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

from crawler.extract.bylines import byline_problem
from crawler.extract.places import (
    ABBREVIATION,
    ACRONYMS,
    CODES,
    DOTTED_INITIALS,
    KNOWN_PLACE_MAX_WORDS,
    KNOWN_PLACES,
    MONTH_RE,
    PARTICLES,
)

_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_WEEKDAY = r"(?:(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day,?\s+)?"
# "Apr 04, 2013", "April 3, 2013", "Feb. 9, 2001", "Sept. 21, 2005", "May 7,2009".
_DATE = (
    r"(?i:" + _WEEKDAY + r"(?<![A-Za-z])(?P<month>" + MONTH_RE + r")\.?\s+"
    r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s*,?\s*(?P<year>(?:19|20)\d\d))(?!\d)"
)
# The agency form starts at the parenthesis, the form without agency ("Houston - Apr 12,
# 2001") at the dash (both cheap to scan for); the place is read before them.
_ANCHOR = re.compile(
    r"(?:\(\s*(?P<agency>[A-Z][A-Za-z0-9 .&/'-]{0,30}?)\s*\)\s*[-–—:,]?|\s[-–—]{1,2})\s*" + _DATE
)
# The first date of AFP feed pages, at the end of the place: "TOKYO, Feb 24".
_DOUBLED_DATE = re.compile(
    r"[,\s]+(?i:" + MONTH_RE + r")\.?\s+\d{1,2}(?:st|nd|rd|th)?\s*$", re.IGNORECASE
)
_LEADING_JUNK = re.compile(r"^[\s\u00a0•·▪►*>|\-–—]+")
_EDGE = " \t\u00a0-–—:,|•·"
_BY_WORD = re.compile(r"(?:^|(?<=\s))[Bb][Yy]:?\s+")
_NOT_IN_PLACE = re.compile(r"[\d()\[\]{}:;!?\"“”«»/@#&*=+<>_|]")
_SENTENCE_END = re.compile(r"[.!?;:\"”)]$")
_STAFF = re.compile(
    r"\b(?:Staff\s+)?(?:Writers?|Reporters?|Correspondents?)\b|\bStaff\b", re.IGNORECASE
)
_SEPARATOR = re.compile(r"\s+[|•·]\s+")
_FOR_SITE = re.compile(r"\bfor\s+(?:the\s+)?\S+", re.IGNORECASE)
_PLACE_MAX_WORDS = 6
_PLACE_MAX_CHARS = 100
_LONG_PLACE_WORDS = 10
HEADER_LINE_MAX = 400
"""How far into a line a header's dateline may start (headline and byline before it)."""


@dataclass(frozen=True, slots=True)
class Dateline:
    """A parsed dateline."""

    place: str | None
    """Where: title-cased when printed in capitals, codes kept ("Washington DC")."""
    agency: str | None
    date: dt.date | None
    start: int
    """Offset where the dateline (with the byline run into it, if any) starts."""
    end: int
    """Offset just past its date: what follows may be the first sentence."""
    byline: str | None = None
    """A byline that shared the line ("by Staff Writers Boulder CO (SPX) ..."), no "by"."""
    lead: str | None = None
    """Text before the byline and dateline on the same line (a headline run into it)."""


def parse_date_words(month: str, day: str, year: str) -> dt.date | None:
    """A date from its words; None when they name no real day."""
    number = _MONTHS.get(month[:3].lower())
    if number is None:
        return None
    try:
        return dt.date(int(year), number, int(day))
    except ValueError:
        return None


# -- places ----------------------------------------------------------------------------


def is_place(text: str, max_words: int = _PLACE_MAX_WORDS) -> bool:
    """Whether ``text`` reads as a dateline's place: one to six capitalised words (small
    words such as "de" inside), commas, abbreviations with a period, no digits, no "by"."""
    if not text or len(text) > _PLACE_MAX_CHARS or not text[0].isupper():
        return False
    if _NOT_IN_PLACE.search(text):
        return False
    words = text.replace(",", " ").split()
    if not 1 <= len(words) <= max_words:
        return False
    for i, word in enumerate(words):
        if word.casefold() == "by":
            return False
        if "." in word and not ABBREVIATION.match(word):
            return False
        if word[0].isupper():
            continue
        if i > 0 and word.lower() in PARTICLES:
            continue
        return False
    return True


def _case_word(word: str, first: bool, last: bool) -> str:
    if DOTTED_INITIALS.match(word) or word in ACRONYMS:
        return word
    if last and not first and word in CODES:
        return word
    if not first and word.lower() in PARTICLES:
        return word.lower()
    parts = word.split("-")
    out = []
    for j, part in enumerate(parts):
        low = part.lower()
        if j > 0 and low in PARTICLES:
            out.append(low)
            continue
        if len(part) > 3 and low.startswith("mc"):
            out.append("Mc" + part[2:].capitalize())
            continue
        pieces = re.split(r"(['’])", low)
        cased = pieces[0].capitalize()
        for k in range(1, len(pieces) - 1, 2):
            after = pieces[k + 1]
            # "N'Djamena", "O'Hare"; but "John's"
            cased += pieces[k] + (after.capitalize() if len(pieces[k - 1]) == 1 else after)
        out.append(cased)
    return "-".join(out)


def place_case(place: str) -> str:
    """A place as stored: parts printed in capitals title-cased ("CAPE CANAVERAL, Florida"
    -> "Cape Canaveral, Florida"), state and country codes kept ("Washington DC")."""
    segments = [s.split() for s in place.split(",")]
    segments = [s for s in segments if s]
    whole_upper = not any(c.islower() for c in place)
    out = []
    for si, words in enumerate(segments):
        upper = whole_upper or not any(c.islower() for c in "".join(words))
        if upper and not (si > 0 and all(w in CODES or DOTTED_INITIALS.match(w) for w in words)):
            words = [
                _case_word(w, first=(si == 0 and i == 0) or i == 0, last=i == len(words) - 1)
                if any(c.isalpha() for c in w)
                else w
                for i, w in enumerate(words)
            ]
        out.append(" ".join(words))
    return ", ".join(out)


# -- bylines run into the dateline -----------------------------------------------------


def _names_then_place(text: str) -> tuple[str, str | None] | None:
    """Split "Jane Doe Los Angeles" (a byline run into its dateline's place) into the
    names and the place; the place is None when the text holds names only."""
    words = text.split()
    if not words:
        return None
    # "Jane Doe | Boulder CO": a separator says where the names end.
    separated = _SEPARATOR.split(text)
    if len(separated) > 1:
        return _split_at(text, len(text) - len(separated[-1]))
    # "AFP Staff Writers Boulder CO", "Staff Writers": the staff phrase ends the byline.
    staff = list(_STAFF.finditer(text))
    if staff:
        cut = staff[-1].end()
        return _split_at(text, cut)
    # "Jane Doe for SpaceDaily Paris": "for" and one word (or a site name of two) end it.
    m = None
    for m in _FOR_SITE.finditer(text):  # noqa: B007 (the last one)
        continue
    if m is not None:
        cut = m.end()
        rest = text[cut:].split()
        if len(rest) >= 2 and rest[0] in ("Daily", "War", "Travel", "Mart"):
            cut = text.index(rest[0], cut) + len(rest[0])
        return _split_at(text, cut)
    # A place the network's datelines often name, after at least a two-word name.
    for i in range(2, len(words)):
        for n in range(min(KNOWN_PLACE_MAX_WORDS, len(words) - i), 0, -1):
            head = " ".join(words[i : i + n]).rstrip(",").casefold()
            if head in KNOWN_PLACES and is_place(" ".join(words[i:])):
                return " ".join(words[:i]).strip(_EDGE), " ".join(words[i:])
    # "Sebastian SMITH Washington": AFP prints the surname in capitals.
    for i in range(len(words) - 2, 0, -1):
        word = words[i].rstrip(",")
        letters = [c for c in word if c.isalpha()]
        if (
            len(letters) >= 2
            and all(c.isupper() for c in letters)
            and word not in CODES
            and _given_name_before(words, i)
            and is_place(" ".join(words[i + 1 :]))
        ):
            return " ".join(words[: i + 1]).strip(_EDGE), " ".join(words[i + 1 :])
    # Names of two words (three with an initial or a small word), joined by "and" or commas.
    i = 0
    while i < len(words):
        size = 3 if i + 2 < len(words) and _middle_of_name(words[i + 1]) else 2
        i += size
        if i < len(words) and words[i - 1].endswith(","):
            continue
        if i < len(words) and words[i].lower() in ("and", "&"):
            i += 1
            continue
        break
    i = min(i, len(words))
    place = " ".join(words[i:]) or None
    if place is not None and not is_place(place):
        return None
    return " ".join(words[:i]).rstrip(","), place


def _given_name_before(words: list[str], i: int) -> bool:
    """Whether ``words[i]`` follows one given name in mixed case that starts a name
    ("Sebastian SMITH", "... and Marie CURIE")."""
    given = words[i - 1]
    starts = i == 1 or words[i - 2].lower() in ("and", "&") or words[i - 2].endswith(",")
    return starts and given[:1].isupper() and any(c.islower() for c in given)


def _middle_of_name(word: str) -> bool:
    return bool(re.fullmatch(r"[A-Z]\.?", word)) or word.lower() in ("de", "van", "von", "da")


def _split_at(text: str, cut: int) -> tuple[str, str | None] | None:
    names = text[:cut].strip(_EDGE)
    place = text[cut:].strip(_EDGE) or None
    if not names or (place is not None and not is_place(place)):
        return None
    return names, place


# -- reading a header line -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Prefix:
    lead: str | None
    byline: str | None
    place: str | None
    """As printed."""
    offset: int
    """Where the byline (or the place) starts in the prefix."""


def _split_prefix(prefix: str, title: str | None) -> _Prefix | None:
    """The text before a dateline's agency or dash, when it is [headline] [by names] place;
    None when it is something else (a sentence)."""
    text = _LEADING_JUNK.sub("", prefix)
    at = len(prefix) - len(text)
    lead: str | None = None
    if title and text.startswith(title):
        lead, text = title, text[len(title) :]
        at += len(title)
    stripped = text.lstrip(_EDGE)
    at += len(text) - len(stripped)
    text = _DOUBLED_DATE.sub("", stripped).rstrip(_EDGE)
    if not text:
        return _Prefix(lead, None, None, at)
    for m in reversed(list(_BY_WORD.finditer(text))):
        rest = text[m.end() :].strip(_EDGE)
        if not rest[:1].isupper():
            continue
        split = _names_then_place(rest)
        if split is None:
            continue
        before = text[: m.start()].strip(_EDGE)
        names, place = split
        if byline_problem(names) is not None or (place is None and before):
            continue
        return _Prefix(before or lead, names, place, at + m.start())
    if is_place(text, _LONG_PLACE_WORDS):
        # A place of more than six words still dates the story: the checks write the place
        # itself as null (crawler.extract.checks).
        return _Prefix(lead, None, text, at)
    return None


def _anchors(text: str, limit: int) -> Iterator[re.Match[str]]:
    return _ANCHOR.finditer(text, 0, limit)


def _dateline(m: re.Match[str], start: int, parts: _Prefix) -> Dateline:
    agency = m.groupdict().get("agency")
    return Dateline(
        place=place_case(parts.place) if parts.place else None,
        agency=agency.strip() if agency else None,
        date=parse_date_words(m.group("month"), m.group("day"), m.group("year")),
        start=start,
        end=m.end(),
        byline=parts.byline,
        lead=parts.lead,
    )


def read_dateline(text: str, title: str | None = None) -> Dateline | None:
    """The dateline a header line starts with: [bullet] [headline] [by names] place
    (AGENCY) date, or place - date; None when the line does not start so."""
    limit = min(len(text), HEADER_LINE_MAX)
    for m in _anchors(text, limit):
        parts = _split_prefix(text[: m.start()], title)
        if parts is not None:
            return _dateline(m, parts.offset, parts)
    return None


def find_dateline(text: str) -> Dateline | None:
    """The first dateline anywhere in ``text`` (a teaser's, a paragraph's), if any."""
    for m in _anchors(text, len(text)):
        line_start = max(text.rfind("\n", 0, m.start()) + 1, m.start() - HEADER_LINE_MAX)
        prefix = text[line_start : m.start()]
        parts = _split_prefix(prefix, None)
        if parts is None:
            if m.group("agency") is None:
                continue  # without an agency, only a whole line of place is a dateline
            place, offset = _place_suffix(prefix)
            parts = _Prefix(None, None, place, offset)
        return _dateline(m, line_start + parts.offset, parts)
    return None


def _place_suffix(prefix: str) -> tuple[str | None, int]:
    """The longest run of words ending ``prefix`` that reads as a place, not reaching back
    past the end of a sentence, and where it starts."""
    body = prefix.rstrip(_EDGE)
    words = list(re.finditer(r"\S+", body))
    best: tuple[str | None, int] = (None, len(prefix))
    for k in range(1, min(_PLACE_MAX_WORDS, len(words)) + 1):
        first = words[-k]
        if k > 1 and _SENTENCE_END.search(first.group()) and not ABBREVIATION.match(first.group()):
            break
        candidate = body[first.start() :]
        if is_place(candidate):
            best = (candidate, first.start())
    return best
