"""One crawl of the replica with a broken web served on purpose (``replica/faults.py``):
slow and trickling servers, resets, 5xx, a 503 that recovers, truncated, empty and binary
bodies, hostile markup around real articles, a gzip bomb, 30 MB pages, redirect loops, a
redirect off the network, an XML bomb where a feed should be.

The run must finish with exit code 0: every good article is written, and the failed pages
are errors within ``SMN_MAX_ERRORS`` (docs/faults.md says why that is the right code). The
report counts every fault, nothing off the network or forbidden by robots.txt is requested,
and the crawler and its extraction workers stay under 500 MB of peak memory.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pyarrow.dataset as ds
import pytest

from crawler.extraction.worker import analyse_page
from crawler.network.urls import url_key
from crawler.outcome.judge import ExitCode
from replica import faults
from replica.app import Handler, Request, Response
from replica.server import ReplicaHandle
from tests.support.crawl_run import CrawlRun, RunningCrawl
from tests.support.replica_tools import MB, PEAK_MEMORY_LIMIT, page_body, split, watch_memory

TIMEOUT = 3  # DOWNLOAD_TIMEOUT of the faulty crawl; the stalls outlast it
SETTINGS = {
    "DOWNLOAD_TIMEOUT": str(TIMEOUT),
    "RETRY_TIMES": "1",  # one retry: a 503 that recovers is written, the rest fail fast
    "DOWNLOAD_MAXSIZE": str(8 * MB),  # the project's default, stated: the caps are tested
    "DOWNLOAD_WARNSIZE": str(2 * MB),
    "REDIRECT_MAX_TIMES": "5",
}

SPACEWAR = "https://www.spacewar.com"
SPACEDAILY = "https://www.spacedaily.com"
TERRADAILY = "https://www.terradaily.com"


def fault_url(base: str, name: str) -> str:
    """An article-shaped URL (the spider gives those priority) that is no article."""
    return f"{base}/reports/Fault_{name}_999.html"


# Pages that are not articles, on article-shaped URLs (new, linked from a section page).
# They are spread over sites: each one that reaches the extractor counts as an article
# page no layout read, and three on one site would fire that site's layout watch.
STALLED = fault_url(SPACEWAR, "stalled")
TRICKLED = fault_url(SPACEWAR, "trickled")
RESET = fault_url(SPACEWAR, "reset")
SERVER_ERROR = fault_url(SPACEWAR, "server_error")
TRUNCATED = fault_url(SPACEWAR, "truncated")
EMPTY = fault_url(SPACEDAILY, "empty")
BINARY = fault_url(SPACEWAR, "binary")
GZIP_BOMB = fault_url(SPACEWAR, "gzip_bomb")
HUGE = fault_url(SPACEWAR, "huge")
HUGE_UNSIZED = fault_url(SPACEDAILY, "huge_unsized")
REDIRECT_LOOP = fault_url(SPACEWAR, "redirect_loop")
PING = fault_url(SPACEDAILY, "ping")
PONG = fault_url(SPACEDAILY, "pong")
OFFSITE = fault_url(SPACEWAR, "offsite_redirect")
OFFSITE_TARGET = "https://www.example.org/landing.html"
FAULT_URLS = [
    STALLED,
    TRICKLED,
    RESET,
    SERVER_ERROR,
    TRUNCATED,
    EMPTY,
    BINARY,
    GZIP_BOMB,
    HUGE,
    HUGE_UNSIZED,
    REDIRECT_LOOP,
    PING,
    OFFSITE,
]
LINKING_PAGE = f"{SPACEWAR}/Military_Space_News.html"
# Manifest articles served with a fault: each must still be written.
RECOVERS = (
    f"{SPACEWAR}/reports/Japan_to_deploy_long_range_radar_on_remote_southern_islands_999.html"
)
BROKEN_MARKUP = (
    f"{SPACEWAR}/reports/North_Korea_fires_short_range_missiles_into_sea_Seoul_says_999.html"
)
# A stray </html> before the headline: libxml2 2.14 drops all that follows unless removed.
CUT_BY_HTML_END = f"{TERRADAILY}/reports/Mexico_Expands_Earthquake_Early_Warning_Network_999.html"
XML_BOMB_FEED = f"{TERRADAILY}/terradaily.xml"
# No SpaceMart article is linked from its feed only: the crawl finds them all without it.
FEED_SHAPED_BOMB_FEED = "https://www.spacemart.com/spacemart.xml"


def broken_markup(page: bytes) -> bytes:
    """Garbage bytes, unclosed tags and a stray ``</body></html>`` around a real article,
    the stray end tag after the article's body (where a page survives it today)."""
    return faults.malformed(page, stray_end_before=b"<!--RELATED LINKS-->")


# How often each fault URL was asked for, counted by the handlers themselves: the replica's
# request log misses a reset (no answer) and a stall the crawl gave up on (not answered yet).
ASKED: Counter[str] = Counter()


def counted(url: str, handler: Handler) -> Handler:
    def counting(request: Request) -> Response | None:
        ASKED[url] += 1
        return handler(request)

    return counting


def inject(replica: ReplicaHandle) -> None:
    def route(url: str, handler: Handler) -> None:
        replica.add_route(*split(url), counted(url, handler))

    linking = faults.with_links(page_body(replica, LINKING_PAGE), FAULT_URLS)
    route(LINKING_PAGE, faults.serve(linking))
    route(STALLED, faults.stall(TIMEOUT + 3))
    route(TRICKLED, faults.trickle(total=4096, interval=0.5))
    route(RESET, faults.reset())
    route(SERVER_ERROR, faults.status(500))
    route(TRUNCATED, faults.truncated(page_body(replica, RECOVERS)))
    route(EMPTY, faults.empty())
    route(BINARY, faults.binary())
    route(GZIP_BOMB, faults.gzip_bomb(64 * MB))
    route(HUGE, faults.huge(30 * MB))
    route(HUGE_UNSIZED, faults.huge(30 * MB, declare_length=False))
    route(REDIRECT_LOOP, faults.redirect_loop())
    route(PING, faults.redirect(PONG))
    route(PONG, faults.redirect(PING))
    route(OFFSITE, faults.redirect(OFFSITE_TARGET))
    route(RECOVERS, faults.flaky(503, failures=1))
    route(BROKEN_MARKUP, faults.serve(broken_markup(page_body(replica, BROKEN_MARKUP))))
    route(CUT_BY_HTML_END, faults.serve(faults.malformed(page_body(replica, CUT_BY_HTML_END))))
    route(XML_BOMB_FEED, faults.xml_bomb())
    route(FEED_SHAPED_BOMB_FEED, faults.xml_bomb(feed_shaped=True))


# -- running the crawl, watching its memory --------------------------------------------


@dataclass
class FaultyCrawl:
    run: CrawlRun
    report: dict[str, Any]
    rows: list[dict[str, Any]]
    crawler_peak: int
    worker_peaks: dict[int, int]
    seconds: float


@pytest.fixture(scope="module")
def replica(replica: ReplicaHandle) -> ReplicaHandle:
    """The module's replica, with every fault injected."""
    inject(replica)
    return replica


@pytest.fixture(scope="module")
def faulty(replica: ReplicaHandle, tmp_path_factory: pytest.TempPathFactory) -> FaultyCrawl:
    root = tmp_path_factory.mktemp("faults")
    started = time.monotonic()
    running = RunningCrawl(replica, root / "articles", root / "crawl.log", settings=SETTINGS)
    peaks = watch_memory(running)
    run = running.wait(timeout=60)
    seconds = time.monotonic() - started
    reports = list((root / "reports").glob("*.json"))
    assert len(reports) == 1, run.output[-3000:]
    rows = ds.dataset(run.dataset, partitioning="hive").to_table().to_pylist()
    crawler_peak = peaks.pop(running.pid, 0)
    print(
        f"\nfaulty crawl: {seconds:.1f} s, crawler VmHWM {crawler_peak / MB:.0f} MB, "
        f"workers {sorted(round(p / MB) for p in peaks.values())} MB"
    )
    return FaultyCrawl(run, json.loads(reports[0].read_text()), rows, crawler_peak, peaks, seconds)


# -- the verdict ---------------------------------------------------------------------------


def test_the_run_finishes_ok_with_the_faults_counted_as_errors(faulty: FaultyCrawl) -> None:
    """Exit 0: the run finished and every extracted article was written; the pages that
    failed are errors, fewer than SMN_MAX_ERRORS (50)."""
    run, report = faulty.run, faulty.report
    assert run.returncode == ExitCode.OK, run.output[-4000:]
    assert run.last_line.startswith("OK: "), run.last_line
    assert report["finish_reason"] == "finished"
    assert report["articles"]["lost"] == 0
    assert report["layout_watch"]["fired"] == []
    errors = report["errors"]
    # Given up after a retry: stalled, trickled, reset, 500, truncated; not retried: the
    # two 30 MB pages. Spurious timeouts of good pages, if any, are retried and succeed.
    assert errors["count"] == 7, errors
    assert errors["count"] <= errors["max"]
    # given up with a 5xx: the 500 (404s are the replica's dead links, not errors)
    assert {s: n for s, n in errors["http_statuses"].items() if s.startswith("5")} == {"500": 1}
    assert errors["retries_given_up"] == 5


def test_every_good_article_is_written_once(replica: ReplicaHandle, faulty: FaultyCrawl) -> None:
    # the one behind a stray </html> too (test_the_article_after_a_stray_html_end_tag_...)
    expected = {url_key(a.url) for a in replica.manifest().articles}
    got = [url_key(r["canonical_url"]) for r in faulty.rows]
    assert len(got) == len(set(got))
    assert set(got) == expected
    assert faulty.report["articles"]["written"] == len(expected)
    # none of the fault pages became a row
    assert not {url_key(u) for u in [*FAULT_URLS, PONG]} & set(got)


def test_the_article_behind_a_503_is_written_after_its_retry(
    replica: ReplicaHandle, faulty: FaultyCrawl
) -> None:
    asked = [r for r in replica.requests() if (r.host, r.path) == split(RECOVERS)]
    assert [r.status for r in asked] == [503, 200]
    (row,) = [r for r in faulty.rows if url_key(r["canonical_url"]) == url_key(RECOVERS)]
    entry = replica.manifest().article(RECOVERS)
    assert entry is not None and row["title"] == entry.title
    assert faulty.report["faults"]["retry_reasons"]["503 Service Unavailable"] == 1


def test_the_article_in_broken_markup_is_written_whole(
    replica: ReplicaHandle, faulty: FaultyCrawl
) -> None:
    (row,) = [r for r in faulty.rows if url_key(r["canonical_url"]) == url_key(BROKEN_MARKUP)]
    clean = analyse_page(
        page_body(replica, BROKEN_MARKUP), BROKEN_MARKUP, faults.HTML, dt.datetime.now(dt.UTC)
    ).extraction.article
    assert clean is not None
    assert (row["title"], row["text"], row["dateline"]) == (
        clean.title,
        clean.text,
        clean.dateline,
    )


def test_the_article_after_a_stray_html_end_tag_is_written(faulty: FaultyCrawl) -> None:
    got = {url_key(r["canonical_url"]) for r in faulty.rows}
    assert url_key(CUT_BY_HTML_END) in got


def test_the_report_counts_every_fault(faulty: FaultyCrawl) -> None:
    faults_seen = faulty.report["faults"]
    kinds = faults_seen["by_kind"]
    # Each failing URL is asked twice (RETRY_TIMES=1); a loaded machine may add timeouts.
    assert kinds["timeout"] >= 4  # stalled and trickled, twice each
    assert faults_seen["timeouts"] >= 4
    assert kinds["connection_lost"] >= 2  # the reset, twice
    assert kinds["data_loss"] == 2  # the truncated body, twice
    assert kinds["size_cap"] == 2  # the 30 MB pages, declared and not: never retried
    assert kinds["decompression_cap"] == 1  # the gzip bomb: never retried
    assert kinds["redirect_max"] == 1  # the redirect loop
    assert faults_seen["size_cap_cancels"] == 3
    # stalled, trickled, reset, truncated, 500: one retry each; the 503 that recovered
    assert faults_seen["retries"] >= 6
    reasons = faults_seen["retry_reasons"]
    assert reasons["500 Internal Server Error"] == 1
    assert reasons["scrapy.exceptions.ResponseDataLossError"] == 1
    assert faults_seen["http_5xx"] == {"500": 2, "503": 1}
    assert faults_seen["offsite_filtered"] == 1  # the redirect off the network
    # the XML bomb, MarsDaily's own broken feed (a PHP error page) and the feed-shaped
    # bomb (defused into a feed without items, counted for its entity declarations)
    assert faults_seen["broken_feeds"] == 3
    assert "Feed <https://www.spacemart.com/spacemart.xml> declares XML entities" in (
        faulty.run.output
    )


def test_faults_are_asked_no_more_than_the_retry_budget(faulty: FaultyCrawl) -> None:
    for url in (STALLED, TRICKLED, SERVER_ERROR, TRUNCATED, RECOVERS):
        assert ASKED[url] == 2, url  # RETRY_TIMES=1
    # Twisted resends a request once by itself when a reused keep-alive connection dies
    # before any answer (it cannot tell a reset from a server closing an idle connection).
    assert 2 <= ASKED[RESET] <= 4
    for url in (HUGE, HUGE_UNSIZED, GZIP_BOMB, EMPTY, BINARY, OFFSITE, PING, PONG):
        assert ASKED[url] == 1, url  # not retried; the loop back to PING is a duplicate
    # the loop: the first request and REDIRECT_MAX_TIMES follow-ups, then given up
    assert ASKED[REDIRECT_LOOP] == 6
    assert ASKED[XML_BOMB_FEED] == ASKED[FEED_SHAPED_BOMB_FEED] == 1


def test_nothing_off_the_network_or_forbidden_is_requested(replica: ReplicaHandle) -> None:
    assert replica.off_network_requests() == []
    assert "www.example.org" not in replica.requested_hosts()
    assert replica.disallowed_requests() == []


def test_peak_memory_stays_low(faulty: FaultyCrawl) -> None:
    """A 30 MB page and a 64 MB gzip bomb, with DOWNLOAD_MAXSIZE 8 MB: neither is ever
    held whole, in the crawler or in a worker."""
    assert faulty.worker_peaks, "no extraction worker seen"
    assert faulty.crawler_peak < PEAK_MEMORY_LIMIT
    assert max(faulty.worker_peaks.values()) < PEAK_MEMORY_LIMIT


# -- the counters and the report, without a crawl ----------------------------------------------


def test_download_exceptions_are_counted_by_kind() -> None:
    from scrapy.core.downloader.handlers.http11 import TunnelError
    from scrapy.exceptions import (
        DownloadCancelledError,
        DownloadFailedError,
        DownloadTimeoutError,
        IgnoreRequest,
        ResponseDataLossError,
    )
    from twisted.internet.error import ConnectionLost, DNSLookupError, TCPTimedOutError

    from crawler.downloadermiddlewares.faults import fault_kind

    assert fault_kind(DownloadTimeoutError()) == "timeout"
    assert fault_kind(TCPTimedOutError()) == "timeout"
    assert fault_kind(DownloadFailedError("reset")) == "connection_lost"
    assert fault_kind(ConnectionLost()) == "connection_lost"
    assert fault_kind(ResponseDataLossError()) == "data_loss"
    assert fault_kind(DownloadCancelledError()) == "size_cap"
    assert fault_kind(DNSLookupError()) == "dns"
    assert fault_kind(TunnelError()) == "tunnel"
    assert fault_kind(ValueError()) == "other"
    assert fault_kind(IgnoreRequest()) is None  # robots.txt, offsite: not a fault


def test_the_report_and_its_summary_show_the_faults() -> None:
    from crawler.outcome.judge import OutcomeRules, judge
    from crawler.outcome.report import build_report, summary_lines

    stats = {
        "finish_reason": "finished",
        "smn/entry/fetched": 3,
        "downloader/response_status_count/200": 10,
        "downloader/response_status_count/503": 2,
        "downloader/exception_type_count/scrapy.exceptions.DownloadCancelledError": 1,
        "smn/faults/size_cap": 1,
        "smn/faults/decompression_cap": 1,
        "smn/faults/connection_lost": 2,
        "smn/faults/redirect_max": 1,
        "smn/feeds/broken": 1,
    }
    report = build_report(stats, crawl_id="x", outcome=judge(stats), rules=OutcomeRules())
    faults_seen = report["faults"]
    assert faults_seen["by_kind"] == {
        "connection_lost": 2,
        "decompression_cap": 1,
        "redirect_max": 1,
        "size_cap": 1,
    }
    assert faults_seen["size_cap_cancels"] == 2  # the cancelled download and the bomb
    assert faults_seen["http_5xx"] == {"503": 2}
    assert faults_seen["broken_feeds"] == 1
    line = next(x for x in summary_lines(report) if "faults:" in x)
    assert line.endswith("refusals, 2 connection lost, 1 redirect max"), line
