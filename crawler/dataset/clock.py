"""Is the system clock behind the dataset? A run whose clock reads years ago would file its
rows under that year, null every later date as "in the future", and never correct them
(dedup and the incremental state keep them): it must not write at all."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from crawler.dataset.files import published_files

READ_AT_MOST = 5
"""Files tried, newest first, before the check gives up."""
TOLERANCE = dt.timedelta(days=1)
"""How far behind the newest fetch time the clock may be (time zones, a slow NTP sync)."""


def newest_fetch(dataset: Path) -> dt.datetime | None:
    """The newest ``fetched_at`` of the most recently published readable file (the newest
    rows are there); None for an empty dataset. An unreadable file says nothing here (it
    is the dataset readers' to name); the next newest one is read instead."""
    files = sorted(published_files(dataset), key=lambda f: f.mtime_ns) if dataset.is_dir() else []
    for file in reversed(files[-READ_AT_MOST:]):
        try:
            with pq.ParquetFile(dataset / file.path) as parquet:
                if "fetched_at" not in parquet.schema_arrow.names:
                    continue
                column = parquet.read(columns=["fetched_at"]).column("fetched_at")
            newest = pc.max(column).as_py()
        except Exception:  # not Parquet, truncated, another schema: not this check's business
            continue
        if isinstance(newest, dt.datetime):
            return newest if newest.tzinfo else newest.replace(tzinfo=dt.UTC)
    return None


def clock_behind(dataset: Path, now: dt.datetime | None = None) -> dt.timedelta | None:
    """How far the clock is behind the dataset's newest fetch, when more than
    :data:`TOLERANCE`; None when it is not (or the dataset says nothing)."""
    newest = newest_fetch(dataset)
    now = now or dt.datetime.now(dt.UTC)
    if newest is None or newest - now <= TOLERANCE:
        return None
    return newest - now
