"""What a hostile site can and cannot do to a crawl with the project's own limits (no size
or timeout setting is overridden here): pages too big to hold, compressed or not, are
dropped and memory stays low; page content never names a file; XML entities are never
expanded or fetched; robots.txt is obeyed and no host off the network is asked."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest
from scrapy.settings import Settings

from crawler.network.urls import url_key
from replica import faults
from replica.app import Handler
from replica.server import ReplicaHandle
from tests.support.crawl_run import CrawlRun, RunningCrawl
from tests.support.replica_tools import MB, PEAK_MEMORY_LIMIT, page_body, split, watch_memory

SPACEWAR = "https://www.spacewar.com"
CRAWL_ID = "20260101T000000Z-5ec0de"
LINKING_PAGE = f"{SPACEWAR}/Superpowers.html"
ORIGINAL = f"{SPACEWAR}/reports/Baltic_states_to_link_air_defences_in_joint_shield_999.html"
# Path separators and dot-dot in the URL (percent-encoded, as a link can carry them) and in
# every field a record takes from the page.
HOSTILE = f"{SPACEWAR}/reports/..%2F..%2F..%2Fetc%2Fpasswd_999.html"
HOSTILE_TITLE = "../../../etc/passwd /tmp/x C:\\Windows\\win.ini"
GZIP_BOMB = f"{SPACEWAR}/reports/Compressed_to_nothing_999.html"
MANY_PARAGRAPHS = [
    f"{SPACEWAR}/reports/Four_hundred_thousand_paragraphs_{i}_999.html" for i in range(4)
]
MANY_LINKS = f"{SPACEWAR}/reports/Two_hundred_thousand_links_999.html"
TREE_MEMORY_LIMIT = 600 * MB
HUGE = f"{SPACEWAR}/reports/Thirty_megabytes_of_news_999.html"
# A feed whose entities point at a local file and at a host off the network. Expanded,
# the file's content (a network URL) would become a link the crawl follows.
XXE_FEED = f"{SPACEWAR}/spacewar.xml"
LEAKED = f"{SPACEWAR}/reports/Leaked_through_an_external_entity_999.html"
# The feed's one plain link, linked from nowhere else: written, it shows the feed was read.
FEED_ONLY = (
    f"{SPACEWAR}/reports/Hackers_disrupt_satellite_ground_station_of_defence_contractor_999.html"
)
WARC_FILE = re.compile(
    rf"^(\d{{4}}/\d{{2}}/\d{{2}}/{re.escape(CRAWL_ID)}-\d{{5}}\.(warc\.gz|cdxj)|index\.sqlite)$"
)
DATASET_FILE = re.compile(
    rf"^year=(19|20)\d\d/month=([1-9]|1[0-2])/part-{re.escape(CRAWL_ID)}-\d{{5}}\.parquet$"
)


def hostile_article(replica: ReplicaHandle) -> bytes:
    """A real article moved to the hostile URL (og:url and canonical included, so it is a
    new article and not a copy of the original) under a hostile headline."""
    body = page_body(replica, ORIGINAL)
    old_path = split(ORIGINAL)[1].rsplit("/", 1)[1].encode()
    new_path = split(HOSTILE)[1].rsplit("/", 1)[1].encode()
    old_title = b"Baltic states to link air defences in joint shield"
    return body.replace(old_path, new_path).replace(old_title, HOSTILE_TITLE.encode())


def xxe_feed(secret: Path) -> bytes:
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n'
        b'<!ENTITY file SYSTEM "file://' + str(secret).encode() + b'">\n'
        b'<!ENTITY remote SYSTEM "https://www.example.org/entity.xml">\n]>\n'
        b'<rss version="2.0"><channel><title>SpaceWar</title>\n'
        b"<item><title>a</title><link>&file;</link></item>\n"
        b"<item><title>b</title><link>&remote;</link></item>\n"
        b"<item><title>c</title><link>" + FEED_ONLY.encode() + b"</link></item>\n"
        b"</channel></rss>\n"
    )


@dataclass
class HostileCrawl:
    run: CrawlRun
    root: Path
    report: dict[str, Any]
    peaks: dict[int, int]


@pytest.fixture(scope="module")
def hostile(replica: ReplicaHandle, tmp_path_factory: pytest.TempPathFactory) -> HostileCrawl:
    root = tmp_path_factory.mktemp("hostile")
    secret = root / "secret.txt"
    secret.write_text(LEAKED)

    def route(url: str, handler: Handler) -> None:
        replica.add_route(*split(url), handler)

    links = [HOSTILE, GZIP_BOMB, HUGE, *MANY_PARAGRAPHS, MANY_LINKS]
    route(LINKING_PAGE, faults.serve(faults.with_links(page_body(replica, LINKING_PAGE), links)))
    # The probe's pages under the size cap that cost the most to read: 450,000 paragraphs
    # (8 MB; 34 s and 1.2 GB in a worker before), four of them, and 200,000 links (7.6 MB).
    paragraphs = b"<html><body>" + b"<p>abc def ghi</p>" * 450_000 + b"</body></html>"
    for url in MANY_PARAGRAPHS:
        route(url, faults.serve(paragraphs))
    anchors = b"".join(b'<a href="/reports/L%d_999.html">x</a>' % i for i in range(200_000))
    route(MANY_LINKS, faults.serve(b"<html><body>" + anchors + b"</body></html>"))
    route(HOSTILE, faults.serve(hostile_article(replica)))
    route(GZIP_BOMB, faults.gzip_bomb(256 * MB))
    route(HUGE, faults.huge(30 * MB))
    route(XXE_FEED, faults.serve(xxe_feed(secret), "text/xml"))
    running = RunningCrawl(
        replica,
        root / "articles",
        root / "crawl.log",
        settings={"SMN_CRAWL_ID": CRAWL_ID},
    )
    started = time.monotonic()
    peaks = watch_memory(running)
    run = running.wait(timeout=60)
    print(
        f"\nhostile crawl: {time.monotonic() - started:.1f} s, peak RSS "
        f"{sorted(round(p / MB) for p in peaks.values())} MB"
    )
    assert run.returncode == 0, run.output[-4000:]
    report = json.loads((root / "reports" / f"{CRAWL_ID}.json").read_text())
    return HostileCrawl(run, root, report, peaks)


def test_the_project_caps_sizes_and_times() -> None:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    assert 0 < settings.getint("DOWNLOAD_MAXSIZE") <= 8 * MB
    assert 0 < settings.getint("DOWNLOAD_WARNSIZE") <= settings.getint("DOWNLOAD_MAXSIZE")
    assert 0 < settings.getfloat("DOWNLOAD_TIMEOUT") <= 60
    assert 0 < settings.getint("REDIRECT_MAX_TIMES") <= 10
    assert settings.getbool("ROBOTSTXT_OBEY")


def test_oversized_pages_are_dropped_and_memory_stays_low(hostile: HostileCrawl) -> None:
    kinds = hostile.report["faults"]["by_kind"]
    assert kinds.get("size_cap") == 1  # the 30 MB page, cancelled at its Content-Length
    assert kinds.get("decompression_cap") == 1  # 256 MB inflated from 256 KB
    assert hostile.report["faults"]["size_cap_cancels"] == 2
    assert max(hostile.peaks.values()) < PEAK_MEMORY_LIMIT
    # the whole process tree (each process's own peak, summed: an upper bound)
    assert sum(hostile.peaks.values()) < TREE_MEMORY_LIMIT
    not_records = {url_key(GZIP_BOMB), url_key(HUGE)}
    assert not [r for r in _rows(hostile) if url_key(r["url"]) in not_records]


def test_no_file_name_comes_from_page_content(hostile: HostileCrawl) -> None:
    dataset = hostile.run.dataset
    (row,) = [r for r in _rows(hostile) if url_key(r["url"]) == url_key(HOSTILE)]
    assert row["title"] == HOSTILE_TITLE  # the record keeps what the page said...
    files = [p.relative_to(dataset).as_posix() for p in dataset.rglob("*") if p.is_file()]
    assert files
    assert [f for f in files if not DATASET_FILE.match(f)] == []  # ...no file name does
    # Nothing but the run's own files anywhere under the crawl's directory.
    top = {p.name for p in hostile.root.iterdir()}
    assert top <= {
        "articles",
        "reports",
        "warc",
        "crawl.log",
        "secret.txt",
        ".articles.lock",
        ".articles.publish.lock",
        ".articles.build.lock",
        ".articles.gen",
        ".articles.schemas.json",
        "state.sqlite",
        "state.sqlite-wal",
        "state.sqlite-shm",
    }, top
    assert [p.name for p in (hostile.root / "reports").iterdir()] == [f"{CRAWL_ID}.json"]
    archive = hostile.root / "warc"
    archived = [p.relative_to(archive).as_posix() for p in archive.rglob("*") if p.is_file()]
    assert archived
    assert [f for f in archived if not WARC_FILE.match(f)] == []
    assert not [p for p in hostile.root.rglob("*") if "passwd" in p.name or p.name == "etc"]


def test_xml_entities_are_neither_expanded_nor_fetched(
    replica: ReplicaHandle, hostile: HostileCrawl
) -> None:
    hosts = replica.requested_hosts()
    assert "www.example.org" not in hosts
    leaked = split(LEAKED)
    assert not [r for r in replica.requests() if (r.host, r.path) == leaked]
    # the feed was read all the same: its plain link was followed
    assert any(url_key(r["url"]) == url_key(FEED_ONLY) for r in _rows(hostile))


def test_robots_txt_is_obeyed_and_nothing_off_the_network_asked(
    replica: ReplicaHandle, hostile: HostileCrawl
) -> None:
    assert hostile.report["faults"]["robots_forbidden"] > 0  # every page links /cgi-bin/
    assert replica.disallowed_requests() == []
    assert replica.off_network_requests() == []


def _rows(hostile: HostileCrawl) -> list[dict[str, Any]]:
    return ds.dataset(hostile.run.dataset, partitioning="hive").to_table().to_pylist()
