"""Compactions switching the dataset's generation while the workers of a distributed crawl
publish into it (crawler/dataset/generations.py's publish lock, crawler/dataset/writer.py).

Real parts: a private redis-server, two ``scrapy crawl smn`` workers against the replica,
``scrapy compact`` as a user runs it. The premises are held by the test hooks, on
conditions: a worker stopped inside a publication (the publish lock held), a worker stopped
with a finished file not yet published, a compaction stopped holding the lock for its
switch. Afterwards every article is in the dataset once, as pandas, pyarrow and DuckDB read
it, the rows of every file a worker published are in the current generation, no temp
file is left.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import pandas as pd
import redis

from crawler.dataset.generations import current, generations_dir, is_linked, publish_lock_path
from crawler.distributed.config import CrawlKeys
from crawler.network.urls import url_key
from replica.server import ReplicaHandle
from tests.support.crawl_run import REPO, crawl_command
from tests.support.readers import whole
from tests.support.warc import warc_problems
from tests.support.writer import article, run_writer

REPLICA_SCALE = 300
RUN = "20261206T120000Z-switch"
WORKER = {
    "SMN_REDIS_IDLE_SECONDS": "1",
    "SMN_REDIS_HEARTBEAT_SECONDS": "0.5",
    # far above the time a worker is held at a hook: no worker is taken for dead
    "SMN_REDIS_WORKER_TIMEOUT": "90",
    "SMN_REDIS_CHECKPOINT_SECONDS": "2",
    "SMN_CRAWL_ID": RUN,
    # a crawl long enough for both workers to publish
    "CONCURRENT_REQUESTS": "4",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "2",
}
TIMEOUT = 120


class Worker:
    """One worker (``scrapy crawl smn`` with SMN_REDIS_URL), in its own process group."""

    def __init__(
        self, replica: ReplicaHandle, url: str, dataset: Path, log: Path, pause: str
    ) -> None:
        command, env = crawl_command(replica, dataset, settings={**WORKER, "SMN_REDIS_URL": url})
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command,
                cwd=REPO,
                env={**env, "SMNTEST_PUBLISH_PAUSE": pause},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def poll(self) -> int | None:
        return self.process.poll()

    def wait(self) -> int:
        return self.process.wait(timeout=TIMEOUT)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")


def compact(dataset: Path, pause: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "scrapy", "compact", "-s", f"SMN_OUTPUT={dataset}"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "SMNTEST_SWITCH_PAUSE": pause},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finished(process: subprocess.Popen[str], *outcomes: str) -> str:
    out, _ = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, out[-3000:]
    assert out.splitlines()[-1] in (outcomes or ("OK: dataset compacted",)), out[-3000:]
    return out


def stat(output: str, key: str) -> float:
    """A numeric stat from the "Dumping Scrapy stats" block of a log (0 when absent)."""
    for line in output.splitlines():
        if f"'{key}':" in line:
            return float(line.split(":", 1)[1].strip().rstrip(",}"))
    return 0


class Running(Protocol):
    def poll(self) -> int | None: ...


def wait_for(predicate: Callable[[], object], what: str, *alive: Running) -> None:
    """Wait until ``predicate``; fails as soon as one of ``alive`` ends first."""
    deadline = time.monotonic() + TIMEOUT
    while not predicate():
        for process in alive:
            assert process.poll() is None, f"{what}: {process} ended first"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def reached(gate: Path, *alive: Running) -> Path:
    """The path the process held at ``gate`` wrote into ``<gate>.reached``."""
    marker = Path(f"{gate}.reached")
    wait_for(marker.exists, f"{gate.name} reached", *alive)
    return Path(marker.read_text())


def publish_lock_held(dataset: Path) -> bool:
    fd = os.open(publish_lock_path(dataset), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def small_files(dataset: Path, prefix: str, first: int, count: int) -> list[str]:
    """``count`` one-row files, as cron runs leave them, into one partition."""
    urls = []
    for i in range(first, first + count):
        item = article(90_000 + i)
        run_writer(dataset, [item], crawl_id=f"{prefix}{i:02d}")
        urls.append(item.url)
    return urls


def final_of(tmp: Path) -> str:
    """``part-...parquet`` of ``.part-...parquet.tmp``."""
    return tmp.name.removeprefix(".").removesuffix(".tmp")


def test_compactions_switch_between_the_publications_of_running_workers(
    replica: ReplicaHandle, redis_url: str, tmp_path: Path
) -> None:
    dataset = tmp_path / "articles"
    seeded = small_files(dataset, "cron", 0, 6)  # a plain directory, as an older crawler left
    assert dataset.is_dir() and not dataset.is_symlink()
    gates = tmp_path / "gates"
    gates.mkdir()
    w1_gate, w2_gate, w2_waits = gates / "w1", gates / "w2", gates / "w2-waits"
    c1_busy, c2_gate = gates / "c1-busy", gates / "c2"
    w2_waits.touch()  # w2 only tells when it meets a switch
    c1_busy.touch()  # the compaction only tells when a publication holds it off

    # w1 stops inside its first publication (the publish lock held, its target resolved);
    # w2 stops with its first file finished, unpublished.
    w1 = Worker(replica, redis_url, dataset, tmp_path / "w1.log", f"locked:{w1_gate}")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    wait_for(lambda: client.scard(CrawlKeys("smn").workers) >= 1, "the first worker", w1)
    client.close()
    w2 = Worker(
        replica, redis_url, dataset, tmp_path / "w2.log", f"sealed:{w2_gate},waiting:{w2_waits}"
    )
    try:
        # -- a switch waits for a publication in progress --------------------------------
        w1_target = reached(w1_gate, w1, w2)
        assert is_linked(dataset)  # the worker migrated the plain directory when it started
        g1 = current(dataset)
        assert w1_target.is_relative_to(g1) and not w1_target.exists()
        assert publish_lock_held(dataset)

        c1 = compact(dataset, f"publish-busy:{c1_busy}")
        reached(c1_busy, w1, w2, c1)  # its build is done; w1's publication holds off the switch
        assert current(dataset) == g1
        w1_gate.touch()
        finished(c1)
        g2 = current(dataset)
        assert g2 != g1
        # published into g1 before the switch, caught up into g2
        assert w1_target.exists() and (g2 / w1_target.relative_to(g1)).exists()

        # -- a publication waits for a switch, and lands in the generation after it ------
        w2_tmp = reached(w2_gate, w1, w2)
        begun_in = w2_tmp.parents[2]
        assert w2_tmp.exists() and begun_in.parent == generations_dir(dataset)
        seeded += small_files(dataset, "cron", 6, 2)  # more for the next compaction to merge
        c2 = compact(dataset, f"publish-locked:{c2_gate}")
        reached(c2_gate, w1, w2, c2)  # the switch holds the publish lock
        w2_gate.touch()
        reached(w2_waits, w1, w2, c2)  # w2 tries to publish, and waits
        assert publish_lock_held(dataset) and current(dataset) == g2
        c2_gate.touch()
        finished(c2)
        g3 = current(dataset)
        assert g3 not in (g1, g2)
        partition = w2_tmp.parent.relative_to(begun_in)
        landed = g3 / partition / final_of(w2_tmp)
        wait_for(lambda: not w2_tmp.exists(), "w2's publication", w2)
        # begun in an older generation, published into the current one only
        assert landed.exists()
        assert not (g1 / partition / landed.name).exists()
        assert not (g2 / partition / landed.name).exists()

        codes = [w1.wait(), w2.wait()]
        assert codes == [0, 0], w1.output[-3000:] + w2.output[-3000:]
    finally:
        w1.kill()
        w2.kill()
        for gate in (w1_gate, w2_gate, c2_gate):
            gate.touch()

    # Nothing lost, nothing twice; every worker's file in the current generation.
    urls = whole(dataset)
    expected = {url_key(a.url) for a in replica.manifest().articles} | {url_key(u) for u in seeded}
    assert len(urls) == len(set(urls)), "a row twice"
    assert {url_key(u) for u in urls} == expected
    # the rows of the two files held at the hooks (the files themselves may be merged now)
    for held in (w1_target, landed):
        rows = pd.read_parquet(held, columns=["url"])["url"]
        assert len(rows) and set(rows) <= set(urls), held
    assert not list(generations_dir(dataset).rglob(".part-*.tmp")), "a temp file stranded"
    seeded_keys = {url_key(u) for u in seeded}
    problems = warc_problems(dataset)
    assert [p for p in problems if url_key(p.split(": ", 1)[0]) not in seeded_keys] == []
    assert stat(w2.output, "parquet/published_after_switch") >= 1
    assert stat(w2.output, "parquet/publish_waits") >= 1

    # A last compaction with nothing running takes it all in, the same rows.
    finished(compact(dataset, ""), "OK: dataset compacted", "OK: nothing to compact")
    assert whole(dataset) == urls
