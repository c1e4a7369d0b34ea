"""The WARC archive of a crawl of the replica, read back with warcio (its CLI and its
ArchiveIterator), and ``scrapy archived``."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.extract import EXTRACTOR_VERSION
from crawler.network.urls import url_key
from replica.app import Request as ReplicaRequest
from replica.server import ReplicaHandle
from tests.support.crawl_run import REPO, CrawlRun, crawl
from tests.support.warc import published_rows, published_warc, record_at, warc_problems

WARCIO = Path(sys.executable).parent / "warcio"


@dataclass
class Crawled:
    run: CrawlRun
    archive: Path
    rows: list[dict]
    warc_files: list[Path]


@pytest.fixture(scope="module")
def crawled(replica: ReplicaHandle, tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    root = tmp_path_factory.mktemp("warc-crawl")
    archive = root / "warc"

    def held(request: ReplicaRequest) -> None:
        # One feed answers only once a WARC file was published mid-run (the publish
        # interval has passed with rows written): the crawl surely publishes twice.
        deadline = time.monotonic() + 30
        while not published_warc(archive) and time.monotonic() < deadline:
            time.sleep(0.05)

    replica.add_route("www.terradaily.com", "/terradaily.xml", held)
    try:
        # A publish every second as well as at the close: rows published mid-run too.
        run = crawl(replica, root / "articles", settings={"SMN_PUBLISH_INTERVAL_SECONDS": "1"})
    finally:
        replica.app.routes.clear()
    assert run.returncode == 0, run.output[-3000:]
    files = sorted(archive / name for name in published_warc(archive))
    return Crawled(run, archive, published_rows(root / "articles"), files)


def records(path: Path) -> Iterator[dict]:
    """Every record of a WARC file as ``warcio index`` sees it, with its fields."""
    done = subprocess.run(
        [str(WARCIO), "index", "-f", "warc-type,warc-target-uri,http:status,offset,length",
         str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    for line in done.stdout.splitlines():
        yield json.loads(line)


def page_bytes(replica: ReplicaHandle, url: str) -> bytes:
    """The page as the replica makes it (before any Content-Encoding)."""
    parts = urlsplit(url)
    request = ReplicaRequest("GET", parts.scheme, parts.hostname or "", parts.path, parts.query)
    return replica.app.respond(request).body


def test_warcio_check_and_index_accept_every_file(crawled: Crawled) -> None:
    assert crawled.warc_files
    for path in crawled.warc_files:
        check = subprocess.run(
            [str(WARCIO), "check", "-v", str(path)], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr
        assert "digest pass" in check.stdout
        kinds = [r["warc-type"] for r in records(path)]
        # one warcinfo first, then a request concurrent to each response
        assert kinds[0] == "warcinfo" and kinds.count("warcinfo") == 1
        assert kinds[1:] == ["response", "request"] * ((len(kinds) - 1) // 2)
    # the interval published files mid-run: more than one
    assert len(crawled.warc_files) > 1


def test_each_file_says_what_made_it(crawled: Crawled) -> None:
    crawl_id = crawled.rows[0]["crawl_id"]
    for path in crawled.warc_files:
        assert path.name.startswith(f"{crawl_id}-") and path.name.endswith(".warc.gz")
        # beside the dataset, under the day it was started
        assert path.relative_to(crawled.archive).parts[0].isdigit()
        with path.open("rb") as stream:
            info = next(iter(ArchiveIterator(stream)))
            assert info.rec_type == "warcinfo"
            assert info.rec_headers.get_header("WARC-Filename") == path.name
            fields = info.content_stream().read().decode()
        assert f"isPartOf: {crawl_id}" in fields
        assert f"extractor-version: {EXTRACTOR_VERSION}" in fields
        assert "software: smn-crawler/" in fields


def test_every_row_points_at_the_page_it_was_extracted_from(
    crawled: Crawled, replica: ReplicaHandle
) -> None:
    assert len(crawled.rows) == len(replica.manifest().articles)
    assert warc_problems(crawled.archive.parent / "articles") == []
    encoded = 0
    for row in crawled.rows:
        record = record_at(
            crawled.archive,
            row["warc_filename"],
            row["warc_record_offset"],
            row["warc_record_length"],
        )
        assert record.rec_type == "response"
        assert record.rec_headers.get_header("WARC-Target-URI") == row["url"]
        assert record.http_headers.get_statuscode() == "200"
        assert record.body == page_bytes(replica, row["url"]), row["url"]
        if record.http_headers.get_header("Content-Encoding") == "gzip":
            # stored as it came off the wire, the headers describing the stored bytes
            encoded += 1
            assert gzip.decompress(record.raw) == record.body
            assert record.http_headers.get_header("Content-Length") == str(len(record.raw))
    assert encoded >= len(crawled.rows) // 2


def test_redirects_404s_listings_and_feeds_are_archived_images_not(
    crawled: Crawled, replica: ReplicaHandle
) -> None:
    responses = [
        r for path in crawled.warc_files for r in records(path) if r["warc-type"] == "response"
    ]
    statuses = {url_key(r["warc-target-uri"]): r["http:status"] for r in responses}
    manifest = replica.manifest()
    assert "301" in statuses.values()
    assert {statuses.get(url_key(u)) for u in manifest.dead_urls} == {"404"}
    assert {statuses.get(url_key(u)) for u in manifest.feed_urls} <= {"200", "301"}
    assert all(url_key(u) in statuses for u in manifest.feed_urls)
    # every fetched page once (redirect hops of another spelling aside)
    assert not [r for r in responses if urlsplit(r["warc-target-uri"]).path.endswith(".gif")]


def test_no_archive_when_turned_off(replica: ReplicaHandle, tmp_path: Path) -> None:
    run = crawl(
        replica, tmp_path / "articles", "-a", "sites=spacewar.com",
        settings={"SMN_ARCHIVE": "0"},
    )  # fmt: skip
    assert run.returncode == 0, run.output[-3000:]
    rows = published_rows(tmp_path / "articles")
    assert rows
    assert {
        (r["warc_filename"], r["warc_record_offset"], r["warc_record_length"]) for r in rows
    } == {(None, None, None)}
    assert not (tmp_path / "warc").exists()


def test_the_archive_goes_where_smn_archive_dir_says(
    replica: ReplicaHandle, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    run = crawl(
        replica, tmp_path / "articles", "-a", "sites=spacewar.com",
        settings={"SMN_ARCHIVE_DIR": str(elsewhere)},
    )  # fmt: skip
    assert run.returncode == 0, run.output[-3000:]
    assert not (tmp_path / "warc").exists()
    assert warc_problems(tmp_path / "articles", elsewhere) == []


def archived(crawled: Crawled, *args: str) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "scrapy", "archived", *args]
    command += ["-s", f"SMN_OUTPUT={crawled.archive.parent / 'articles'}"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, timeout=60)


def test_scrapy_archived_prints_the_page_of_any_spelling_of_its_url(
    crawled: Crawled, replica: ReplicaHandle
) -> None:
    row = next(r for r in crawled.rows if r["url"].startswith("https://www.spacewar.com/"))
    # http, no www., a tracking parameter: the same page
    spelling = row["url"].replace("https://www.", "http://") + "?utm_source=feed"
    done = archived(crawled, spelling)
    assert done.returncode == 0, done.stderr
    head, _, body = done.stdout.partition(b"\n\n")
    lines = head.decode().splitlines()
    assert lines[0].startswith(f"# {row['url']} ")
    assert f"{row['warc_filename']} @{row['warc_record_offset']}" in lines[0]
    assert lines[1] == "HTTP/1.1 200 OK"
    assert body.rstrip(b"\n") == page_bytes(replica, row["url"]).rstrip(b"\n")
    only = archived(crawled, "--body", row["url"])
    assert only.stdout.rstrip(b"\n") == page_bytes(replica, row["url"]).rstrip(b"\n")


def test_scrapy_archived_lists_every_record_with_all(crawled: Crawled) -> None:
    # the feed's registry spelling redirects: two records (the 301 and the feed)
    done = archived(crawled, "--all", "https://spacedaily.com/category/news/feed")
    assert done.returncode == 0, done.stderr
    firsts = [line for line in done.stdout.decode().splitlines() if line.startswith("# ")]
    assert len(firsts) == 2
    statuses = {line for line in done.stdout.decode().splitlines() if line.startswith("HTTP/")}
    assert statuses == {"HTTP/1.1 200 OK", "HTTP/1.1 301 Moved Permanently"}


def test_scrapy_archived_says_so_when_it_has_no_page(crawled: Crawled) -> None:
    done = archived(crawled, "https://www.spacewar.com/reports/Never_Fetched_999.html")
    assert done.returncode == 1
    assert done.stdout == b""
    assert done.stderr.decode().strip() == (
        "not archived: https://www.spacewar.com/reports/Never_Fetched_999.html"
        f" (no record in {crawled.archive})"
    )
