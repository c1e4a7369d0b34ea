"""The CPU-bound work done for each fetched page, in one function a worker process can run.

The page is decoded and parsed once; the parse serves both the article extraction and the
link discovery, and only plain data (the record with its story signature, the links) travels
back to the crawler.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import multiprocessing.connection
import os
import resource
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from crawler.extract import Extraction, extract_page, read_page
from crawler.stories.signature import signature_bytes

_HREFS = etree.XPath("//a/@href | //area/@href | //link[@rel='alternate' or @rel='next']/@href")


@dataclass(slots=True)
class PageResult:
    """What one page gave: the extraction outcome and the links it holds."""

    extraction: Extraction
    links: list[str] = field(default_factory=list)
    """Every href on the page, as written (relative ones included)."""


MEMORY_EXIT = 75
"""A worker's exit status when a page took more memory than its limit allows."""


def warm_up(memory_mb: int = 0) -> None:
    """Worker initializer: import the extractor (and trafilatura) now, not on the first page,
    make the worker exit when the crawler does, and cap its memory: ``memory_mb`` of address
    space beyond what it has after the imports (0: no cap).

    It lives here, not in ``crawler.extraction.pool``: a worker imports the module of its
    initializer, and that one imports Scrapy."""
    import crawler.extract.fallback  # noqa: F401

    if memory_mb > 0:
        page = os.sysconf("SC_PAGE_SIZE")
        with open("/proc/self/statm") as statm:
            size = int(statm.read().split()[0]) * page
        limit = size + memory_mb * 1024 * 1024
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))

    parent = multiprocessing.parent_process()
    if parent is not None and parent.sentinel is not None:
        threading.Thread(
            target=_exit_with_parent, args=(parent.sentinel,), name="smn-orphan-watch", daemon=True
        ).start()


def _exit_with_parent(sentinel: int) -> None:
    # A worker blocked on its call queue never notices a crawler killed with SIGKILL (the
    # OOM killer): it, the fork server and the resource tracker would stay for ever, and
    # a crawler run from cron would pile them up. The sentinel (under forkserver too) is
    # the crawler's end of a pipe: readable once the crawler is gone.
    multiprocessing.connection.wait([sentinel])
    os._exit(1)


def guarded(work: Callable[..., PageResult], *args: Any) -> PageResult:
    """``work(*args)`` in a worker; a page past the worker's memory limit ends the worker
    (the pool starts a fresh one; the page counts as an extraction error), for its memory
    is in an unknown state after a MemoryError."""
    try:
        return work(*args)
    except MemoryError:
        os._exit(MEMORY_EXIT)


def analyse_page(
    body: bytes, url: str, content_type: str | None, fetched_at: dt.datetime
) -> PageResult:
    """Extract the article and collect the links of one HTML page; never raises."""
    page = read_page(body, content_type)
    if isinstance(page, Extraction):
        return PageResult(page)
    try:
        links = [str(h) for h in _HREFS(page.root)]
    except Exception:  # links are a bonus; the article still counts without them
        links = []
    extraction = extract_page(page, url, fetched_at=fetched_at)
    if extraction.article is not None:
        # Here, off the reactor: the stories pipeline only compares signatures.
        extraction.article.story_signature = signature_bytes(extraction.article.text)
    return PageResult(extraction, links)
