"""Parsing of the small fields every layout shares: datelines, bylines, dates, text."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass

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
_MONTH_RE = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
# "Tokyo (AFP) June 1, 2023", "Washington DC (SPX) Apr 04, 2013", "(UPI) Nov 06, 2015".
# The pattern starts at the parenthesis (cheap to scan for); the place is read backwards.
_AGENCY_DATE = re.compile(
    r"\(\s*(?P<agency>[A-Za-z][A-Za-z0-9 .&/'-]{0,30}?)\s*\)\s*"
    r"(?P<date>(?P<month>" + _MONTH_RE + r")\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?\s*,?\s*"
    r"(?P<year>(?:19|20)\d\d))\b",
    re.IGNORECASE,
)
_PLACE_MAX = 60
_BY_PREFIX = re.compile(r"^\s*by\s*[:\-]?\s+", re.IGNORECASE)
_STAFF = re.compile(r"\bstaff\b|\bwriters?\b|\breporters?\b|\bcorrespondents?\b", re.IGNORECASE)
_NAME_SPLIT = re.compile(r"\s*(?:,|;|&|\band\b|\bwith\b)\s*", re.IGNORECASE)
_ISO_DATE = re.compile(r"((?:19|20)\d\d)-(\d\d)-(\d\d)")
_WORD = re.compile(r"\w+", re.UNICODE)
_READ_MORE = re.compile(r"\bread more\W*$", re.IGNORECASE)
_C1 = re.compile("[\x80-\x9f]")
_INVISIBLE = re.compile("[\u00ad\u200b\ufeff]")
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A token of prose: a word, number or URL, with the punctuation that may open or close it.
_WORDLIKE = re.compile(r"[(\[\"'“‘«$€£#@+\-]*\w[\w'’\-.,:;/%&=?+@]*[)\]\"'”’».,;:!?%*]*")
_JUNK_MIN_CHARS = 20
# Characters prose rarely holds: a paragraph with few of them is prose, with no token check.
_UNUSUAL = re.compile(r"[^\w\s.,;:!?'\"’‘“”()\[\]\-–—%$€£/&@#+=*°]")

# Agencies the network names in datelines and bylines; a byline part that is one of these is
# the agency, not a person.
AGENCIES = frozenset(
    {
        "AFP",
        "UPI",
        "SPX",
        "IANS",
        "ESA",
        "JPL",
        "NASA",
        "AP",
        "REUTERS",
        "XINHUA",
        "TASS",
        "SPUTNIK",
        "KYODO",
        "YONHAP",
        "ANI",
        "DPA",
        "ANSA",
        "EFE",
        "AAP",
        "PTI",
        "XNA",
    }
)


@dataclass(frozen=True, slots=True)
class Dateline:
    """A parsed dateline."""

    place: str | None
    agency: str | None
    date: dt.date | None
    start: int
    """Offset of the dateline (its place, if any) in the text it was found in."""
    end: int
    """Offset just past its date."""


def parse_date_words(month: str, day: str, year: str) -> dt.date | None:
    """A date from its words; None when they name no real day."""
    number = _MONTHS.get(month[:3].lower())
    if number is None:
        return None
    try:
        return dt.date(int(year), number, int(day))
    except ValueError:
        return None


def find_dateline(text: str) -> Dateline | None:
    """The first dateline in ``text``, if any."""
    m = _AGENCY_DATE.search(text)
    if m is None:
        return None
    line_start = max(text.rfind("\n", 0, m.start()) + 1, m.start() - _PLACE_MAX)
    before = text[line_start : m.start()]
    place = before.strip(" \t-–—:,|")
    # Only the trailing words that are not a sentence belong to the place.
    if re.search(r"[.!?;\"”)]", place):
        place = re.split(r"[.!?;\"”)]\s*", place)[-1].strip()
    start = m.start() - len(before.lstrip()) if place else m.start()
    if place:
        start = text.rfind(place, line_start, m.start())
    return Dateline(
        place=place or None,
        agency=m.group("agency").strip() or None,
        date=parse_date_words(m.group("month"), m.group("day"), m.group("year")),
        start=start,
        end=m.end(),
    )


def is_listing(texts: list[str]) -> bool:
    """Whether blocks of text read as a list of stories (teasers with datelines and
    "read more" links) rather than one story."""
    more = sum(1 for t in texts if _READ_MORE.search(t))
    datelines = sum(1 for t in texts if len(t) < 200 and find_dateline(t))
    return more >= 2 or datelines >= 3


def parse_iso_date(value: str | None) -> dt.date | None:
    """The date part of an ISO 8601 timestamp or date, if it holds one."""
    if not value:
        return None
    m = _ISO_DATE.search(value)
    if m is None:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def strip_by(text: str) -> tuple[str, bool]:
    """The byline without a leading "by", and whether it had one."""
    stripped = _BY_PREFIX.sub("", text, count=1)
    return stripped.strip(), stripped != text


def looks_like_names(text: str) -> bool:
    """Whether a line without "by" reads like a byline: a few capitalised words, no sentence."""
    if not text or len(text) > 80 or any(ch.isdigit() for ch in text):
        return False
    if text.rstrip()[-1:] in '.!?:;"”':
        return False
    words = [w for w in re.split(r"[\s,&]+", text) if w]
    if not 1 <= len(words) <= 10:
        return False
    small = {"and", "with", "in", "for", "de", "van", "von", "der", "la", "le", "al", "bin"}
    return all(w[0].isupper() or w.lower() in small for w in words if w[0].isalpha())


def authors_of(byline: str | None) -> list[str]:
    """Person names in a byline; none for "Staff Writers" and agency-only bylines."""
    if not byline:
        return []
    names: list[str] = []
    for part in _NAME_SPLIT.split(byline):
        part = part.strip(" .")
        # "Jane Doe in Paris" / "Jane Doe for AFP": the name is what comes before.
        part = re.split(r"\s+(?:in|for|at|from)\s+", part, maxsplit=1)[0].strip()
        if not part or _STAFF.search(part) or part.upper() in AGENCIES:
            continue
        words = part.split()
        if words and words[-1].upper() in AGENCIES:
            words = words[:-1]
        if words and any(ch.isalpha() for ch in part):
            names.append(" ".join(words))
    return names


def fold_text(text: str) -> str:
    """NFC, C1 controls mapped as windows-1252, and no invisible characters."""
    if text.isascii():
        return text
    if _C1.search(text):
        text = "".join(_c1_to_cp1252(ch) for ch in text)
    text = _INVISIBLE.sub("", text).replace("\u00a0", " ")
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def without_controls(text: str) -> str:
    """``text`` without C0 control characters (never text; garbage bytes leave them)."""
    return _CONTROLS.sub("", text) if _CONTROLS.search(text) else text


def is_junk(paragraph: str) -> bool:
    """Whether a paragraph is byte garbage rather than prose: most of its characters are
    in tokens that are no word, number or URL (a run of symbols, mojibake of binary)."""
    if len(paragraph) < _JUNK_MIN_CHARS or paragraph.isascii():
        return False  # garbage bytes decode to non-ASCII; control characters are gone
    if len(_UNUSUAL.findall(paragraph)) * 10 < len(paragraph):
        return False
    tokens = paragraph.split()
    total = sum(map(len, tokens))
    if total < _JUNK_MIN_CHARS:
        return False
    prose = sum(len(t) for t in tokens if _WORDLIKE.fullmatch(t))
    return prose * 2 < total


def _c1_to_cp1252(ch: str) -> str:
    if "\x80" <= ch <= "\x9f":
        try:
            return bytes([ord(ch)]).decode("cp1252")
        except UnicodeDecodeError:
            return ""
    return ch


def word_count(text: str) -> int:
    """Words in text, as whitespace-separated tokens."""
    return len(text.split())


def content_hash(text: str) -> str:
    """Fingerprint of a text that survives re-publication: case, punctuation and spacing
    (straight or curly quotes, dashes) do not change it."""
    words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    if not words:
        return ""
    return hashlib.blake2b(" ".join(words).encode("utf-8"), digest_size=16).hexdigest()
