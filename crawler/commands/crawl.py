"""``scrapy crawl``: Scrapy's command, with an honest exit code and one run per dataset.

Scrapy's own ``crawl`` exits 0 whatever happened during the crawl. This one (the project's
``COMMANDS_MODULE`` holds a command of the same name, which replaces the built-in; the
options, ``-a``, ``-s``, ``-o/-O``, are the built-in's):

1. takes the dataset lock (:mod:`crawler.dataset.lock`) before anything runs; a second run
   on the same dataset exits at once with code 3; then migrates a plain dataset directory
   to generations and deletes expired ones (:mod:`crawler.dataset.generations`);
2. runs the crawl as Scrapy does;
3. judges the run from its final stats (:func:`crawler.outcome.judge.judge`), rewrites the
   run report with them (:mod:`crawler.extensions.run_report`), prints a short summary on stderr
   (never stdout: ``-O -:jsonl`` writes the feed there) whose last line is the outcome,
   ``OK: ...`` or ``FAILED (code N): ...``, and exits with that code.

Exit codes: see :mod:`crawler.outcome.judge` (0 OK; 1 and 2 keep Scrapy's meanings: the
crawl could not start, usage error; 3-10 are the run's failures). A spider argument the
spider rejects (``-a sites=nonsense``) is a usage error here too: exit 2, not 1.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError
from scrapy.utils.log import get_scrapy_root_handler
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from crawler.crawl_id import crawl_id_of, new_crawl_id
from crawler.dataset.generations import prepare
from crawler.dataset.lock import DatasetLock, DatasetLocked, lock_path
from crawler.dataset.paths import dataset_dir, reports_dir
from crawler.defaults import get_bool, get_float
from crawler.extensions.run_report import RunReport
from crawler.outcome.judge import ExitCode, Outcome, OutcomeRules, judge
from crawler.outcome.report import build_report, summary_lines, write_report

if TYPE_CHECKING:
    import argparse

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

_NOT_STARTED = "the crawl could not start (see the errors above)"


class Command(ScrapyCrawlCommand):
    def short_desc(self) -> str:
        return "Run a spider of the current project; the exit code says whether it succeeded"

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        # The run's id, decided once before anything starts: every component reads it.
        assert self.settings is not None
        if not self.settings.get("SMN_CRAWL_ID"):
            self.settings.set("SMN_CRAWL_ID", new_crawl_id(), priority="cmdline")
        # Scrapy opens LOG_FILE before any command runs, with a traceback when its directory
        # is missing: say so the way every run ends.
        log_file = self.settings.get("LOG_FILE")
        if log_file and not Path(log_file).parent.is_dir():
            outcome = Outcome(
                ExitCode.USAGE,
                f"LOG_FILE {log_file}: its directory {Path(log_file).parent} does not exist",
            )
            sys.stderr.write(outcome.line() + "\n")
            sys.exit(int(outcome.code))

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) < 1:
            raise UsageError
        if len(args) > 1:
            raise UsageError("running 'scrapy crawl' with more than one spider is not supported")
        assert self.crawler_process is not None
        crawler = self._create_crawler(args[0])
        lock: DatasetLock | None = None
        dataset = dataset_dir(crawler.settings)
        if dataset is not None and get_bool(crawler.settings, "SMN_DATASET_LOCK"):
            try:
                lock = DatasetLock.acquire(dataset)
            except DatasetLocked as exc:
                self._not_run(crawler, Outcome(ExitCode.LOCKED, f"{exc}; this run did nothing"))
                return
            except OSError as exc:
                self._not_run(
                    crawler,
                    Outcome(
                        ExitCode.OUTPUT_ERROR,
                        f"cannot create the dataset lock {lock_path(dataset)}: {exc}",
                    ),
                )
                return
            try:
                # under the lock, before any component resolves the generation
                prepare(dataset, get_float(crawler.settings, "SMN_KEEP_GENERATIONS_HOURS"))
            except OSError as exc:
                lock.release()
                self._not_run(
                    crawler,
                    Outcome(
                        ExitCode.OUTPUT_ERROR,
                        f"cannot prepare the dataset {dataset} (generations): {exc}",
                    ),
                )
                return
        try:
            bootstrap_error = _failure_of(self.crawler_process.crawl(crawler, **opts.spargs))
            skip_hidden_records()
            self.crawler_process.start()
            error = bootstrap_error()
            if isinstance(error, UsageError):
                raise UsageError(str(error), print_help=False) from None
            if error is not None or self.crawler_process.bootstrap_failed:
                if error is not None:
                    logger.error("The crawl could not start", exc_info=error)
                reason = f"the crawl could not start: {error!r}" if error else _NOT_STARTED
                self._not_run(crawler, Outcome(ExitCode.NOT_STARTED, reason))
                return
            self._judge(crawler)
        finally:
            if lock is not None:
                lock.release()

    def _judge(self, crawler: Crawler) -> None:
        extension = crawler.get_extension(RunReport)
        # Written again now that every spider_closed handler (feed exports) is done.
        report = extension.write() if extension is not None else None
        stats = dict(crawler.stats.get_stats())
        outcome = judge(stats, crawler.settings)
        if report is None:
            report = build_report(
                stats,
                crawl_id=crawl_id_of(crawler),
                outcome=outcome,
                rules=OutcomeRules.from_settings(crawler.settings),
                dataset=dataset_dir(crawler.settings),
            )
        else:
            # Differs from the written one only when writing it failed (smn/error/report).
            report = {**report, "exit_code": int(outcome.code), "outcome": outcome.as_dict()}
        path = extension.path if extension is not None else None
        self._finish(crawler, summary_lines(report, path), outcome)

    def _not_run(self, crawler: Crawler, outcome: Outcome) -> None:
        """Report a run that never crawled (locked out, could not start)."""
        settings = crawler.settings
        crawl_id = crawl_id_of(crawler)
        now = dt.datetime.now(dt.UTC)
        stats: dict[str, Any] = {"start_time": now, "finish_time": now}
        lines = [f"Run {crawl_id}: not run"]
        directory = reports_dir(settings)
        if directory is not None:
            report = build_report(
                stats,
                crawl_id=crawl_id,
                outcome=outcome,
                rules=OutcomeRules.from_settings(settings),
                dataset=dataset_dir(settings),
            )
            try:
                # never over the report of the run that holds the lock (same SMN_CRAWL_ID)
                path: Path = write_report(directory, report, replace=False)
            except OSError as exc:
                lines.append(f"  report not written: {exc}")
            else:
                lines.append(f"  report: {path}")
        self._finish(crawler, [*lines, outcome.line()], outcome)

    def _finish(self, crawler: Crawler, lines: list[str], outcome: Outcome) -> None:
        if crawler.settings.get("LOG_FILE"):
            # stderr goes to cron; the log file should end with the outcome too
            for line in lines:
                logger.log(logging.INFO if outcome.ok else logging.WARNING, "%s", line)
        sys.stderr.write("\n".join(lines) + "\n")
        sys.stderr.flush()
        self.exitcode = int(outcome.code)


def skip_hidden_records() -> None:
    """Make no log record below the level Scrapy's handler shows (``LOG_LEVEL``).

    Scrapy sets the root logger to NOTSET and its own logger to DEBUG, and filters in its
    handler: every page's DEBUG lines ("Crawled (200)", "Scraped from", the spider's "Not an
    article") were built as records and thrown away, 2.6% of a re-extraction's reactor thread.
    Called once the crawl has (re)installed that handler; a logger a user set lower keeps its
    level, and so does everything when ``LOG_LEVEL`` is DEBUG."""
    handler = get_scrapy_root_handler()
    if handler is None or handler.level <= logging.DEBUG:
        return
    for name in ("", "scrapy"):
        named = logging.getLogger(name)
        if named.level in (logging.NOTSET, logging.DEBUG):
            named.setLevel(handler.level)


def _failure_of(started: object) -> Callable[[], BaseException | None]:
    """What made the crawl fail to start, once it is over: the exception that ended the
    crawl's task (AsyncCrawlerProcess) or Deferred (CrawlerProcess), else None."""
    if isinstance(started, asyncio.Future):

        def task_error() -> BaseException | None:
            if started.done() and not started.cancelled():
                return started.exception()
            return None

        return task_error
    if isinstance(started, Deferred):
        errors: list[BaseException] = []

        def keep(failure: Failure) -> None:
            if failure.value is not None:
                errors.append(failure.value)

        started.addErrback(keep)
        return lambda: errors[0] if errors else None
    return lambda: None
