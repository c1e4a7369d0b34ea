"""A dataset written partly before published_at and modified_at existed: its old files stay
valid, read with nulls in the new columns, and the crawl's own readers (dedup seed, state
sync) and the writer go on working over it."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
from scrapy import Spider
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from crawler.dataset.quarantine import schema_problem
from crawler.dataset.schema import article_schema
from crawler.incremental.store import ARTICLE, SqliteSeenStore
from crawler.incremental.sync import sync
from crawler.network.urls import url_key
from pipelines.dedup import DedupPipeline
from pipelines.parquet_writer import ParquetDatasetPipeline
from tests.support.writer import article, finished, run_writer

NEW_COLUMNS = ("published_at", "modified_at")
PUBLISHED = dt.datetime(2026, 11, 20, 1, 30, tzinfo=dt.UTC)
MODIFIED = dt.datetime(2026, 11, 21, 8, 0, tzinfo=dt.UTC)


def _mixed(root: Path) -> None:
    """Two rows in a file of the old column set (as a crawler before the times wrote it),
    one in a file of the current schema."""
    run_writer(root, [article(1), article(2)], crawl_id="old")
    for path in finished(root):
        table = pq.read_table(path)
        assert set(NEW_COLUMNS) <= set(table.column_names)
        pq.write_table(table.drop_columns(list(NEW_COLUMNS)), path)
    run_writer(root, [article(3, published_at=PUBLISHED, modified_at=MODIFIED)], crawl_id="new")


def test_old_files_fit_the_dataset_and_read_as_nulls(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    _mixed(root)
    files = finished(root)
    assert len(files) == 2
    old = [p for p in files if "old" in p.name]
    assert not set(NEW_COLUMNS) & set(pq.read_schema(old[0]).names)
    assert [schema_problem(pq.read_schema(p)) for p in files] == [None, None]

    table = ds.dataset(root, schema=article_schema(), format="parquet").to_table()
    by_url = {r["url"]: r for r in table.to_pylist()}
    assert len(by_url) == 3
    assert table.schema.field("published_at").type == article_schema().field("published_at").type
    for i in (1, 2):
        row = by_url[article(i).url]
        assert (row["published_at"], row["modified_at"]) == (None, None)
    row = by_url[article(3).url]
    assert (row["published_at"], row["modified_at"]) == (PUBLISHED, MODIFIED)


def test_dedup_and_the_state_read_every_file_of_a_mixed_dataset(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    _mixed(root)
    crawler = get_crawler(Spider, {"SMN_OUTPUT": str(root), "SMN_CRAWL_ID": "third"})
    crawler.spider = Spider.from_crawler(crawler, name="smn")
    dedup = DedupPipeline.from_crawler(crawler)
    writer = ParquetDatasetPipeline.from_crawler(crawler)
    dedup.open_spider()
    writer.open_spider()
    written = []
    for item in (article(1), article(3), article(4, published_at=PUBLISHED)):
        with contextlib.suppress(DropItem):
            written.append(writer.process_item(dedup.process_item(item)))
    writer.close_spider()
    # the stored rows of both schemas are known; only the new story is written
    assert [a.url for a in written] == [article(4).url]

    store = SqliteSeenStore(tmp_path / "state.sqlite", recheck_days=7)
    try:
        report = sync(store, root)
        assert (report.ingested, report.rows, report.unreadable) == (3, 4, 0)
        keys = [url_key(article(i).url) for i in (1, 2, 3, 4)]
        assert store.lookup(keys, 0.0) == dict.fromkeys(keys, ARTICLE)
    finally:
        store.close()
