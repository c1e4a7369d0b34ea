"""A damaged file in the dataset, met by real crawls of the replica and by ``scrapy verify``.

For each corruption shape of the reliability probe (truncated, zero bytes, HTML named
``.parquet``, a foreign schema, an int64 ``url``) a full re-crawl over the dataset goes on:
exit 0, no duplicate row, the file moved to ``articles.quarantine`` beside the dataset and
named in the report and the summary, and pyarrow, pandas and DuckDB read what is left. Damage
inside a data page passes the crawl's key-column read; ``scrapy verify`` finds it."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from crawler.dataset.generations import stable_path
from crawler.dataset.lock import DatasetLock
from replica.server import ReplicaHandle
from tests.support.corruption import (
    BAD,
    SHAPES,
    truncated,
    zero_bytes,
)
from tests.support.crawl_run import REPO, CrawlRun, crawl


@pytest.fixture(scope="module")
def crawled(replica: ReplicaHandle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset crawled once from the replica (copied by each test)."""
    dataset = tmp_path_factory.mktemp("first") / "articles"
    run = crawl(replica, dataset)
    assert run.returncode == 0, run.output[-3000:]
    return dataset


def copy_of(crawled: Path, tmp_path: Path) -> Path:
    dataset = tmp_path / "articles"
    shutil.copytree(crawled, dataset)
    return dataset


def parquet_files(dataset: Path) -> list[Path]:
    return sorted(dataset.rglob("*.parquet"))


def rows(dataset: Path) -> int:
    """Rows of the whole dataset, every column decoded, by pyarrow, pandas and DuckDB."""
    n_arrow = ds.dataset(dataset, partitioning="hive").to_table().num_rows
    n_pandas = len(pd.read_parquet(dataset))
    with duckdb.connect() as con:
        ((n_duck,),) = con.execute(
            f"select count(*) from (select * from read_parquet('{dataset}/**/*.parquet', "
            "hive_partitioning = true))"
        ).fetchall()
    assert n_arrow == n_pandas == n_duck
    return int(n_arrow)


def canonical_urls(dataset: Path) -> list[str]:
    table = ds.dataset(dataset, partitioning="hive").to_table(columns=["canonical_url"])
    return [str(u) for u in table.column("canonical_url").to_pylist()]


def report_of(run: CrawlRun) -> dict:
    (path,) = (run.dataset.parent / "reports").glob("*.json")
    return json.loads(path.read_text())


def damage_data_page(path: Path, column: str = "text") -> None:
    """Random bytes in the middle of a column chunk's pages: footer and key columns intact."""
    meta = pq.ParquetFile(path).metadata
    chunk = meta.row_group(0).column(meta.schema.to_arrow_schema().get_field_index(column))
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    middle = start + chunk.total_compressed_size // 2
    data = bytearray(path.read_bytes())
    data[middle : middle + 16] = random.Random(0).randbytes(16)
    path.write_bytes(bytes(data))


def verify(dataset: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "scrapy", "verify", "-s", f"SMN_OUTPUT={dataset}"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


# -- a crawl over a damaged file ----------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_a_crawl_quarantines_a_damaged_file_and_goes_on(
    replica: ReplicaHandle, crawled: Path, tmp_path: Path, shape: str
) -> None:
    dataset = copy_of(crawled, tmp_path)
    stored = rows(dataset)
    bad = dataset / BAD
    bad.parent.mkdir(parents=True, exist_ok=True)
    SHAPES[shape][0](bad, parquet_files(dataset)[0].read_bytes())

    # A full re-crawl: every article is fetched again, so dedup must know them all.
    run = crawl(replica, dataset, settings={"SMN_INCREMENTAL": "0"})

    assert run.returncode == 0, run.output[-3000:]
    assert run.last_line.startswith("OK: 0 articles written"), run.last_line
    assert not bad.exists()
    moved = tmp_path / "articles.quarantine" / BAD
    assert moved.exists()
    readme = (tmp_path / "articles.quarantine" / "README.txt").read_text()
    assert f"{BAD}: {SHAPES[shape][1]}" in readme
    report = report_of(run)
    (entry,) = report["quarantined"]
    assert entry["path"] == BAD and entry["reason"].startswith(SHAPES[shape][1])
    assert entry["moved_to"] == str(moved.resolve())
    assert report["articles"]["written"] == 0
    assert report["articles"]["duplicates"] == report["articles"]["extracted"] == stored
    target = (tmp_path / "articles.quarantine").resolve()
    quarantine_line = f"  quarantined: {BAD} ({entry['reason']}); moved to {target}/"
    assert quarantine_line in run.output.splitlines()
    assert f"Dataset file {BAD} quarantined" in run.output  # logged at ERROR
    # no duplicate written, and every reader reads the rest
    urls = canonical_urls(dataset)
    assert len(urls) == len(set(urls)) == stored
    assert rows(dataset) == stored


def test_an_incremental_crawl_over_a_damaged_file(
    replica: ReplicaHandle, crawled: Path, tmp_path: Path
) -> None:
    """The usual cron run: the seed quarantines the file, the state's sync then finds it gone."""
    dataset = copy_of(crawled, tmp_path)
    stored = rows(dataset)
    # the state of the first crawl, so that this run is incremental
    shutil.copy(crawled.parent / "state.sqlite", tmp_path / "state.sqlite")
    bad = dataset / "year=2026/month=1/part-x-00001.parquet"
    bad.parent.mkdir(parents=True, exist_ok=True)
    truncated(bad, parquet_files(dataset)[0].read_bytes())
    run = crawl(replica, dataset)
    assert run.returncode == 0, run.output[-3000:]
    assert "Cannot read dataset file" not in run.output
    assert not bad.exists()
    assert report_of(run)["quarantined"][0]["path"] == "year=2026/month=1/part-x-00001.parquet"
    assert rows(dataset) == stored


# -- scrapy verify ------------------------------------------------------------------------


def test_verify_quarantines_damage_inside_a_data_page(crawled: Path, tmp_path: Path) -> None:
    dataset = copy_of(crawled, tmp_path)
    files = parquet_files(dataset)
    damaged = max(files, key=lambda p: p.stat().st_size)
    relative = damaged.relative_to(dataset).as_posix()
    damage_data_page(damaged)

    done = verify(dataset)

    assert done.returncode == 4, done.stdout + done.stderr
    lines = done.stdout.rstrip().splitlines()
    target = (tmp_path / "articles.quarantine").resolve()
    assert lines[-1] == (
        f"FAILED (code 4): 1 of {len(files)} files were damaged and quarantined to {target}"
    )
    (line,) = [line for line in lines if line.startswith("  quarantined: ")]
    assert line.startswith(f"  quarantined: {relative} (damaged data: ")
    assert not damaged.exists() and (target / relative).exists()
    rows(dataset)  # pandas (every column), pyarrow and DuckDB read the rest
    assert verify(dataset).returncode == 0


def test_verify_on_a_clean_dataset_exits_0(crawled: Path, tmp_path: Path) -> None:
    dataset = copy_of(crawled, tmp_path)
    done = verify(dataset)
    assert done.returncode == 0, done.stdout + done.stderr
    n = len(parquet_files(dataset))
    assert done.stdout.strip().splitlines() == [f"OK: {n} files verified in {stable_path(dataset)}"]
    assert not (tmp_path / "articles.quarantine").exists()


def test_verify_never_runs_during_a_crawl(crawled: Path, tmp_path: Path) -> None:
    dataset = copy_of(crawled, tmp_path)
    bad = dataset / BAD
    bad.parent.mkdir(parents=True)
    zero_bytes(bad, b"")
    with DatasetLock.acquire(dataset):  # as a running crawl holds it
        done = verify(dataset)
    assert done.returncode == 3, done.stdout + done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("FAILED (code 3): another run is writing the dataset"), last
    assert last.endswith("nothing verified")
    assert bad.exists()
