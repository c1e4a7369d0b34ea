"""ReextractProgress: how far a re-extraction is, while it runs.

On a terminal (stderr a TTY) one line rewritten every second: pages done of those planned,
pages per second (over the last ten seconds), time left. Otherwise (cron, a log file) a log
line every 30 seconds. Only in a re-extraction (the ``reextract`` command enables it).
"""

from __future__ import annotations

import logging
import sys
import time
from collections import deque
from typing import TYPE_CHECKING, Self, TextIO

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from crawler.reextract.run import run_of

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

TTY_INTERVAL = 1.0
LOG_INTERVAL = 30.0
_WINDOW = 10


def progress_line(done: int, planned: int, rate: float) -> str:
    """``re-extraction: 1,234 of 10,000 pages (12%), 85.3 pages/s, 1:43 left``."""
    share = f" ({100 * done / planned:.0f}%)" if planned else ""
    left = ""
    if rate > 0 and planned > done:
        seconds = int((planned - done) / rate)
        hours, rest = divmod(seconds, 3600)
        left = f", {hours}:{rest // 60:02d}:{rest % 60:02d} left"
    return f"re-extraction: {done:,} of {planned:,} pages{share}, {rate:.1f} pages/s{left}"


class ReextractProgress:
    def __init__(self, crawler: Crawler, stream: TextIO, tty: bool) -> None:
        self.crawler = crawler
        self.stream = stream
        self.tty = tty
        self._samples: deque[tuple[float, int]] = deque(maxlen=_WINDOW + 1)
        self._loop: task.LoopingCall | None = None
        self._shown = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if run_of(crawler) is None:
            raise NotConfigured("not a re-extraction")
        extension = cls(crawler, sys.stderr, sys.stderr.isatty())
        crawler.signals.connect(extension._opened, signal=signals.spider_opened)
        crawler.signals.connect(extension._closed, signal=signals.spider_closed)
        return extension

    def done(self) -> int:
        stats = self.crawler.stats
        assert stats is not None
        return int(stats.get_value("smn/reextract/pages_done", 0)) + int(
            stats.get_value("smn/reextract/damaged_records", 0)
        )

    def _opened(self) -> None:
        self._loop = task.LoopingCall(self.show)
        self._loop.start(TTY_INTERVAL if self.tty else LOG_INTERVAL, now=False)

    def show(self) -> None:
        stats = self.crawler.stats
        assert stats is not None
        done = self.done()
        now = time.monotonic()
        self._samples.append((now, done))
        first_time, first_done = self._samples[0]
        rate = (done - first_done) / (now - first_time) if now > first_time else 0.0
        line = progress_line(done, int(stats.get_value("smn/reextract/pages_planned", 0)), rate)
        if self.tty:
            self.stream.write("\r" + line + "\033[K")
            self.stream.flush()
            self._shown = True
        else:
            logger.info("%s", line)

    def _closed(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
