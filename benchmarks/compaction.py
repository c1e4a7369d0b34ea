"""A reader's query on a year of cron files, before and after ``scrapy compact``.

Cron leaves one small file per run per touched month: hourly runs touching two months make
some 17,000 files a year. This writes such a dataset (``--files`` files of ``--rows`` rows
each over twelve months, written by the dataset writer's own ``PartFile``: one row group a
file, replica-like rows of a few KB of text), times DuckDB's
``SELECT site, count(*) FROM '<dataset>/**/*.parquet' GROUP BY site`` (best of
``--repeat``, a fresh connection each time), compacts it (the command's own function, as
``scrapy compact`` runs it), and times the query again. The baseline is the query on the
uncompacted files, in the same run.

    .venv/bin/python benchmarks/compaction.py [--files 17000] [--rows 3] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scrapy.settings import Settings  # noqa: E402

from crawler.commands.compact import compact_dataset  # noqa: E402
from crawler.dataset.files import PartFile, published_files  # noqa: E402
from crawler.dataset.generations import prepare  # noqa: E402
from crawler.dataset.schema import article_schema, rows_to_table, to_row  # noqa: E402
from crawler.items import Article  # noqa: E402

SITES = ("spacewar.com", "spacedaily.com", "terradaily.com", "marsdaily.com", "spacemart.com")
PARAGRAPH = (
    "WASHINGTON (UPI) Nov 20, 2026 - The agency said the launch of the relay satellite was "
    "moved to next week after engineers found a fault in a ground station antenna. "
)


def row(i: int, month: int) -> dict[str, object]:
    url = f"https://www.{SITES[i % 5]}/reports/Story_{i}_999.html"
    article = Article(
        url=url,
        canonical_url=url,
        site=SITES[i % 5],
        title=f"Relay satellite launch moved, story {i}",
        text=PARAGRAPH * 20,
        authors=["Jane Doe"],
        published_date=dt.date(2026, month, 1 + i % 28),
        word_count=600,
        content_hash=f"h{i:08x}",
        fetched_at=dt.datetime(2026, month, 1 + i % 28, 12, tzinfo=dt.UTC),
        description="The launch of the relay satellite moves to next week.",
    )
    return to_row(article)


def write_cron_year(root: Path, files: int, rows: int) -> int:
    """``files`` published files of ``rows`` rows, one row group each; the rows written."""
    schema = article_schema()
    n = 0
    for f in range(files):
        month = 1 + f % 12
        table = rows_to_table([row(n + j, month) for j in range(rows)])
        part = PartFile(root / f"year=2026/month={month}", f"cron{f:05d}", 0, schema, "zstd")
        part.write(table)
        part.finish()
        n += rows
    return n


def query(root: Path, repeat: int) -> tuple[float, int]:
    best, total = float("inf"), 0
    for _ in range(repeat):
        connection = duckdb.connect()
        started = time.perf_counter()
        result = connection.sql(
            f"SELECT site, count(*) FROM '{root}/**/*.parquet' GROUP BY site"
        ).fetchall()
        best = min(best, time.perf_counter() - started)
        total = sum(count for _site, count in result)
        connection.close()
    return best, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=17_000)
    parser.add_argument("--rows", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "articles"
        started = time.perf_counter()
        rows = write_cron_year(root, args.files, args.rows)
        written = time.perf_counter() - started
        prepare(root, keep_hours=24)
        before, counted_before = query(root, args.repeat)
        started = time.perf_counter()
        lines, code = compact_dataset(root, Settings({"SMN_OUTPUT": str(root)}), wait=0)
        compacting = time.perf_counter() - started
        if code != 0:
            raise SystemExit("\n".join(lines))
        files_after = len(published_files(root.resolve()))
        after, counted_after = query(root, args.repeat)
        assert counted_before == counted_after == rows, (counted_before, counted_after, rows)
    cores = os.cpu_count()
    print(
        f"{args.files} cron files of {args.rows} rows ({rows} rows, 12 months), written in "
        f"{written:.0f} s; {platform.machine()}, {cores} cores; DuckDB {duckdb.__version__}"
    )
    print()
    print(f"{'dataset':<24} {'files':>6} {'GROUP BY site (s)':>18} {'ratio':>6}")
    print("-" * 57)
    print(f"{'cron files (baseline)':<24} {args.files:6d} {before:18.3f} {1:6.2f}")
    print(f"{'after `scrapy compact`':<24} {files_after:6d} {after:18.3f} {after / before:6.3f}")
    print()
    print(f"compaction: {compacting:.1f} s ({lines[1].strip()})")


if __name__ == "__main__":
    main()
