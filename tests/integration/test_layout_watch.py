"""The layout watch across cron runs, against the replica with a site redesigned between
two runs: fired in the first run whose evidence is enough, kept until the site reads
normally or an operator acknowledges it; unread article pages listed, counted and kept."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from crawler.network.urls import url_key
from crawler.outcome.judge import ExitCode
from replica import render_classic
from replica.server import ReplicaHandle
from tests.support.crawl_run import REPO, CrawlRun, crawl
from tests.support.redesign import (
    as_before,
    new_articles,
    publish,
    script_shell,
    stripped,
)

SITE = "spacewar.com"
HOST = "www.spacewar.com"
FEED = "/spacewar.xml"
ONE_SITE = ("-a", f"sites={SITE}")


@pytest.fixture
def routes(replica: ReplicaHandle) -> Iterator[ReplicaHandle]:
    yield replica
    replica.app.routes.clear()


def reports(run: CrawlRun) -> list[dict]:
    paths = sorted((run.dataset.parent / "reports").glob("*.json"), key=lambda p: p.stat().st_mtime)
    return [json.loads(p.read_text()) for p in paths]


def health(dataset: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "health", "-s", f"SMN_OUTPUT={dataset}", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def layouts_of(dataset: Path) -> dict[str, str | None]:
    table = ds.dataset(dataset, partitioning="hive").to_table(columns=["url", "layout"])
    return {url_key(u): layout for u, layout in zip(*table.to_pydict().values(), strict=True)}


def test_a_redesign_met_by_a_cron_run_fires_until_acknowledged(
    routes: ReplicaHandle, tmp_path: Path
) -> None:
    dataset = tmp_path / "articles"
    first = crawl(routes, dataset, *ONE_SITE)
    assert first.returncode == 0, first.output[-3000:]
    quiet = crawl(routes, dataset, *ONE_SITE)
    assert quiet.returncode == 0, quiet.output[-3000:]
    assert "layout watch" in quiet.output and "no change seen" in quiet.output

    # Two new stories, on pages that lost their body comments, BHS span and <h1>.
    titles = ["Radar Upgrade Tested At Sea Off Norway", "Navy Orders Second Batch Of Drones"]
    urls = publish(routes, FEED, [(a, stripped) for a in new_articles(routes, HOST, titles)])
    changed = crawl(routes, dataset, *ONE_SITE)
    assert changed.returncode == ExitCode.LAYOUT_CHANGED, changed.output[-3000:]
    assert changed.last_line.startswith("FAILED (code 9): layout changed on spacewar.com: 2 ")
    assert "not read as before" in changed.last_line
    watch = reports(changed)[-1]["layout_watch"]
    assert watch["fired"] == [SITE]
    since = watch["sites"][SITE]["window"]["fired_since"]
    assert since
    # The rows say which layout read them: the new pages are not read by the site's usual one.
    layouts = layouts_of(dataset)
    assert {layouts[url_key(u)] for u in urls}.isdisjoint({"classic"})
    assert set(layouts.values()) - {layouts[url_key(u)] for u in urls} == {"classic"}

    # Nothing new: the watch keeps firing, since the same run.
    again = crawl(routes, dataset, *ONE_SITE)
    assert again.returncode == ExitCode.LAYOUT_CHANGED, again.output[-3000:]
    assert f"(since {since})" in again.last_line

    status = health(dataset)
    assert status.returncode == 0, status.stderr
    line = next(x for x in status.stdout.splitlines() if x.startswith(SITE))
    assert "FIRED since" in line

    ack = health(dataset, "--ack", SITE)
    assert ack.returncode == 0, ack.stdout + ack.stderr
    assert "acknowledged" in ack.stdout
    assert health(dataset, "--ack", "terradaily.com").returncode == ExitCode.USAGE

    # Accepted as the site's layout now: the next run reads it as usual, and is OK.
    after = crawl(routes, dataset, *ONE_SITE)
    assert after.returncode == 0, after.output[-3000:]
    assert reports(after)[-1]["layout_watch"]["fired"] == []


def test_a_clean_incremental_run_with_nothing_new_exits_0(
    routes: ReplicaHandle, tmp_path: Path
) -> None:
    dataset = tmp_path / "articles"
    assert crawl(routes, dataset, *ONE_SITE).returncode == 0
    run = crawl(routes, dataset, *ONE_SITE)
    assert run.returncode == 0, run.output[-3000:]
    verdict = reports(run)[-1]["layout_watch"]["sites"][SITE]["window"]
    assert verdict["fired"] is False and verdict["usual_layouts"] == ["classic"]


def test_pages_no_layout_reads_fire_on_a_fresh_dataset_and_stay_listed(
    routes: ReplicaHandle, tmp_path: Path
) -> None:
    """A site that moved to a script-rendered shell: its two new pages give no article; a
    first run that meets only them fires, names both pages in the report with the reason,
    and keeps them in the state for a run with a better extractor."""
    titles = ["Orbital Tug Docks With Old Satellite", "Launch Window Opens For Relay Craft"]
    urls = publish(routes, FEED, [(a, script_shell) for a in new_articles(routes, HOST, titles)])
    dataset = tmp_path / "articles"
    run = crawl(routes, dataset, "-a", f"start_urls={','.join(urls)}")
    assert run.returncode == ExitCode.LAYOUT_CHANGED, run.output[-3000:]
    assert "spacewar.com: 2 article pages in a row not read as before (2 not read as" in (
        run.last_line
    )
    report = reports(run)[-1]
    unread = report["unread_pages"]
    assert unread["count"] == 2 and unread["by_site"] == {SITE: 2}
    assert {url_key(p["url"]) for p in unread["pages"]} == {url_key(u) for u in urls}
    assert all(p["reason"] for p in unread["pages"])
    assert "article pages that gave no article: 2 (spacewar.com 2)" in run.output
    with sqlite3.connect(dataset.parent / "state.sqlite") as db:
        kept = {key for (key,) in db.execute("SELECT key FROM unread")}
    assert kept == {url_key(u) for u in urls}


def test_one_odd_page_among_good_ones_does_not_fire(routes: ReplicaHandle, tmp_path: Path) -> None:
    dataset = tmp_path / "articles"
    assert crawl(routes, dataset, *ONE_SITE).returncode == 0
    odd, *good = new_articles(
        routes,
        HOST,
        ["Podcast Page Without A Story", "Missile Test Reported Over Sea", "Satellite Deal Signed"],
    )
    publish(routes, FEED, [(odd, script_shell), *((a, as_before) for a in good)])
    run = crawl(routes, dataset, *ONE_SITE)
    assert run.returncode == 0, run.output[-3000:]
    report = reports(run)[-1]
    assert report["layout_watch"]["fired"] == []
    assert report["unread_pages"]["count"] == 1


def test_a_page_that_hangs_its_worker_is_cut_off_counted_and_the_crawl_finishes(
    routes: ReplicaHandle, tmp_path: Path
) -> None:
    """A page the extraction never finishes (a test hook in the workers hangs on it): its
    worker is killed at SMN_EXTRACT_TIMEOUT, the page is counted, listed in the report and
    kept pending for the next run, and every other article is written."""
    stuck, good = new_articles(routes, HOST, ["Page That Hangs Workers", "Cargo Craft Docks"])
    urls = publish(routes, FEED, [(stuck, as_before), (good, as_before)])
    dataset = tmp_path / "articles"
    run = crawl(
        routes,
        dataset,
        *ONE_SITE,
        settings={
            "SMN_EXTRACT_TIMEOUT": "3",
            "SMN_EXTRACT_WORK": "tests.support.slow_work.hangs_on_marked",
        },
    )
    assert run.returncode == 0, run.output[-3000:]
    report = reports(run)[-1]
    assert report["not_judged"]["count"] == 1
    (page,) = report["not_judged"]["pages"]
    assert url_key(page["url"]) == url_key(urls[0])
    assert page["reason"] == "extraction took over 3 s"
    assert "pages not judged: 1 (extraction took over 3 s x1); asked again next run" in (run.output)
    written = layouts_of(dataset)
    assert url_key(urls[1]) in written and url_key(urls[0]) not in written
    with sqlite3.connect(dataset.parent / "state.sqlite") as db:
        pending = {key for (key,) in db.execute("SELECT key FROM pending")}
    assert url_key(urls[0]) in pending


def test_article_pages_an_older_extractor_could_not_read_are_fetched_again(
    routes: ReplicaHandle, tmp_path: Path
) -> None:
    """An unread article page stays in the state; a run with another extractor version
    fetches it again (here the page was fixed meanwhile, as a new extractor would read it)."""
    (article,) = new_articles(routes, HOST, ["Relay Satellite Reaches Orbit"])
    (url,) = publish(routes, FEED, [(article, script_shell)])
    dataset = tmp_path / "articles"
    first = crawl(routes, dataset, *ONE_SITE)
    assert reports(first)[-1]["unread_pages"]["count"] == 1
    state = dataset.parent / "state.sqlite"
    # The same extractor: the page is known as unread, not fetched again.
    same = crawl(routes, dataset, *ONE_SITE)
    assert reports(same)[-1]["unread_pages"]["count"] == 0
    assert url_key(url) not in layouts_of(dataset)
    with sqlite3.connect(state) as db:
        db.execute("UPDATE unread SET page = json_set(page, '$.extractor_version', '0.0.1')")
    routes.app.routes.clear()
    publish(routes, FEED, [(article, as_before)])
    newer = crawl(routes, dataset, *ONE_SITE)
    assert newer.returncode == 0, newer.output[-3000:]
    assert "'smn/incremental/unread_requeued': 1" in newer.output
    assert layouts_of(dataset)[url_key(url)] == "classic"
    with sqlite3.connect(state) as db:
        assert db.execute("SELECT count(*) FROM unread").fetchone() == (0,)


def test_new_pages_cut_short_by_the_server_are_a_fault_not_a_redesign(
    routes: ReplicaHandle, tmp_path: Path
) -> None:
    """Two new pages whose answers stop half-way, with no length declared (the connection
    closes): they give no article, but they are a server's fault: the watch does not fire,
    and the pages stay pending for the next run."""
    from replica.app import Response

    dataset = tmp_path / "articles"
    assert crawl(routes, dataset, *ONE_SITE).returncode == 0
    titles = ["Tracking Station Upgraded In Chile", "New Antenna Array Passes Tests"]
    articles = new_articles(routes, HOST, titles)
    urls = publish(routes, FEED, [(a, as_before) for a in articles])
    for article in articles:
        page = render_classic.render_article(article, routes.app.catalog.chrome[HOST], [])
        half = page[: len(page) // 3]
        routes.add_route(
            HOST,
            article.url.split(HOST, 1)[1],
            lambda request, half=half: Response(
                200, [("Content-Type", "text/html")], stream=[half], close=True
            ),
        )
    run = crawl(routes, dataset, *ONE_SITE)
    assert run.returncode == 0, run.output[-3000:]
    report = reports(run)[-1]
    assert report["layout_watch"]["fired"] == []
    assert report["unread_pages"]["count"] == 0
    assert report["not_judged"]["count"] == 2
    with sqlite3.connect(dataset.parent / "state.sqlite") as db:
        pending = {key for (key,) in db.execute("SELECT key FROM pending")}
    assert {url_key(u) for u in urls} <= pending
