"""``scrapy verify``: read every published file of the dataset in full; quarantine the
damaged ones.

A crawl reads only the key columns of the dataset (and quarantines a file whose footer,
schema or key columns are damaged): damage inside another column's data pages passes it
unnoticed, and fails an analyst's read of the whole dataset. This command decodes every
column of every row group of every published file of ``SMN_OUTPUT``
(:func:`crawler.dataset.quarantine.verify_file`, one row group in memory at a time), moves
each damaged one to ``<dataset>.quarantine`` (:func:`crawler.dataset.quarantine.quarantine`),
prints a line per file moved, and a last line: ``OK: N files verified ...`` (exit 0) or
``FAILED (code 4): M of N files were damaged and quarantined to <dir>`` (exit 4; also when
a file could not be read at all or moved).

A plain dataset directory is migrated to generations first
(:mod:`crawler.dataset.generations`), and the current generation is verified.

It takes the dataset lock (:mod:`crawler.dataset.lock`) as ``scrapy crawl`` does, so it
never runs during a crawl: a dataset locked by a running crawl exits 3 at once, having read
nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import UsageError

from crawler.dataset.files import published_files
from crawler.dataset.generations import current, prepare, stable_path
from crawler.dataset.lock import DatasetLock, DatasetLocked, lock_path
from crawler.dataset.paths import dataset_dir
from crawler.dataset.quarantine import quarantine, quarantine_dir, verify_file
from crawler.defaults import get_float
from crawler.outcome.judge import ExitCode
from crawler.util.command import ProjectCommand

if TYPE_CHECKING:
    import argparse


class Command(ProjectCommand):
    def short_desc(self) -> str:
        return "Read every file of the dataset (SMN_OUTPUT) in full; quarantine damaged ones"

    def long_desc(self) -> str:
        return (
            "Read every column of every published Parquet file of the dataset (SMN_OUTPUT); "
            "move the damaged ones to <dataset>.quarantine beside it. Exit 0 when every file "
            "is sound, 4 when any was damaged (or could not be read or moved), 3 when a "
            "crawl holds the dataset lock."
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError("scrapy verify takes no arguments (set SMN_OUTPUT with -s)")
        assert self.settings is not None
        dataset = dataset_dir(self.settings)
        if dataset is None:
            raise UsageError("SMN_OUTPUT is empty: there is no dataset to verify")
        if not dataset.is_dir():
            self._finish([f"OK: 0 files verified (no dataset at {dataset})"], ExitCode.OK)
            return
        try:
            lock = DatasetLock.acquire(dataset)
        except DatasetLocked as exc:
            self._finish([f"FAILED (code 3): {exc}; nothing verified"], ExitCode.LOCKED)
            return
        except OSError as exc:
            self._finish(
                [f"FAILED (code 4): cannot create the dataset lock {lock_path(dataset)}: {exc}"],
                ExitCode.OUTPUT_ERROR,
            )
            return
        try:
            try:
                prepare(dataset, get_float(self.settings, "SMN_KEEP_GENERATIONS_HOURS"))
            except OSError as exc:
                lines = [f"FAILED (code 4): cannot migrate the dataset {dataset}: {exc}"]
                code = ExitCode.OUTPUT_ERROR
            else:
                lines, code = verify_dataset(dataset, out=sys.stdout)
        finally:
            lock.release()
        self._finish(lines, code)

    def _finish(self, lines: list[str], code: ExitCode) -> None:
        for line in lines:
            print(line, flush=True)
        self.exitcode = int(code)


def verify_dataset(dataset: Path, out: Any = None) -> tuple[list[str], ExitCode]:
    """Verify every published file of ``dataset``, quarantining the damaged ones; a line
    per problem is written to ``out`` as it is found. The last line(s) and the exit code."""

    def say(line: str) -> None:
        if out is not None:
            print(line, file=out, flush=True)

    target = quarantine_dir(dataset)
    shown = stable_path(dataset)
    dataset = current(dataset)  # once: the generation this run verifies
    try:
        files = sorted(published_files(dataset))
    except OSError as exc:
        return [f"FAILED (code 4): cannot list the dataset {dataset}: {exc}"], (
            ExitCode.OUTPUT_ERROR
        )
    verified = damaged = moved = unreadable = 0
    for file in files:
        try:
            reason = verify_file(dataset / file.path)
        except FileNotFoundError:
            continue  # gone since the listing
        except OSError as exc:
            unreadable += 1
            say(f"  unreadable: {file.path}: {exc}")
            continue
        verified += 1
        if reason is None:
            continue
        damaged += 1
        try:
            moved_to = quarantine(dataset, file.path, reason)
        except FileNotFoundError:
            say(f"  damaged, and gone before it could be moved: {file.path} ({reason})")
            continue
        except OSError as exc:
            say(f"  damaged, NOT moved: {file.path} ({reason}): {exc}")
            continue
        moved += 1
        say(f"  quarantined: {file.path} ({reason}); moved to {moved_to}")
    if not damaged and not unreadable:
        return [f"OK: {verified} files verified in {shown}"], ExitCode.OK
    parts = []
    if damaged == moved and damaged:
        parts.append(f"{damaged} of {verified} files were damaged and quarantined to {target}")
    elif damaged:
        parts.append(
            f"{damaged} of {verified} files were damaged, {moved} quarantined to {target}, "
            "the others not (see above)"
        )
    if unreadable:
        parts.append(f"{unreadable} files could not be read at all (see above)")
    code = ExitCode.OUTPUT_ERROR
    return [f"FAILED (code {int(code)}): {'; '.join(parts)}"], code
