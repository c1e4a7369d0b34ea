"""``scrapy reextract``: a crawl of the replica, then its archive read again, without the
network, into a new dataset read back with pyarrow."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crawler.archive.index import read_index
from crawler.extract import EXTRACTOR_VERSION
from crawler.network.urls import url_key
from crawler.stories.index import story_id_of
from replica.server import ReplicaHandle
from tests.support.crawl_run import REPO, crawl_command
from tests.support.marked_work import ADDED_SENTENCE, MARKER_ENV, REWORDED_ENV, STARTED_ENV
from tests.support.reextract_run import (
    MARKER,
    REWORDED,
    UNREADABLE,
    Crawled,
    by_key,
    crawl_for_reextract,
    reextract,
    reextract_command,
    report_of,
    without,
)
from tests.support.warc import damage_two_records, published_rows


@pytest.fixture(scope="module")
def crawled(replica: ReplicaHandle, tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    return crawl_for_reextract(replica, tmp_path_factory.mktemp("reextract"))


def tree_digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_extractor_gives_the_same_rows_and_no_request_leaves(
    crawled: Crawled, replica: ReplicaHandle, tmp_path: Path
) -> None:
    before = tree_digest(crawled.dataset)
    replica.app.log.clear()
    into = tmp_path / "next"
    run = reextract(
        crawled.dataset,
        "--into",
        str(into),
        settings={"SMN_EXTRACT_WORK": UNREADABLE},
        # a request that escaped would reach the replica through its proxy
        env={**replica.proxy_env(), MARKER_ENV: MARKER},
    )
    assert run.returncode == 0, run.output[-3000:]
    assert run.last_line.startswith("OK: ")
    assert replica.app.log.total == 0, replica.app.log.recent()[:5]
    old, new = by_key(crawled.rows), by_key(published_rows(into))
    assert new.keys() == old.keys()
    for key, row in old.items():
        assert without(new[key], "crawl_id") == without(row, "crawl_id"), key
    assert {row["crawl_id"] for row in new.values()} != {crawled.crawl_id}
    # the current dataset was only read
    assert tree_digest(crawled.dataset) == before
    report = report_of(run.output)["reextract"]
    assert report["rows_unchanged"] == len(old) and report["rows_changed"] == 0
    assert report["refused"] == 0 and report["damaged_records"] == 0
    # the reading's CPU time is estimated from a sample of the records, its clock from all
    assert report["read_seconds"] > 0 and report["read_wall_seconds"] > 0
    # every unchanged text was filed in its row's story, with no lookup in the story index
    assert report["stories_kept"] == len(old)
    assert "re-extraction (into " in run.output
    manifest = json.loads((into / "_reextract.json").read_text())
    assert manifest["extractor_version"] == EXTRACTOR_VERSION
    assert {f["path"] for f in manifest["source_files"]} == {
        p.relative_to(crawled.dataset).as_posix() for p in crawled.dataset.rglob("part-*.parquet")
    }


def test_a_page_unreadable_before_becomes_a_row(crawled: Crawled, tmp_path: Path) -> None:
    into = tmp_path / "next"
    run = reextract(crawled.dataset, "--into", str(into))
    assert run.returncode == 0, run.output[-3000:]
    old, new = by_key(crawled.rows), by_key(published_rows(into))
    gained = new.keys() - old.keys()
    assert len(gained) == 1 and MARKER in new[gained.pop()]["url"]
    assert old.keys() <= new.keys()
    report = report_of(run.output)["reextract"]
    assert report["articles_gained"] == 1
    assert "1 gained" in run.output


def newest_record_dates(archive: Path) -> dict[str, str]:
    """Page key -> the fetch date of its newest archived record (what the plan orders by)."""
    dates: dict[str, str] = {}
    for index in archive.rglob("*.cdxj"):
        for entry in read_index(index):
            dates[entry.key] = max(dates.get(entry.key, ""), entry.date)
    return dates


def rewrite_rows(dataset: Path, changes: dict[str, dict[str, Any]]) -> None:
    """Set fields of the rows of these page keys, in place (the test's own copy)."""
    for path in dataset.rglob("part-*.parquet"):
        table = pq.read_table(path)
        rows = table.to_pylist()
        touched = [r for r in rows if url_key(r["canonical_url"] or r["url"]) in changes]
        if not touched:
            continue
        for row in touched:
            row.update(changes[url_key(row["canonical_url"] or row["url"])])
        pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)


def test_a_changed_copy_fetched_before_its_first_copy_joins_its_story(
    crawled: Crawled, tmp_path: Path
) -> None:
    # A story of two copies, its first copy fetched first. In a copy of the crawl, their
    # roles are swapped: the row fetched first now names the other as its first copy, so
    # the archive holds the copy's page before its first copy's, as when a copy is fetched
    # first (or a slower worker extracts the first copy later).
    root = tmp_path / "crawl"
    shutil.copytree(crawled.root, root)
    dates = newest_record_dates(root / "warc")
    rows = by_key(crawled.rows)
    pairs = [
        (url_key(row["duplicate_of"] or row["near_duplicate_of"]), key)
        for key, row in rows.items()
        if row["duplicate_of"] or row["near_duplicate_of"]
    ]
    first, copy = next((a, b) for a, b in pairs if dates[a] < dates[b])
    copy_url = rows[copy]["canonical_url"]
    kind = "duplicate_of" if rows[copy]["duplicate_of"] else "near_duplicate_of"
    rewrite_rows(
        root / "articles",
        {
            first: {"story_id": story_id_of(copy_url), kind: copy_url},
            copy: {
                "story_id": story_id_of(copy_url),
                "duplicate_of": None,
                "near_duplicate_of": None,
                "near_duplicate_score": None,
            },
        },
    )
    # The extractor now keeps one more sentence of the page fetched first, and only of it.
    into = tmp_path / "next"
    run = reextract(
        root / "articles",
        "--into",
        str(into),
        settings={"SMN_EXTRACT_WORK": REWORDED},
        env={REWORDED_ENV: rows[first]["url"]},  # the same path is the copy's on its site
    )
    assert run.returncode == 0, run.output[-3000:]
    new = by_key(published_rows(into))
    assert new[first]["text"].endswith(ADDED_SENTENCE)
    assert new[first]["story_id"] == new[copy]["story_id"] == story_id_of(copy_url)
    assert new[first]["near_duplicate_of"] == copy_url
    assert new[copy]["near_duplicate_of"] is None and new[copy]["duplicate_of"] is None
    assert report_of(run.output)["reextract"]["rows_changed"] == 1


def test_sites_select_and_the_rest_is_carried_over(crawled: Crawled, tmp_path: Path) -> None:
    into = tmp_path / "next"
    run = reextract(crawled.dataset, "--into", str(into), "--sites", "spacewar.com")
    assert run.returncode == 0, run.output[-3000:]
    old, new = by_key(crawled.rows), by_key(published_rows(into))
    assert new.keys() == old.keys()  # the marked page is no spacewar.com page
    for key, row in new.items():
        assert without(row, "crawl_id") == without(old[key], "crawl_id")
        # re-extracted rows carry this run's id; carried ones keep theirs
        assert (row["crawl_id"] == crawled.crawl_id) == (row["site"] != "spacewar.com"), key
    report = report_of(run.output)["reextract"]
    spacewar = sum(1 for row in old.values() if row["site"] == "spacewar.com")
    assert report["rows_kept"] == len(old) - spacewar
    assert report["kept"]["not_reextracted"] == len(old) - spacewar


def test_months_select_by_the_rows_month(crawled: Crawled, tmp_path: Path) -> None:
    into = tmp_path / "next"
    run = reextract(crawled.dataset, "--into", str(into), "--months", "2025-05,2015-11")
    assert run.returncode == 0, run.output[-3000:]
    written = pq.read_table(into, partitioning="hive").to_pylist()
    new = by_key(written)
    assert new.keys() == by_key(crawled.rows).keys()
    fresh = {(r["year"], r["month"]) for r in written if r["crawl_id"] != crawled.crawl_id}
    assert fresh == {(2025, 5), (2015, 11)}


def test_stale_selects_rows_of_other_extractor_versions(crawled: Crawled, tmp_path: Path) -> None:
    # a copy of the dataset whose one file an older extractor wrote
    dataset = tmp_path / "articles"
    shutil.copytree(crawled.dataset, dataset)
    files = sorted(dataset.rglob("part-*.parquet"))
    older = files[0]
    table = pq.read_table(older)
    versions = pa.array(["0.9.0"] * table.num_rows, pa.string())
    table = table.set_column(
        table.schema.get_field_index("extractor_version"), "extractor_version", versions
    )
    pq.write_table(table, older)
    stale_urls = set(table.column("url").to_pylist())
    into = tmp_path / "next"
    run = reextract(
        dataset,
        "--into",
        str(into),
        "--stale",
        settings={"SMN_ARCHIVE_DIR": str(crawled.root / "warc")},
    )
    assert run.returncode == 0, run.output[-3000:]
    new = published_rows(into)
    assert len(new) == len(crawled.rows)
    for row in new:
        fresh = row["crawl_id"] != crawled.crawl_id
        assert fresh == (row["url"] in stale_urls), row["url"]
        assert row["extractor_version"] == EXTRACTOR_VERSION
    assert report_of(run.output)["reextract"]["pages_planned"] == len(stale_urls)


def test_damaged_records_are_skipped_counted_and_their_rows_kept(
    crawled: Crawled, tmp_path: Path
) -> None:
    root = tmp_path / "copy"
    shutil.copytree(crawled.root / "articles", root / "articles")
    shutil.copytree(crawled.root / "warc", root / "warc")
    damaged = damage_two_records(root / "warc", crawled.rows)
    into = tmp_path / "next"
    run = reextract(root / "articles", "--into", str(into))
    assert run.returncode == 0, run.output[-3000:]
    new = {row["url"]: row for row in published_rows(into)}
    assert len(new) == len(crawled.rows) + 1  # the marked page gained, nothing lost
    for url in damaged:
        assert new[url]["crawl_id"] == crawled.crawl_id  # carried over as it was
    report = report_of(run.output)["reextract"]
    assert report["damaged_records"] >= 2
    assert damaged <= {page["url"] for page in report["damaged"]}
    assert report["kept"]["damaged"] == 2
    assert "damaged records skipped" in run.output


def test_exit_codes(crawled: Crawled, tmp_path: Path) -> None:
    empty = reextract(crawled.dataset, settings={"SMN_OUTPUT": ""})
    assert empty.returncode == 2 and "SMN_OUTPUT is empty" in empty.output
    bad = reextract(crawled.dataset, "--into", str(tmp_path / "x"), "--months", "2025-13")
    assert bad.returncode == 2 and "2025-13" in bad.output
    unknown = reextract(crawled.dataset, "--into", str(tmp_path / "x"), "--sites", "nowhere")
    assert unknown.returncode == 2
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "something").write_text("x")
    assert reextract(crawled.dataset, "--into", str(tmp_path / "full")).returncode == 2
    # a directory that cannot be made: its parent is a file
    (tmp_path / "file").write_text("x")
    unwritable = reextract(crawled.dataset, "--into", str(tmp_path / "file" / "next"))
    assert unwritable.returncode == 4, unwritable.output[-2000:]
    assert unwritable.last_line.startswith("FAILED (code 4)")
    assert not (tmp_path / "x").exists()


def test_sigkill_leaves_no_output_and_the_next_run_finishes(
    crawled: Crawled, tmp_path: Path
) -> None:
    before = tree_digest(crawled.dataset)
    into = tmp_path / "next"
    started = tmp_path / "started"
    command, env = reextract_command(
        crawled.dataset,
        "--into",
        str(into),
        settings={"SMN_EXTRACT_WORK": "tests.support.marked_work.slow"},
        env={STARTED_ENV: str(started)},
    )
    with (tmp_path / "log").open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while not started.exists():
        assert process.poll() is None, (tmp_path / "log").read_text()[-2000:]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    hidden = [p for p in tmp_path.iterdir() if p.name.startswith(".next.reextract-")]
    assert hidden  # the next dataset is being built under a hidden name
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert not into.exists()
    assert tree_digest(crawled.dataset) == before
    again = reextract(crawled.dataset, "--into", str(into))
    assert again.returncode == 0, again.output[-3000:]
    assert len(published_rows(into)) == len(crawled.rows) + 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".next.reextract-")]


def test_without_into_the_result_becomes_the_datasets_next_generation(
    crawled: Crawled, replica: ReplicaHandle, tmp_path: Path
) -> None:
    """The default: the re-extracted dataset is switched in as the next generation of
    ``output/articles``; a reader that resolved the old one keeps reading it whole."""
    root = tmp_path / "copy"
    shutil.copytree(crawled.root, root, symlinks=True)
    dataset = root / "articles"
    assert dataset.is_symlink()  # the crawl made the dataset a link to its generation
    old_generation = dataset.resolve()
    replica.app.log.clear()
    run = reextract(dataset, env=replica.proxy_env())
    assert run.returncode == 0, run.output[-3000:]
    assert replica.app.log.total == 0
    assert dataset.resolve() != old_generation
    old, new = by_key(crawled.rows), by_key(published_rows(dataset))
    gained = new.keys() - old.keys()
    assert len(gained) == 1 and MARKER in new[gained.pop()]["url"]
    for key, row in old.items():
        assert without(new[key], "crawl_id") == without(row, "crawl_id"), key
    # The old generation is kept for its readers, whole.
    assert by_key(published_rows(old_generation)).keys() == old.keys()
    assert "switched" in run.output and "to the generation" in run.output
    # A crawl after it knows every page: nothing is fetched again, nothing doubled.
    again = subprocess.run(
        crawl_command(replica, dataset)[0],
        cwd=REPO,
        env=crawl_command(replica, dataset)[1],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert by_key(published_rows(dataset)).keys() == new.keys()
