"""Cron-grade runs of ``scrapy crawl smn`` against the replica: exit codes, the run report,
the layout watch, overlapping runs on one dataset, and no listening port."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

from crawler.dataset.lock import lock_path
from crawler.network.urls import url_key
from crawler.outcome.judge import ExitCode
from replica.app import Request, Response
from replica.server import ReplicaHandle
from tests.support.crawl_run import FAST, REPO, CrawlRun, RunningCrawl, crawl

# Entry points of three sites: held up, they keep a crawl running until the test lets go.
HELD_ENTRY_POINTS = [
    ("www.spacewar.com", "/spacewar.xml"),
    ("www.terradaily.com", "/terradaily.xml"),
    ("www.spacemart.com", "/spacemart.xml"),
]


@pytest.fixture
def routes(replica: ReplicaHandle) -> Iterator[ReplicaHandle]:
    """The replica, with every hook a test adds removed afterwards."""
    yield replica
    replica.app.routes.clear()


def report_of(run: CrawlRun) -> dict:
    reports = sorted((run.dataset.parent / "reports").glob("*.json"))
    assert len(reports) == 1, reports
    return json.loads(reports[0].read_text())


def rows_of(dataset: Path) -> list[dict]:
    return (
        ds.dataset(dataset, partitioning="hive")
        .to_table(columns=["canonical_url", "crawl_id"])
        .to_pylist()
    )


def hold_entry_points(replica: ReplicaHandle) -> threading.Event:
    """Hold the answers to a few entry points until the returned event is set (at most
    20 s, well within DOWNLOAD_TIMEOUT): a crawl is then surely running meanwhile."""
    release = threading.Event()

    def hold(request: Request) -> Response | None:
        release.wait(timeout=20)
        return None  # then the normal page

    for host, path in HELD_ENTRY_POINTS:
        replica.add_route(host, path, hold)
    return release


def wait_for_log(run: RunningCrawl, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in run.log.read_text(errors="replace"):
        assert run.process.poll() is None, run.log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"{text!r} never logged"
        time.sleep(0.05)


def wait_for_lock(run: RunningCrawl, timeout: float = 60) -> None:
    """Until ``run`` holds the dataset lock (read from the lock file: probing with flock
    could take the lock from under the crawl)."""
    deadline = time.monotonic() + timeout
    path = lock_path(run.dataset)
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().startswith(f"pid {run.pid},"):
            return
        assert run.process.poll() is None, run.log.read_text()[-3000:]
        time.sleep(0.05)
    raise AssertionError("the crawl never took the dataset lock")


def test_the_project_crawl_command_replaces_scrapys() -> None:
    """Scrapy 2.19 reads COMMANDS_MODULE after its own commands, by module name."""
    from scrapy.cmdline import _get_commands_dict
    from scrapy.settings import Settings

    from crawler.commands.crawl import Command

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    assert type(_get_commands_dict(settings, inproject=True)["crawl"]) is Command


# -- exit codes --------------------------------------------------------------------------


def test_a_clean_run_exits_0_writes_its_report_and_keeps_the_feed_options(
    routes: ReplicaHandle, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.jsonl"
    run = crawl(routes, tmp_path / "articles", "-O", str(feed))
    assert run.returncode == 0, run.output[-3000:]
    assert run.last_line.startswith("OK: 40 articles written"), run.last_line
    expected = len(routes.manifest().articles)
    assert len(feed.read_text().splitlines()) == expected
    report = report_of(run)
    assert report["exit_code"] == 0 and report["finish_reason"] == "finished"
    assert report["articles"]["extracted"] == report["articles"]["written"] == expected
    assert report["articles"]["syndicated"] == 2
    assert report["requests"]["entry_points_fetched"] > 0
    assert report["responses"]["by_status"]["200"] > 0
    assert report["errors"]["count"] == 0
    files = sorted(str(p.relative_to(run.dataset)) for p in run.dataset.rglob("*.parquet"))
    assert sorted(report["files_written"]) == files
    assert report["layout_watch"]["fired"] == []
    assert report["layout_watch"]["sites"]["spacewar.com"]["recognised_share"] == 1.0
    assert report["outcome"]["line"] == run.last_line
    # The summary: a few lines, the report's path among them.
    tail = run.output.rstrip().splitlines()[-7:]
    assert any(line.strip().startswith("report: ") for line in tail), tail
    # Nothing of the run's control files inside the dataset.
    assert not [p for p in run.dataset.rglob("*") if p.name.startswith(".")]


def test_no_entry_point_fetched(routes: ReplicaHandle, tmp_path: Path) -> None:
    routes.add_route("*", "*", lambda request: Response(503, body=b"down for maintenance"))
    run = crawl(routes, tmp_path / "articles", settings={"RETRY_TIMES": "0"})
    assert run.returncode == ExitCode.NO_ENTRY_POINT, run.output[-3000:]
    assert run.last_line.startswith("FAILED (code 6): no entry point could be fetched")
    assert report_of(run)["exit_code"] == 6


def test_an_unwritable_dataset_fails_the_run(routes: ReplicaHandle, tmp_path: Path) -> None:
    dataset = tmp_path / "articles"
    dataset.write_text("a file where the dataset directory should be")
    run = crawl(routes, dataset)
    assert run.returncode == ExitCode.OUTPUT_ERROR, run.output[-3000:]
    assert run.last_line.startswith("FAILED (code 4): the dataset could not be written")


def test_a_bad_spider_argument_is_a_usage_error(routes: ReplicaHandle, tmp_path: Path) -> None:
    run = crawl(routes, tmp_path / "articles", "-a", "sites=nowhere.example")
    assert run.returncode == ExitCode.USAGE == 2, run.output[-3000:]
    assert "unknown site(s): nowhere.example" in run.last_line


class BuggyPipeline:
    """An item pipeline with a bug on the second item; the crawl subprocess imports it
    from this module."""

    seen = 0

    def process_item(self, item: Any) -> Any:
        BuggyPipeline.seen += 1
        if BuggyPipeline.seen == 2:
            raise KeyError("a pipeline bug")
        return item


def test_an_exception_in_a_pipeline_fails_the_run(routes: ReplicaHandle, tmp_path: Path) -> None:
    pipelines = {
        "pipelines.crawl_id.CrawlIdPipeline": 50,
        "pipelines.validation.ValidationPipeline": 100,
        f"{__name__}.BuggyPipeline": 150,
        "pipelines.dedup.DedupPipeline": 200,
        "pipelines.parquet_writer.ParquetDatasetPipeline": 900,
    }
    run = crawl(routes, tmp_path / "articles", settings={"ITEM_PIPELINES": json.dumps(pipelines)})
    assert run.returncode == ExitCode.EXCEPTIONS, run.output[-3000:]
    assert run.last_line.startswith(
        "FAILED (code 7): exceptions escaped callbacks or pipelines: pipeline KeyError x1"
    )
    # the record it held is lost too: said after "also"
    assert "also: 1 of 40 extracted records were not written" in run.last_line


# -- the layout watch --------------------------------------------------------------------

REDESIGNED = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title} | SpaceWar</title>
<meta property="og:title" content="{title}">
<meta property="article:published_time" content="{date}T08:00:00Z"></head>
<body><div class="site-2027"><h2 class="story-head">{title}</h2>
<div class="story-meta">By {byline}</div>
<div class="story-body">{paragraphs}</div></div></body></html>
"""


def test_a_site_that_changed_its_markup_fails_the_run_and_is_named(
    routes: ReplicaHandle, tmp_path: Path
) -> None:
    """Six of SpaceWar's ten articles come back in a markup no layout knows (no <h1>, no
    dateline, no body comments, no <article>): the fallback reads them, without datelines."""
    changed = [a for a in routes.manifest().articles if a.site == "spacewar.com"][:6]
    for entry in changed:
        body = REDESIGNED.format(
            title=entry.title,
            date=entry.date.isoformat(),
            byline=entry.byline or "Staff Writers",
            paragraphs="".join(f"<p>{p}</p>" for p in entry.paragraphs),
        ).encode()
        page = Response(200, [("Content-Type", "text/html; charset=utf-8")], body)
        path = entry.url.split("spacewar.com", 1)[1]
        routes.add_route("www.spacewar.com", path, lambda request, page=page: page)
    run = crawl(routes, tmp_path / "articles")
    assert run.returncode == ExitCode.LAYOUT_CHANGED, run.output[-3000:]
    assert run.last_line.startswith(
        "FAILED (code 9): layout changed on spacewar.com: 40% of the 10 newest article pages"
        " read as usual (min 80%; 6 by the fallback)"
    )
    assert "6 by the fallback" in run.last_line
    assert "dateline 40% (min 50%)" in run.last_line
    for other in ("spacedaily.com", "terradaily.com", "marsdaily.com"):
        assert other not in run.last_line
    watch = report_of(run)["layout_watch"]
    assert watch["fired"] == ["spacewar.com"]
    assert watch["sites"]["spacewar.com"]["recognised_share"] == 0.4


# -- overlapping runs, signals, ports ------------------------------------------------------


def test_a_second_run_on_the_same_dataset_exits_at_once(
    routes: ReplicaHandle, tmp_path: Path
) -> None:
    release = hold_entry_points(routes)
    dataset = tmp_path / "articles"
    first = RunningCrawl(routes, dataset, tmp_path / "first.log")
    try:
        wait_for_lock(first)
        started = time.monotonic()
        second = crawl(routes, dataset, timeout=60)
        took = time.monotonic() - started
        assert first.process.poll() is None, "the first run ended before the second started"
    finally:
        release.set()
        done = first.wait(timeout=120)
    assert second.returncode == ExitCode.LOCKED, second.output[-3000:]
    assert second.last_line.startswith("FAILED (code 3): another run is writing the dataset")
    assert f"pid {first.pid}" in second.last_line
    assert took < 15
    assert "Spider opened" not in second.output  # it opened nothing: no writer, no cleaner
    assert done.returncode == 0, done.output[-3000:]
    rows = rows_of(dataset)
    expected = {url_key(a.url) for a in routes.manifest().articles}
    assert sorted(url_key(r["canonical_url"]) for r in rows) == sorted(expected)
    assert len({r["crawl_id"] for r in rows}) == 1
    assert not [p for p in dataset.rglob("*") if p.name.startswith(".")]
    # Each run left its report: the first's says 0, the second's 3.
    reports = [json.loads(p.read_text()) for p in (tmp_path / "reports").glob("*.json")]
    assert sorted(r["exit_code"] for r in reports) == [0, 3]


def test_a_run_stopped_by_a_signal_is_incomplete(routes: ReplicaHandle, tmp_path: Path) -> None:
    release = hold_entry_points(routes)
    running = RunningCrawl(routes, tmp_path / "articles", tmp_path / "crawl.log")
    try:
        wait_for_log(running, "Spider opened")
        running.process.send_signal(signal.SIGTERM)
    finally:
        release.set()
        run = running.wait(timeout=120)
    assert run.returncode == ExitCode.INCOMPLETE, run.output[-3000:]
    assert run.last_line.startswith("FAILED (code 5): the run did not finish")
    # A signal early in start-up can stop the engine before it records a finish reason.
    assert report_of(run)["finish_reason"] in ("shutdown", None)


def _descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            # the command name (field 2) may hold spaces: split after its closing paren
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found = {pid}
    while True:
        more = {p for p, parent in parents.items() if parent in found} - found
        if not more:
            return found
        found |= more


def listening_sockets(pid: int) -> list[str]:
    """TCP sockets in LISTEN state held by ``pid`` or its descendants, as ``addr:port``
    (hex, as /proc shows them)."""
    inodes: set[str] = set()
    for proc in _descendants(pid):
        try:
            fds = os.listdir(f"/proc/{proc}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{proc}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    listening = []
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: TCP_LISTEN
                listening.append(fields[1])
    return listening


@pytest.mark.skipif(not Path("/proc/self/net/tcp").exists(), reason="needs Linux /proc")
def test_a_running_crawl_listens_on_no_port(routes: ReplicaHandle, tmp_path: Path) -> None:
    # The check itself sees a listening socket: this process serves the replica.
    assert listening_sockets(os.getpid())
    release = hold_entry_points(routes)
    running = RunningCrawl(routes, tmp_path / "articles", tmp_path / "crawl.log")
    seen: list[str] = []
    try:
        wait_for_log(running, "Spider opened")
        for _ in range(10):  # the crawl is waiting for its held entry points meanwhile
            seen += listening_sockets(running.pid)
            time.sleep(0.1)
    finally:
        release.set()
    while running.process.poll() is None:  # and on, while the rest is crawled
        seen += listening_sockets(running.pid)
        time.sleep(0.1)
    run = running.wait()
    assert run.returncode == 0, run.output[-3000:]
    assert seen == []


def test_a_crawl_started_in_a_subdirectory_uses_the_projects_dataset(
    replica: ReplicaHandle, tmp_path: Path
) -> None:
    """The default paths are the project's (where scrapy.cfg is), not the current
    directory's: a cron line that cd's into logs/ does not start a second dataset."""
    project = tmp_path / "project"
    (project / "logs").mkdir(parents=True)
    (project / "scrapy.cfg").write_text((REPO / "scrapy.cfg").read_text())
    command = [sys.executable, "-m", "scrapy", "crawl", "smn", "-a", "sites=spacewar.com"]
    for key, value in FAST.items():
        command += ["-s", f"{key}={value}"]
    env = {**os.environ, **replica.proxy_env(), "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        command, cwd=project / "logs", env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == ExitCode.OK, done.stderr[-3000:]
    assert list((project / "output" / "articles").rglob("part-*.parquet"))
    assert list((project / "output" / "reports").glob("*.json"))
    assert (project / "output" / "state.sqlite").is_file()
    assert not (project / "logs" / "output").exists()


def test_a_log_file_in_a_missing_directory_ends_with_a_failed_line(tmp_path: Path) -> None:
    log = tmp_path / "no" / "such" / "dir" / "crawl.log"
    command = [sys.executable, "-m", "scrapy", "crawl", "smn", "-s", f"LOG_FILE={log}"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == ExitCode.USAGE
    last = done.stderr.rstrip().splitlines()[-1]
    assert last == f"FAILED (code 2): LOG_FILE {log}: its directory {log.parent} does not exist"
    assert "Traceback" not in done.stderr


def test_a_page_of_thousands_of_links_costs_only_the_capped_ones(
    routes: ReplicaHandle, tmp_path: Path
) -> None:
    """A section page with 20,000 same-site links: only SMN_MAX_LINKS_PER_PAGE of them are
    requested or left pending, the rest counted and logged."""
    from replica import faults
    from tests.support.replica_tools import page_body, split

    section = "https://www.spacewar.com/Superpowers.html"
    links = [f"https://www.spacewar.com/reports/Link_number_{i}_999.html" for i in range(20_000)]
    body = faults.with_links(page_body(routes, section), links)
    routes.add_route(*split(section), faults.serve(body))
    routes.clear_log()
    run = crawl(
        routes,
        tmp_path / "articles",
        "-a",
        "sites=spacewar.com",
        settings={"SMN_MAX_LINKS_PER_PAGE": "500"},
    )
    asked = {r.path for r in routes.requests() if "/Link_number_" in r.path}
    assert 0 < len(asked) <= 500
    assert (
        "Superpowers.html> has " in run.output and "only the first 500 are followed" in run.output
    )
    with sqlite3.connect(tmp_path / "state.sqlite") as state:
        (pending,) = state.execute("select count(*) from pending").fetchone()
    assert pending <= 500


def test_a_clock_far_behind_the_dataset_writes_nothing_and_says_so(
    routes: ReplicaHandle, tmp_path: Path
) -> None:
    """A dataset whose newest row was fetched three days from now (the clock is three days
    behind): the run refuses to write rows that would be dated and filed wrong, for good."""
    import datetime as dt

    from tests.support.writer import article, run_writer

    dataset = tmp_path / "articles"
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    run_writer(dataset, [article(1, fetched_at=ahead)], crawl_id="from-the-future")
    before = sorted(dataset.rglob("*.parquet"))
    run = crawl(routes, dataset, "-a", "sites=spacewar.com")
    assert run.returncode == ExitCode.CLOCK_BEHIND, run.output[-3000:]
    assert run.last_line.startswith("FAILED (code 11): the system clock is 7")
    assert sorted(dataset.rglob("*.parquet")) == before


def test_a_home_page_that_links_no_article_any_more_fires_the_layout_watch(
    routes: ReplicaHandle, tmp_path: Path
) -> None:
    """The site's home page answers 200 but, redesigned, links no article page: a change of
    the site's layout, named on the last line (exit 9), though its feed still works."""
    redesigned = (
        b"<html><head><title>SpaceWar</title></head><body><div id='app'>"
        b"<a href='/about.html'>About</a> <a href='/contact.html'>Contact</a>"
        b"</div></body></html>"
    )
    routes.add_route(
        "www.spacewar.com",
        "/",
        lambda request: Response(200, [("Content-Type", "text/html")], redesigned),
    )
    run = crawl(routes, tmp_path / "articles", "-a", "sites=spacewar.com")
    assert run.returncode == ExitCode.LAYOUT_CHANGED, run.output[-3000:]
    assert "spacewar.com: 1 of " in run.last_line
    assert "entry points (home, section pages, feeds) answered but link no article page" in (
        run.last_line
    )
    report = report_of(run)
    assert report["layout_watch"]["sites"]["spacewar.com"]["entry_points_without_articles"] == 1
