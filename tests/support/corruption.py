"""The shapes of a damaged dataset file the quarantine tests build: each writes, at a path,
a file made from a good file's bytes, and says the reason the quarantine must give."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

BAD = "year=2025/month=12/notes.parquet"


def truncated(path: Path, good: bytes) -> None:
    path.write_bytes(good[: len(good) // 2])


def zero_bytes(path: Path, good: bytes) -> None:
    path.write_bytes(b"")


def html(path: Path, good: bytes) -> None:
    path.write_text("<!DOCTYPE html><html><body><h1>Notes</h1><p>to self</p></body></html>\n")


def foreign_columns(path: Path, good: bytes) -> None:
    pq.write_table(pa.table({"site": ["spacewar.com"], "views": [12]}), path)


def url_int64(path: Path, good: bytes) -> None:
    table = pq.read_table(pa.BufferReader(good))
    index = table.schema.get_field_index("url")
    numbers = pa.array(range(table.num_rows), pa.int64())
    pq.write_table(table.set_column(index, pa.field("url", pa.int64()), numbers), path)


SHAPES: dict[str, tuple[Callable[[Path, bytes], None], str]] = {
    "truncated": (truncated, "truncated or damaged Parquet file"),
    "zero_bytes": (zero_bytes, "empty file (0 bytes)"),
    "html": (html, "not Parquet"),
    "foreign_columns": (foreign_columns, "foreign schema: no column url"),
    "url_int64": (url_int64, "foreign schema: url is int64, not string"),
}
"""Each shape, and the start of the reason the quarantine gives for it."""
