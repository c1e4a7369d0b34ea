"""The parquet feed exporter, and whole crawls through all pipelines in a real Scrapy process."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from scrapy import Spider
from scrapy.utils.test import get_crawler

from crawler.dataset.schema import article_schema, to_row
from crawler.items import Article, RelatedLink
from pipelines.feed_exporter import ParquetItemExporter

ROOT = Path(__file__).resolve().parents[2]
FEED_EXPORTERS = {"parquet": "pipelines.feed_exporter.ParquetItemExporter"}


def article(i: int, **changes: Any) -> Article:
    url = f"https://www.spacewar.com/reports/story_{i}.html"
    a = Article(
        url=url,
        canonical_url=url,
        site="spacewar.com",
        title=f"Story {i} — 北京",
        text=f"Body {i}.",
        published_date=dt.date(2026, 11, 20),
        related_links=[RelatedLink(url="https://esa.int/", text="ESA")],
        fetched_at=dt.datetime(2026, 11, 23, 18, 15, tzinfo=dt.UTC),
    )
    return dataclasses.replace(a, **changes)


def export(path: Path, items: list[Any], mode: str = "wb", **kwargs: Any) -> ParquetItemExporter:
    crawler = get_crawler(Spider, {"SMN_ROW_GROUP_SIZE": 1000})
    with path.open(mode) as f:
        exporter = ParquetItemExporter.from_crawler(crawler, f, **kwargs)
        exporter.start_exporting()
        for item in items:
            exporter.export_item(item)
        exporter.finish_exporting()
    return exporter


def test_exporter_writes_row_groups_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "articles.parquet"
    items = [article(i) for i in range(2500)]
    export(path, items)
    meta = pq.ParquetFile(path).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [1000, 1000, 500]
    table = pq.read_table(path)
    assert table.schema.equals(article_schema(), check_metadata=True)
    assert table.slice(0, 3).to_pylist() == [to_row(a) for a in items[:3]]
    assert len(pd.read_parquet(path)) == 2500
    with duckdb.connect() as con:
        assert con.execute(f"select count(*) from '{path}'").fetchall() == [(2500,)]


def test_exporter_overwrites_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "articles.parquet"
    export(path, [article(i) for i in range(50)])
    path.write_bytes(path.read_bytes() + b"junk")  # a longer, broken file
    export(path, [article(i) for i in range(3)])
    assert pq.read_table(path).num_rows == 3


def test_exporter_refuses_to_append(tmp_path: Path) -> None:
    path = tmp_path / "articles.parquet"
    export(path, [article(1)])
    with pytest.raises(ValueError, match="-O"):
        export(path, [article(2)], mode="ab")


def test_exporter_empty_feed_and_fields_option(tmp_path: Path) -> None:
    empty = tmp_path / "empty.parquet"
    export(empty, [])
    assert pq.read_table(empty).num_rows == 0
    subset = tmp_path / "subset.parquet"
    export(subset, [article(1)], fields_to_export={"url": "link", "title": "title"})
    table = pq.read_table(subset)
    assert table.column_names == ["link", "title"]
    assert table.to_pylist() == [{"link": article(1).url, "title": "Story 1 — 北京"}]


def test_exporter_skips_items_that_do_not_fit(tmp_path: Path) -> None:
    path = tmp_path / "articles.parquet"
    exporter = export(path, [article(1), {"something": "else"}, article(2, word_count="x")])
    assert pq.read_table(path).num_rows == 1
    assert exporter.stats is not None
    assert exporter.stats.get_value("feed/parquet/skipped") == 2


SPIDER = """
import datetime as dt
import json

import scrapy

from crawler.crawl_id import crawl_id_of
from crawler.items import Article


class SmnTestSpider(scrapy.Spider):
    name = "smn"
    custom_settings = {
        "ITEM_PIPELINES": {
            "pipelines.crawl_id.CrawlIdPipeline": 50,
            "pipelines.validation.ValidationPipeline": 100,
            "pipelines.dedup.DedupPipeline": 200,
            "pipelines.parquet_writer.ParquetDatasetPipeline": 900,
        },
        "SMN_ROW_GROUP_SIZE": 100,
    }

    def __init__(self, first="0", last="250", **kwargs):
        super().__init__(**kwargs)
        self.first, self.last = int(first), int(last)

    async def start(self):
        for i in range(self.first, self.last):
            url = f"https://www.spacewar.com/reports/story_{i}.html"
            yield Article(
                url=url, canonical_url=url, site="spacewar.com", title=f"Story {i}",
                text="" if i == 7 else f"Body {i}.", content_hash=f"h{i % 200}",
                published_date=dt.date(2026, 1 + i % 2, 1),
                fetched_at=dt.datetime.now(dt.UTC),
            )

    def closed(self, reason):
        report = {"reason": reason, "crawl_id": crawl_id_of(self.crawler),
                  "stats": self.crawler.stats.get_stats()}
        with open("report.json", "w") as f:
            json.dump(report, f, default=str)
"""


def crawl(cwd: Path, *args: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "scrapy", "runspider", "spider.py", "-s", "LOG_LEVEL=INFO"]
    # -O checks the format against the project settings, before the spider's are applied
    cmd += ["-s", f"FEED_EXPORTERS={json.dumps(FEED_EXPORTERS)}"]
    proc = subprocess.run([*cmd, *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Scrapy 2.19 deprecates the spider argument of pipeline methods: none of ours take it
    warnings = [line for line in proc.stderr.splitlines() if "DeprecationWarning" in line]
    assert not [w for w in warnings if "pipelines" in w], warnings
    report: dict[str, Any] = json.loads((cwd / "report.json").read_text())
    report["log"] = proc.stderr
    return report


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "spider.py").write_text(textwrap.dedent(SPIDER))
    return tmp_path


def test_crawl_writes_feed_and_dataset(project: Path) -> None:
    first = crawl(project, "-O", "articles.parquet", "-s", "SMN_OUTPUT=data/articles")
    assert first["reason"] == "finished"
    stats = first["stats"]
    assert stats["articles/dropped/no_text"] == 1
    assert stats["articles/syndicated"] == 49  # i and i + 200 share a hash
    assert stats["parquet/rows_written"] == 249
    feed = pq.read_table(project / "articles.parquet")
    assert feed.num_rows == 249
    assert set(feed.column("crawl_id").to_pylist()) == {first["crawl_id"]}
    dataset = ds.dataset(project / "data/articles", partitioning="hive").to_table()
    assert dataset.num_rows == 249 and {"year", "month"} <= set(dataset.column_names)

    # second run: 50 known URLs dropped, 50 new; the feed is overwritten, the dataset grows
    second = crawl(
        project, "-O", "articles.parquet", "-s", "SMN_OUTPUT=data/articles", "-a", "first=200",
        "-a", "last=300",
    )  # fmt: skip
    assert second["stats"]["articles/dropped/duplicate_url"] == 50
    assert pq.read_table(project / "articles.parquet").num_rows == 50
    assert len(pd.read_parquet(project / "data/articles")) == 299
    glob = project / "data/articles/**/*.parquet"
    with duckdb.connect() as con:
        rows = con.execute(
            f"select crawl_id, count(*) from read_parquet('{glob}', hive_partitioning=true)"
            " group by all order by all"
        ).fetchall()
    assert rows == sorted([(first["crawl_id"], 249), (second["crawl_id"], 50)])


def test_crawl_with_unwritable_output_fails_loudly(project: Path) -> None:
    (project / "blocker").write_text("a file where the dataset directory should be")
    report = crawl(project, "-s", "SMN_OUTPUT=blocker/articles")
    assert report["reason"] == "output_error"
    assert report["stats"]["smn/error/output"] == 1
    assert "Dataset output error" in report["log"]
    assert "parquet/rows_written" not in report["stats"]
