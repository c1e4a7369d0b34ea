"""The small fields every layout shares: dates, text, hashes; datelines and bylines live in
:mod:`crawler.extract.datelines` and :mod:`crawler.extract.bylines` (re-exported here)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata

from crawler.extract.bylines import AGENCIES, authors_of, looks_like_names, strip_by
from crawler.extract.datelines import Dateline, find_dateline, parse_date_words, read_dateline

__all__ = [
    "AGENCIES",
    "Dateline",
    "authors_of",
    "content_hash",
    "find_dateline",
    "fold_text",
    "is_junk",
    "is_listing",
    "looks_like_names",
    "parse_date_words",
    "parse_iso_date",
    "read_dateline",
    "strip_by",
    "without_controls",
    "word_count",
]

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


def is_listing(texts: list[str]) -> bool:
    """Whether blocks of text read as a list of stories (teasers with datelines and
    "read more" links) rather than one story."""
    more = sum(1 for t in texts if _READ_MORE.search(t))
    datelines = sum(1 for t in texts if len(t) < 200 and _agency_dateline(t))
    return more >= 2 or datelines >= 3


def _agency_dateline(text: str) -> bool:
    # Only a dateline with an agency counts: "Launch - March 3, 2004" may be a list item.
    if "(" not in text:
        return False
    found = find_dateline(text)
    return found is not None and found.agency is not None


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
