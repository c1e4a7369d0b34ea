"""The text a story signature is taken over: normalised words and their shingles.

Copies of one wire story differ in what no reader counts as a change: case, straight or
curly quotes, hyphens or dashes, where a paragraph breaks, spacing. Normalisation removes
exactly those: the text is case-folded (NFKC first, so compatibility forms fold too), and
only its words are kept, in order, across paragraph breaks; punctuation of any kind (quotes,
dashes, commas) separates words and is otherwise dropped. An apostrophe inside a word
("China's", "China’s") joins its parts, so both spellings give one word.

The extractor already keeps the dateline, the byline and the boilerplate out of ``text``
(crawler/extract), so what remains is the story itself.
"""

from __future__ import annotations

import re
import unicodedata

# Apostrophes of every spelling inside a word: removed, so "Chang'e" and "Chang’e" match.
_APOSTROPHE = re.compile(r"(?<=\w)['’ʼ‘`´](?=\w)")
# A word: letters and digits; "5.59" and "1,696" stay one word each.
_WORD = re.compile(r"\w+(?:[.,]\d+)*")

SHINGLE_WORDS = 5
"""Words per shingle (measured on tests/fixtures/stories: 5 separates the templated look-alikes
from lightly edited short briefs best)."""


def words(text: str) -> list[str]:
    """The normalised words of ``text``, in order."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _WORD.findall(_APOSTROPHE.sub("", folded))


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[str]:
    """The distinct runs of ``size`` consecutive normalised words (a text shorter than that
    gives its words as one shingle; an empty text gives none)."""
    ws = words(text)
    if len(ws) < size:
        return {" ".join(ws)} if ws else set()
    return {" ".join(ws[i : i + size]) for i in range(len(ws) - size + 1)}
