"""Checking the WARC archive a crawl wrote, with warcio's own reader."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord


def published_rows(dataset: Path) -> list[dict[str, Any]]:
    """Every row of the published files (hidden files skipped, as every reader does)."""
    if not any(dataset.rglob("part-*.parquet")):
        return []
    return ds.dataset(dataset, partitioning="hive").to_table().to_pylist()


def record_at(archive: Path, filename: str, offset: int, length: int) -> ArcWarcRecord:
    """The record at ``offset`` of ``archive/filename``, read from its ``length`` bytes
    alone, with its body read (``record.body``: decoded; ``record.raw``: as stored)."""
    with (archive / filename).open("rb") as warc:
        warc.seek(offset)
        member = warc.read(length)
    raw_record = next(iter(ArchiveIterator(io.BytesIO(member))))
    raw = raw_record.raw_stream.read()
    record = next(iter(ArchiveIterator(io.BytesIO(member))))
    record.body = record.content_stream().read()  # type: ignore[attr-defined]
    record.raw = raw  # type: ignore[attr-defined]
    return record


def published_warc(archive: Path) -> set[str]:
    return {
        p.relative_to(archive).as_posix()
        for p in archive.rglob("*.warc.gz")
        if not p.name.startswith(".")
    }


def warc_problems(dataset: Path, archive: Path | None = None) -> list[str]:
    """What breaks "a published row names a published WARC file that holds its page"."""
    archive = archive or dataset.parent / "warc"
    files = published_warc(archive) if archive.exists() else set()
    problems = []
    for row in published_rows(dataset):
        name = row["warc_filename"]
        if name is None:
            problems.append(f"{row['url']}: no WARC record")
        elif name not in files:
            problems.append(f"{row['url']}: names {name}, not a published WARC file")
        else:
            try:
                record = record_at(
                    archive, name, row["warc_record_offset"], row["warc_record_length"]
                )
            except Exception as exc:
                problems.append(f"{row['url']}: {name}@{row['warc_record_offset']}: {exc!r}")
                continue
            uri = record.rec_headers.get_header("WARC-Target-URI")
            if record.rec_type != "response" or uri != row["url"]:
                problems.append(f"{row['url']}: the record is a {record.rec_type} of {uri}")
    return problems


def damage_two_records(archive: Path, rows: list[dict[str, Any]]) -> set[str]:
    """Damage the WARC records of two rows in ``archive``: bytes flipped in the middle of
    the first row's record, and the last file cut short in the middle of another's. The
    two rows' URLs."""
    rows = sorted(rows, key=lambda r: (r["warc_filename"], r["warc_record_offset"]))
    files = sorted({row["warc_filename"] for row in rows})
    flipped = rows[0]
    path = archive / flipped["warc_filename"]
    data = bytearray(path.read_bytes())
    middle = flipped["warc_record_offset"] + flipped["warc_record_length"] // 2
    for i in range(middle, middle + 8):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    # another file (or the same, past that record)
    last = [r for r in rows if r["warc_filename"] == files[-1] and r is not flipped][-1]
    with (archive / last["warc_filename"]).open("r+b") as out:
        out.truncate(last["warc_record_offset"] + last["warc_record_length"] // 2)
    return {flipped["url"], last["url"]}
