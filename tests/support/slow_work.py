"""Work for the extraction pool that takes as long as a test asks: ``body`` is the seconds
to sleep, ``url`` a file to touch when the work starts (so a test waits for that, not for
a guess)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from crawler.extract import Extraction
from crawler.extraction.worker import PageResult, analyse_page
from crawler.protocol import PageKind


def sleepy(body: bytes, url: str, content_type: str | None, fetched_at: dt.datetime) -> PageResult:
    Path(url).write_text("started")
    time.sleep(float(body))
    return PageResult(Extraction(None, "slept", kind=PageKind.OTHER))


def hungry(body: bytes, url: str, content_type: str | None, fetched_at: dt.datetime) -> PageResult:
    """Takes ``body`` MB of memory at once, as a page that blows up a parser would."""
    held = bytearray(int(body) * 1024 * 1024)
    return PageResult(Extraction(None, f"held {len(held)} bytes", kind=PageKind.OTHER))


def hangs_on_marked(
    body: bytes, url: str, content_type: str | None, fetched_at: dt.datetime
) -> PageResult:
    """The extractor, except on pages whose URL says ``Hangs``: those never finish (as
    trafilatura on some huge pages). For a crawl: ``-s SMN_EXTRACT_WORK=<this>``."""
    if "Hangs" in url:
        time.sleep(3600)
    return analyse_page(body, url, content_type, fetched_at)
