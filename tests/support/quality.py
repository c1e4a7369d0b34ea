"""How good an extracted text is against a hand-written gold text (word level)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from crawler.extract.boilerplate import LEAK_PHRASES

_WORD = re.compile(r"\w+(?:['’]\w+)*")


@dataclass(frozen=True, slots=True)
class Score:
    """Bag-of-words precision, recall and F1 of a text against its gold."""

    precision: float
    recall: float
    f1: float


def words(text: str) -> list[str]:
    """The words of a text, lower-cased, punctuation dropped."""
    return [w.casefold() for w in _WORD.findall(text or "")]


def score(extracted: str | None, gold: str) -> Score:
    """Word-level precision/recall/F1 (multiset overlap), the metric of the issue."""
    got, want = Counter(words(extracted or "")), Counter(words(gold))
    if not got and not want:
        return Score(1.0, 1.0, 1.0)
    overlap = sum((got & want).values())
    precision = overlap / sum(got.values()) if got else 0.0
    recall = overlap / sum(want.values()) if want else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Score(precision, recall, f1)


def leaked_phrases(text: str | None) -> list[str]:
    """The network's boilerplate phrases found in a text."""
    lowered = (text or "").casefold()
    return [p for p in LEAK_PHRASES if p.casefold() in lowered]
