"""Reading a crawl's stats dict: counts by key and by key prefix, and the short lists of
pages some components keep there for the report (:func:`add_listed`, :func:`listed`).

Stats values are whatever components put there (ints, floats, datetimes, None, lists); the
count helpers read counts only, so a missing or non-numeric value counts as 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

Stats = Mapping[str, Any]


class StatsValues(Protocol):
    def get_value(self, key: str, default: Any = None) -> Any: ...

    def set_value(self, key: str, value: Any) -> None: ...


def add_listed(stats: StatsValues, key: str, entry: Mapping[str, str], limit: int) -> None:
    """Append ``entry`` to the list under ``key``, which keeps the first ``limit`` (the
    report names them; a count elsewhere says how many there were)."""
    listed = stats.get_value(key)
    if not isinstance(listed, list):
        listed = []
        stats.set_value(key, listed)
    if len(listed) < limit:
        listed.append(dict(entry))


def listed(stats: Stats, key: str, fields: Sequence[str]) -> list[dict[str, str]]:
    """The entries of the list under ``key``, each with ``fields`` as strings."""
    value = stats.get(key)
    return [
        {name: str(entry.get(name) or "") for name in fields}
        for entry in (value if isinstance(value, list | tuple) else ())
        if isinstance(entry, Mapping)
    ]


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
