"""The dataset writer in processes of its own: killed mid-run, and a fresh crawler process
that must not import pandas."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.writer import KILLED_RUN, ROOT, article, read_all, run_writer, temps


def test_killed_run_leaves_only_hidden_temp_files(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    run_writer(out, [article(i) for i in range(3)], crawl_id="earlier")
    code = KILLED_RUN.format(root=str(ROOT), out=str(out))
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()
    assert [p.name for p in temps(out)] == [".part-killed-00000.parquet.tmp"]
    assert read_all(out) == (3, 3, 3)
    # the next run removes the stale temp file and keeps the finished one
    run_writer(out, [article(10)], crawl_id="next")
    assert temps(out) == []
    assert read_all(out) == (4, 4, 4)


def test_the_writer_keeps_pandas_out_of_the_crawler_process(tmp_path: Path) -> None:
    """pyarrow's first list conversion would import pandas (50 MB of the crawler's memory)
    to ask whether the list is a pandas object; the writer answers the probe, and pandas
    stays importable and usable for the process's other users."""
    out = tmp_path / "out"
    # A fresh process: this test module (and pytest's process) has pandas imported already.
    code = f"""
import datetime as dt, sys
from pathlib import Path
from scrapy import Spider
from scrapy.utils.test import get_crawler
from crawler.items import Article
from pipelines.parquet_writer import ParquetDatasetPipeline
assert "pandas" not in sys.modules, "imported before the writer ran"
crawler = get_crawler(Spider, {{"SMN_OUTPUT": {str(out)!r}, "SMN_CRAWL_ID": "run1"}})
crawler.spider = Spider.from_crawler(crawler, name="smn")
writer = ParquetDatasetPipeline.from_crawler(crawler)
writer.open_spider()
for i in range(2):
    url = f"https://www.spacewar.com/reports/story_{{i}}.html"
    writer.process_item(Article(
        url=url, canonical_url=url, site="spacewar.com", title="T", text="Body.",
        published_date=dt.date(2026, 11, 20), word_count=1, content_hash=f"h{{i}}",
        fetched_at=dt.datetime(2026, 11, 23, tzinfo=dt.UTC),
    ))
writer.close_spider()
print("pandas imported:", "pandas" in sys.modules)
import pandas
import pyarrow.parquet as pq
frame = pq.read_table(sorted(Path({str(out)!r}).rglob("*.parquet"))[0]).to_pandas()
print("rows:", len(frame))
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.splitlines() == ["pandas imported: False", "rows: 2"]
