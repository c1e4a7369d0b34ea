"""Reading a crawl's stats dict: counts by key and by key prefix.

Stats values are whatever components put there (ints, floats, datetimes, None); these helpers
read counts only, so a missing or non-numeric value counts as 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Stats = Mapping[str, Any]


def count(stats: Stats, key: str) -> int:
    """The integer count under ``key``, 0 when missing or not a number."""
    value = stats.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return int(value)


def counts_under(stats: Stats, prefix: str) -> dict[str, int]:
    """``{rest: count}`` for every numeric key ``prefix/rest`` (``rest`` without ``/``)."""
    head = prefix.rstrip("/") + "/"
    out: dict[str, int] = {}
    for key in sorted(stats):
        if key.startswith(head) and "/" not in key[len(head) :]:
            value = count(stats, key)
            if value:
                out[key[len(head) :]] = value
    return out
