"""``scrapy compact``: merge the dataset's small files and upgrade files of an older schema,
as the next generation of the dataset (:mod:`crawler.dataset.compaction`).

1. Takes the dataset lock (:mod:`crawler.dataset.lock`) to migrate a plain dataset directory
   to generations and delete expired generations and killed builds, then lets it go.
2. Builds the compacted generation beside the current one, without the lock: cron crawls go
   on meanwhile.
3. Takes the lock again (waiting up to ``--wait`` seconds for a running crawl), catches up
   with the files published meanwhile, switches the link, lets the lock go.

Prints a summary and a last line ``OK: ...`` or ``FAILED (code N): ...``; exit codes as the
crawl's (:class:`crawler.outcome.judge.ExitCode`): 0 done (or nothing to do), 3 the lock
could not be had (nothing changed), 4 the dataset could not be read or written (disk
full...: the current generation is untouched, the partial one deleted).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy.exceptions import UsageError

from crawler.dataset.compaction import Compaction, Compactor, compact, count_rows, pause_at
from crawler.dataset.generations import (
    GenerationBuild,
    GenerationChanged,
    current,
    generations_dir,
    prepare,
    remove_expired,
    stable_path,
)
from crawler.dataset.lock import DatasetLock, DatasetLocked
from crawler.dataset.paths import dataset_dir
from crawler.dataset.quarantine import quarantine_dir
from crawler.defaults import default, get_float, get_int, get_str
from crawler.outcome.judge import ExitCode
from crawler.util.command import ProjectCommand

if TYPE_CHECKING:
    import argparse

    from scrapy.settings import BaseSettings

DEFAULT_WAIT = 1800.0


class Locked(Exception):
    """The dataset lock could not be had in time."""


def acquire(dataset: Path, wait: float) -> DatasetLock:
    """The dataset lock, waiting up to ``wait`` seconds for the run that holds it."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return DatasetLock.acquire(dataset)
        except DatasetLocked as exc:
            if time.monotonic() >= deadline:
                raise Locked(f"{exc}; waited {wait:.0f} s") from exc
            time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))


class Command(ProjectCommand):
    def short_desc(self) -> str:
        return "Merge the dataset's small files (SMN_OUTPUT) into a new generation"

    def long_desc(self) -> str:
        return (
            "Merge the small files of each partition of the dataset (SMN_OUTPUT) into files of "
            "SMN_ROW_GROUP_SIZE-row row groups and rewrite files of an older schema to the "
            "current one, as a new generation the dataset's path switches to at once. Exit 0 "
            "when done, 3 when a crawl held the dataset lock past --wait, 4 on an output error "
            "(the dataset unchanged)."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--wait",
            type=float,
            default=DEFAULT_WAIT,
            metavar="SECONDS",
            help=f"wait this long for a running crawl's lock (default {DEFAULT_WAIT:.0f})",
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError("scrapy compact takes no arguments (set SMN_OUTPUT with -s)")
        assert self.settings is not None
        dataset = dataset_dir(self.settings)
        if dataset is None:
            raise UsageError("SMN_OUTPUT is empty: there is no dataset to compact")
        if not dataset.exists():
            self._finish([f"OK: nothing to compact (no dataset at {dataset})"], ExitCode.OK)
            return
        lines, code = compact_dataset(dataset, self.settings, wait=opts.wait)
        self._finish(lines, code)

    def _finish(self, lines: list[str], code: ExitCode) -> None:
        for line in lines:
            print(line, flush=True)
        self.exitcode = int(code)


def compact_dataset(
    dataset: Path, settings: BaseSettings, *, wait: float = DEFAULT_WAIT
) -> tuple[list[str], ExitCode]:
    """Compact ``dataset`` (the whole command but the printing): the summary lines, the
    last one the outcome, and the exit code."""
    stable = stable_path(dataset)
    try:
        builder = DatasetLock.acquire(dataset, build=True)
    except DatasetLocked as exc:
        return [f"FAILED (code 3): {exc}; nothing compacted"], ExitCode.LOCKED
    except OSError as exc:
        return _output_error(f"cannot create the build lock beside {stable}: {exc}")
    with builder:
        return _compact_built(dataset, settings, wait)


def _compact_built(
    dataset: Path, settings: BaseSettings, wait: float
) -> tuple[list[str], ExitCode]:
    """:func:`compact_dataset` with the build lock held."""
    started = time.monotonic()
    keep_hours = get_float(settings, "SMN_KEEP_GENERATIONS_HOURS")
    stable = stable_path(dataset)
    try:
        with acquire(dataset, wait):
            prepare(dataset, keep_hours)
            build = GenerationBuild.begin(dataset)
    except Locked as exc:
        return [f"FAILED (code 3): {exc}; nothing compacted"], ExitCode.LOCKED
    except OSError as exc:
        return _output_error(f"cannot prepare the dataset {stable}: {exc}")

    def switch(compactor: Compactor) -> None:
        with acquire(dataset, wait):
            compactor.commit()
            pause_at("switched")
            remove_expired(dataset, keep_hours)

    try:
        result = compact(
            build,
            row_group_size=get_int(settings, "SMN_ROW_GROUP_SIZE"),
            file_max_rows=get_int(settings, "SMN_FILE_MAX_ROWS"),
            compression=get_str(settings, "SMN_PARQUET_COMPRESSION")
            or default("SMN_PARQUET_COMPRESSION"),
            switch=switch,
        )
    except Locked as exc:
        return [f"FAILED (code 3): {exc}; nothing compacted"], ExitCode.LOCKED
    except GenerationChanged as exc:
        return [f"FAILED (code 3): {exc}"], ExitCode.LOCKED
    except OSError as exc:
        return _output_error(f"cannot write the compacted generation of {stable}: {exc}")
    result.seconds = time.monotonic() - started
    return _summary(stable, result, keep_hours)


def _output_error(reason: str) -> tuple[list[str], ExitCode]:
    code = ExitCode.OUTPUT_ERROR
    return [f"FAILED (code {int(code)}): {reason}; the dataset is unchanged"], code


def _summary(stable: Path, result: Compaction, keep_hours: float) -> tuple[list[str], ExitCode]:
    lines = [f"Compaction of {stable}"]
    switched = result.switched
    if switched is None:
        lines.append(
            f"  {result.files_before} files, {result.rows} rows: nothing to merge or upgrade "
            f"({result.seconds:.1f} s)"
        )
    else:
        files_after, rows = count_rows(current(stable))
        upgraded = f", {result.upgraded} of an older schema upgraded" if result.upgraded else ""
        lines.append(
            f"  files: {result.files_before} before, {files_after} after ({result.merged} merged "
            f"into {result.written}{upgraded}); rows: {rows}; {result.seconds:.1f} s"
        )
        until = dt.datetime.now(dt.UTC) + dt.timedelta(hours=keep_hours)
        kept = (
            f"; the previous one ({switched.previous}) kept until "
            f"{until:%Y-%m-%dT%H:%MZ} in {generations_dir(stable)}"
            if switched.previous
            else ""
        )
        lines.append(f"  generation: {switched.generation}{kept}")
        if switched.caught_up or switched.dropped:
            lines.append(
                f"  during the build: {switched.caught_up} files published by a crawl taken "
                f"in, {switched.dropped} removed left out"
            )
    if result.quarantined:
        shown = ", ".join(f"{q.path} ({q.reason})" for q in result.quarantined[:5])
        lines.append(f"  quarantined: {shown}; moved to {quarantine_dir(stable)}/")
        code = ExitCode.OUTPUT_ERROR
        lines.append(
            f"FAILED (code {int(code)}): {len(result.quarantined)} damaged files quarantined "
            "(the rest compacted)"
        )
        return lines, code
    lines.append("OK: dataset compacted" if switched else "OK: nothing to compact")
    return lines, ExitCode.OK
