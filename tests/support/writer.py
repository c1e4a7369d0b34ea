"""Driving the dataset writer's item pipeline directly, and reading back what it wrote."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.dataset as ds
from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.utils.test import get_crawler

from crawler.items import Article, RelatedLink
from pipelines.parquet_writer import ParquetDatasetPipeline

ROOT = Path(__file__).resolve().parents[2]


def article(i: int, **changes: Any) -> Article:
    url = f"https://www.spacewar.com/reports/story_{i}.html"
    a = Article(
        url=url,
        canonical_url=url,
        site=("spacewar.com", "spacedaily.com", "terradaily.com")[i % 3],
        title=f"Story {i} — Ünïcode 🚀",
        text=f"Body of story {i}.",
        authors=["Jörg Müller"],
        published_date=dt.date(2026, 11, 20),
        related_links=[RelatedLink(url="https://www.nasa.gov/", text="NASA")],
        word_count=4,
        content_hash=f"h{i}",
        fetched_at=dt.datetime(2026, 11, 23, 18, 15, tzinfo=dt.UTC),
    )
    return dataclasses.replace(a, **changes)


def make_crawler(output: Path | str, crawl_id: str | None = "run1", **settings: Any) -> Crawler:
    if crawl_id is not None:
        settings.setdefault("SMN_CRAWL_ID", crawl_id)
    crawler = get_crawler(Spider, {"SMN_OUTPUT": str(output), **settings})
    crawler.spider = Spider.from_crawler(crawler, name="smn")
    return crawler


def open_writer(output: Path, crawl_id: str | None = "run1", **settings: Any):
    writer = ParquetDatasetPipeline.from_crawler(make_crawler(output, crawl_id, **settings))
    writer.open_spider()
    return writer


def run_writer(output: Path, items: list[Any], crawl_id: str = "run1", **settings: Any):
    writer = open_writer(output, crawl_id, **settings)
    for item in items:
        writer.process_item(item)
    writer.close_spider()
    return writer


def finished(output: Path) -> list[Path]:
    return sorted(output.rglob("part-*.parquet"))


def temps(output: Path) -> list[Path]:
    return sorted(output.rglob(".part-*.parquet.tmp"))


def read_all(output: Path) -> tuple[int, int, int]:
    """Row counts seen by pyarrow, pandas and DuckDB."""
    n_arrow = ds.dataset(output, format="parquet", partitioning="hive").count_rows()
    n_pandas = len(pd.read_parquet(output))
    ((n_duck,),) = duck(
        f"select count(*) from read_parquet('{output}/**/*.parquet', hive_partitioning=true)"
    )
    return n_arrow, n_pandas, n_duck


def duck(sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect() as con:
        return con.execute(sql).fetchall()


KILLED_RUN = """
import os, signal, sys
sys.path[:0] = [{root!r}]
from tests.support.writer import article, open_writer
from pathlib import Path
writer = open_writer(Path({out!r}), crawl_id="killed", SMN_ROW_GROUP_SIZE=1000)
for i in range(2500):
    writer.process_item(article(i))
os.kill(os.getpid(), signal.SIGKILL)
"""
