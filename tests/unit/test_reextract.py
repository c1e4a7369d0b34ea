"""Re-extraction's pieces that need no crawl: the options, the replayed headers, a damaged
record, the outcome of a run without entry points, the progress line."""

from __future__ import annotations

import gzip

import pytest

from crawler.archive.index import DamagedRecord, inflate_member
from crawler.downloadermiddlewares.archive_replay import parse_warc_date, replay_headers
from crawler.extensions.reextract_progress import progress_line
from crawler.outcome.judge import ExitCode, judge
from crawler.reextract.plan import parse_months


def test_months_are_normalised_and_bad_ones_named() -> None:
    assert parse_months("2025-5, 2025-06,") == {"2025-05", "2025-06"}
    assert parse_months("") == frozenset()
    for bad in ("2025-13", "May 2025", "2025-00"):
        with pytest.raises(ValueError, match=bad):
            parse_months(bad)


def test_a_replayed_answer_keeps_its_encoding_and_whether_a_length_was_declared() -> None:
    gzipped = [
        ("Content-Type", "text/html"),
        ("Content-Encoding", "gzip"),
        ("Content-Length", "80"),
    ]
    # as stored: the decompression middleware decodes it as in the crawl
    assert replay_headers(gzipped, 80) == [
        ("Content-Type", "text/html"),
        ("Content-Encoding", "gzip"),
        ("Content-Length", "80"),
    ]
    assert replay_headers(gzipped, 300, decoded=True) == [
        ("Content-Type", "text/html"),
        ("Content-Length", "300"),
    ]
    # chunked: the archive stored the true length, the server declared none
    chunked = [
        ("Content-Type", "text/html"),
        ("X-Crawler-Transfer-Encoding", "chunked"),
        ("Content-Length", "120"),
    ]
    assert replay_headers(chunked, 120) == [("Content-Type", "text/html")]
    # a declared length that disagreed with the body (cut short)
    short = [("Content-Type", "text/html"), ("X-Crawler-Content-Length", "9000")]
    assert replay_headers(short, 500) == [("Content-Type", "text/html"), ("Content-Length", "500")]


def test_warc_dates_read_back_to_the_microsecond() -> None:
    when = parse_warc_date("2026-12-05T10:15:00.123456Z")
    assert (when.isoformat()) == "2026-12-05T10:15:00.123456+00:00"
    assert parse_warc_date("2026-12-05T10:15:00Z").microsecond == 0


def test_a_damaged_member_is_refused() -> None:
    member = gzip.compress(b"WARC/1.1\r\n" + b"x" * 5000)
    assert inflate_member(member, "f:0").startswith(b"WARC/1.1")
    with pytest.raises(DamagedRecord, match="truncated"):
        inflate_member(member[: len(member) // 2], "f:0")
    flipped = bytearray(member)
    flipped[len(member) - 6] ^= 0xFF  # in the CRC/length trailer
    with pytest.raises(DamagedRecord):
        inflate_member(bytes(flipped), "f:0")
    with pytest.raises(DamagedRecord, match="followed"):
        inflate_member(member + b"junk", "f:0")


def test_a_reextraction_has_no_entry_point_to_miss() -> None:
    done = {
        "finish_reason": "finished",
        "smn/entry/fetched": 0,
        "smn/articles/extracted": 3,
        "parquet/rows_written": 3,
    }
    assert judge(done).code == ExitCode.NO_ENTRY_POINT
    assert judge({**done, "smn/reextract/pages_planned": 5}).code == ExitCode.OK


def test_progress_line() -> None:
    assert progress_line(250, 1000, 50.0) == (
        "re-extraction: 250 of 1,000 pages (25%), 50.0 pages/s, 0:00:15 left"
    )
    assert progress_line(0, 0, 0.0) == "re-extraction: 0 of 0 pages, 0.0 pages/s"
