"""How long a publication waits for a switch of the dataset's generation.

A distributed worker's publication holds the publish lock shared; a switch (compaction,
re-extraction) holds it exclusive for its last step: the catch-up of the files published
since its first one (a listing of names) and the link. This builds datasets of ``--sizes``
one-row files over 300 months, then switches to a generation of hard links (a compaction
with nothing to merge: the switch's own cost) while a thread publishes in a loop as a
worker does (shared lock, the current generation resolved), and prints how long the switch
held the lock and the longest wait of a publication. The baseline is a full listing of the
dataset (``published_files``, what a switch holding the lock for a whole catch-up would
list), in the same run.

    .venv/bin/python benchmarks/publish_lock.py [--sizes 300,3000,17000]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.dataset.files import published_files  # noqa: E402
from crawler.dataset.generations import (  # noqa: E402
    GenerationBuild,
    PublishLock,
    current,
    prepare,
)

MONTHS = 300


def _dataset(root: Path, files: int) -> None:
    prepare(root, keep_hours=24)
    generation = current(root)
    table = pa.table({"url": ["https://www.spacewar.com/reports/x.html"]})
    for i in range(files):
        month = i % MONTHS
        directory = generation / f"year={2000 + month // 12}" / f"month={month % 12 + 1}"
        directory.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, directory / f"part-cron{i:05d}-00000.parquet")


def _measure(files: int, scratch: Path) -> tuple[float, float, float, int]:
    """(full listing s, lock held s, longest publication wait s, publications)."""
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        root = Path(tmp) / "articles"
        _dataset(root, files)
        started = time.perf_counter()
        published_files(current(root))
        listing = time.perf_counter() - started

        held: list[float] = []
        exclusive = PublishLock.exclusive

        @contextlib.contextmanager
        def timed(self: PublishLock, wait: float = 60.0) -> Iterator[None]:
            with exclusive(self, wait):
                began = time.perf_counter()
                yield
                held.append(time.perf_counter() - began)

        waits: list[float] = []
        stop = threading.Event()

        def publisher() -> None:
            lock = PublishLock(root)
            while not stop.is_set():
                began = time.perf_counter()
                with lock.shared():
                    waits.append(time.perf_counter() - began)
                    current(root)
                time.sleep(0.001)
            lock.close()

        thread = threading.Thread(target=publisher)
        thread.start()
        PublishLock.exclusive = timed  # type: ignore[method-assign]
        try:
            build = GenerationBuild.begin(root)
            for file in sorted(build.base_files):
                build.link(file)
            build.commit()
        finally:
            PublishLock.exclusive = exclusive  # type: ignore[method-assign]
            stop.set()
            thread.join()
        return listing, held[-1], max(waits), len(waits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="300,3000,17000")
    args = parser.parse_args()
    print(f"# {platform.python_version()}, {os.cpu_count()} cores, {MONTHS} months")
    header = (
        f"{'files':>6}  {'full listing ms':>15}  {'lock held ms':>12}  "
        f"{'x listing':>9}  {'longest wait ms':>15}  {'publications':>12}"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as scratch:
        for files in (int(n) for n in args.sizes.split(",")):
            listing, held, wait, count = _measure(files, Path(scratch))
            print(
                f"{files:>6}  {listing * 1000:>15.1f}  {held * 1000:>12.1f}  "
                f"{held / listing:>9.2f}  {wait * 1000:>15.1f}  {count:>12}"
            )


if __name__ == "__main__":
    main()
