"""The one reader of the dataset's key columns: what dedup seeds itself with and what the
incremental state ingests, read the same way.

Column projection: of a published file only the short key columns are decoded, never the
text. A file that lacks a column (an older schema) reads it as nulls.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

KEY_COLUMNS: tuple[str, ...] = ("url", "canonical_url", "content_hash", "duplicate_of")
"""Every key column: a page's identity (``url``, ``canonical_url``) and its story's
(``content_hash``, ``duplicate_of``)."""
URL_COLUMNS: tuple[str, ...] = ("url", "canonical_url")


def key_batches(
    path: Path, columns: Sequence[str] = KEY_COLUMNS, batch_size: int = 8192
) -> Iterator[tuple[dict[str, list[Any]], int]]:
    """``(columns -> values, row count)`` batch by batch of one published file; a column the
    file lacks is a list of None. Small batches: their Python strings are all alive at once.
    """
    with pq.ParquetFile(path) as parquet:
        present = [c for c in columns if c in parquet.schema_arrow.names]
        if not present:
            rows = parquet.metadata.num_rows
            if rows:
                yield {c: [None] * rows for c in columns}, rows
            return
        for batch in parquet.iter_batches(columns=present, batch_size=batch_size):
            data = batch.to_pydict()
            n = batch.num_rows
            yield {c: data.get(c) or [None] * n for c in columns}, n
