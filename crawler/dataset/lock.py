"""One run per dataset: an exclusive, non-blocking ``flock`` beside the dataset directory.

``output/articles`` is locked through ``output/.articles.lock``: beside the dataset, not
in it, and hidden, so no Parquet reader ever lists it. The crawl command takes the lock
before the crawl starts and a second run (cron firing while the last run still works)
stops at once, having opened nothing: its dataset writer never runs, so it can neither
write rows nor clean up the first run's temp files.

The lock belongs to the open file: it goes when the process ends, however it ends (a
SIGKILLed run leaves no stale lock). The file itself stays; it holds the pid and start time
of the last run that took it, for the message the next one prints. Deleting it while a
run holds it would let a second run lock a new file of the same name: don't.

Setting: ``SMN_DATASET_LOCK`` (bool, default True); turn it off only for workers of one
distributed run writing the same dataset on purpose (their files are named by crawl id).

Workers without the lock still publish safely while a compaction or re-extraction switches
the dataset's generation: each publication holds the *publish lock*
(:class:`crawler.dataset.generations.PublishLock`, ``.articles.publish.lock``) shared, the
switch holds it exclusive for its last step. A worker migrates a plain dataset directory to
generations when it starts (:func:`join_generations`), under this lock for a moment.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from pathlib import Path

from crawler.dataset.generations import is_linked, migrate, stable_path

logger = logging.getLogger(__name__)

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock
    fcntl = None  # type: ignore[assignment]


class DatasetLocked(Exception):
    """Another process holds the lock of the dataset."""

    what = "another run is writing the dataset"

    def __init__(self, dataset: Path, lock_file: Path, holder: str) -> None:
        self.dataset = dataset
        self.lock_file = lock_file
        self.holder = holder
        super().__init__(f"{self.what} {dataset} ({holder or 'holder unknown'}; lock {lock_file})")


class BuildLocked(DatasetLocked):
    """Another re-extraction or compaction is building the dataset's next generation."""

    what = "another re-extraction or compaction is building the next generation of"


def lock_path(dataset: Path) -> Path:
    """``<parent>/.<name>.lock`` of the dataset's stable path (its generation link, never
    the generation it names: :func:`crawler.dataset.generations.stable_path`)."""
    resolved = stable_path(dataset)
    return resolved.parent / f".{resolved.name or 'dataset'}.lock"


class DatasetLock:
    """An acquired lock; :meth:`release` (or the end of the process) lets it go."""

    def __init__(self, dataset: Path, path: Path, fd: int) -> None:
        self.dataset = dataset
        self.path = path
        self._fd = fd

    @classmethod
    def acquire(cls, dataset: Path, *, build: bool = False) -> DatasetLock:
        """Lock ``dataset`` or raise :class:`DatasetLocked` at once (never waits).

        ``build``: the *build lock* instead (``.<name>.build.lock``), held by a re-extraction
        or a compaction for its whole run (raises :class:`BuildLocked`): one next generation
        is built at a time (a second would be thrown away at its switch), and a build's
        hidden directories are removed as stale only by a run that holds it.

        OSError when the lock file cannot be created (an unwritable output directory).
        """
        path = lock_path(dataset)
        if build:
            path = path.with_name(path.name.removesuffix(".lock") + ".build.lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise (BuildLocked if build else DatasetLocked)(dataset, path, holder) from None
        except BaseException:
            os.close(fd)
            raise
        started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, started {started}\n".encode(), 0)
        return cls(dataset, path, fd)

    def release(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def __enter__(self) -> DatasetLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        return os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""


def join_generations(dataset: Path, wait: float = 10.0) -> bool:
    """For a writer that shares ``dataset`` without its lock (a distributed worker): make
    sure the dataset is a link to generations before it writes, migrating a plain directory
    (or making a new dataset) under the dataset lock, taken for that moment only. A run
    holding the lock migrates it itself when it starts: wait up to ``wait`` seconds for
    that. True when the dataset is linked; False when it could not be (a crawl of an older
    version holds the lock: files are then written into the plain directory, as before).

    Why: a switch must never move the directory a live writer's temp files are in, and a
    migration moves the plain directory; after it, switches only add generations."""
    deadline = time.monotonic() + wait
    while not is_linked(dataset):
        try:
            lock = DatasetLock.acquire(dataset)
        except DatasetLocked:
            if time.monotonic() >= deadline:
                logger.warning(
                    "The dataset %s is not migrated to generations and its lock is held: "
                    "writing into the plain directory",
                    dataset,
                )
                return False
            time.sleep(0.05)
            continue
        with lock:
            migrate(dataset)
        return is_linked(dataset)
    return True
