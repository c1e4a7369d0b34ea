"""RunCounters: the stats the exit code needs that Scrapy does not keep.

* ``smn/entry/fetched``: entry points (requests the spider's ``start()`` marks with
  ``meta["smn_entry"]``, followed through redirects) that answered 2xx; set to 0 when the
  spider opens, so its presence says the run was counted.
* ``smn/entry/failed/<status>``: entry points that answered otherwise. Entry points whose
  download failed outright show as download errors; a run is judged by the 2xx count.
* ``smn/errors/pipeline/count`` and ``smn/errors/pipeline/<Type>``: exceptions other than
  ``DropItem`` raised by an item pipeline. Scrapy logs them ("Error processing") but keeps
  no stat, unlike ``spider_exceptions/<Type>`` for callbacks.

Always on: :func:`crawler.outcome.judge.judge` reads these whether or not a report is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy import signals

from crawler.protocol import ENTRY_META

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response
    from scrapy.statscollectors import StatsCollector
    from twisted.python.failure import Failure


class RunCounters:
    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        counters = cls(crawler.stats)
        crawler.signals.connect(counters.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(counters.response_received, signal=signals.response_received)
        crawler.signals.connect(counters.item_error, signal=signals.item_error)
        return counters

    def spider_opened(self) -> None:
        self.stats.set_value("smn/entry/fetched", 0)

    def response_received(self, response: Response, request: Request) -> None:
        if not request.meta.get(ENTRY_META):
            return
        if 200 <= response.status < 300:
            self.stats.inc_value("smn/entry/fetched")
        else:
            self.stats.inc_value(f"smn/entry/failed/{response.status}")

    def item_error(self, failure: Failure, **kwargs: Any) -> None:
        self.stats.inc_value("smn/errors/pipeline/count")
        self.stats.inc_value(f"smn/errors/pipeline/{type(failure.value).__name__}")
