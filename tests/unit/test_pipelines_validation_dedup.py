"""ValidationPipeline drops/fixes by reason; DedupPipeline dedups across runs via the dataset
(read from the files with incremental runs off, asked of the incremental state with them on)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.utils.test import get_crawler

from crawler.incremental.run import IncrementalRun
from crawler.incremental.store import SqliteSeenStore
from crawler.items import Article
from pipelines.dedup import DedupPipeline
from pipelines.parquet_writer import ParquetDatasetPipeline
from pipelines.validation import ValidationPipeline

FETCHED = dt.datetime(2026, 11, 23, 18, 15, tzinfo=dt.UTC)


def article(i: int, **changes: Any) -> Article:
    url = f"https://www.spacewar.com/reports/story_{i}.html"
    a = Article(
        url=url,
        canonical_url=url,
        site="spacewar.com",
        title=f"Story {i}",
        text=f"Body {i}.",
        published_date=dt.date(2026, 11, 20),
        content_hash=f"h{i}",
        fetched_at=FETCHED,
    )
    return dataclasses.replace(a, **changes)


def make_crawler(**settings: Any) -> Crawler:
    crawler = get_crawler(Spider, settings)
    crawler.spider = Spider.from_crawler(crawler, name="smn")
    return crawler


def stats(pipeline: Any) -> dict[str, Any]:
    return pipeline.crawler.stats.get_stats()


# -- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"title": ""}, "no_title"),
        ({"title": " \n\t"}, "no_title"),
        ({"title": None}, "no_title"),
        ({"text": ""}, "no_text"),
        ({"text": "   "}, "no_text"),
        ({"url": ""}, "no_url"),
        ({"word_count": "12"}, "schema_error"),
        ({"authors": "A. Person"}, "schema_error"),
        ({"published_date": "2026-11-20"}, "schema_error"),
    ],
)
def test_validation_drops_by_reason(change: dict[str, Any], reason: str) -> None:
    pipeline = ValidationPipeline.from_crawler(make_crawler())
    with pytest.raises(DropItem, match=reason):
        pipeline.process_item(article(1, **change))
    assert stats(pipeline)[f"articles/dropped/{reason}"] == 1


def test_validation_counts_each_reason() -> None:
    pipeline = ValidationPipeline.from_crawler(make_crawler())
    items = [article(1, title=""), article(2, title=""), article(3, text=""), article(4)]
    kept = []
    for item in items:
        with contextlib.suppress(DropItem):
            kept.append(pipeline.process_item(item))
    assert kept == [items[3]]
    s = stats(pipeline)
    assert (s["articles/dropped/no_title"], s["articles/dropped/no_text"]) == (2, 1)


def test_validation_drops_non_items() -> None:
    pipeline = ValidationPipeline.from_crawler(make_crawler())
    with pytest.raises(DropItem, match="schema_error"):
        pipeline.process_item("a string")


def test_future_published_date_is_set_to_none_and_counted() -> None:
    pipeline = ValidationPipeline.from_crawler(make_crawler())
    same_day = pipeline.process_item(article(1, published_date=FETCHED.date()))
    assert same_day.published_date == FETCHED.date()
    future = pipeline.process_item(article(2, published_date=dt.date(2026, 11, 24)))
    assert future.published_date is None
    # fetched_at in another zone: the UTC date counts (18:15 UTC is 02:15 next day in Beijing)
    beijing = dt.timezone(dt.timedelta(hours=8))
    local = article(3, published_date=dt.date(2026, 11, 24), fetched_at=FETCHED.astimezone(beijing))
    assert pipeline.process_item(local).published_date is None
    assert stats(pipeline)["articles/fixed/future_date"] == 2


def test_future_date_tolerance_setting() -> None:
    crawler = make_crawler(SMN_FUTURE_DATE_TOLERANCE_DAYS=1)
    pipeline = ValidationPipeline.from_crawler(crawler)
    item = pipeline.process_item(article(1, published_date=dt.date(2026, 11, 24)))
    assert item.published_date == dt.date(2026, 11, 24)


def test_validation_can_be_switched_off() -> None:
    with pytest.raises(NotConfigured):
        ValidationPipeline.from_crawler(make_crawler(SMN_VALIDATION_ENABLED=False))


# -- dedup --------------------------------------------------------------------------------


def run(
    output: Path, items: list[Article], crawl_id: str, *, state: bool = False, **settings: Any
) -> tuple[list[Article], DedupPipeline]:
    """One run of dedup + dataset writer; returns the items written. ``state``: with the
    incremental state opened and synced as a crawl does (else incremental runs are off)."""
    crawler = make_crawler(
        SMN_OUTPUT=str(output), SMN_CRAWL_ID=crawl_id, SMN_INCREMENTAL=state, **settings
    )
    dedup = DedupPipeline.from_crawler(crawler)
    writer = ParquetDatasetPipeline.from_crawler(crawler)
    dedup.open_spider()
    writer.open_spider()
    incremental = IncrementalRun.of(crawler) if state else None
    if incremental is not None:
        incremental.spider_opened()  # after the pipelines, as in a crawl
    written = []
    for item in items:
        with contextlib.suppress(DropItem):
            written.append(writer.process_item(dedup.process_item(item)))
    writer.close_spider()
    dedup.close_spider()
    if incremental is not None:
        incremental.spider_closed("finished")
    return written, dedup


@pytest.mark.parametrize("state", [False, True], ids=["files", "state"])
def test_dedup_within_a_run_and_syndicated_copies(tmp_path: Path, state: bool) -> None:
    other = "https://www.spacedaily.com/reports/story_1_copy.html"
    items = [
        article(1),
        article(1),  # same canonical URL again
        article(2, url=other, canonical_url=other, content_hash="h1"),  # wire copy of 1
        article(3, content_hash=""),
        article(4, content_hash=""),  # empty hashes never match
    ]
    written, dedup = run(tmp_path / "ds", items, "run1", state=state)
    assert [a.url for a in written] == [items[i].url for i in (0, 2, 3, 4)]
    assert written[1].duplicate_of == items[0].url
    assert written[0].duplicate_of is None
    assert written[2].duplicate_of is None and written[3].duplicate_of is None
    s = stats(dedup)
    assert (s["articles/dropped/duplicate_url"], s["articles/syndicated"]) == (1, 1)


@pytest.mark.parametrize("state", [False, True], ids=["files", "state"])
def test_dedup_knows_the_dataset(tmp_path: Path, state: bool) -> None:
    out = tmp_path / "ds"
    first = article(1)
    copy_url = "https://www.spacedaily.com/reports/a.html"
    copy = article(2, url=copy_url, canonical_url=copy_url, content_hash="h1")
    run(out, [first, copy, article(3, content_hash="")], "run1", state=state)

    third_url = "https://www.terradaily.com/reports/a.html"
    second_run = [
        article(1),  # stored by run 1
        dataclasses.replace(copy),  # stored by run 1 (a copy)
        article(3, content_hash=""),  # stored by run 1
        article(4, url=third_url, canonical_url=third_url, content_hash="h1"),  # third copy
        article(5, content_hash=""),
    ]
    written, dedup = run(out, second_run, "run2", state=state)
    assert [a.url for a in written] == [third_url, article(5).url]
    # points at the first copy stored by run 1, not at the copy
    assert written[0].duplicate_of == first.url
    s = stats(dedup)
    # With the state nothing of the dataset is read: every record is asked instead.
    assert s.get("dedup/seed_rows") == (None if state else 3)
    assert s.get("dedup/state_lookups") == (5 if state else None)
    assert s["articles/dropped/duplicate_url"] == 3 and s["articles/syndicated"] == 1


def test_a_stored_url_is_known_by_its_url_as_by_its_canonical_url(tmp_path: Path) -> None:
    """Both give one answer: a record whose canonical URL is the URL a stored row was
    fetched from is that page again."""
    out = tmp_path / "ds"
    canonical = "https://www.spacedaily.com/reports/canonical.html"
    run(out, [article(1, canonical_url=canonical)], "run1")
    for state in (False, True):
        again = [
            article(2, url=canonical, canonical_url=canonical),
            article(3, canonical_url=article(1).url),  # the stored row's url
        ]
        written, _ = run(out, again, f"run2{state}", state=state, SMN_DATASET_LOCK=False)
        assert written == []


def test_the_state_answers_as_the_files_do_and_survives_a_rebuild(tmp_path: Path) -> None:
    """Two runs store one story twice (concurrent runs, each unaware of the other): the
    first copy is the one of the file first in path order, from the files, from the state
    (which ingested the other file first) and from a state rebuilt from the dataset alike."""
    out = tmp_path / "ds"
    one = "https://www.spacedaily.com/reports/one.html"
    two = "https://www.terradaily.com/reports/two.html"
    for crawl_id, url in (("run-b", two), ("run-a", one)):
        writer = ParquetDatasetPipeline.from_crawler(
            make_crawler(SMN_OUTPUT=str(out), SMN_CRAWL_ID=crawl_id)
        )
        writer.open_spider()
        writer.process_item(article(1, url=url, canonical_url=url))
        writer.close_spider()
        run(out, [], f"sync-{crawl_id}", state=True)  # the state ingests run-b's file first
    state_file = tmp_path / "state.sqlite"
    answers = []
    for attempt, state in enumerate((False, True, True, "rebuilt")):
        if state == "rebuilt":
            for p in tmp_path.glob("state.sqlite*"):
                p.unlink()
        third = f"https://www.gpsdaily.com/reports/third{attempt}.html"
        written, _ = run(
            out,
            [article(9, url=third, canonical_url=third, content_hash="h1")],
            f"run-c{attempt}",
            state=bool(state),
            SMN_DATASET_LOCK=False,
        )
        answers.append(written[0].duplicate_of)
        # Kept out of the next attempt's dataset: each asks about the same two copies.
        for f in out.rglob(f"part-run-c{attempt}-*.parquet"):
            f.unlink()
    assert state_file.exists()
    # "run-a" sorts before "run-b": its copy is the first.
    assert answers == [one, one, one, one]


def test_a_state_of_an_older_crawler_is_filled_once(tmp_path: Path) -> None:
    """A state whose files were ingested without their story copies (an older crawler: no
    copies and ingests tables) reads its files once more, then knows the first copies."""
    out = tmp_path / "ds"
    run(out, [article(1), article(2)], "run1", state=True)
    state_file = tmp_path / "state.sqlite"
    store = SqliteSeenStore(state_file, recheck_days=7)
    store._db.executescript("DROP TABLE copies; DROP TABLE ingests;")  # as an older one left it
    store.close()
    copy = "https://www.terradaily.com/reports/copy.html"
    written, dedup = run(
        out,
        [article(1), article(3, url=copy, canonical_url=copy, content_hash="h2")],
        "run2",
        state=True,
    )
    assert [(a.url, a.duplicate_of) for a in written] == [(copy, article(2).url)]
    assert stats(dedup)["smn/incremental/files_ingested"] == 2  # run1's again, then run2's
    assert "smn/incremental/files_forgotten" not in stats(dedup)
    _, dedup = run(out, [], "run3", state=True)
    assert "smn/incremental/files_ingested" not in stats(dedup)  # once only


def test_a_state_lost_during_the_run_hands_over_to_the_files(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    run(out, [article(1)], "run1", state=True)
    crawler = make_crawler(SMN_OUTPUT=str(out), SMN_CRAWL_ID="run2")
    dedup = DedupPipeline.from_crawler(crawler)
    dedup.open_spider()
    incremental = IncrementalRun.of(crawler)
    incremental.spider_opened()
    assert dedup.process_item(article(2)) is not None  # asked of the state
    incremental._store.lost = True  # type: ignore[union-attr]  # as after StateDamaged
    with pytest.raises(DropItem):
        dedup.process_item(article(1))
    assert dedup.process_item(article(3)) is not None
    with pytest.raises(DropItem):
        dedup.process_item(article(2))  # this run's, before the hand-over
    assert stats(dedup)["dedup/seed_rows"] == 1
    incremental.spider_closed("finished")


def test_dedup_without_dataset_or_disabled(tmp_path: Path) -> None:
    dedup = DedupPipeline.from_crawler(make_crawler(SMN_OUTPUT=str(tmp_path / "missing")))
    dedup.open_spider()
    assert len(dedup.known_urls) == 0
    dedup = DedupPipeline.from_crawler(make_crawler(SMN_OUTPUT=""))
    dedup.open_spider()
    assert dedup.process_item(article(1)) is not None
    with pytest.raises(NotConfigured):
        DedupPipeline.from_crawler(make_crawler(SMN_DEDUP_ENABLED=False))


def test_a_damaged_file_no_longer_stops_the_crawl_it_is_quarantined(tmp_path: Path) -> None:
    out = tmp_path / "ds" / "year=2026" / "month=11"
    out.mkdir(parents=True)
    (out / "part-broken-00000.parquet").write_bytes(b"not parquet")
    crawler = make_crawler(SMN_OUTPUT=str(tmp_path / "ds"), SMN_INCREMENTAL=False)
    dedup = DedupPipeline.from_crawler(crawler)
    dedup.open_spider()  # goes on
    assert "smn/error/dedup_seed" not in stats(dedup)
    assert stats(dedup)["smn/dataset/quarantined"] == 1
    moved = tmp_path / "ds.quarantine" / "year=2026" / "month=11" / "part-broken-00000.parquet"
    assert moved.read_bytes() == b"not parquet"
    assert not (out / "part-broken-00000.parquet").exists()
