"""A whole crawl of the bundled replica, through the standard proxy variables, into Parquet."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pytest

from crawler.network.urls import url_key
from replica.server import ReplicaHandle
from tests.support.crawl_run import CrawlRun, crawl
from tests.support.quality import leaked_phrases, score


@pytest.fixture(scope="module")
def first_run(replica: ReplicaHandle, tmp_path_factory: pytest.TempPathFactory) -> CrawlRun:
    replica.clear_log()
    run = crawl(replica, tmp_path_factory.mktemp("crawl") / "articles")
    assert run.returncode == 0, run.output[-3000:]
    return run


@pytest.fixture(scope="module")
def rows(first_run: CrawlRun) -> list[dict]:
    return ds.dataset(first_run.dataset, partitioning="hive").to_table().to_pylist()


def test_every_article_is_written_exactly_once(replica: ReplicaHandle, rows: list[dict]) -> None:
    expected = {url_key(a.url) for a in replica.manifest().articles}
    got = [url_key(r["canonical_url"]) for r in rows]
    assert sorted(got) == sorted(expected)


def test_no_row_for_non_article_pages(replica: ReplicaHandle, rows: list[dict]) -> None:
    manifest = replica.manifest()
    not_articles = {url_key(u) for u in [*manifest.non_article_urls, *manifest.feed_urls]}
    assert not [r["url"] for r in rows if url_key(r["url"]) in not_articles]


def test_syndicated_copies_point_to_the_first_copy(
    replica: ReplicaHandle, rows: list[dict]
) -> None:
    by_story: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_story[row["content_hash"]].append(row)
    groups = replica.manifest().syndicated_groups()
    assert groups
    for entries in groups.values():
        copies = [
            r for r in rows if url_key(r["canonical_url"]) in {url_key(e.url) for e in entries}
        ]
        assert len(copies) == len(entries)
        assert len({r["content_hash"] for r in copies}) == 1
        originals = [r for r in copies if r["duplicate_of"] is None]
        assert len(originals) == 1
        for row in copies:
            if row is not originals[0]:
                assert row["duplicate_of"] == originals[0]["canonical_url"]
    # Stories that are not syndicated have no duplicate_of.
    singles = [g[0] for g in by_story.values() if len(g) == 1]
    assert all(r["duplicate_of"] is None for r in singles)


def test_text_and_fields_match_the_replica(replica: ReplicaHandle, rows: list[dict]) -> None:
    manifest = replica.manifest()
    for row in rows:
        entry = manifest.article(row["canonical_url"])
        assert leaked_phrases(row["text"]) == [], row["url"]
        assert score(row["text"], "\n\n".join(entry.paragraphs)).f1 >= 0.99, row["url"]
        assert row["title"] == entry.title
        assert row["site"] == entry.site
        assert row["agency"] == entry.agency
        assert row["dateline"] == entry.place
        assert row["published_date"] == entry.date
        assert row["byline"] == entry.byline
        assert row["category"] == entry.kicker
        assert row["section"] == entry.section


def test_crawl_stays_on_the_network_and_obeys_robots(
    replica: ReplicaHandle, first_run: CrawlRun
) -> None:
    assert replica.off_network_requests() == []
    assert replica.disallowed_requests() == []


def test_dataset_reads_with_pyarrow_pandas_and_duckdb(
    first_run: CrawlRun, rows: list[dict]
) -> None:
    path = first_run.dataset
    assert len(pd.read_parquet(path)) == len(rows)
    glob = str(path / "**" / "*.parquet")
    count = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning = true)"
    ).fetchall()
    assert count == [(len(rows),)]
    names = ds.dataset(path, partitioning="hive").schema.names
    assert {"year", "month", "text", "related_links"} <= set(names)
    assert not [p for p in path.rglob("*") if p.is_file() and p.name.startswith((".", "_"))]


def test_second_run_writes_no_duplicate(replica: ReplicaHandle, first_run: CrawlRun) -> None:
    before = ds.dataset(first_run.dataset, partitioning="hive").count_rows()
    files_before = sorted(first_run.dataset.rglob("*.parquet"))
    again = crawl(replica, first_run.dataset)
    assert again.returncode == 0, again.output[-3000:]
    assert ds.dataset(first_run.dataset, partitioning="hive").count_rows() == before
    # Earlier files are never rewritten.
    for path in files_before:
        assert path.exists()


def test_notebook_runs_against_the_crawled_dataset(first_run: CrawlRun, tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(
        Path(__file__).parents[2] / "notebooks" / "explore.ipynb", as_version=4
    )
    import os

    os.environ["SMN_DATASET"] = str(first_run.dataset)
    try:
        client = nbclient.NotebookClient(
            notebook,
            timeout=300,
            kernel_name="python3",
            resources={"metadata": {"path": str(tmp_path)}},
        )
        client.execute()
    finally:
        del os.environ["SMN_DATASET"]
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the plot was not drawn"


def test_overriding_start_urls_reaches_the_replica_directly(
    replica: ReplicaHandle, tmp_path: Path
) -> None:
    """Without the proxy: start from the replica's own address (its index of start URLs)."""
    import os
    import subprocess
    import sys

    from tests.support.crawl_run import FAST, REPO

    dataset = tmp_path / "articles"
    command = [sys.executable, "-m", "scrapy", "crawl", "smn", "-a", f"start_urls={replica.url}/"]
    for key, value in {**FAST, "SMN_OUTPUT": str(dataset)}.items():
        command += ["-s", f"{key}={value}"]
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = ds.dataset(dataset, partitioning="hive").to_table().to_pylist()
    expected = {url_key(a.url) for a in replica.manifest().articles}
    assert sorted(url_key(r["canonical_url"]) for r in rows) == sorted(expected)
    assert {r["site"] for r in rows} == {a.site for a in replica.manifest().articles}
