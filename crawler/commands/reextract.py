"""``scrapy reextract``: the archived pages read again with today's extractor, without the
network, into the dataset's next generation (or a new dataset at ``--into DIR``).

    scrapy reextract [--into DIR] [--months 2025-05,...] [--sites spacewar.com,...] [--stale]
                     [--wait SECONDS] [-s SMN_OUTPUT=...] [-s NAME=VALUE ...]

Without ``--into`` the result is the dataset's next generation
(:mod:`crawler.dataset.generations`): built beside the current one without the dataset lock
(cron runs go on), then, under the lock (waiting up to ``--wait`` seconds for a running
crawl), the files a crawl published meanwhile are caught up and the link switched in one
step; readers that opened the old generation keep reading it. A page a crawl published in
the current generation meanwhile keeps the crawl's row (:mod:`crawler.reextract.catchup`).
A killed run leaves the current generation as it was, or the new one whole when killed after
the switch (its unfinished generation is removed by the next crawl, verify or compaction,
its rows' directory beside the dataset by the next re-extraction); a full disk fails it
before the switch (exit 4, the dataset unchanged: the last line says so and names the full
disk); a file removed from the current generation meanwhile (quarantined) fails the switch
(exit 4: run it again). Test hook: ``SMNTEST_PAUSE`` (:mod:`crawler.dataset.compaction`).
With ``--into DIR``:

A crawl like ``scrapy crawl smn`` (same settings, pipelines, run report, exit codes and last
line) of the ``smn-archive`` spider (:mod:`crawler.spiders.archive`): its requests are
answered from the WARC archive (``SMN_ARCHIVE_DIR``, else ``warc/`` beside ``SMN_OUTPUT``)
and every other request is refused by the download handler (:mod:`crawler.offline`), so
nothing reaches the network (robots.txt is not asked either). The rows go to a hidden
directory beside ``DIR``; then every row of the current dataset (``SMN_OUTPUT``, only read)
whose page got no new row is carried over unchanged, and the directory is renamed to
``DIR`` (:mod:`crawler.reextract.output`): one row per page, none lost. Only a run that
succeeded publishes ``DIR``; a failed or killed one leaves nothing there.

For this run: no WARC archive is written (``SMN_ARCHIVE`` off), the incremental state is
neither read nor written (``SMN_INCREMENTAL`` off), dedup is seeded from the new (empty)
dataset, no politeness delay, no interval publishing, no spider middleware that only
handles followed links (:data:`LINKS_ONLY`) and no downloader middleware for redirects,
retries or cookies (:data:`REDIRECTS_AND_RETRIES`), one process (``SMN_REDIS_URL``
ignored: the Redis add-on is off); ``DIR``'s lock (``.<DIR>.lock`` beside it) is held, not
the current dataset's (cron runs go on meanwhile; the manifest lists the files read).

Exit codes: the crawl's (:mod:`crawler.outcome.judge`); 2 for a bad option or a ``DIR``
that exists and is not an empty directory; 4 when ``DIR`` (or its hidden twin) cannot be
written. A re-extraction has no entry points: NO_ENTRY_POINT does not apply.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import UsageError

from crawler.commands.compact import DEFAULT_WAIT, Locked, acquire
from crawler.commands.crawl import Command as CrawlCommand
from crawler.crawl_id import crawl_id_of
from crawler.dataset.compaction import pause_at
from crawler.dataset.files import published_files
from crawler.dataset.generations import GenerationBuild, prepare
from crawler.dataset.lock import DatasetLock, DatasetLocked, lock_path
from crawler.dataset.paths import archive_dir, dataset_dir, reports_dir
from crawler.defaults import get_float
from crawler.extensions.run_report import RunReport
from crawler.extract import EXTRACTOR_VERSION
from crawler.offline import OFFLINE_HANDLER
from crawler.outcome.judge import ExitCode, Outcome, judge
from crawler.reextract import output
from crawler.reextract.catchup import drop_caught_up_pages
from crawler.reextract.cause import FullDisk
from crawler.reextract.run import ReextractRun, run_of
from crawler.spiders.archive import SmnArchiveSpider

if TYPE_CHECKING:
    import argparse

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

# Above the command line's (40): the user's -s cannot turn the network back on.
FORCED = 50
REPLAY = "crawler.downloadermiddlewares.archive_replay.ArchiveReplayMiddleware"
PIPELINE = "pipelines.reextract.ReextractPipeline"
STORIES = "pipelines.stories.StoriesPipeline"
SCRATCH_STORIES = "pipelines.reextract.ReextractStoriesPipeline"
PROGRESS = "crawler.extensions.reextract_progress.ReextractProgress"
LINKS_ONLY = (
    "scrapy.spidermiddlewares.depth.DepthMiddleware",
    "scrapy.spidermiddlewares.referer.RefererMiddleware",
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware",
    "crawler.spidermiddlewares.seen_requests.SeenRequestsMiddleware",
)
"""Spider middlewares that act only on the requests a callback yields: a re-extraction's
yields none (it follows no link), and each is a layer every page's item passes through."""
REDIRECTS_AND_RETRIES = (
    "scrapy.downloadermiddlewares.retry.RetryMiddleware",
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware",
    "crawler.downloadermiddlewares.faults.CountingRedirectMiddleware",
    "crawler.downloadermiddlewares.incremental.IncrementalRedirectMiddleware",
    "crawler.downloadermiddlewares.canonical_redirect.SameCanonicalRedirectMiddleware",
)
"""Downloader middlewares that act on redirects, retries and cookies: a re-extraction reads
only 200 answers from the archive (:mod:`crawler.reextract.plan`), never sends a request, and
each would see every page on its way back."""


class Command(CrawlCommand):
    def syntax(self) -> str:
        return "[--into DIR] [--months YYYY-MM,...] [--sites SITE,...] [--stale] [options]"

    def short_desc(self) -> str:
        return "Re-extract the archived pages, no network: the dataset's next generation"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--into",
            metavar="DIR",
            help="write the new dataset to DIR instead of making it the dataset's next generation",
        )
        parser.add_argument(
            "--wait",
            type=float,
            default=DEFAULT_WAIT,
            help="seconds to wait for a running crawl's dataset lock (at the start and for"
            f" the switch; default {DEFAULT_WAIT:.0f})",
        )
        parser.add_argument("--months", metavar="YYYY-MM,...", help="only pages of these months")
        parser.add_argument("--sites", metavar="SITE,...", help="only pages of these sites")
        parser.add_argument(
            "--stale",
            action="store_true",
            help="only pages whose row an older (other) extractor version wrote",
        )

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        settings = self.settings
        assert settings is not None
        source = dataset_dir(settings)
        self.source = source
        self.build: GenerationBuild | None = None
        if opts.into:
            self.into: Path | None = Path(opts.into)
            if source is not None and self.into.resolve() == source.resolve():
                raise UsageError(
                    "--into must not be the current dataset (SMN_OUTPUT)", print_help=False
                )
            self.building = output.building_dir(self.into, settings["SMN_CRAWL_ID"])
        else:
            if source is None:
                raise UsageError("SMN_OUTPUT is empty: no dataset to re-extract", print_help=False)
            self.into = None
            # The next generation's directory, made in run(): a placeholder until then.
            self.building = source
        self.published = False
        self.switched_to: str | None = None
        self.full_disk = FullDisk()
        self.wait = float(opts.wait)
        archive = archive_dir(settings)
        reports = reports_dir(settings)
        forced: dict[str, Any] = {
            "SMN_OUTPUT": str(self.building),
            "SMN_ARCHIVE": False,
            "SMN_ARCHIVE_DIR": str(archive),
            "SMN_REPORTS": str(reports) if reports is not None else "",
            "SMN_INCREMENTAL": False,
            "SMN_STATE": "",
            "SMN_DATASET_LOCK": False,  # DIR's lock is taken here instead
            # one process: not a worker of a distributed crawl, whatever SMN_REDIS_URL says
            "ADDONS": {},
            "SMN_PUBLISH_INTERVAL_SECONDS": 0,
            "ROBOTSTXT_OBEY": False,
            "AUTOTHROTTLE_ENABLED": False,
            "DOWNLOAD_DELAY": 0,
            "DOWNLOAD_HANDLERS": {
                "http": OFFLINE_HANDLER,
                "https": OFFLINE_HANDLER,
                "ftp": None,
                "s3": None,
            },
            # the spider keeps at most IN_FLIGHT requests waiting: memory queues, oldest
            # fetch first, as the plan says
            "SMN_DISK_QUEUE": False,
            "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
            # One queue, in the plan's order. The default queue's per-site queues serve only
            # politeness, and it made one each time a site's had emptied: 2% of the reactor
            # thread.
            "SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.ScrapyPriorityQueue",
            "DOWNLOADER_MIDDLEWARES": {
                **settings.getdict("DOWNLOADER_MIDDLEWARES"),
                **dict.fromkeys(REDIRECTS_AND_RETRIES),
                REPLAY: 10,
            },
            "SPIDER_MIDDLEWARES": {
                **settings.getdict("SPIDER_MIDDLEWARES"),
                **dict.fromkeys(LINKS_ONLY),
            },
            "ITEM_PIPELINES": _pipelines(settings.getdict("ITEM_PIPELINES")),
            "EXTENSIONS": {**settings.getdict("EXTENSIONS"), PROGRESS: 950},
        }
        for name, value in forced.items():
            settings.set(name, value, priority=FORCED)
        # Pages come from disk: many may wait for the extraction pool at once.
        settings.set("CONCURRENT_REQUESTS", 128, priority=FORCED)
        # A page gives one item and no link: Scrapy starts this many tasks for the output of
        # each page whatever it holds (8 cost 0.05 ms a page more than 1, on the 2-core
        # machine: benchmarks of a bare Scrapy cycle).
        settings.set("CONCURRENT_ITEMS", 1, priority=FORCED)
        opts.spargs.update(
            source=str(source) if source is not None else "",
            months=opts.months or "",
            sites=opts.sites or "",
            stale="1" if opts.stale else "",
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError("scrapy reextract takes no spider name", print_help=False)
        if self.into is None:
            self._run_generation(opts)
            return
        problem = output.usable_target(self.into)
        if problem:
            raise UsageError(problem, print_help=False)
        assert self.crawler_process is not None
        crawler = self._create_crawler(SmnArchiveSpider.name)
        try:
            lock = DatasetLock.acquire(self.into)
        except DatasetLocked as exc:
            self._not_run(crawler, Outcome(ExitCode.LOCKED, f"{exc}; this run did nothing"))
            return
        except OSError as exc:
            reason = f"cannot create the lock {lock_path(self.into)} beside --into: {exc}"
            self._not_run(crawler, Outcome(ExitCode.OUTPUT_ERROR, reason))
            return
        try:
            for stale in output.remove_stale_builds(self.into):
                logger.info("Removed %s, left by a killed re-extraction", stale)
            try:
                self.building.mkdir()
            except OSError as exc:
                reason = f"cannot write beside --into {self.into}: {exc}"
                self._not_run(crawler, Outcome(ExitCode.OUTPUT_ERROR, reason))
                return
            super().run([SmnArchiveSpider.name], opts)
        finally:
            if not self.published:
                shutil.rmtree(self.building, ignore_errors=True)
            lock.release()

    def _run_generation(self, opts: argparse.Namespace) -> None:
        """Build the next generation of the dataset beside the current one (no lock held
        meanwhile: cron runs go on), then switch to it under the lock."""
        assert self.settings is not None and self.source is not None
        source = self.source
        try:
            builder = DatasetLock.acquire(source, build=True)
        except DatasetLocked as exc:
            self._refuse(Outcome(ExitCode.LOCKED, f"{exc}; this run did nothing"))
            return
        except OSError as exc:
            reason = f"cannot create the lock {lock_path(source)} beside the dataset: {exc}"
            self._refuse(Outcome(ExitCode.OUTPUT_ERROR, reason))
            return
        with builder:
            self._build_generation(source, opts)

    def _refuse(self, outcome: Outcome) -> None:
        """End a run that could not start, as the crawl does (report, last line, code)."""
        self._not_run(self._create_crawler(SmnArchiveSpider.name), outcome)

    def _build_generation(self, source: Path, opts: argparse.Namespace) -> None:
        assert self.settings is not None
        try:
            with acquire(source, self.wait):
                prepare(source, get_float(self.settings, "SMN_KEEP_GENERATIONS_HOURS"))
                for stale in output.remove_stale_builds(source):
                    logger.info("Removed %s, left by a killed re-extraction", stale)
            self.build = GenerationBuild.begin(source)
            # Written beside the dataset, moved into the generation when complete: a path
            # inside the generations names the dataset itself (generations.stable_path).
            self.building = output.building_dir(source, self.settings["SMN_CRAWL_ID"])
            self.building.mkdir()
        except Locked as exc:
            self._refuse(Outcome(ExitCode.LOCKED, f"{exc}; this run did nothing"))
            return
        except OSError as exc:
            if self.build is not None:
                self.build.abandon()
            reason = f"cannot start a new generation of {source}: {exc}"
            self._refuse(Outcome(ExitCode.OUTPUT_ERROR, reason))
            return
        self.settings.set("SMN_OUTPUT", str(self.building), priority=FORCED)
        # The rows to re-extract are the base generation's, read from its directory: a
        # switch meanwhile (another compaction) must not make the run read another one.
        opts.spargs["source"] = str(self.build.base)
        pause_at("reextract-begun")
        try:
            with self.full_disk:
                super().run([SmnArchiveSpider.name], opts)
        finally:
            if not self.published:
                self.build.abandon()
            shutil.rmtree(self.building, ignore_errors=True)

    def _judge(self, crawler: Crawler) -> None:
        run = run_of(crawler)
        stats = crawler.stats
        assert stats is not None
        if run is not None:
            try:
                if run.opened and judge(stats.get_stats(), crawler.settings).ok:
                    self._complete(crawler, run)
            except (OSError, Locked) as exc:
                logger.error("Cannot complete the new dataset %s: %s", self.building, exc)
                stats.set_value("smn/error/output", 1)
            finally:
                run.close()
        where = self.into if self.into is not None else self.source
        stats.set_value("smn/reextract/published", str(where) if self.published else "")
        super()._judge(crawler)

    def _complete(self, crawler: Crawler, run: ReextractRun) -> None:
        """Carry the current rows over, write the manifest, rename to ``DIR``."""
        stats = crawler.stats
        assert stats is not None
        crawl_id = crawl_id_of(crawler)
        counts = output.CarryCounts()
        if run.source_dir is not None and run.source.files:
            writer = output.carry_writer(self.building, crawl_id, crawler.settings)
            try:
                counts = output.carry_over(
                    run.source_dir, run.source.files, self.building, writer, run.outcome
                )
            except BaseException:
                writer.abort_all()
                raise
        stats.set_value("smn/reextract/rows_kept", counts.kept)
        for name in ("no_longer_read", "not_judged", "damaged", "not_reextracted"):
            stats.set_value(f"smn/reextract/kept/{name}", getattr(counts, name))
        summary = {
            key.removeprefix("smn/reextract/"): value
            for key, value in stats.get_stats().items()
            if key.startswith("smn/reextract/") and not isinstance(value, list)
        }
        summary["rows_written"] = stats.get_value("parquet/rows_written", 0)
        output.write_manifest(
            self.building,
            output.manifest(
                crawl_id=crawl_id,
                extractor_version=EXTRACTOR_VERSION,
                source=run.source_dir,
                source_files=run.source.files,
                archive=run.archive,
                selection=run.selection.describe(),
                counts=summary,
            ),
        )
        if self.into is not None:
            output.publish(self.building, self.into)
            self.published = True
            logger.info("Re-extraction published at %s", self.into)
            return
        build = self.build
        assert build is not None and self.source is not None
        # Every row of the base was re-extracted or carried over into the new files: none of
        # its files is kept as it is; one removed meanwhile (quarantined) fails the switch.
        # The run read its base through the build's generation directory, files published
        # there after the build began included: those are re-extracted or carried over, not
        # to be caught up at the switch again.
        build.base_files |= set(run.source.files)
        new_files = []
        for file in published_files(self.building):
            target = build.directory / file.path
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(self.building / file.path, target)
            build.merged(file.path, run.source.files)
            new_files.append(file.path)
        os.rename(self.building / output.MANIFEST, build.directory / output.MANIFEST)
        # The run report is written again once switched: on a disk too full for it, the
        # run would fail (exit 4) with the dataset switched all the same. Write it first as
        # it will be (same size), so only the switch's own few bytes come after it.
        report = crawler.get_extension(RunReport)
        if report is not None:
            stats.set_value("smn/reextract/published", str(self.source))
            report.write()
            stats.set_value("smn/reextract/published", "")
            if stats.get_value("smn/error/report"):
                raise OSError("the run report could not be written: the dataset not switched")
        pause_at("reextract-built")
        with self._switch_lock():
            left_out = drop_caught_up_pages(
                build, new_files, self.building, crawl_id, crawler.settings
            )
            stats.set_value("smn/reextract/rows_left_to_crawls", left_out)
            switched = build.commit()
            self.published = True
            self.switched_to = switched.generation
            pause_at("reextract-switched")
        stats.set_value("smn/reextract/generation", switched.generation)
        logger.info(
            "Re-extraction switched %s to the generation %s (%d files a crawl published "
            "meanwhile caught up; the previous one, %s, kept %g hours for its readers)",
            self.source,
            switched.generation,
            switched.caught_up,
            switched.previous,
            get_float(crawler.settings, "SMN_KEEP_GENERATIONS_HOURS"),
        )

    def _finish(self, crawler: Crawler, lines: list[str], outcome: Outcome) -> None:
        if self.build is not None and not outcome.ok and lines:
            lines = [*lines[:-1], lines[-1] + self._dataset_note()]
        super()._finish(crawler, lines, outcome)

    def _dataset_note(self) -> str:
        """What a failed run did to the dataset, for its last line (the cause first: a full
        disk)."""
        full = self.full_disk.message
        cause = f"; {full.lower()} ({self.building.parent})" if full else ""
        if self.switched_to is not None:
            return f"{cause}; {self.source} switched to {self.switched_to} all the same"
        return f"{cause}; {self.source} unchanged (nothing published): run it again"

    def _switch_lock(self) -> DatasetLock:
        """The dataset lock for the switch, waiting up to ``--wait`` seconds for a crawl
        that holds it (said in the log: a run that seems to hang is waiting)."""
        assert self.source is not None
        try:
            return DatasetLock.acquire(self.source)
        except DatasetLocked as exc:
            logger.info(
                "Every row is built; waiting up to %g s for the dataset lock to switch: %s",
                self.wait,
                exc,
            )
        return acquire(self.source, self.wait)


def _pipelines(configured: dict[str, Any]) -> dict[str, Any]:
    """The crawl's pipelines, the story index in a scratch file, the comparison at 350."""
    pipelines = {**configured, PIPELINE: 350}
    stories = pipelines.get(STORIES)
    if stories is not None:
        pipelines[STORIES] = None
        pipelines[SCRATCH_STORIES] = stories
    return pipelines
