"""The dataset writer's speed and output size against pyarrow writing the same rows at once.

    python benchmarks/parquet_write.py [--rows 20000]

Realistic records: the article fixtures (tests/fixtures/pages) extracted with
``crawler.extract``, repeated up to ``--rows`` with distinct URLs and story hashes, and the
words of each paragraph, title and description shuffled (same length and vocabulary, but a
text that compresses like another article's). Three
spreads of ``published_date``, the partition key:

* ``one month``: an incremental run (every row in one partition);
* ``fixture dates``: the fixtures' own dates, as extracted;
* ``13 years``: dates spread evenly over 156 months, as a first crawl of an archive (and of
  the scaled replica) finds them.

For each spread, in one process: ``ParquetDatasetPipeline`` driven directly (open_spider,
process_item per row, close_spider) with the project's defaults, against pyarrow building
one table of the same rows and writing it in one call, as one file (``pq.write_table``) and
as the same year/month partitions (``pq.write_to_dataset``). Printed: rows per second,
the writer's ratio to each baseline, files written, and bytes per article on disk. A second
table splits the writer's time per row: converting the item to a row (``to_row``), the
schema check (``check_row``), and the rest (buffering, building row groups, writing).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine, table
from crawler.dataset.files import partition_of
from crawler.dataset.schema import article_schema, check_row, to_row
from crawler.extract import extract
from crawler.items import Article
from pipelines.parquet_writer import ParquetDatasetPipeline
from tests.support.fixture_pages import load_fixtures

FETCHED = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)
SPREADS = ("one month", "fixture dates", "13 years")


def fixture_articles() -> list[Article]:
    """The fixtures' articles, as the crawler extracts them."""
    articles = []
    for f in load_fixtures():
        if not f.is_article:
            continue
        result = extract(f.html.read_bytes(), f.url, fetched_at=FETCHED)
        if result.article is not None:
            articles.append(result.article)
    if not articles:
        raise SystemExit("no fixture article extracted")
    return articles


def _reworded(text: str, rng: random.Random) -> str:
    """The same words, paragraph by paragraph, in another order: a text of the same length
    and vocabulary that compresses like a different article (a repeated text would compress
    to almost nothing)."""
    paragraphs = []
    for paragraph in text.split("\n\n"):
        words = paragraph.split(" ")
        rng.shuffle(words)
        paragraphs.append(" ".join(words))
    return "\n\n".join(paragraphs)


def make_items(base: Sequence[Article], rows: int, spread: str) -> list[Article]:
    """``rows`` distinct articles cycled from ``base``, dated by ``spread``."""
    items = []
    rng = random.Random(20261123)
    for i in range(rows):
        a = base[i % len(base)]
        if spread == "one month":
            published: dt.date | None = dt.date(2026, 11, 1 + i % 20)
        elif spread == "13 years":
            published = dt.date(2013, 1, 1) + dt.timedelta(days=(i * 7919) % (13 * 365))
        else:
            published = a.published_date
        url = a.url.replace(".html", f"-{i}.html")
        items.append(
            dataclasses.replace(
                a,
                url=url,
                canonical_url=url,
                title=_reworded(a.title, rng),
                text=_reworded(a.text, rng),
                description=_reworded(a.description, rng) if a.description else None,
                content_hash=f"{i:08x}{a.content_hash[8:]}",
                published_date=published,
                related_links=list(a.related_links),
                authors=list(a.authors),
                crawl_id="bench",
            )
        )
    return items


def _crawler(output: Path) -> Any:
    from scrapy import Spider
    from scrapy.utils.test import get_crawler

    crawler = get_crawler(Spider, {"SMN_OUTPUT": str(output), "SMN_CRAWL_ID": "bench"})
    crawler.spider = Spider.from_crawler(crawler, name="smn")
    return crawler


def _disk(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*.parquet") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


@dataclasses.dataclass
class Timing:
    label: str
    seconds: float
    files: int
    bytes: int


def time_writer(items: list[Article], root: Path) -> Timing:
    writer = ParquetDatasetPipeline.from_crawler(_crawler(root))
    start = time.perf_counter()
    writer.open_spider()
    for item in items:
        writer.process_item(item)
    writer.close_spider()
    seconds = time.perf_counter() - start
    return Timing("ParquetDatasetPipeline", seconds, *_disk(root))


def time_one_table(items: list[Article], root: Path) -> Timing:
    """pyarrow: rows to one table, one write_table call, one file."""
    start = time.perf_counter()
    rows = [to_row(item) for item in items]
    pq.write_table(
        pa.Table.from_pylist(rows, schema=article_schema()),
        root / "all.parquet",
        compression="zstd",
    )
    seconds = time.perf_counter() - start
    return Timing("pyarrow, one table, one file", seconds, *_disk(root))


def time_partitioned(items: list[Article], root: Path) -> Timing:
    """pyarrow: rows to one table, one write_to_dataset call, same year/month partitions."""
    start = time.perf_counter()
    rows = [to_row(item) for item in items]
    keys = [partition_of(r) for r in rows]
    years = [int(k.split("/")[0].split("=")[1]) for k in keys]
    months = [int(k.split("/")[1].split("=")[1]) for k in keys]
    data = pa.Table.from_pylist(rows, schema=article_schema())
    data = data.append_column("year", pa.array(years, pa.int32()))
    data = data.append_column("month", pa.array(months, pa.int32()))
    pq.write_to_dataset(data, root, partition_cols=["year", "month"], compression="zstd")
    seconds = time.perf_counter() - start
    return Timing("pyarrow, one table, partitioned", seconds, *_disk(root))


def per_row_costs(items: list[Article]) -> list[tuple[str, float]]:
    """Microseconds per row of the writer's own steps, on up to 2,000 rows."""
    sample = items[:2000]
    rows = [to_row(i) for i in sample]

    def each(fn: Callable[[Any], object], values: Sequence[Any]) -> float:
        start = time.perf_counter()
        for v in values:
            fn(v)
        return (time.perf_counter() - start) / len(values) * 1e6

    return [("to_row", each(to_row, sample)), ("check_row", each(check_row, rows))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Rows/s and bytes/article of the dataset writer against plain pyarrow."
    )
    parser.add_argument("--rows", type=int, default=5000, help="rows per run (default 5000)")
    parser.add_argument(
        "--spreads",
        default=",".join(SPREADS),
        help=f"comma-separated, of: {', '.join(SPREADS)}",
    )
    args = parser.parse_args(argv)
    spreads = [s.strip() for s in args.spreads.split(",") if s.strip()]
    unknown = [s for s in spreads if s not in SPREADS]
    if unknown or args.rows < 1:
        parser.error(f"unknown spread(s) {unknown}" if unknown else "--rows must be >= 1")
    print(f"machine: {machine()}")
    base = fixture_articles()
    print(f"{len(base)} fixture articles, repeated to {args.rows:,} rows per run")
    out_rows = []
    split_rows = []
    for spread in spreads:
        items = make_items(base, args.rows, spread)
        partitions = len({partition_of(to_row(i)) for i in items})
        timings = []
        for fn in (time_writer, time_one_table, time_partitioned):
            with tempfile.TemporaryDirectory(prefix="smn-bench-pq-") as tmp:
                timings.append(fn(items, Path(tmp)))
        writer, one, parted = timings
        for t in timings:
            out_rows.append(
                [
                    f"{spread} ({partitions} partitions)" if t is writer else "",
                    t.label,
                    args.rows / t.seconds,
                    one.seconds / t.seconds,
                    parted.seconds / t.seconds,
                    t.files,
                    t.bytes / args.rows,
                ]
            )
        costs = per_row_costs(items)
        writer_us = writer.seconds / args.rows * 1e6
        own = writer_us - sum(us for _, us in costs)
        split_rows.append(
            [spread, writer_us, *(us for _, us in costs), own, one.seconds / args.rows * 1e6]
        )
    print()
    print(
        table(
            [
                "dates",
                "writer",
                "rows/s",
                "vs one table",
                "vs partitioned",
                "files",
                "bytes/article",
            ],
            out_rows,
        )
    )
    print()
    print(
        table(
            [
                "dates",
                "writer us/row",
                "to_row",
                "check_row",
                "buffer+write",
                "pyarrow one table us/row",
            ],
            split_rows,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
