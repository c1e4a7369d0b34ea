"""The scheduler (``SCHEDULER``): Scrapy's, with the waiting requests on disk.

A long crawl's frontier grows with the pages it has read (a page of 200,000 links took the
crawler to 568 MB with Scrapy's memory queues). Scrapy keeps waiting requests in disk queues
when ``JOBDIR`` is set; without one, :class:`DiskQueueScheduler` gives it a private
temporary directory (in ``TMPDIR``, removed at the close), so memory no longer grows with the
frontier. What a run leaves for the next is the incremental state's business, not the
queue's: nothing in the directory outlives the run. The run holds a lock on its directory;
the directory of a killed run (nobody holds its lock) is removed by the next run. A
``JOBDIR`` set by hand is Scrapy's as ever.

Setting: ``SMN_DISK_QUEUE`` (README "Settings").
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Self

from scrapy.core.scheduler import Scheduler
from scrapy.utils.job import job_dir
from scrapy.utils.misc import build_from_crawler, load_object

from crawler.defaults import get_bool

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from twisted.internet.defer import Deferred

logger = logging.getLogger(__name__)

PREFIX = "smn-requests-"
LOCK = ".lock"
ABANDONED_AFTER = 60.0
"""Seconds a queue directory must be old before a run may remove it as abandoned."""


def _remove_abandoned() -> None:
    """Remove the queue directories of killed runs: those whose lock nobody holds."""
    for directory in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            if time.time() - directory.stat().st_mtime < ABANDONED_AFTER:
                continue  # perhaps a run starting this very moment, not yet locked
        except OSError:
            continue
        try:
            fd = os.open(directory / LOCK, os.O_RDWR)
        except OSError:
            continue  # being created, or not ours
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a live run's
        finally:
            os.close(fd)
        shutil.rmtree(directory, ignore_errors=True)
        logger.info("Removed the request queue of a killed run: %s", directory)


class DiskQueueScheduler(Scheduler):
    """Scrapy's scheduler, its waiting requests in disk queues in a temporary directory."""

    _scratch: tempfile.TemporaryDirectory[str] | None = None
    _lock: int | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if job_dir(settings) or not get_bool(settings, "SMN_DISK_QUEUE"):
            return super().from_crawler(crawler)
        _remove_abandoned()
        scratch = tempfile.TemporaryDirectory(prefix=PREFIX)
        lock = os.open(Path(scratch.name, LOCK), os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        scheduler = cls(
            dupefilter=build_from_crawler(load_object(settings["DUPEFILTER_CLASS"]), crawler),
            jobdir=scratch.name,
            dqclass=load_object(settings["SCHEDULER_DISK_QUEUE"]),
            mqclass=load_object(settings["SCHEDULER_MEMORY_QUEUE"]),
            logunser=settings.getbool("SCHEDULER_DEBUG"),
            stats=crawler.stats,
            pqclass=load_object(settings["SCHEDULER_PRIORITY_QUEUE"]),
            crawler=crawler,
        )
        scheduler._scratch = scratch
        scheduler._lock = lock
        return scheduler

    def close(self, reason: str) -> Deferred[None] | None:
        try:
            return super().close(reason)
        finally:
            if self._scratch is not None:
                self._scratch.cleanup()
                self._scratch = None
            if self._lock is not None:
                os.close(self._lock)
                self._lock = None
