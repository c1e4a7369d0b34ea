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
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from crawler.dataset.generations import stable_path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock
    fcntl = None  # type: ignore[assignment]


class DatasetLocked(Exception):
    """Another process holds the lock of the dataset."""

    def __init__(self, dataset: Path, lock_file: Path, holder: str) -> None:
        self.dataset = dataset
        self.lock_file = lock_file
        self.holder = holder
        super().__init__(
            f"another run is writing the dataset {dataset} ({holder or 'holder unknown'}; "
            f"lock {lock_file})"
        )


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
    def acquire(cls, dataset: Path) -> DatasetLock:
        """Lock ``dataset`` or raise :class:`DatasetLocked` at once (never waits).

        OSError when the lock file cannot be created (an unwritable output directory).
        """
        path = lock_path(dataset)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise DatasetLocked(dataset, path, holder) from None
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
