"""The crawl's stats collector and log levels: the same stats and lines as Scrapy's, without
the per-read check and the records nobody sees (crawler/statscollectors.py,
crawler/commands/crawl.py)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator

import pytest
from scrapy.settings import Settings
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.log import _uninstall_scrapy_root_handler, install_scrapy_root_handler
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler

from crawler.commands.crawl import skip_hidden_records
from crawler.statscollectors import LeanStatsCollector


def _exercise(stats: MemoryStatsCollector) -> dict[str, object]:
    stats.open_spider()
    stats.set_value("a", 1)
    stats.inc_value("a")
    stats.inc_value("b", 5, start=10)
    stats.max_value("m", 3)
    stats.max_value("m", 2)
    stats.min_value("n", 3)
    stats.min_value("n", 1)
    stats.set_value("gone", 1)
    assert stats.get_value("missing", "default") == "default"
    return dict(stats.get_stats())


def test_the_crawl_keeps_the_same_stats_as_scrapys_collector() -> None:
    assert get_project_settings()["STATS_CLASS"] == "crawler.statscollectors.LeanStatsCollector"
    crawler = get_crawler()
    lean, stock = LeanStatsCollector(crawler), MemoryStatsCollector(crawler)
    expected = {"a": 2, "b": 15, "m": 3, "n": 1, "gone": 1}
    assert _exercise(lean) == _exercise(stock) == expected
    lean.clear_stats()
    assert lean.get_stats() == {}


def test_the_lean_collector_warns_of_nothing_on_plain_use() -> None:
    stats = LeanStatsCollector(get_crawler())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stats.inc_value("x")
        assert stats.get_value("x") == 1


class _Seen(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def restored_levels() -> Iterator[None]:
    names = ("", "scrapy", "crawler")
    levels = {name: logging.getLogger(name).level for name in names}
    handlers = list(logging.root.handlers)
    yield
    _uninstall_scrapy_root_handler()
    logging.root.handlers[:] = handlers
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("restored_levels")
def test_records_below_the_log_level_are_not_made_and_the_rest_still_shown() -> None:
    install_scrapy_root_handler(Settings({"LOG_LEVEL": "INFO"}))
    logging.getLogger("scrapy").setLevel(logging.DEBUG)  # as Scrapy's own logging config
    seen = _Seen()
    logging.root.addHandler(seen)
    skip_hidden_records()
    for name in ("scrapy.core.scraper", "crawler.spiders.smn"):
        logging.getLogger(name).debug("a DEBUG line")
        logging.getLogger(name).info("an INFO line")
    # no DEBUG record reached any handler: none was made
    assert [(r.name, r.levelname) for r in seen.records] == [
        ("scrapy.core.scraper", "INFO"),
        ("crawler.spiders.smn", "INFO"),
    ]


@pytest.mark.usefixtures("restored_levels")
def test_at_debug_every_record_is_still_made() -> None:
    install_scrapy_root_handler(Settings({"LOG_LEVEL": "DEBUG"}))
    seen = _Seen()
    logging.root.addHandler(seen)
    skip_hidden_records()
    logging.getLogger("scrapy.core.scraper").debug("a DEBUG line")
    assert [r.levelname for r in seen.records] == ["DEBUG"]
