"""The verdict on a run, judged from its stats alone (crawler.outcome.judge, layout_watch)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from scrapy.settings import Settings

from crawler.dataset.lock import DatasetLock, DatasetLocked, lock_path
from crawler.dataset.paths import reports_dir
from crawler.outcome.judge import ExitCode, OutcomeRules, error_count, judge, records_lost
from crawler.outcome.layout_watch import LayoutRules, watch_layout
from crawler.outcome.report import build_report, summary_lines, write_report

SITES = {"spacewar.com": 10, "spacedaily.com": 15, "spacemart.com": 4}
FIELDS = ("title", "byline", "dateline", "published_date", "text")


def clean_stats(changes: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The stats of a good run over the replica (trimmed), with ``changes`` applied;
    a value of None removes the key."""
    stats: dict[str, Any] = {
        "start_time": dt.datetime(2026, 3, 1, 6, 0, tzinfo=dt.UTC),
        "finish_time": dt.datetime(2026, 3, 1, 6, 1, tzinfo=dt.UTC),
        "elapsed_time_seconds": 60.0,
        "finish_reason": "finished",
        "downloader/request_count": 146,
        "downloader/response_count": 146,
        "downloader/response_status_count/200": 77,
        "downloader/response_status_count/404": 59,
        "downloader/exception_type_count/scrapy.exceptions.IgnoreRequest": 6,
        "httperror/response_ignored_status_count/404": 40,
        "robotstxt/forbidden": 6,
        "log_count/INFO": 44,
        "smn/entry/fetched": 13,
        "smn/entry/failed/404": 38,
        "smn/articles/extracted": 29,
        "articles/syndicated": 2,
        "parquet/rows_written": 29,
        "item_scraped_count": 29,
    }
    for site, pages in SITES.items():
        prefix = f"smn/site/{site}"
        stats[f"{prefix}/article_pages"] = pages
        stats[f"{prefix}/articles"] = pages
        stats[f"{prefix}/recognised"] = pages
        for name in FIELDS:
            stats[f"{prefix}/field/{name}"] = pages
    for key, value in (changes or {}).items():
        if value is None:
            stats.pop(key, None)
        else:
            stats[key] = value
    return stats


def test_a_clean_run_is_ok() -> None:
    outcome = judge(clean_stats())
    assert outcome.code == ExitCode.OK == 0
    assert outcome.line().startswith("OK: 29 articles written (2 syndicated copies)")


def test_a_second_run_that_finds_only_known_urls_is_ok() -> None:
    stats = clean_stats({"articles/dropped/duplicate_url": 29, "parquet/rows_written": 0})
    assert judge(stats).code == ExitCode.OK


@pytest.mark.parametrize("reason", ["closespider_timeout", "closespider_itemcount"])
def test_a_limit_the_operator_set_is_ok(reason: str) -> None:
    outcome = judge(clean_stats({"finish_reason": reason}))
    assert outcome.ok
    assert reason in outcome.reason


@pytest.mark.parametrize(
    ("changes", "code", "words"),
    [
        ({"smn/entry/fetched": 0}, ExitCode.NO_ENTRY_POINT, "no entry point"),
        (
            {"finish_reason": "output_error", "smn/error/output": 1, "parquet/rows_lost": 3},
            ExitCode.OUTPUT_ERROR,
            "3 records lost",
        ),
        ({"feedexport/failed_count/FileFeedStorage": 1}, ExitCode.OUTPUT_ERROR, "feed"),
        ({"smn/error/report": 1}, ExitCode.OUTPUT_ERROR, "report"),
        (
            {"finish_reason": "state_error", "smn/error/state": 1},
            ExitCode.OUTPUT_ERROR,
            "incremental state",
        ),
        ({"finish_reason": "shutdown"}, ExitCode.INCOMPLETE, "'shutdown'"),
        ({"finish_reason": None}, ExitCode.INCOMPLETE, "killed"),
        ({"parquet/rows_written": 25}, ExitCode.RECORDS_LOST, "4 of 29"),
        (
            {"parquet/rows_written": 28, "articles/dropped/schema_error": 1},
            ExitCode.RECORDS_LOST,
            "schema",
        ),
        (
            {"spider_exceptions/count": 2, "spider_exceptions/ValueError": 2},
            ExitCode.EXCEPTIONS,
            "spider ValueError x2",
        ),
        (
            {"smn/errors/pipeline/count": 1, "smn/errors/pipeline/KeyError": 1},
            ExitCode.EXCEPTIONS,
            "pipeline KeyError x1",
        ),
        ({"log_count/ERROR": 51}, ExitCode.TOO_MANY_ERRORS, "51 errors (max 50)"),
        ({"finish_reason": "closespider_errorcount"}, ExitCode.TOO_MANY_ERRORS, "errors"),
    ],
)
def test_each_failure_has_its_code(changes: dict[str, Any], code: ExitCode, words: str) -> None:
    outcome = judge(clean_stats(changes))
    assert outcome.code == code, outcome.line()
    assert outcome.line().startswith(f"FAILED (code {int(code)}): ")
    assert words in outcome.line()


def test_codes_are_distinct_and_keep_scrapys_own() -> None:
    assert len({int(c) for c in ExitCode}) == len(ExitCode)
    assert ExitCode.USAGE == 2 and ExitCode.NOT_STARTED == 1


def test_no_entry_point_says_what_the_entry_points_answered() -> None:
    stats = clean_stats(
        {
            "smn/entry/fetched": 0,
            "smn/entry/failed/503": 13,
            "downloader/exception_type_count/scrapy.exceptions.DownloadTimeoutError": 9,
        }
    )
    assert judge(stats).line() == (
        "FAILED (code 6): no entry point could be fetched "
        "(HTTP 404 x38, HTTP 503 x13, DownloadTimeoutError x9)"
    )


def test_without_entry_point_counts_any_2xx_response_is_an_entry() -> None:
    assert judge(clean_stats({"smn/entry/fetched": None})).ok
    stats = clean_stats({"smn/entry/fetched": None, "downloader/response_status_count/200": None})
    assert judge(stats).code == ExitCode.NO_ENTRY_POINT


def test_the_first_problem_decides_and_the_others_are_named() -> None:
    stats = clean_stats(
        {
            "log_count/ERROR": 80,
            "smn/site/spacewar.com/recognised": 2,
        }
    )
    outcome = judge(stats)
    assert outcome.code == ExitCode.LAYOUT_CHANGED
    assert [p.code for p in outcome.also] == [ExitCode.TOO_MANY_ERRORS]
    assert "also: 80 errors (max 50)" in outcome.line()


def test_an_output_error_does_not_also_report_lost_records_or_missing_entries() -> None:
    stats = clean_stats(
        {
            "finish_reason": "output_error",
            "smn/error/output": 1,
            "parquet/rows_written": 0,
            "smn/entry/fetched": 0,
        }
    )
    outcome = judge(stats)
    assert outcome.code == ExitCode.OUTPUT_ERROR
    assert outcome.also == ()


def test_errors_count_each_failure_once() -> None:
    # A download that failed after its retries logs "Gave up retrying" and "Error
    # downloading"; a 503 given up logs the first only and is ignored at INFO.
    stats = {
        "log_count/ERROR": 3,
        "retry/max_reached": 2,
        "httperror/response_ignored_status_count/503": 1,
        "httperror/response_ignored_status_count/404": 30,
    }
    assert error_count(stats) == 2
    assert error_count(stats, give_up_is_error=False) == 4
    rules = OutcomeRules.from_settings({"RETRY_GIVE_UP_LOG_LEVEL": "WARNING"})
    assert not rules.give_up_is_error


def test_max_errors_setting() -> None:
    stats = clean_stats({"log_count/ERROR": 3})
    assert judge(stats, {"SMN_MAX_ERRORS": 2}).code == ExitCode.TOO_MANY_ERRORS
    assert judge(stats, {"SMN_MAX_ERRORS": 3}).ok
    assert judge(clean_stats({"log_count/ERROR": 10_000}), {"SMN_MAX_ERRORS": -1}).ok
    assert judge(stats, Settings({"SMN_MAX_ERRORS": "2"})).code == ExitCode.TOO_MANY_ERRORS


def test_without_the_dataset_writer_items_scraped_are_the_written_records() -> None:
    stats = clean_stats({"parquet/rows_written": None})
    assert judge(stats).code == ExitCode.RECORDS_LOST
    assert judge(stats, {"SMN_OUTPUT": ""}).ok
    assert records_lost(clean_stats({"item_scraped_count": 20}), writer_enabled=False) == 9


# -- the layout watch --------------------------------------------------------------------


def test_a_site_read_by_the_fallback_fires_the_watch_and_names_the_fields() -> None:
    stats = clean_stats(
        {
            "smn/site/spacewar.com/recognised": 4,
            "smn/site/spacewar.com/field/dateline": 4,
            "smn/site/spacewar.com/field/byline": 4,
        }
    )
    outcome = judge(stats)
    assert outcome.code == ExitCode.LAYOUT_CHANGED
    line = outcome.line()
    assert (
        "spacewar.com: 40% of 10 article pages read by a known layout "
        "(min 80%; 6 by the fallback)" in line
    )
    assert "dateline 40% (min 50%)" in line
    assert "byline" not in line  # 40% is above byline's 20%
    assert "spacedaily.com" not in line


def test_pages_that_stop_reading_as_articles_fire_the_watch() -> None:
    stats = clean_stats(
        {
            f"smn/site/spacedaily.com/{key}": 0
            for key in ["articles", "recognised", *(f"field/{n}" for n in FIELDS)]
        }
    )
    outcome = judge(stats)
    assert outcome.code == ExitCode.LAYOUT_CHANGED
    assert "spacedaily.com: 0% of 15 article pages" in outcome.line()
    assert "15 not read as articles" in outcome.line()


def test_a_field_lost_by_a_known_layout_fires_the_watch() -> None:
    outcome = judge(clean_stats({"smn/site/spacedaily.com/field/dateline": 1}))
    assert outcome.code == ExitCode.LAYOUT_CHANGED
    assert "spacedaily.com: fields below their minimum on 15 articles: dateline 7%" in (
        outcome.line()
    )


def test_sites_with_few_article_pages_are_not_judged() -> None:
    stats = clean_stats({"smn/site/spacemart.com/recognised": 0})
    assert judge(stats).ok
    watch = watch_layout(stats)
    assert not watch.sites["spacemart.com"].judged
    assert watch.sites["spacemart.com"].share == 0


def test_layout_thresholds_are_settings() -> None:
    stats = clean_stats({"smn/site/spacewar.com/recognised": 7})
    assert judge(stats).code == ExitCode.LAYOUT_CHANGED
    assert judge(stats, {"SMN_LAYOUT_MIN_SHARE": 0.7}).ok
    assert judge(stats, {"SMN_LAYOUT_MIN_PAGES": 11}).ok
    lost_byline = clean_stats({"smn/site/spacedaily.com/field/byline": 0})
    assert judge(lost_byline).code == ExitCode.LAYOUT_CHANGED
    assert judge(lost_byline, {"SMN_LAYOUT_MIN_FIELD_COVERAGE": '{"byline": 0}'}).ok
    rules = LayoutRules.from_settings(Settings({"SMN_LAYOUT_MIN_FIELD_COVERAGE": "0.3"}))
    assert set(rules.field_min_coverage.values()) == {0.3}


# -- the report --------------------------------------------------------------------------


def test_report_holds_the_figures_and_the_summary_ends_with_the_outcome(
    tmp_path: Path,
) -> None:
    stats = clean_stats(
        {
            "retry/count": 3,
            "retry/reason_count/503 Service Unavailable": 3,
            "downloader/exception_type_count/scrapy.exceptions.DownloadTimeoutError": 2,
            "downloader/exception_type_count/scrapy.exceptions.DownloadCancelledError": 1,
            "smn/incremental/skipped": 12,
            "articles/dropped/duplicate_url": 5,
            "smn/articles/extracted": 34,
            "log_count/ERROR": 1,
        }
    )
    outcome = judge(stats)
    rules = OutcomeRules()
    dataset = tmp_path / "articles"
    files = [dataset / "year=2026" / "month=3" / "part-x-00000.parquet"]
    report = build_report(
        stats, crawl_id="run-1", outcome=outcome, rules=rules, dataset=dataset, files=files
    )
    path = write_report(tmp_path / "reports", report)
    assert path == tmp_path / "reports" / "run-1.json"
    loaded = json.loads(path.read_text())
    assert loaded["exit_code"] == 0
    assert loaded["started_at"] == "2026-03-01T06:00:00+00:00"
    assert loaded["elapsed_seconds"] == 60.0
    assert loaded["responses"]["by_status"] == {"200": 77, "404": 59}
    assert loaded["articles"] == {
        "extracted": 34,
        "written": 29,
        "known_skipped": 12,
        "known_skipped_by_kind": {},
        "duplicates": 5,
        "syndicated": 2,
        "dropped": {"duplicate_url": 5},
        "lost": 0,
    }
    assert loaded["errors"]["download_exceptions"] == {
        "scrapy.exceptions.DownloadCancelledError": 1,
        "scrapy.exceptions.DownloadTimeoutError": 2,
    }
    assert loaded["faults"]["timeouts"] == 2
    assert loaded["faults"]["size_cap_cancels"] == 1
    assert loaded["faults"]["retries"] == 3
    assert loaded["faults"]["robots_forbidden"] == 6
    assert loaded["files_written"] == ["year=2026/month=3/part-x-00000.parquet"]
    assert loaded["layout_watch"]["sites"]["spacewar.com"]["recognised_share"] == 1.0
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]
    lines = summary_lines(loaded, path)
    assert 3 <= len(lines) <= 8
    assert lines[-1] == outcome.line()
    with pytest.raises(FileExistsError):
        write_report(tmp_path / "reports", report, replace=False)


def test_reports_go_beside_the_dataset_unless_set() -> None:
    assert reports_dir(Settings({"SMN_OUTPUT": "out/articles"})) == Path("out/reports")
    assert reports_dir(Settings({"SMN_REPORTS": "/var/smn"})) == Path("/var/smn")
    assert reports_dir(Settings({"SMN_REPORTS": ""})) is None


# -- the lock ------------------------------------------------------------------------------


def test_dataset_lock_is_exclusive_and_outside_the_dataset(tmp_path: Path) -> None:
    dataset = tmp_path / "out" / "articles"
    assert lock_path(dataset) == tmp_path / "out" / ".articles.lock"
    # flock locks belong to the open file: a second open in this process conflicts too
    with DatasetLock.acquire(dataset), pytest.raises(DatasetLocked, match=r"another run .*pid \d+"):
        DatasetLock.acquire(dataset)
    DatasetLock.acquire(dataset).release()
    assert not dataset.exists()


def test_a_clock_behind_the_dataset_is_its_own_failure() -> None:
    stats = clean_stats(
        {
            "finish_reason": "clock_error",
            "smn/clock/behind_hours": 43_800.0,
            "smn/articles/extracted": None,
            "parquet/rows_written": None,
            "item_scraped_count": None,
            "smn/entry/fetched": None,
        }
    )
    outcome = judge(stats)
    assert outcome.code == ExitCode.CLOCK_BEHIND == 11
    assert outcome.also == ()  # not also "did not finish" or "no entry point"
    assert outcome.line().startswith(
        "FAILED (code 11): the system clock is 43800 hours behind the dataset's newest fetch"
    )


def test_implausible_and_disagreeing_fields_are_in_the_report_per_site() -> None:
    stats = clean_stats(
        {
            "smn/fields/implausible/byline": 3,
            "smn/site/spacewar.com/implausible/byline": 3,
            "smn/fields/disagree/published_date": 2,
            "smn/site/spacedaily.com/disagree/published_date": 2,
        }
    )
    report = build_report(
        stats, crawl_id="x", outcome=judge(stats), rules=OutcomeRules(), dataset=None
    )
    assert report["fields"]["implausible"] == {"byline": 3}
    assert report["fields"]["sites"]["spacewar.com"]["implausible"] == {"byline": 3}
    assert report["fields"]["sites"]["spacedaily.com"]["disagree"] == {"published_date": 2}
    assert (
        "  fields: 3 written as null (spacewar.com: byline 3); "
        "sources disagree 2 (spacedaily.com: published_date 2)"
    ) in summary_lines(report)
    clean = build_report(
        clean_stats(), crawl_id="x", outcome=judge(clean_stats()), rules=OutcomeRules()
    )
    assert not [line for line in summary_lines(clean) if line.startswith("  fields:")]


def test_an_entry_point_that_links_no_article_fires_the_watch_for_its_site() -> None:
    stats = clean_stats(
        {
            "smn/site/spacewar.com/entry_points": 3,
            "smn/site/spacewar.com/entry_points_empty": 1,
            "smn/site/spacedaily.com/entry_points": 4,
        }
    )
    outcome = judge(stats)
    assert outcome.code == ExitCode.LAYOUT_CHANGED
    assert "spacewar.com: 1 of 3 entry points" in outcome.reason
    assert "spacedaily.com" not in outcome.reason
