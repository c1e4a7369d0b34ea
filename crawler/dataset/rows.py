"""Whole rows of published dataset files read back (re-extraction carries them over and
compares with them): every column of today's schema, values as pyarrow gives them.

New beside :mod:`crawler.dataset.keys` (which decodes the key columns only): a row carried
into another dataset must keep every column, and a file of an older schema gives None for
the columns it lacks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from crawler.dataset.schema import article_schema

_BATCH = 1000


def read_rows(path: Path, batch_size: int = _BATCH) -> Iterator[list[dict[str, Any]]]:
    """The rows of one dataset file, a batch at a time, with every column of today's schema
    (a column the file lacks, written before it existed, is None)."""
    schema = article_schema()
    file = pq.ParquetFile(path)
    present = [name for name in schema.names if name in file.schema_arrow.names]
    for batch in file.iter_batches(batch_size=batch_size, columns=present):
        rows = batch.to_pylist()
        if len(present) < len(schema.names):
            rows = [{name: row.get(name) for name in schema.names} for row in rows]
        yield rows


def read_url_columns(path: Path) -> Iterator[list[dict[str, Any]]]:
    """``url`` and ``canonical_url`` of every row of one file, a batch at a time."""
    file = pq.ParquetFile(path)
    for batch in file.iter_batches(batch_size=10_000, columns=["url", "canonical_url"]):
        yield batch.to_pylist()


def normalised(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows (from :func:`crawler.dataset.schema.to_row`) through the article schema and
    back: their values as a dataset file gives them, to compare with a stored row."""
    return pa.Table.from_pylist(rows, schema=article_schema()).to_pylist()
