"""Keys a few hundred at a time: for one SQLite statement or one Redis command."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

# SQLite's limit on bound parameters is 32766 since 3.32; stay far below it.
CHUNK = 500


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size``, taken lazily: a large iterable is never
    all in memory at once."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
