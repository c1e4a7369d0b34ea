"""Page analysis off the reactor thread, in worker processes.

Extraction is CPU-bound; run in a callback it would stall every download. With more than one
core the pages go to a process pool (``SMN_EXTRACT_WORKERS`` processes, default: the number of
cores); with one, to a single thread, so the reactor at least keeps serving the network while
a page is parsed.

A page gets ``SMN_EXTRACT_TIMEOUT``: past it its worker is killed (the other pages
in flight get a second try in a fresh pool) and the page is counted as an extraction error,
not judged, so the next run asks for it again. On SIGTERM or SIGINT the pool is abandoned:
the workers are killed and the pages in flight come back as not judged at once, so a
shutdown never waits for a stuck page.

Settings:
    SMN_EXTRACT_WORKERS: worker processes; 0 (default) means one per core, 1 means a thread.
    SMN_EXTRACT_TIMEOUT: the time a page may take in a worker.
    SMN_EXTRACT_MEMORY_MB: the memory a worker may take beyond its start (address space);
        past it the worker is replaced and the page counted as an extraction error.
    SMN_EXTRACT_WORK: the function a worker runs on a page (a dotted path; tests swap in
        one that hangs, or another extractor).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import multiprocessing
import os
import signal
import sys
import types
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import FrameType
from typing import TYPE_CHECKING, Any, Self

from scrapy.utils.misc import load_object

from crawler.defaults import get_float, get_int, get_str
from crawler.extract import Extraction
from crawler.extraction.worker import PageResult, analyse_page, guarded, warm_up
from crawler.protocol import PageKind

if TYPE_CHECKING:
    # For annotations only: the pool itself needs no Scrapy (see WORKER_MODULES).
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

CRASHED = "extraction worker crashed"
"""The reason of a page whose extraction failed twice with a dying worker."""
STOPPED = "the crawl stopped before its extraction ended"
"""The reason of a page in flight when the pool was abandoned (SIGTERM)."""


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


Work = Callable[[bytes, str, "str | None", dt.datetime], PageResult]


class ExtractionPool:
    """Runs ``analyse_page`` in worker processes and awaits the results on the reactor."""

    def __init__(
        self, workers: int, timeout: float = 0, work: Work = analyse_page, memory_mb: int = 0
    ) -> None:
        self.workers = workers
        self.timeout = timeout
        self.memory_mb = memory_mb
        """Address space a worker process may take beyond its start; 0: no cap."""
        """Seconds a page may take; 0: no limit."""
        self.work = work
        self._executor: Executor | None = None
        self._in_flight: set[asyncio.Future[PageResult]] = set()
        self._abandoned = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        hook = get_str(settings, "SMN_EXTRACT_WORK")
        return cls(
            worker_count(get_int(settings, "SMN_EXTRACT_WORKERS")),
            get_float(settings, "SMN_EXTRACT_TIMEOUT"),
            work=load_object(hook) if hook else analyse_page,
            memory_mb=get_int(settings, "SMN_EXTRACT_MEMORY_MB"),
        )

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
                    self.workers,
                    mp_context=context,
                    initializer=warm_up,
                    initargs=(self.memory_mb,),
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
            if self._abandoned:
                return PageResult(Extraction(None, STOPPED, kind=PageKind.ERROR))
            executor = self._start()
            try:
                hidden = _main_hidden() if self.workers > 1 else contextlib.nullcontext()
                with hidden:
                    if self.workers > 1:
                        future = executor.submit(
                            guarded, self.work, body, url, content_type, fetched_at
                        )
                    else:
                        future = executor.submit(self.work, body, url, content_type, fetched_at)
                waiting = asyncio.wrap_future(future)
                self._in_flight.add(waiting)
                try:
                    if self.timeout > 0:
                        return await asyncio.wait_for(waiting, self.timeout)
                    return await waiting
                finally:
                    self._in_flight.discard(waiting)
            except BrokenProcessPool:
                if self._abandoned:
                    continue
                logger.error("An extraction worker died on <%s>; restarting the pool", url)
                self._replace(executor)
            except TimeoutError:
                logger.error(
                    "Extraction of <%s> took over %s s: its worker is stopped (not judged; "
                    "asked again next run)",
                    url,
                    self.timeout,
                )
                self._replace(executor, kill=True)
                reason = f"extraction took over {self.timeout:g} s"
                return PageResult(Extraction(None, reason, kind=PageKind.ERROR))
            except asyncio.CancelledError:
                if not self._abandoned:
                    raise
        return PageResult(Extraction(None, CRASHED, kind=PageKind.ERROR))

    def _replace(self, executor: Executor, *, kill: bool = False) -> None:
        """Drop a broken or stuck pool (a fresh one starts with the next page); without
        waiting (on the reactor thread), never a fresh one another page has started."""
        if kill:
            _kill_workers(executor)
        if self._executor is executor:
            self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)

    def abandon(self) -> None:
        """Stop now: the workers killed, the pages in flight answered as not judged, the
        pages to come too. For a shutdown that must not wait for a stuck page."""
        if self._abandoned:
            return
        self._abandoned = True
        for waiting in list(self._in_flight):
            waiting.cancel()
        if self._executor is not None:
            self._replace(self._executor, kill=True)

    def abandon_on_shutdown_signals(self) -> None:
        """Abandon the pool on SIGTERM and SIGINT, before the handlers already installed
        (Scrapy's graceful shutdown, which then need not wait for a stuck page)."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(signum)

            def handler(number: int, frame: FrameType | None, previous: Any = previous) -> None:
                self.abandon()
                if callable(previous):
                    previous(number, frame)

            try:
                signal.signal(signum, handler)
            except ValueError:  # not the main thread: nothing to hook
                return

    def close(self) -> None:
        """Stop the workers."""
        if self._executor is not None:
            self._executor.shutdown(wait=not self._abandoned, cancel_futures=True)
            self._executor = None


def _kill_workers(executor: Executor) -> None:
    """SIGKILL a process pool's workers (a stuck one cannot be asked to stop)."""
    # ProcessPoolExecutor keeps its processes in _processes (CPython 3.11-3.13, tested);
    # a thread pool's stuck thread is left to finish on its own.
    processes: dict[int, Any] = getattr(executor, "_processes", None) or {}
    for process in list(processes.values()):
        with contextlib.suppress(Exception):
            process.kill()
