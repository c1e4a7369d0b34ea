"""Damaged dataset files: the checks, the move to ``<dataset>.quarantine``, the dedup seed
and the state sync going on without them, the run report naming them, ``verify_dataset``.

Real Parquet files, written by the dataset writer or by pyarrow; the corruption shapes of
the reliability probe: truncated, empty, not Parquet (HTML), a foreign schema, an int64
``url``, damage inside a data page."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scrapy.exceptions import CloseSpider, DropItem

from crawler.commands.verify import verify_dataset
from crawler.dataset import keys as keys_module
from crawler.dataset.files import DatasetFile, published_files
from crawler.dataset.keys import KEY_COLUMNS, KeyReader
from crawler.dataset.quarantine import (
    REQUIRED_COLUMNS,
    STAT_COUNT,
    STAT_FILES,
    check_file,
    quarantine,
    quarantine_dir,
    verify_file,
)
from crawler.incremental.store import SqliteSeenStore
from crawler.incremental.sync import sync
from crawler.outcome.judge import ExitCode, Outcome, OutcomeRules
from crawler.outcome.report import build_report, summary_lines
from pipelines.dedup import DedupPipeline
from pipelines.parquet_writer import ParquetDatasetPipeline
from tests.support.corruption import (
    BAD,
    SHAPES,
)
from tests.support.writer import article, finished, make_crawler, read_all, run_writer

# -- the corruption shapes ----------------------------------------------------------------


def damage_data_page(path: Path, column: str = "text") -> None:
    """Random bytes in the middle of a column chunk's pages: footer and other columns intact."""
    meta = pq.ParquetFile(path).metadata
    chunk = meta.row_group(0).column(meta.schema.to_arrow_schema().get_field_index(column))
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    middle = start + chunk.total_compressed_size // 2
    data = bytearray(path.read_bytes())
    data[middle : middle + 16] = random.Random(0).randbytes(16)
    path.write_bytes(bytes(data))


def dataset_with(tmp_path: Path, shape: str | None = None, n: int = 10) -> tuple[Path, bytes]:
    """A dataset of ``n`` real rows (articles 0..n-1), with the shape at :data:`BAD`."""
    output = tmp_path / "articles"
    run_writer(output, [article(i) for i in range(n)], crawl_id="run1")
    good = finished(output)[0].read_bytes()
    if shape is not None:
        bad = output / BAD
        bad.parent.mkdir(parents=True, exist_ok=True)
        SHAPES[shape][0](bad, good)
    return output, good


def stats_of(crawler: Any) -> dict[str, Any]:
    return dict(crawler.stats.get_stats())


def report_of(stats: dict[str, Any], output: Path) -> dict[str, Any]:
    outcome = Outcome(ExitCode.OK, "")
    rules = OutcomeRules.from_settings(make_crawler(output).settings)
    return build_report(stats, crawl_id="run2", outcome=outcome, rules=rules, dataset=output)


# -- where and how ------------------------------------------------------------------------


def test_the_quarantine_is_beside_the_dataset_not_in_it(tmp_path: Path) -> None:
    assert quarantine_dir(tmp_path / "output" / "articles") == (
        tmp_path.resolve() / "output" / "articles.quarantine"
    )
    assert quarantine_dir(tmp_path / "output" / "articles" / "") == quarantine_dir(
        tmp_path / "output" / "articles"
    )
    assert REQUIRED_COLUMNS == KEY_COLUMNS


def test_quarantine_keeps_the_path_never_overwrites_and_says_why(tmp_path: Path) -> None:
    output = tmp_path / "articles"
    source = output / "year=2026" / "month=1" / "part-x-00001.parquet"
    source.parent.mkdir(parents=True)
    target = tmp_path / "articles.quarantine" / "year=2026" / "month=1"
    names = ["part-x-00001.parquet", "part-x-00001.1.parquet", "part-x-00001.2.parquet"]
    for n, content in enumerate([b"first", b"second", b"third"]):
        source.write_bytes(content)
        moved = quarantine(output, "year=2026/month=1/part-x-00001.parquet", f"reason {n}")
        assert not source.exists()
        assert moved == target / names[n]
    assert [(target / name).read_bytes() for name in names] == [b"first", b"second", b"third"]
    readme = (tmp_path / "articles.quarantine" / "README.txt").read_text()
    lines = [line for line in readme.splitlines() if "part-x-00001" in line]
    assert len(lines) == 3
    assert lines[0].endswith("year=2026/month=1/part-x-00001.parquet: reason 0")
    assert "kept as year=2026/month=1/part-x-00001.1.parquet" in lines[1]
    assert str(output.resolve()) in readme  # the header names the dataset
    with pytest.raises(FileNotFoundError):
        quarantine(output, "year=2026/month=1/part-x-00001.parquet", "gone")
    with pytest.raises(ValueError, match="inside the dataset"):
        quarantine(output, "../state.sqlite", "no")


def test_quarantine_copies_where_hard_links_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(src: Any, dst: Any) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    output = tmp_path / "articles"
    (output / "a").mkdir(parents=True)
    for content in (b"one", b"two"):
        (output / "a" / "x.parquet").write_bytes(content)
        quarantine(output, "a/x.parquet", "bad")
    moved = sorted((tmp_path / "articles.quarantine" / "a").iterdir())
    assert [(p.name, p.read_bytes()) for p in moved] == [
        ("x.1.parquet", b"two"),
        ("x.parquet", b"one"),
    ]
    assert not (output / "a" / "x.parquet").exists()


# -- the checks ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_each_shape_fails_the_cheap_check(tmp_path: Path, shape: str) -> None:
    output, _ = dataset_with(tmp_path, shape)
    reason = check_file(output / BAD)
    assert reason is not None and reason.startswith(SHAPES[shape][1]), reason
    assert verify_file(output / BAD) == reason
    assert check_file(finished(output)[0]) is None


def test_schemas_a_reader_can_use_pass(tmp_path: Path) -> None:
    _, good = dataset_with(tmp_path)
    table = pq.read_table(pa.BufferReader(good))

    def check(changed: pa.Table) -> str | None:
        path = tmp_path / "changed.parquet"
        pq.write_table(changed, path)
        return check_file(path)

    assert check(table) is None
    assert check(table.drop_columns(["category", "related_links"])) is None  # an older schema
    assert check(table.append_column("extra", pa.array(["x"] * table.num_rows))) is None
    word_count = table.schema.get_field_index("word_count")
    wide = pa.array([4] * table.num_rows, pa.int64())
    assert check(table.set_column(word_count, "word_count", wide)) is None  # cast by readers
    text = pa.array(["4"] * table.num_rows)
    assert check(table.set_column(word_count, "word_count", text)) == (
        "foreign schema: word_count is string, not int32"
    )
    nulls = pa.nulls(table.num_rows)  # a reader taking this schema first cannot cast to null
    section = table.schema.get_field_index("section")
    assert check(table.set_column(section, "section", nulls)) == (
        "foreign schema: section is null, not string"
    )
    assert check(table.drop_columns(["duplicate_of"])) == (
        "foreign schema: no column duplicate_of (columns: url, canonical_url, site, title, "
        "text, section, ...)"
    )


def test_damage_inside_a_data_page_is_found_by_the_full_check_only(tmp_path: Path) -> None:
    output, _ = dataset_with(tmp_path, n=200)
    (path,) = finished(output)
    damage_data_page(path)
    assert check_file(path) is None
    keys = KeyReader(output).read(next(iter(published_files(output))))
    assert keys is not None and keys.rows == 200  # the crawl's key columns are intact
    reason = verify_file(path)
    assert reason is not None and reason.startswith("damaged data: "), reason


def test_a_damaged_key_column_is_found_by_the_seed(tmp_path: Path) -> None:
    output, _ = dataset_with(tmp_path, n=200)
    (path,) = finished(output)
    damage_data_page(path, "canonical_url")
    reader = KeyReader(output)
    assert reader.read(next(iter(published_files(output)))) is None
    (entry,) = reader.quarantined
    assert entry.reason.startswith("damaged data: ")
    assert not path.exists() and entry.moved_to.exists()


# -- the dedup seed -----------------------------------------------------------------------


def second_run(output: Path, items: list[Any]) -> tuple[list[Any], Any]:
    """Dedup + dataset writer over ``items``, dedup seeded from the files (incremental runs
    off; with them on, the state's sync meets the files first); the items written and the
    crawler."""
    crawler = make_crawler(output, crawl_id="run2", SMN_INCREMENTAL=False)
    dedup = DedupPipeline.from_crawler(crawler)
    writer = ParquetDatasetPipeline.from_crawler(crawler)
    dedup.open_spider()
    writer.open_spider()
    written = []
    for item in items:
        with contextlib.suppress(DropItem):
            written.append(writer.process_item(dedup.process_item(item)))
    writer.close_spider()
    dedup.close_spider()
    return written, crawler


@pytest.mark.parametrize("shape", SHAPES)
def test_the_seed_quarantines_a_damaged_file_and_goes_on(tmp_path: Path, shape: str) -> None:
    output, _ = dataset_with(tmp_path, shape)
    written, crawler = second_run(output, [article(i) for i in range(15)])
    # the other rows still dedup: only the five new articles are written
    assert sorted(a.url for a in written) == sorted(article(i).url for i in range(10, 15))
    assert not (output / BAD).exists()
    moved = tmp_path / "articles.quarantine" / BAD
    assert moved.exists()
    stats = stats_of(crawler)
    assert stats[STAT_COUNT] == 1 and "smn/error/dedup_seed" not in stats
    (entry,) = stats[STAT_FILES]
    assert entry["path"] == BAD and entry["reason"].startswith(SHAPES[shape][1])
    assert entry["moved_to"] == str(moved.resolve())
    report = report_of(stats, output)
    assert report["quarantined"] == [entry]
    lines = summary_lines(report)
    (line,) = [line for line in lines if line.startswith("  quarantined: ")]
    assert line == (f"  quarantined: {BAD} ({entry['reason']}); moved to {quarantine_dir(output)}/")
    assert read_all(output) == (15, 15, 15)  # pyarrow.dataset, pandas, DuckDB


def test_a_report_without_quarantine_is_as_before(tmp_path: Path) -> None:
    output, _ = dataset_with(tmp_path)
    _, crawler = second_run(output, [article(1)])
    report = report_of(stats_of(crawler), output)
    assert report["quarantined"] == []
    assert not any("quarantined" in line for line in summary_lines(report))


def test_a_dataset_that_cannot_be_listed_still_stops_the_crawl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output, _ = dataset_with(tmp_path)
    real_scandir = os.scandir
    locked = output / "year=2026"

    def scandir(path: Any = ".") -> Any:
        if Path(path) == locked:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    crawler = make_crawler(output, crawl_id="run2", SMN_INCREMENTAL=False)
    dedup = DedupPipeline.from_crawler(crawler)
    with pytest.raises(CloseSpider) as stopped:
        dedup.open_spider()
    assert stopped.value.reason == "output_error"
    assert stats_of(crawler)["smn/error/dedup_seed"] == 1
    # the state forgets nothing it cannot see
    store = SqliteSeenStore(tmp_path / "state.sqlite", recheck_days=7)
    monkeypatch.setattr(os, "scandir", real_scandir)
    assert sync(store, output).ingested == 1
    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(PermissionError):
        sync(store, output)
    assert len(store.ingested_files()) == 1
    store.close()


def test_a_file_that_cannot_be_opened_is_an_error_not_damage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output, _ = dataset_with(tmp_path)
    (path,) = finished(output)

    def refused(source: Any, *args: Any, **kwargs: Any) -> Any:
        # what pyarrow raises for a file it may not open (errno set: the system said no)
        raise PermissionError(errno.EACCES, f"Failed to open local file '{source}'")

    monkeypatch.setattr(pq, "ParquetFile", refused)
    file = next(iter(published_files(output)))
    with pytest.raises(PermissionError):
        KeyReader(output).read(file)
    assert path.exists()
    assert not quarantine_dir(output).exists()


def test_a_file_gone_since_the_listing_is_skipped(tmp_path: Path) -> None:
    output, _ = dataset_with(tmp_path, "html")
    files = sorted(published_files(output))
    first, second = KeyReader(output), KeyReader(output)
    bad = next(f for f in files if f.path == BAD)
    assert first.read(bad) is None and len(first.quarantined) == 1
    assert second.read(bad) is None and second.quarantined == []  # moved by the first
    assert second.read(DatasetFile("year=2026/month=1/never.parquet", 1, 1)) is None


# -- the state sync -----------------------------------------------------------------------


def test_the_sync_quarantines_what_it_meets_first(tmp_path: Path) -> None:
    output, _ = dataset_with(tmp_path, "truncated")
    store = SqliteSeenStore(tmp_path / "state.sqlite", recheck_days=7)
    report = sync(store, output)
    assert (report.ingested, report.rows, report.unreadable) == (1, 10, 1)
    (entry,) = report.quarantined
    assert entry.path == BAD and entry.reason.startswith("truncated or damaged Parquet file")
    assert not (output / BAD).exists() and entry.moved_to.exists()
    again = sync(store, output)
    assert (again.ingested, again.unreadable, again.quarantined) == (0, 0, ())
    store.close()


def test_the_sync_after_the_seed_finds_the_file_gone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    output, _ = dataset_with(tmp_path, "url_int64")
    store = SqliteSeenStore(tmp_path / "state.sqlite", recheck_days=7)
    _, crawler = second_run(output, [])  # the seed at spider open comes first
    assert stats_of(crawler)[STAT_COUNT] == 1
    caplog.clear()
    report = sync(store, output)
    assert (report.ingested, report.unreadable, report.quarantined) == (1, 0, ())
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
    store.close()


def test_the_seed_logs_the_file_and_the_reason_at_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    output, _ = dataset_with(tmp_path, "zero_bytes")
    second_run(output, [])
    (record,) = [r for r in caplog.records if r.levelname == "ERROR"]
    message = record.getMessage()
    assert BAD in message and "empty file (0 bytes)" in message
    assert str(quarantine_dir(output)) in message


def test_a_file_that_cannot_be_moved_stops_the_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output, _ = dataset_with(tmp_path, "html")

    def cannot(*args: Any, **kwargs: Any) -> Path:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(keys_module, "quarantine", cannot)
    crawler = make_crawler(output, crawl_id="run2", SMN_INCREMENTAL=False)
    with pytest.raises(CloseSpider) as stopped:
        DedupPipeline.from_crawler(crawler).open_spider()
    assert stopped.value.reason == "output_error"
    assert stats_of(crawler)["smn/error/dedup_seed"] == 1
    assert (output / BAD).exists()


# -- verify -------------------------------------------------------------------------------


def test_verify_dataset(tmp_path: Path) -> None:
    output, _ = dataset_with(tmp_path, n=200)
    run_writer(output, [article(i, published_date=dt.date(2025, 1, 2)) for i in range(300, 310)])
    assert verify_dataset(output) == (
        [f"OK: 2 files verified in {output.resolve()}"],
        ExitCode.OK,
    )
    damaged = next(p for p in finished(output) if "month=11" in str(p))
    damage_data_page(damaged)
    lines, code = verify_dataset(output)
    assert code == ExitCode.OUTPUT_ERROR
    assert lines == [
        f"FAILED (code 4): 1 of 2 files were damaged and quarantined to {quarantine_dir(output)}"
    ]
    assert not damaged.exists()
    assert (quarantine_dir(output) / damaged.relative_to(output)).exists()
    assert read_all(output) == (10, 10, 10)
    assert verify_dataset(output)[1] == ExitCode.OK
