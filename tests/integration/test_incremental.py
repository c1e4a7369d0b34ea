"""Incremental runs: the state store, its ingestion of the dataset, the middlewares, four
crawls of the replica (full, unchanged, one new article, state deleted), and two more for
a failed download that the next run fetches."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow.dataset as ds
import pytest
from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse, Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler

from crawler.dataset.files import DatasetFile, PartFile, published_files
from crawler.dataset.schema import article_schema, rows_to_table, to_row
from crawler.downloadermiddlewares.incremental import IncrementalRedirectMiddleware
from crawler.incremental.run import IncrementalConfig, IncrementalRun
from crawler.incremental.store import DAY, SqliteSeenStore
from crawler.incremental.sync import sync
from crawler.items import Article
from crawler.network.sites import select_sites
from crawler.network.urls import url_key
from crawler.spidermiddlewares.incremental import IncrementalSpiderMiddleware
from crawler.spiders.smn import ARTICLE_PRIORITY, SmnSpider
from pipelines.parquet_writer import ParquetDatasetPipeline
from replica import faults
from replica.app import from_direct
from replica.model import classic_url
from replica.server import ReplicaHandle
from tests.support.crawl_run import CrawlRun, crawl
from tests.support.redesign import as_before, as_new_page, publish

T0 = 1_800_000_000.0


# -- helpers -------------------------------------------------------------------------------


def article(i: int, canonical: str | None = None) -> Article:
    url = f"https://www.spacewar.com/reports/story_{i}_999.html"
    return Article(
        url=url,
        canonical_url=canonical or url,
        site="spacewar.com",
        title=f"Story {i}",
        text=f"Body of story {i}.",
        published_date=dt.date(2026, 11, 20),
        word_count=4,
        content_hash=f"h{i}",
        fetched_at=dt.datetime(2026, 11, 23, 18, 15, tzinfo=dt.UTC),
    )


def write_dataset(output: Path, items: list[Article], crawl_id: str) -> None:
    """Publish ``items`` with the real dataset writer, as a finished run does."""
    crawler = get_crawler(Spider, {"SMN_OUTPUT": str(output), "SMN_CRAWL_ID": crawl_id})
    writer = ParquetDatasetPipeline.from_crawler(crawler)
    writer.open_spider()
    for item in items:
        writer.process_item(item)
    writer.close_spider()


def write_killed(output: Path, items: list[Article], crawl_id: str) -> PartFile:
    """Rows written but never published: what a SIGKILL leaves (a hidden temp file)."""
    part = PartFile(output / "year=2026/month=11", crawl_id, 0, article_schema(), "zstd")
    part.write(rows_to_table([to_row(a) for a in items]))
    return part


def key(i: int) -> str:
    return url_key(article(i).url)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteSeenStore]:
    s = SqliteSeenStore(tmp_path / "state.sqlite", recheck_days=7)
    yield s
    s.close()


# -- the store -----------------------------------------------------------------------------


def test_pages_are_trusted_for_the_recheck_interval(store: SqliteSeenStore) -> None:
    store.add_pages(["https://a/about", "https://a/gone"], "other", T0)
    store.add_pages(["https://a/gone"], "dead", T0)
    keys = ["https://a/about", "https://a/gone", "https://a/new"]
    assert store.lookup(keys, T0 + 6.9 * DAY) == {
        "https://a/about": "other",
        "https://a/gone": "dead",
    }
    assert store.lookup(keys, T0 + 7.1 * DAY) == {}
    # A new observation starts a new interval.
    store.add_pages(["https://a/about"], "other", T0 + 7.1 * DAY)
    assert store.lookup(keys, T0 + 8 * DAY) == {"https://a/about": "other"}
    assert store.prune(T0 + 8 * DAY) == 1  # the expired /gone


def test_articles_live_and_die_with_their_files(store: SqliteSeenStore) -> None:
    a = DatasetFile("year=2026/month=11/part-a-00000.parquet", 10, 1)
    b = DatasetFile("year=2026/month=11/part-b-00000.parquet", 20, 2)
    store.add_articles(["k1", "k2"], a)
    store.add_articles(["k2", "k3"], b)
    assert store.ingested_files() == {a, b}
    assert store.lookup(["k1", "k2", "k3", "k4"], T0) == dict.fromkeys(
        ["k1", "k2", "k3"], "article"
    )
    store.forget_files([a.path])
    # k2 is still stored in b.
    assert store.lookup(["k1", "k2", "k3"], T0) == dict.fromkeys(["k2", "k3"], "article")
    assert store.ingested_files() == {b}


def test_an_alias_is_known_only_through_its_target(store: SqliteSeenStore) -> None:
    store.add_aliases({"https://bare/x": "https://www/x", "https://www/x": "https://www/x"})
    assert store.lookup(["https://bare/x"], T0) == {}
    file = DatasetFile("part-a.parquet", 1, 1)
    store.add_articles(["https://www/x"], file)
    assert store.lookup(["https://bare/x"], T0) == {"https://bare/x": "article"}
    store.forget_files([file.path])
    assert store.lookup(["https://bare/x"], T0) == {}
    # An alias to an observed page expires with it.
    store.add_pages(["https://www/x"], "dead", T0)
    assert store.lookup(["https://bare/x"], T0 + DAY) == {"https://bare/x": "dead"}
    assert store.lookup(["https://bare/x"], T0 + 8 * DAY) == {}


def test_sync_ingests_published_files_only(tmp_path: Path, store: SqliteSeenStore) -> None:
    output = tmp_path / "articles"
    write_dataset(output, [article(1), article(2, canonical=article(20).url)], "run1")
    killed = write_killed(output, [article(3)], "run2")
    report = sync(store, output)
    assert (report.ingested, report.rows) == (1, 2)
    known = store.lookup([key(1), key(2), key(20), key(3)], T0)
    # url and canonical_url are both keys; the killed run's row is not.
    assert known == dict.fromkeys([key(1), key(2), key(20)], "article")
    # Published later (the writer renamed it): the next sync ingests it, once.
    killed.finish()
    assert sync(store, output).ingested == 1
    assert key(3) in store.lookup([key(3)], T0)
    assert sync(store, output).ingested == 0


def test_state_never_outlives_the_dataset(tmp_path: Path, store: SqliteSeenStore) -> None:
    output = tmp_path / "articles"
    write_dataset(output, [article(1)], "run1")
    write_dataset(output, [article(2)], "run2")
    sync(store, output)
    (file_of_run1,) = output.rglob("part-run1-*.parquet")
    file_of_run1.unlink()
    report = sync(store, output)
    assert report.forgotten == 1
    assert store.lookup([key(1), key(2)], T0) == {key(2): "article"}


def test_missing_state_is_rebuilt_from_the_dataset(tmp_path: Path) -> None:
    output, path = tmp_path / "articles", tmp_path / "state.sqlite"
    write_dataset(output, [article(1), article(2)], "run1")
    first = SqliteSeenStore(path, recheck_days=7)
    assert first.created
    sync(first, output)
    first.add_pages(["https://x/about"], "other", T0)
    first.close()
    for p in tmp_path.glob("state.sqlite*"):
        p.unlink()
    again = SqliteSeenStore(path, recheck_days=7)
    assert again.created
    assert sync(again, output).ingested == 1
    assert again.lookup([key(1), key(2), "https://x/about"], T0) == {
        key(1): "article",
        key(2): "article",
    }
    again.close()


def test_corrupt_state_is_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    store = SqliteSeenStore(path, recheck_days=7)
    assert store.created and store.replaced_corrupt is not None
    assert store.replaced_corrupt.read_bytes().startswith(b"this is not")
    assert store.ingested_files() == set()
    store.close()


def test_published_files_skip_hidden_names(tmp_path: Path) -> None:
    output = tmp_path / "articles"
    write_dataset(output, [article(1)], "run1")
    write_killed(output, [article(2)], "run2")
    (output / "_SUCCESS").write_bytes(b"")
    (output / ".hidden").mkdir()
    (output / ".hidden" / "part-x.parquet").write_bytes(b"")
    (paths,) = [[f.path for f in published_files(output)]]
    assert len(paths) == 1 and paths[0].startswith("year=2026/month=11/part-run1-")


# -- settings ------------------------------------------------------------------------------


def test_config_defaults_and_switches(tmp_path: Path) -> None:
    def config(**settings: Any) -> IncrementalConfig:
        return IncrementalConfig.from_settings(get_crawler(Spider, settings).settings)

    default = config(SMN_OUTPUT="out/articles")
    assert default.state == Path("out/state.sqlite")
    assert default.dataset == Path("out/articles")
    assert default.recheck_days == 7
    assert (
        config(SMN_STATE=str(tmp_path / "s.db"), SMN_STATE_RECHECK_DAYS="2.5").recheck_days == 2.5
    )
    for off in ({"SMN_INCREMENTAL": "0"}, {"SMN_STATE": ""}, {"SMN_OUTPUT": ""}):
        with pytest.raises(NotConfigured):
            config(**off)


# -- the middlewares, without a network ----------------------------------------------------


@pytest.fixture
def opened(tmp_path: Path) -> Iterator[Crawler]:
    output = tmp_path / "articles"
    write_dataset(output, [article(1)], "run1")
    crawler = get_crawler(Spider, {"SMN_OUTPUT": str(output)})
    crawler.spider = Spider.from_crawler(crawler, name="smn")
    assert crawler.stats is not None
    crawler.stats.open_spider()
    run = IncrementalRun.of(crawler)
    run.spider_opened()
    yield crawler
    if run.opened:
        run.spider_closed(reason="finished")


def next_run(crawler: Crawler, reason: str | None = "finished") -> IncrementalRun:
    """Close ``crawler``'s run with ``reason`` (None: killed, no close at all) and open the
    next run on the same state, as a new crawler."""
    run = IncrementalRun.of(crawler)
    if reason is None:
        run.store.close()  # the process died: nothing of the close ran
        run._store = None
    else:
        run.spider_closed(reason=reason)
    return opened_run(crawler.settings.copy_to_dict())


def opened_run(settings: dict[str, Any]) -> IncrementalRun:
    crawler = get_crawler(Spider, settings)
    crawler.spider = Spider.from_crawler(crawler, name="smn")
    assert crawler.stats is not None
    crawler.stats.open_spider()
    run = IncrementalRun.of(crawler)
    run.spider_opened()
    return run


def html(url: str, status: int = 200, **meta: Any) -> HtmlResponse:
    request = Request(url, meta=meta)
    return HtmlResponse(url, status=status, body=b"<html></html>", request=request)


def started(mw: IncrementalSpiderMiddleware, entries: list[Request]) -> list[Request]:
    """What the middleware makes of the spider's start (``entries``)."""

    async def start() -> AsyncIterator[Any]:
        for x in entries:
            yield x

    async def run() -> list[Request]:
        return [x async for x in mw.process_start(start())]

    return asyncio.run(run())


def collect(mw: IncrementalSpiderMiddleware, response: Response, out: list[Any]) -> list[Any]:
    """What the middleware passes on of a callback's output ``out``."""

    async def result() -> AsyncIterator[Any]:
        for x in out:
            yield x

    async def run() -> list[Any]:
        return [x async for x in mw.process_spider_output(response, result())]

    return asyncio.run(run())


def test_spider_middleware_drops_known_links_and_records_pages(opened: Crawler) -> None:
    mw = IncrementalSpiderMiddleware.from_crawler(opened)
    stats = opened.stats
    assert stats is not None
    listing = html("https://www.spacewar.com/", smn_page_kind="listing")
    known = Request("http://spacewar.com/reports/story_1_999.html/?utm_source=x")
    new = Request("https://www.spacewar.com/reports/story_2_999.html")
    entry = Request("https://www.spacewar.com/reports/story_1_999.html", meta={"smn_entry": True})
    item = article(7)
    # The item after the links: they are pending before its row can be published.
    assert collect(mw, listing, [known, item, new, entry]) == [entry, new, item]
    assert stats.get_value("smn/incremental/skipped/article") == 1

    about = html("https://www.spacewar.com/about.html", smn_page_kind="other")
    about.meta["redirect_urls"] = ["http://spacewar.com/about"]
    collect(mw, about, [])
    gone = html("https://www.spacewar.com/gone.html", status=404)
    mw.process_spider_exception(gone, HttpError(gone, "Ignoring non-200 response"))
    # An entry point is always fetched: nothing is recorded for it.
    entry_about = html("https://www.spacewar.com/entry.html", smn_page_kind="other", smn_entry=True)
    collect(mw, entry_about, [])
    links = [
        Request("https://www.spacewar.com/about.html"),
        Request("https://spacewar.com/about"),
        Request("https://www.spacewar.com/gone.html"),
        Request("https://www.spacewar.com/entry.html"),
    ]
    # Stored when the run finishes: the next run skips them.
    later = next_run(opened)
    mw = IncrementalSpiderMiddleware(later)
    assert collect(mw, listing, links) == links[3:]
    assert later.stats.get_value("smn/incremental/skipped/other") == 2
    assert later.stats.get_value("smn/incremental/skipped/dead") == 1


@pytest.mark.parametrize("reason", ["shutdown", "closespider_timeout", None])
def test_a_run_that_does_not_finish_stores_no_page_observation(
    opened: Crawler, reason: str | None
) -> None:
    """Stopped early or killed (None), a run may not have followed the links of the pages
    it judged not worth fetching again: the next run fetches them."""
    mw = IncrementalSpiderMiddleware.from_crawler(opened)
    collect(mw, html("https://www.spacewar.com/archive/", smn_page_kind="other"), [])
    gone = html("https://www.spacewar.com/gone.html", status=404)
    mw.process_spider_exception(gone, HttpError(gone, "Ignoring non-200 response"))
    assert opened.stats is not None
    later = next_run(opened, reason)
    assert opened.stats.get_value("smn/incremental/recorded/other") is None
    links = [Request("https://www.spacewar.com/archive/"), Request(gone.url)]
    listing = html("https://www.spacewar.com/", smn_page_kind="listing")
    assert collect(IncrementalSpiderMiddleware(later), listing, links) == links
    # The same run, finished, stores them.
    collect(IncrementalSpiderMiddleware(later), html(links[0].url, smn_page_kind="other"), [])
    last = next_run(later.crawler, "finished")
    assert later.stats.get_value("smn/incremental/recorded/other") == 1
    assert collect(IncrementalSpiderMiddleware(last), listing, links) == [links[1]]


def pending_urls(run: IncrementalRun) -> list[str]:
    return sorted(link.url for link in run.store.pending())


def test_links_stay_pending_until_a_run_judges_their_page(opened: Crawler) -> None:
    """The frontier outlives killed runs: links found on an article page (never fetched
    again once stored) are pending until their pages got an answer, and every run starts
    with the pending ones after its entry points."""
    y = html(article(1).url, smn_page_kind="article")
    x, z, failing = (Request(article(i).url) for i in (2, 3, 4))
    section = Request("https://www.spacewar.com/Military_Space.html")
    mw = IncrementalSpiderMiddleware.from_crawler(opened)
    run = IncrementalRun.of(opened)
    pending_when_the_item_left: list[str] = []

    async def callback() -> AsyncIterator[Any]:
        for out in (article(1), x, z, failing, section):
            yield out

    async def consume() -> list[Any]:
        passed = []
        async for out in mw.process_spider_output(y, callback()):
            if isinstance(out, Article):  # on its way to the dataset writer
                pending_when_the_item_left.extend(pending_urls(run))
            passed.append(out)
        return passed

    assert asyncio.run(consume()) == [x, z, failing, section, article(1)]
    # A row published at once, then a kill, loses none of the page's links.
    assert pending_when_the_item_left == sorted([x.url, z.url, failing.url, section.url])
    assert opened.stats is not None
    assert opened.stats.get_value("smn/incremental/pending_added") == 4
    # x is extracted and its row published, z extracted only; then the run is killed.
    collect(mw, html(x.url, smn_page_kind="article"), [article(2)])
    collect(mw, html(z.url, smn_page_kind="article"), [article(3)])
    collect(mw, html(section.url, smn_page_kind="listing"), [])
    write_dataset(Path(opened.settings["SMN_OUTPUT"]), [article(2)], "killed")
    second = next_run(opened, reason=None)
    entry = Request("https://www.spacewar.com/", meta={"smn_entry": True})
    mw = IncrementalSpiderMiddleware(second)
    # x is stored: dropped at open. The rest is resumed after the entry points.
    resumed = started(mw, [entry])
    assert [r.url for r in resumed] == [entry.url, *sorted([z.url, failing.url, section.url])]
    assert second.stats.get_value("smn/incremental/pending_resumed") == 3
    # This run judges the section and extracts z (not written: the writer dropped it); the
    # download of the failing one fails.
    collect(mw, html(section.url, smn_page_kind="listing"), [])
    collect(mw, html(z.url, smn_page_kind="article"), [article(3)])
    third = next_run(second.crawler, "finished")
    assert pending_urls(third) == sorted([z.url, failing.url])
    assert {link.attempts for link in third.store.pending()} == {1}


def test_a_page_answered_with_junk_stays_pending(opened: Crawler) -> None:
    """An empty or binary answer (verdict "error") is no judgement of the page: its link
    stays pending and the next run asks again; an "other" page is settled."""
    listing = html("https://www.spacewar.com/Military_Space.html", smn_page_kind="listing")
    junk, about = Request(article(5).url), Request("https://www.spacewar.com/about.html")
    mw = IncrementalSpiderMiddleware.from_crawler(opened)
    collect(mw, listing, [junk, about])
    collect(mw, html(junk.url, smn_page_kind="error"), [])
    collect(mw, html(about.url, smn_page_kind="other"), [])
    after = next_run(opened, "finished")
    assert pending_urls(after) == [junk.url]
    assert after.store.lookup({url_key(about.url)}, time.time()) == {url_key(about.url): "other"}
    assert not after.store.lookup({url_key(junk.url)}, time.time())


def test_pending_links_are_requested_as_the_spider_links_them(tmp_path: Path) -> None:
    spider = SmnSpider()
    url = article(5).url
    request = spider.request_for(url)
    assert (request.url, request.callback, request.priority) == (
        url,
        spider.parse_page,
        ARTICLE_PRIORITY,
    )
    assert spider.request_for("https://www.spacewar.com/spacewar.xml").callback == (
        spider.parse_any
    )


def test_a_pending_link_waits_for_a_run_that_crawls_its_site(opened: Crawler) -> None:
    spacewar, terradaily = Request(article(5).url), Request(BEHIND_URL)
    listing = html("https://www.spacewar.com/", smn_page_kind="listing")
    collect(IncrementalSpiderMiddleware.from_crawler(opened), listing, [spacewar, terradaily])
    run = next_run(opened, "finished")
    assert run.crawler.spider is not None
    run.crawler.spider.allowed_domains = ["spacewar.com"]  # -a sites=spacewar.com
    assert [r.url for r in started(IncrementalSpiderMiddleware(run), [])] == [spacewar.url]
    run = next_run(run.crawler, "finished")
    assert {link.url: link.attempts for link in run.store.pending()} == {
        spacewar.url: 2,
        terradaily.url: 1,  # not tried by the SpaceWar run
    }
    resumed = started(IncrementalSpiderMiddleware(run), [])
    assert sorted(r.url for r in resumed) == sorted([spacewar.url, terradaily.url])


def test_a_link_pending_through_enough_runs_is_given_up(tmp_path: Path) -> None:
    output = tmp_path / "articles"
    settings = {
        "SMN_OUTPUT": str(output),
        "SMN_STATE_PENDING_ATTEMPTS": "2",
        "SMN_STATE_RECHECK_DAYS": "0",
    }
    run = opened_run(settings)
    failing = Request(article(4).url)
    listing = html("https://www.spacewar.com/", smn_page_kind="listing")
    collect(IncrementalSpiderMiddleware(run), listing, [failing])
    # Killed runs do not count: the link was never tried.
    run = next_run(run.crawler, reason=None)
    assert [r.url for r in started(IncrementalSpiderMiddleware(run), [])] == [failing.url]
    run = next_run(run.crawler, reason=None)
    for _ in range(2):  # two runs end without an answer for it
        assert [r.url for r in started(IncrementalSpiderMiddleware(run), [])] == [failing.url]
        run = next_run(run.crawler, reason="finished")
    assert started(IncrementalSpiderMiddleware(run), []) == []
    assert run.stats.get_value("smn/incremental/pending_dropped") == 1
    assert run.store.pending() == []
    run.spider_closed(reason="finished")


def test_redirect_middleware_drops_follow_ups_of_known_targets(opened: Crawler) -> None:
    mw = IncrementalRedirectMiddleware.from_crawler(opened)
    source = Request("https://spacedaily.com/reports/story_1_999.html")
    redirect = Response(
        source.url,
        status=301,
        headers={"Location": "https://www.spacewar.com/reports/story_1_999.html"},
    )
    assert mw.process_response(source, redirect) is redirect
    follow = Request(
        "https://www.spacewar.com/reports/story_1_999.html",
        meta={"redirect_urls": [source.url]},
    )
    with pytest.raises(IgnoreRequest):
        mw.process_request(follow)
    mw.process_request(Request(follow.url))  # not a follow-up: the spider middleware's job
    # The redirect was remembered: next time the link itself is dropped.
    assert IncrementalRun.of(opened).known_kind(source.url) == "article"


# -- crawls of the replica -----------------------------------------------------------------

NEW_TITLE = "Orbital Tug Completes First Docking Test With Retired Satellite"
NEW_URL = classic_url("www.spacewar.com", NEW_TITLE)
FEED_PATH = "/spacewar.xml"


@dataclasses.dataclass
class Crawl:
    run: CrawlRun
    requested: list[str]
    """The URLs the replica was asked for, in the network's terms."""
    ok: list[str]
    """Those it answered 200."""


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("incremental") / "articles"


def crawl_logged(replica: ReplicaHandle, dataset: Path, **settings: str) -> Crawl:
    replica.clear_log()
    run = crawl(replica, dataset, settings=settings or None)
    assert run.returncode == 0, run.output[-3000:]
    records = replica.requests()

    def url(r: Any) -> str:
        return from_direct(f"{r.scheme}://{r.host}{r.path}" + (f"?{r.query}" if r.query else ""))

    return Crawl(run, [url(r) for r in records], [url(r) for r in records if r.status == 200])


def rows(dataset: Path) -> list[dict[str, Any]]:
    return ds.dataset(dataset, partitioning="hive").to_table(columns=["url"]).to_pylist()


def article_urls(replica: ReplicaHandle, urls: list[str]) -> list[str]:
    manifest = replica.manifest()
    return [u for u in urls if manifest.article(u) is not None or url_key(u) == url_key(NEW_URL)]


def entry_keys() -> set[str]:
    """What every run fetches: the registry's feeds, home and section pages, robots.txt."""
    keys = set()
    for site in select_sites(None):
        keys |= {url_key(u) for u in (*site.feeds, site.home, *site.sections)}
    return keys


LISTINGS = frozenset({"home", "section", "archive", "feed", "broken-feed"})


def fetched_every_run(replica: ReplicaHandle, url: str) -> bool:
    """Entry points, robots.txt, and the listings and feeds found through them."""
    if url_key(url) in entry_keys() or url.endswith("/robots.txt"):
        return True
    parts = urlsplit(url)
    page = replica.app.catalog.get(parts.hostname or "", parts.path or "/")
    return page is not None and page.kind in LISTINGS


def add_new_article(replica: ReplicaHandle) -> None:
    """A new SpaceWar story, on its page and at the top of the site's feed."""
    catalog = replica.app.catalog
    base = next(a for a in catalog.articles.values() if a.host == "www.spacewar.com")
    story = dataclasses.replace(
        base.story,
        key="incremental-new",
        title=NEW_TITLE,
        raw_paragraphs=(
            "A commercial orbital tug docked with a retired weather satellite on Tuesday, the "
            "first such capture of a spacecraft that was never designed to be serviced.",
            "The operator said the tug would now raise the satellite to a graveyard orbit "
            "and then move on to its next client later this year.",
            "Engineers spent three days approaching the tumbling satellite before matching "
            "its spin and closing the final metres under autonomous control.",
        ),
    )
    new = as_new_page(base, "incremental-new", story, NEW_URL)
    publish(replica, FEED_PATH, [(new, as_before)])


@pytest.fixture(scope="module")
def run1(replica: ReplicaHandle, dataset: Path) -> Crawl:
    return crawl_logged(replica, dataset)


@pytest.fixture(scope="module")
def run2(replica: ReplicaHandle, dataset: Path, run1: Crawl) -> Crawl:
    return crawl_logged(replica, dataset)


@pytest.fixture(scope="module")
def run3(replica: ReplicaHandle, dataset: Path, run2: Crawl) -> Crawl:
    add_new_article(replica)
    return crawl_logged(replica, dataset)


@pytest.fixture(scope="module")
def run4(replica: ReplicaHandle, dataset: Path, run3: Crawl) -> Crawl:
    state = dataset.parent / "state.sqlite"
    assert state.exists()
    for path in dataset.parent.glob("state.sqlite*"):
        path.unlink()
    return crawl_logged(replica, dataset)


def test_first_run_fetches_and_stores_everything(
    replica: ReplicaHandle, dataset: Path, run1: Crawl
) -> None:
    expected = {url_key(a.url) for a in replica.manifest().articles}
    assert {url_key(r["url"]) for r in rows(dataset)} == expected
    assert (dataset.parent / "state.sqlite").exists()


def test_second_run_fetches_entry_points_only(
    replica: ReplicaHandle, dataset: Path, run1: Crawl, run2: Crawl
) -> None:
    manifest = replica.manifest()
    assert article_urls(replica, run2.requested) == []
    # Nor the About/Privacy pages and dead links the first run saw: listings and feeds only.
    assert [u for u in run2.requested if not fetched_every_run(replica, u)] == []
    assert len(rows(dataset)) == len(manifest.articles)
    assert len(run2.requested) < len(run1.requested)


def test_a_new_article_is_fetched_and_written_once(
    replica: ReplicaHandle, dataset: Path, run2: Crawl, run3: Crawl
) -> None:
    new_key = url_key(NEW_URL)
    assert [url_key(u) for u in article_urls(replica, run3.requested)] == [new_key]
    urls = [url_key(r["url"]) for r in rows(dataset)]
    assert urls.count(new_key) == 1
    assert len(urls) == len(replica.manifest().articles) + 1


def test_deleted_state_is_rebuilt_from_the_dataset(
    replica: ReplicaHandle, dataset: Path, run3: Crawl, run4: Crawl
) -> None:
    assert "'smn/incremental/state_created': 1" in run4.run.output
    # No known article page is fetched, the new one included. Redirects to them are
    # requested again (they are observations of the sites, not in the dataset) and end there.
    assert article_urls(replica, run4.ok) == []
    assert len(rows(dataset)) == len(replica.manifest().articles) + 1


def test_incremental_off_forces_a_full_crawl(
    replica: ReplicaHandle, dataset: Path, run4: Crawl
) -> None:
    full = crawl_logged(replica, dataset, SMN_INCREMENTAL="0")
    fetched = {url_key(u) for u in article_urls(replica, full.ok)}
    assert url_key(NEW_URL) in fetched
    assert len(fetched) == len(replica.manifest().articles) + 1
    # The dedup pipeline still keeps the dataset free of duplicates.
    assert len(rows(dataset)) == len(replica.manifest().articles) + 1


# -- a failed download, fetched by the next run ----------------------------------------------

# TerraDaily's Saharan dust story is linked from a SpaceWar article's RELATED CONTENT only:
# once that article is stored, no page the next runs fetch links to it.
BEHIND_URL = (
    "https://www.terradaily.com/reports/"
    "Saharan_dust_cloud_turns_skies_orange_over_southern_Spain_999.html"
)
BEHIND_SITES = "sites=spacewar.com,terradaily.com"


def test_a_failed_download_is_fetched_by_the_next_run(
    replica: ReplicaHandle, tmp_path: Path
) -> None:
    manifest = replica.manifest()
    behind = manifest.article(BEHIND_URL)
    assert behind is not None and behind.linked_from
    assert all(manifest.article(u) is not None for u in behind.linked_from)
    dataset = tmp_path / "articles"
    host, path = urlsplit(BEHIND_URL).hostname or "", urlsplit(BEHIND_URL).path
    replica.add_route(host, path, faults.status(500))
    try:
        first = crawl_sites(replica, dataset)
    finally:
        replica.remove_route(host, path)
    keys = [url_key(r["url"]) for r in rows(dataset)]
    assert url_key(BEHIND_URL) not in keys
    assert {url_key(u) for u in behind.linked_from} <= set(keys)
    assert first.requested.count(BEHIND_URL) >= 2  # retried, then given up
    second = crawl_sites(replica, dataset)
    assert BEHIND_URL in second.ok
    keys = [url_key(r["url"]) for r in rows(dataset)]
    assert keys.count(url_key(BEHIND_URL)) == 1
    assert len(keys) == len(set(keys))
    # Nothing is left for a third run.
    third = crawl_sites(replica, dataset)
    assert BEHIND_URL not in third.requested
    assert "pending_resumed" not in third.run.output


def crawl_sites(replica: ReplicaHandle, dataset: Path) -> Crawl:
    replica.clear_log()
    run = crawl(replica, dataset, "-a", BEHIND_SITES)
    assert run.returncode == 0, run.output[-3000:]
    records = replica.requests()

    def url(r: Any) -> str:
        return from_direct(f"{r.scheme}://{r.host}{r.path}" + (f"?{r.query}" if r.query else ""))

    return Crawl(run, [url(r) for r in records], [url(r) for r in records if r.status == 200])
