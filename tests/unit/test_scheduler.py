"""The scheduler keeps the requests waiting to be fetched on disk, in a directory of its own
that the close removes; with SMN_DISK_QUEUE off, or a JOBDIR of the user's, it is Scrapy's."""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from pathlib import Path

import pytest
from scrapy import Request, Spider
from scrapy.utils.test import get_crawler

from crawler.scheduler import DiskQueueScheduler


class _Spider(Spider):
    name = "smn"

    def parse(self, response):  # type: ignore[no-untyped-def]
        pass


def _scheduler(**settings: object) -> tuple[DiskQueueScheduler, _Spider]:
    # Scrapy's default priority queue asks the downloader (no engine here): its plain one.
    settings.setdefault("SCHEDULER_PRIORITY_QUEUE", "scrapy.pqueues.ScrapyPriorityQueue")
    crawler = get_crawler(
        _Spider, {"SCHEDULER": "crawler.scheduler.DiskQueueScheduler", **settings}
    )
    spider = _Spider.from_crawler(crawler)
    crawler.spider = spider
    assert crawler.stats is not None
    crawler.stats.open_spider()
    scheduler = DiskQueueScheduler.from_crawler(crawler)
    scheduler.open(spider)
    return scheduler, spider


def test_waiting_requests_are_on_disk_and_gone_after_the_close() -> None:
    scheduler, spider = _scheduler()
    assert scheduler.dqdir is not None
    directory = Path(scheduler.dqdir).parent
    urls = [f"https://www.spacewar.com/reports/story_{i}_999.html" for i in range(2000)]
    for url in urls:
        assert scheduler.enqueue_request(Request(url, callback=spider.parse))
    assert len(scheduler.mqs) == 0 and scheduler.dqs is not None and len(scheduler.dqs) == 2000
    assert sum(f.stat().st_size for f in directory.rglob("*") if f.is_file()) > 100_000
    taken = [scheduler.next_request() for _ in range(2000)]
    assert {r.url for r in taken if r is not None} == set(urls)
    assert scheduler.next_request() is None
    scheduler.close("finished")
    assert not directory.exists()


def test_off_or_with_a_jobdir_it_is_scrapys(tmp_path: Path) -> None:
    off, _ = _scheduler(SMN_DISK_QUEUE=False)
    assert off.dqdir is None  # memory queues
    off.close("finished")
    jobdir = tmp_path / "job"
    own, _ = _scheduler(JOBDIR=str(jobdir))
    assert own.dqdir is not None and Path(own.dqdir).is_relative_to(jobdir)
    own.close("finished")
    assert jobdir.is_dir()  # the user's, kept for resuming


def test_the_queue_of_a_killed_run_is_removed_and_a_live_ones_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    old = time.time() - 3600
    killed = tmp_path / "smn-requests-killed"
    live = tmp_path / "smn-requests-live"
    for directory in (killed, live):
        (directory / "requests.queue").mkdir(parents=True)
        (directory / ".lock").touch()
        os.utime(directory, (old, old))
    held = os.open(live / ".lock", os.O_RDWR)
    fcntl.flock(held, fcntl.LOCK_EX)  # a run still going
    try:
        scheduler, _ = _scheduler()
        assert not killed.exists()
        assert live.exists()
        assert scheduler.dqdir is not None and Path(scheduler.dqdir).is_relative_to(tmp_path)
        scheduler.close("finished")
    finally:
        os.close(held)
