"""Throughput of the distributed crawl: 1 and 2 workers on one Redis, against the scaled
replica, and the plain single process for reference.

    python benchmarks/distributed.py [--scale 2000] [--repeat 1]

Starts the replica (``--scale`` synthetic articles) and a private redis-server on a free
port of 127.0.0.1, then crawls the whole replica into a fresh dataset with:

* ``scrapy crawl smn``, no Redis: the reference;
* one worker (``SMN_REDIS_URL`` set): the cost of the shared frontier;
* two workers started together on this machine, into one dataset.

Pages are responses downloaded (summed over the workers); pages/s is over the wall time from
the first start to the last exit (the workers' closing wait, ``SMN_REDIS_IDLE_SECONDS``=1,
included); CPU is the workers' own (their extraction processes included, the replica and
Redis not), per 1000 pages: what the shared frontier costs, however busy the machine is.
Every run checks that the dataset holds every article of the replica exactly
once. Figures go to docs/distributed.md by hand.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyarrow.dataset as ds
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (
    REPO,
    ReplicaProcess,
    RunResult,
    crawl_env,
    failed,
    machine,
    replica,
    run_measured,
    smn_command,
    table,
)
from crawler.network.urls import url_key
from replica.oracle import manifest

WORKER_SETTINGS = {"SMN_REDIS_IDLE_SECONDS": "1", "SMN_REDIS_HEARTBEAT_SECONDS": "0.5"}


@dataclass
class Measure:
    label: str
    workers: int
    wall_s: float
    pages: int
    articles: int
    per_worker_pages: list[int]
    cpu_s: float
    """CPU seconds of the workers' process trees (extraction processes included)."""

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.wall_s if self.wall_s else 0.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """A private redis-server: no persistence, on a free port of 127.0.0.1."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is missing: run scripts/ensure-redis.sh")
        self.port = _free_port()
        self.process = subprocess.Popen(
            [
                *(binary, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(directory)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"
        client = redis.Redis.from_url(self.url)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        client.close()

    def flush(self) -> None:
        client = redis.Redis.from_url(self.url)
        client.flushall()
        client.close()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _check(dataset: Path, scale: int) -> int:
    """Rows in the dataset; exits when an article is missing or written twice."""
    rows = ds.dataset(dataset, partitioning="hive").to_table(columns=["canonical_url"])
    got = Counter(url_key(u) for u in rows.column("canonical_url").to_pylist())
    expected = {url_key(a.url) for a in manifest(scale).articles}
    twice = [k for k, n in got.items() if n > 1]
    missing = expected - set(got)
    if twice or missing:
        raise SystemExit(f"{dataset}: {len(twice)} written twice, {len(missing)} missing")
    return sum(got.values())


def crawl(
    rep: ReplicaProcess, work: Path, label: str, workers: int, redis_url: str | None
) -> Measure:
    dataset = work / label.replace(" ", "-") / "articles"
    settings = {"SMN_EXTRACT_WORKERS": "0"}
    if redis_url:
        settings |= {"SMN_REDIS_URL": redis_url, **WORKER_SETTINGS}
    command = smn_command(dataset, settings)
    results: list[RunResult] = []

    def one() -> None:
        results.append(run_measured(command, env=crawl_env(rep), cwd=REPO, timeout=1800))

    threads = [threading.Thread(target=one) for _ in range(workers)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
        time.sleep(0.2)  # the first worker registers (and seeds) first
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    for result in results:
        if result.returncode != 0:
            raise SystemExit(failed(result, label))
    pages = [result.pages for result in results]
    cpu = sum(r.usage.main_cpu_s + r.usage.children_cpu_s for r in results)
    return Measure(label, workers, wall, sum(pages), _check(dataset, rep.scale), pages, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the best counts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="smn-bench-distributed-") as tmp:
        work = Path(tmp)
        server = RedisServer(work)
        try:
            with replica(args.scale) as rep:
                best: dict[str, Measure] = {}
                for _ in range(args.repeat):
                    for label, workers, url in (
                        ("no Redis", 1, None),
                        ("1 worker", 1, server.url),
                        ("2 workers", 2, server.url),
                    ):
                        server.flush()
                        shutil.rmtree(work / label.replace(" ", "-"), ignore_errors=True)
                        measure = crawl(rep, work, label, workers, url)
                        if label not in best or measure.wall_s < best[label].wall_s:
                            best[label] = measure
        finally:
            server.stop()
    one = best["1 worker"].pages_per_s
    rows = [
        [
            m.label,
            m.pages,
            m.articles,
            " + ".join(map(str, m.per_worker_pages)),
            m.wall_s,
            m.pages_per_s,
            m.pages_per_s / one if one else 0.0,
            1000 * m.cpu_s / m.pages if m.pages else 0.0,
        ]
        for m in best.values()
    ]
    print(f"Scaled replica: --scale {args.scale}; {machine()}")
    headers = [
        *("run", "pages", "articles", "pages per worker", "wall s", "pages/s"),
        *("x 1 worker", "CPU s / 1000 pages"),
    ]
    print(table(headers, rows))


if __name__ == "__main__":
    main()
