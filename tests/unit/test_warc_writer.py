"""The WARC writer and its index, read back with warcio; the dataset writer's publish order."""

from __future__ import annotations

import datetime as dt
import fcntl
import gzip
import io
import os
import time
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.archive.index import (
    ArchiveIndex,
    RecordReader,
    inflate_member,
    parse_record,
    parse_record_warcio,
    read_record,
)
from crawler.archive.writer import Exchange, WarcArchive
from crawler.dataset.schema import to_row
from crawler.dataset.writer import DatasetWriter
from crawler.downloadermiddlewares.warc import archivable
from tests.support.writer import article

NOW = dt.datetime(2026, 12, 5, 10, 15, tzinfo=dt.UTC)
PAGE = b"<html><head><title>Launch</title></head><body><p>Liftoff.</p></body></html>" * 20


def exchange(
    url: str = "https://www.spacewar.com/reports/Launch_999.html", **kw: object
) -> Exchange:
    fields: dict = {
        "status": 200,
        "headers": [("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
        "body": gzip.compress(PAGE),
        "fetched_at": NOW,
    }
    fields.update(kw)
    return Exchange(url, **fields)


class Stats(dict):
    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None:
        self[key] = self.get(key, start) + count

    def set_value(self, key: str, value: object) -> None:
        self[key] = value

    def get_value(self, key: str, default: object = None) -> object:
        return self.get(key, default)


def row(n: int, **changes: object) -> dict:
    return to_row(article(n, **changes))


def every_record(path: Path) -> list[tuple[str, str | None, bytes]]:
    """(type, target URI, decoded content) of each record, digests checked."""
    with path.open("rb") as stream:
        return [
            (
                r.rec_type,
                r.rec_headers.get_header("WARC-Target-URI"),
                r.content_stream().read(),
            )
            for r in ArchiveIterator(stream, check_digests="raise")
        ]


def test_a_file_is_hidden_until_published_then_reads_back(tmp_path: Path) -> None:
    archive = WarcArchive(tmp_path, "run1", info={"crawl-id": "run1"})
    archive.open()
    location = archive.write(exchange())
    assert not list(tmp_path.rglob("*.warc.gz"))  # a `*.warc.gz` glob sees nothing yet
    assert sorted(p.name for p in tmp_path.rglob(".*.tmp")) == [
        ".run1-00000.cdxj.tmp",
        ".run1-00000.warc.gz.tmp",
    ]
    path = archive.publish()
    assert path == tmp_path / "2026/12/05/run1-00000.warc.gz"
    assert location.filename == "2026/12/05/run1-00000.warc.gz"
    assert not list(tmp_path.rglob(".*"))
    kinds = every_record(path)
    assert [(k, u) for k, u, _ in kinds] == [
        ("warcinfo", None),
        ("response", "https://www.spacewar.com/reports/Launch_999.html"),
        ("request", "https://www.spacewar.com/reports/Launch_999.html"),
    ]
    assert b"crawl-id: run1" in kinds[0][2]
    assert kinds[1][2] == PAGE  # decoded on read
    page = read_record(tmp_path, location.filename, location.offset, location.length)
    assert page.body == PAGE and page.status_line == "HTTP/1.1 200 OK"
    assert archive.publish() is None  # nothing new: no empty file


def test_the_request_record_is_concurrent_to_its_response(tmp_path: Path) -> None:
    archive = WarcArchive(tmp_path, "run1")
    archive.write(exchange(request_headers=[("Accept-Encoding", "gzip, deflate")]))
    path = archive.publish()
    assert path is not None
    with path.open("rb") as stream:
        records = list(ArchiveIterator(stream))
    response, request = records[1], records[2]
    assert request.rec_headers.get_header("WARC-Concurrent-To") == response.rec_headers.get_header(
        "WARC-Record-ID"
    )
    assert request.http_headers.protocol == "GET"
    assert request.http_headers.statusline == "/reports/Launch_999.html HTTP/1.1"
    assert request.http_headers.get_header("Host") == "www.spacewar.com"
    assert request.http_headers.get_header("Accept-Encoding") == "gzip, deflate"


def test_stored_headers_describe_the_stored_body(tmp_path: Path) -> None:
    """The downloader de-chunks bodies and a truncated answer is shorter than announced:
    the headers stored must let any reader find the body's end."""
    archive = WarcArchive(tmp_path, "run1")
    chunked = archive.write(
        exchange(
            headers=[("Content-Type", "text/html"), ("Transfer-Encoding", "chunked")], body=PAGE
        )
    )
    short = archive.write(
        exchange(
            "https://www.spacewar.com/short.html",
            headers=[("Content-Type", "text/html"), ("Content-Length", "99999")],
            body=PAGE[:100],
            truncated=True,
        )
    )
    archive.publish()
    page = read_record(tmp_path, chunked.filename, chunked.offset, chunked.length)
    assert page.body == PAGE
    assert ("X-Crawler-Transfer-Encoding", "chunked") in page.headers
    assert ("Content-Length", str(len(PAGE))) in page.headers
    assert "transfer-encoding" not in {k.lower() for k, _ in page.headers}
    page = read_record(tmp_path, short.filename, short.offset, short.length)
    assert page.body == PAGE[:100]
    assert ("X-Crawler-Content-Length", "99999") in page.headers
    assert ("Content-Length", "100") in page.headers
    with (tmp_path / short.filename).open("rb") as stream:
        stream.seek(short.offset)
        record = next(iter(ArchiveIterator(io.BytesIO(stream.read(short.length)))))
    assert record.rec_headers.get_header("WARC-Truncated") == "disconnect"


def test_files_rotate_at_the_size_limit(tmp_path: Path) -> None:
    archive = WarcArchive(tmp_path, "run1", max_bytes=2**20)
    big = os.urandom(400_000)  # incompressible: each exchange adds ~400 KB
    locations = [
        archive.write(exchange(f"https://www.spacewar.com/{n}.html", body=big, headers=[]))
        for n in range(6)
    ]
    archive.close()
    names = sorted(p.name for p in tmp_path.rglob("*.warc.gz"))
    assert names == ["run1-00000.warc.gz", "run1-00001.warc.gz"]
    assert [loc.filename.rsplit("/", 1)[1] for loc in locations] == [names[0]] * 3 + [names[1]] * 3
    for n, loc in enumerate(locations):
        page = read_record(tmp_path, loc.filename, loc.offset, loc.length)
        assert page.url == f"https://www.spacewar.com/{n}.html" and page.body == big


def test_a_reused_crawl_id_never_overwrites_a_file(tmp_path: Path) -> None:
    for _ in range(2):
        archive = WarcArchive(tmp_path, "same")
        archive.write(exchange())
        archive.close()
    assert sorted(p.name for p in tmp_path.rglob("*.warc.gz")) == [
        "same-00000.warc.gz",
        "same-00001.warc.gz",
    ]


def test_a_killed_runs_hidden_files_are_removed_a_live_ones_kept(tmp_path: Path) -> None:
    day = tmp_path / "2026/12/04"
    day.mkdir(parents=True)
    stale = day / ".killed-00000.warc.gz.tmp"
    stale.write_bytes(b"partial")
    stale_index = day / ".killed-00000.cdxj.tmp"
    stale_index.write_text("")
    orphan_index = day / "killed-00001.cdxj"  # killed between the index and the file rename
    orphan_index.write_text("")
    live = day / ".live-00000.warc.gz.tmp"
    live.write_bytes(b"being written")
    published = day / "done-00000.warc.gz"
    published.write_bytes(b"")
    (day / "done-00000.cdxj").write_text("")
    past = time.time() - 60
    for path in (stale, stale_index, orphan_index, live, published):
        os.utime(path, (past, past))
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # its writer is alive
    try:
        removed = WarcArchive(tmp_path, "next").open()
    finally:
        os.close(fd)
    assert sorted(removed) == sorted([stale, stale_index, orphan_index])
    assert sorted(p.name for p in day.iterdir()) == [
        ".live-00000.warc.gz.tmp",
        "done-00000.cdxj",
        "done-00000.warc.gz",
    ]


def test_the_lookup_finds_every_spelling_newest_first_and_new_files_later(
    tmp_path: Path,
) -> None:
    archive = WarcArchive(tmp_path, "run1")
    first = archive.write(exchange("http://spacewar.com/reports/Launch_999.html?utm_source=x"))
    archive.publish()
    index = ArchiveIndex(tmp_path)
    assert index.refresh() == 1
    later = NOW + dt.timedelta(hours=1)
    second = archive.write(exchange(fetched_at=later))
    assert [e.offset for e in index.lookup("https://www.spacewar.com/reports/Launch_999.html")] == [
        first.offset
    ]
    archive.publish()  # the next lookup ingests the new file's index, reads no WARC file
    assert index.refresh() == 1
    found = index.lookup("https://WWW.SpaceWar.com/reports/Launch_999.html")
    assert [(e.filename, e.offset) for e in found] == [
        (second.filename, second.offset),
        (first.filename, first.offset),
    ]
    assert index.lookup("https://www.spacewar.com/reports/Other_999.html") == []
    # a file gone (moved away): its records are forgotten
    (tmp_path / second.filename).unlink()
    (tmp_path / second.filename.replace(".warc.gz", ".cdxj")).unlink()
    index.refresh()
    assert [e.filename for e in index.lookup("https://spacewar.com/reports/Launch_999.html")] == [
        first.filename
    ]
    index.close()


def test_only_text_answers_are_archived() -> None:
    for kept in (None, b"", b"text/html; charset=iso-8859-1", b"text/xml", b"text/plain",
                 b"application/rss+xml; charset=UTF-8", b"application/atom+xml",
                 b"application/xhtml+xml", b"application/json"):  # fmt: skip
        assert archivable(kept), kept
    for skipped in (b"image/gif", b"image/jpeg", b"application/pdf", b"video/mp4",
                    b"application/octet-stream", b"font/woff2"):  # fmt: skip
        assert not archivable(skipped), skipped


# -- the order of publication ---------------------------------------------------------------


def test_the_archive_is_published_before_each_dataset_file(tmp_path: Path) -> None:
    archive = WarcArchive(tmp_path / "warc", "run1")
    seen: list[tuple[int, int]] = []

    def publish_archive() -> None:
        archive.publish()
        # at this moment: WARC files published, dataset files not yet
        seen.append(
            (len(list((tmp_path / "warc").rglob("*.warc.gz"))), len(list(tmp_path.rglob("part-*"))))
        )

    writer = DatasetWriter(tmp_path / "articles", "run1", Stats(), file_max_rows=2)
    writer.before_publish = publish_archive
    writer.open()
    for n in range(4):
        location = archive.write(exchange(f"https://www.spacewar.com/{n}.html"))
        writer.write(row(n, warc_filename=location.filename))
    writer.close()
    assert seen == [(1, 0), (2, 1)]


def test_a_dataset_file_is_not_published_when_the_archive_cannot_be(tmp_path: Path) -> None:
    def broken() -> None:
        raise OSError("No space left on device")

    stats = Stats()
    writer = DatasetWriter(tmp_path / "articles", "run1", stats)
    writer.before_publish = broken
    writer.open()
    writer.write(row(1))
    writer.close()
    assert not list(tmp_path.rglob("*.parquet"))
    assert stats.get_value("parquet/rows_lost") == 1
    assert writer.failed


@pytest.mark.parametrize("max_mb", [0, 2001])
def test_the_size_limit_keeps_offsets_in_int32(tmp_path: Path, max_mb: int) -> None:
    with pytest.raises(ValueError, match="SMN_ARCHIVE_MAX_MB"):
        WarcArchive(tmp_path, "run1", max_bytes=max_mb * 2**20)


def test_a_live_writers_files_survive_another_writers_cleaning(tmp_path: Path) -> None:
    # Distributed workers share the archive directory: a worker starting later must not
    # take the hidden files (the WARC file or its index) of one still writing.
    first = WarcArchive(tmp_path, "run-w1")
    first.write(exchange())
    past = time.time() - 60
    for path in tmp_path.rglob(".*.tmp"):
        os.utime(path, (past, past))
    assert WarcArchive(tmp_path, "run-w2").open() == []
    path = first.publish()
    assert path is not None and path.with_suffix("").with_suffix(".cdxj").exists()


def _forms() -> dict[str, dict[str, object]]:
    """Answers of every form a server may send, as the download handler gives them."""
    import zlib

    deflated = zlib.compress(PAGE)
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw_deflated = raw_deflate.compress(PAGE) + raw_deflate.flush()
    html = ("Content-Type", "text/html")
    return {
        "gzip": {},
        "identity": {"headers": [html], "body": PAGE},
        "explicit identity": {
            "headers": [("content-type", "text/html"), ("content-encoding", "Identity")],
            "body": PAGE,
        },
        "deflate": {"headers": [html, ("Content-Encoding", "deflate")], "body": deflated},
        "raw deflate": {"headers": [html, ("Content-Encoding", "deflate")], "body": raw_deflated},
        "x-gzip": {"headers": [html, ("Content-Encoding", "x-gzip")], "body": gzip.compress(PAGE)},
        "gzip twice": {
            "headers": [html, ("Content-Encoding", "gzip, gzip")],
            "body": gzip.compress(gzip.compress(PAGE)),
        },
        "two gzip members": {
            "headers": [html, ("Content-Encoding", "gzip")],
            "body": gzip.compress(PAGE[:300]) + gzip.compress(PAGE[300:]),
        },
        "not gzip at all": {"headers": [html, ("Content-Encoding", "gzip")], "body": PAGE},
        "gzip cut short": {
            "headers": [html, ("Content-Encoding", "gzip")],
            "body": gzip.compress(PAGE)[:-30],
        },
        "unknown encoding": {"headers": [html, ("Content-Encoding", "snappy")], "body": PAGE},
        "chunked": {"headers": [html, ("Transfer-Encoding", "chunked")], "body": PAGE},
        "no headers": {"headers": [], "body": PAGE},
        "latin-1 header": {"headers": [html, ("X-Caf\u00e9", "cr\u00e8me")], "body": PAGE},
        "empty body": {"headers": [html], "body": b""},
        "404": {"status": 404, "headers": [html], "body": PAGE},
        "redirect": {
            "status": 301,
            "headers": [("Location", "https://www.spacewar.com/x.html")],
            "body": b"",
        },
    }


def _archived(tmp_path: Path) -> dict[str, tuple[Exchange, Any]]:
    archive = WarcArchive(tmp_path, "run1")
    written = {}
    for n, (name, fields) in enumerate(_forms().items()):
        sent = exchange(f"https://www.spacewar.com/{n}.html", **fields)
        written[name] = (sent, archive.write(sent))
    archive.publish()
    return written


def test_the_fast_reader_gives_what_warcio_gives_for_every_form(tmp_path: Path) -> None:
    """RecordReader parses the records this crawler writes itself and hands any other form
    to warcio: either way, the page ``scrapy archived`` prints is the one warcio reads."""
    fast = []
    with RecordReader(tmp_path) as reader:
        for name, (_, where) in _archived(tmp_path).items():
            with (tmp_path / where.filename).open("rb") as stream:
                stream.seek(where.offset)
                data = inflate_member(stream.read(where.length), name)
            expected = parse_record_warcio(data, name)
            assert reader.read(where.filename, where.offset, where.length) == expected, name
            if parse_record(data) is not None:
                fast.append(name)
    # The crawler's own common forms take the fast way (else it would be no faster).
    assert {"gzip", "identity", "deflate", "no headers", "404", "redirect"} <= set(fast)


def test_a_replayed_answer_decodes_to_the_bytes_the_crawl_extracted_from(
    tmp_path: Path,
) -> None:
    """What a re-extraction's spider gets from a record (read undecoded, then through
    Scrapy's decompression middleware, as in the crawl) is what the crawl's spider got from
    the wire: the same body, or the same refusal, whatever the answer's encoding."""
    from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
    from scrapy.http import Headers, Request, Response
    from scrapy.utils.test import get_crawler

    from crawler.downloadermiddlewares.archive_replay import replay_headers

    decompress = HttpCompressionMiddleware.from_crawler(get_crawler())

    def through(url: str, status: int, headers: list[tuple[str, str]], body: bytes) -> object:
        response = Response(url, status=status, headers=Headers(headers), body=body)
        try:
            return decompress.process_response(Request(url), response).body
        except Exception as exc:
            return type(exc)

    with RecordReader(tmp_path) as reader:
        for name, (sent, where) in _archived(tmp_path).items():
            crawl = through(sent.url, sent.status, list(sent.headers), sent.body)
            page = reader.read(where.filename, where.offset, where.length, decode=False)
            headers = replay_headers(page.headers, len(page.body), decoded=page.decoded)
            replayed = through(page.url, int(page.status_line.split()[1]), headers, page.body)
            assert replayed == crawl, name
