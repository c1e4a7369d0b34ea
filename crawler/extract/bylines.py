"""Bylines: "by Name", "by Name and Name", "by Name for SpaceDaily", "By Name SURNAME",
"by Staff Writers", "by AFP Staff Writers"; and the lines that look like one but are not
("Editor's Note: ...", "Published by SpaceDaily", a headline with " By " inside)."""

from __future__ import annotations

import re

from crawler.extract.places import ABBREVIATION, CODES, KNOWN_PLACES, MONTH_RE

_BY_PREFIX = re.compile(r"^\s*by\s*[:\-]?\s+", re.IGNORECASE)
_STAFF = re.compile(r"\bstaff\b|\bwriters?\b|\breporters?\b|\bcorrespondents?\b", re.IGNORECASE)
_NAME_SPLIT = re.compile(r"\s*(?:,|;|&|\band\b|\bwith\b)\s*", re.IGNORECASE)
_NOT_IN_BYLINE = re.compile(r"[\d:;!?\"“”()\[\]{}<>@#|=+*]")
_NOT_BYLINES = re.compile(
    r"^(?:editor'?s?['’]?s? note|note to editors|published|posted|updated|photo|image|file"
    r" photo|illustration|source|copyright|related|read more|click)\b",
    re.IGNORECASE,
)
# Where a meta line goes on after the byline: a separator, or a date.
_META_TAIL = re.compile(
    r"\s*[·•|]\s*|\s+(?:on\s+)?" + MONTH_RE + r"\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+(?:19|20)\d\d\b",
    re.IGNORECASE,
)
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "phd", "ph.d", "md", "dr"})
_SOCIAL = frozenset(
    {"share", "tweet", "facebook", "twitter", "linkedin", "reddit", "email", "print", "x"}
)
_NAME_WORD = re.compile(r"^(?:[^\W\d_][\w'’.-]*)$", re.UNICODE)
_BYLINE_MAX_CHARS = 120
_BYLINE_MAX_WORDS = 15
_NAME_MAX_WORDS = 5
_SMALL = frozenset(
    {"and", "de", "da", "du", "di", "van", "von", "der", "den", "la", "le", "al", "bin", "ibn"}
)

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
        "INTERFAX",
    }
)


def strip_by(text: str) -> tuple[str, bool]:
    """The byline without a leading "by", and whether it had one."""
    stripped = _BY_PREFIX.sub("", text, count=1)
    return stripped.strip(), stripped != text


def byline_problem(byline: str) -> str | None:
    """Why a byline (without its "by") cannot be one, or None when it can: a date or a
    dateline run into it, one word ending in a period ("St."), a place or a code alone,
    a sentence, a note."""
    text = byline.strip()
    if not text:
        return "empty"
    if len(text) > _BYLINE_MAX_CHARS or len(text.split()) > _BYLINE_MAX_WORDS:
        return "too long for a byline"
    if not text[0].isupper():
        return "does not start with a capital"
    if _NOT_IN_BYLINE.search(text):
        return "holds digits or punctuation no byline has"
    if _NOT_BYLINES.match(text):
        return "a note, not a byline"
    words = text.split()
    if len(words) == 1:
        word = words[0]
        if word.endswith(".") or word in CODES:
            return "one word ending in a period or a code: a place fragment"
        if word.casefold() in KNOWN_PLACES:
            return "a place"
    for word in words:
        if word.endswith(".") and not ABBREVIATION.match(word) and word != words[-1]:
            return "a sentence, not a byline"
    if re.search(r"\bby\b", text, re.IGNORECASE):
        return "holds another 'by'"
    return None


def read_byline(text: str) -> str | None:
    """The byline of a header line that starts with "by" (without it), or None. What a
    meta line adds after the names (" · March 4, 2026 · 2 min read", " | Mar 4, 2026") is
    not part of it."""
    name, had_by = strip_by(text)
    if not had_by:
        return None
    name = _META_TAIL.split(name, maxsplit=1)[0].strip(" ,;-–—")
    return name if name and byline_problem(name) is None else None


def looks_like_names(text: str) -> bool:
    """Whether a line without "by" reads like a byline: one to five names of two to four
    capitalised words, joined by commas or "and"; no sentence, no headline."""
    if not text or len(text) > 80 or any(ch.isdigit() for ch in text):
        return False
    if text.rstrip()[-1:] in '.!?:;"”':
        return False
    letters = [c for c in text if c.isalpha()]
    if letters and all(c.isupper() for c in letters):
        return False  # a kicker
    if _NOT_BYLINES.match(text) or re.search(r"\bby\b", text, re.IGNORECASE):
        return False
    if is_social_line(text):
        return False
    parts = [p for p in _NAME_SPLIT.split(text) if p]
    if not 1 <= len(parts) <= 5:
        return False
    for part in parts:
        words = part.split()
        if not 2 <= len(words) <= 4:
            return False
        for w in words:
            if not _NAME_WORD.match(w):
                return False
            if not w[0].isupper() and w not in _SMALL:
                return False
        if not words[0][0].isupper():
            return False
    return True


def is_social_line(text: str) -> bool:
    """Whether a line is share buttons ("Share X Facebook LinkedIn", "Tweet")."""
    words = [w.strip(":,|·").casefold() for w in text.split()]
    return bool(words) and (
        words[0] in ("share", "tweet") or sum(w in _SOCIAL for w in words) * 2 >= len(words)
    )


def name_problem(name: str) -> str | None:
    """Why a name taken from a byline is no person's name, or None."""
    letters = [c for c in name if c.isalpha()]
    if len(letters) < 2:
        return "too short"
    if any(ch.isdigit() for ch in name):
        return "holds digits"
    words = name.split()
    if len(words) > _NAME_MAX_WORDS:
        return "too long"
    if len(words) == 1 and (name.endswith(".") or name in CODES):
        return "a place fragment"
    if not name[0].isupper():
        return "does not start with a capital"
    return None


def authors_of(byline: str | None) -> list[str]:
    """Person names in a byline; none for "Staff Writers" and agency-only bylines."""
    if not byline:
        return []
    names: list[str] = []
    for part in _NAME_SPLIT.split(byline):
        part = part.strip(" .")
        # "Jane Doe in Paris" / "Jane Doe for SpaceDaily": the name is what comes before.
        part = re.split(r"\s+(?:in|for|at|from)\s+", part, maxsplit=1)[0].strip()
        if not part or _STAFF.search(part) or part.upper() in AGENCIES:
            continue
        words = part.split()
        if words and words[-1].upper() in AGENCIES:
            words = words[:-1]
        name = " ".join(words)
        if name.casefold().rstrip(".") in _SUFFIXES:
            continue  # "Lou Dobbs, Jr."
        if name and name_problem(name) is None:
            names.append(name)
    return names
