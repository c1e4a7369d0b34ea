"""RunReport: every run leaves a JSON report beside the dataset, and a short summary.

``output/reports/<crawl_id>.json`` (written under a hidden temp name, then renamed, so a
reader never sees half a report); what it holds is built by :mod:`crawler.outcome.report`.

The extension writes the report when the spider closes; the crawl command writes it again
once the crawl is over (feed exports finish in parallel with the spider_closed signal) and
prints :func:`~crawler.outcome.report.summary_lines`, whose last line is the outcome.

Settings:

* ``SMN_REPORTS`` (str, default: ``reports`` beside the dataset directory, i.e.
  ``output/reports`` for ``SMN_OUTPUT=output/articles`` and with the dataset writer off):
  where reports go; an empty string turns reports off (the exit code is still judged).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.crawl_id import crawl_id_of
from crawler.dataset.paths import dataset_dir, reports_dir
from crawler.outcome.judge import ExitCode, Outcome, OutcomeRules, judge
from crawler.outcome.report import build_report, write_report
from crawler.protocol import dataset_file_published

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

NOT_FINISHED = "not finished: the run started at {start} and has not ended (running, or killed)"


class RunReport:
    """Writes the run report when the spider closes (and again at the crawl command's end)."""

    def __init__(self, crawler: Crawler, directory: Path) -> None:
        self.crawler = crawler
        self.directory = directory
        self.rules = OutcomeRules.from_settings(crawler.settings)
        self.dataset = dataset_dir(crawler.settings)
        self.crawl_id = ""
        self.report: dict[str, Any] | None = None
        self.path: Path | None = None
        self.files_written: list[Path] = []
        """The dataset files this run published, as the writer said (in order)."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        directory = reports_dir(crawler.settings)
        if directory is None:
            raise NotConfigured("SMN_REPORTS is empty")
        report = cls(crawler, directory)
        crawler.signals.connect(report.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(report.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(report.file_published, signal=dataset_file_published)
        return report

    def spider_opened(self) -> None:
        # Written at the start and completed at the close: a run killed in between leaves
        # a report that says it did not finish (``jq .outcome.line`` shows killed runs too).
        started = NOT_FINISHED.format(start=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        self.write(outcome=Outcome(ExitCode.INCOMPLETE, started))

    def file_published(self, path: Path) -> None:
        self.files_written.append(path)

    def spider_closed(self, reason: str) -> None:
        self.write(finish_reason=reason)

    def write(
        self, *, finish_reason: str | None = None, outcome: Outcome | None = None
    ) -> dict[str, Any]:
        """Build the report from the stats as they are now and write it; return it.

        A report that cannot be written is logged and counted (``smn/error/report``, exit
        code OUTPUT_ERROR), never raised: the crawl's own close must go on.
        """
        stats_collector = self.crawler.stats
        assert stats_collector is not None
        stats = dict(stats_collector.get_stats())
        if finish_reason is not None:
            # CoreStats sets it in its own spider_closed handler; do not depend on the order
            stats.setdefault("finish_reason", finish_reason)
        if not self.crawl_id:
            self.crawl_id = crawl_id_of(self.crawler)
        if outcome is None:
            outcome = judge(stats, self.crawler.settings)
        report = build_report(
            stats,
            crawl_id=self.crawl_id,
            outcome=outcome,
            rules=self.rules,
            dataset=self.dataset,
            files=self.files_written,
        )
        try:
            self.path = write_report(self.directory, report)
        except OSError as exc:
            # WARNING, not ERROR: an ERROR line would change the error count just judged
            logger.warning("Cannot write the run report to %s: %s", self.directory, exc)
            stats_collector.set_value("smn/error/report", 1)
        else:
            previous = self.report["outcome"]["line"] if self.report else None
            if previous != outcome.line():
                level = logging.INFO if outcome.ok else logging.WARNING
                logger.log(level, "Run report %s: %s", self.path, outcome.line())
        self.report = report
        return report
