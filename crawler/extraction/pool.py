"""Page analysis off the reactor thread, in worker processes.

Extraction is CPU-bound; run in a callback it would stall every download. With more than one
core the pages go to a process pool (``SMN_EXTRACT_WORKERS`` processes, default: the number of
cores); with one, to a single thread, so the reactor at least keeps serving the network while
a page is parsed.

Settings:
    SMN_EXTRACT_WORKERS: worker processes; 0 (default) means one per core, 1 means a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import multiprocessing
import os
import sys
import types
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Self

from crawler.defaults import get_int
from crawler.extract import Extraction
from crawler.extraction.worker import PageResult, analyse_page, warm_up
from crawler.protocol import PageKind

if TYPE_CHECKING:
    # For annotations only: the pool itself needs no Scrapy (see WORKER_MODULES).
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

CRASHED = "extraction worker crashed"
"""The reason of a page whose extraction failed twice with a dying worker."""


# What the workers run, imported once by the fork server so that every worker starts with it
# (pages shared copy-on-write) instead of importing it on its first page. Nothing here may
# import Scrapy: the workers never use it, and it would cost each of them ~50 MB.
WORKER_MODULES = ["crawler.extraction.worker", "crawler.extract.fallback"]
_BLANK_MAIN = types.ModuleType("__main__")


@contextlib.contextmanager
def _main_hidden() -> Iterator[None]:
    """Hide the crawler's ``__main__`` while the pool may start a worker.

    multiprocessing runs the parent's main module again in every new worker (unless it is
    a package's ``__main__``, as for ``python -m scrapy``): for the ``scrapy`` console script
    that imports Scrapy and Twisted into each worker, some 50 MB apiece that the workers never
    use. A worker is started only inside ``submit``, on the reactor thread; the workers need
    nothing from ``__main__`` (they run ``crawler.extraction.worker`` on plain data)."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = _BLANK_MAIN
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def worker_count(setting: int) -> int:
    """Workers to start for a setting value (0 = one per usable core)."""
    if setting > 0:
        return setting
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class ExtractionPool:
    """Runs ``analyse_page`` in worker processes and awaits the results on the reactor."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: Executor | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(worker_count(get_int(crawler.settings, "SMN_EXTRACT_WORKERS")))

    def _start(self) -> Executor:
        if self._executor is None:
            if self.workers <= 1:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="smn-extract")
            else:
                # forkserver: forking the crawler process itself would copy its reactor,
                # threads and sockets into every worker.
                context = multiprocessing.get_context("forkserver")
                # Takes effect when the fork server starts (the first pool of the process).
                context.set_forkserver_preload(WORKER_MODULES)
                self._executor = ProcessPoolExecutor(
                    self.workers, mp_context=context, initializer=warm_up
                )
            logger.info(
                "Extraction runs in %d %s",
                self.workers,
                "process(es)" if self.workers > 1 else "thread",
            )
        return self._executor

    async def analyse(
        self, body: bytes, url: str, content_type: str | None, fetched_at: dt.datetime
    ) -> PageResult:
        """Analyse one page in a worker; a crashed worker costs that page, not the crawl.

        A worker that dies (killed, out of memory) breaks the whole pool: every page in
        flight fails with it. Each gets a second try in a fresh pool, so one death costs
        at most the page that caused it; only the broken pool is shut down, without
        waiting (on the reactor thread), never a fresh one another page has started."""
        for _ in range(2):
            executor = self._start()
            try:
                hidden = _main_hidden() if self.workers > 1 else contextlib.nullcontext()
                with hidden:
                    future = executor.submit(analyse_page, body, url, content_type, fetched_at)
                return await asyncio.wrap_future(future)
            except BrokenProcessPool:
                logger.error("An extraction worker died on <%s>; restarting the pool", url)
                if self._executor is executor:
                    self._executor = None
                    executor.shutdown(wait=False, cancel_futures=True)
        return PageResult(Extraction(None, CRASHED, kind=PageKind.ERROR))

    def close(self) -> None:
        """Stop the workers."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
