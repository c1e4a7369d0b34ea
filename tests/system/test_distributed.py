"""Distributed crawls on Redis (crawler/distributed/): workers against a real redis-server
and the scaled replica; the Redis incremental state; the add-on; the combined report.

A private redis-server is started on a free port of 127.0.0.1 (no persistence, in a temp
directory) and stopped afterwards. Without the redis-server binary these tests fail in CI
(``CI=true``) and are skipped elsewhere; ``scripts/ensure-redis.sh`` installs it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import redis
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings

from crawler.dataset.files import DatasetFile
from crawler.distributed.addon import RedisAddon
from crawler.distributed.config import CrawlKeys
from crawler.distributed.reports import combine, format_combined, run_of
from crawler.distributed.store import RedisSeenStore
from crawler.incremental.store import ARTICLE
from crawler.network.urls import url_key
from replica.server import ReplicaHandle
from tests.support.crawl_run import REPO, crawl_command
from tests.support.redesign import COPY_URL, add_edited_copy
from tests.support.warc import warc_problems

REPLICA_SCALE = SCALE = 300
RUN = "20261123T120000Z-test00"
# Short timings, so a dead worker is noticed in seconds and the crawl ends soon after.
WORKER = {
    "SMN_REDIS_IDLE_SECONDS": "1",
    "SMN_REDIS_HEARTBEAT_SECONDS": "0.5",
    "SMN_REDIS_WORKER_TIMEOUT": "8",
    "SMN_REDIS_CHECKPOINT_SECONDS": "2",
    "SMN_CRAWL_ID": RUN,
}


class Worker:
    """``scrapy crawl smn`` as one worker, in its own process group (its extraction
    processes die with it), output to a log file."""

    def __init__(
        self, replica: ReplicaHandle, url: str, dataset: Path, log: Path, **extra: str
    ) -> None:
        settings = {**WORKER, "SMN_REDIS_URL": url, **extra}
        command, env = crawl_command(replica, dataset, settings=settings)
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command,
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait(self, timeout: float = 150) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _rows(dataset: Path) -> list[dict]:
    table = ds.dataset(dataset, partitioning="hive").to_table(
        columns=["canonical_url", "crawl_id", "duplicate_of", "content_hash"]
    )
    return table.to_pylist()


def _assert_every_article_once(replica: ReplicaHandle, rows: list[dict]) -> None:
    expected = {url_key(a.url) for a in replica.manifest().articles}
    got = Counter(url_key(r["canonical_url"]) for r in rows)
    assert not [k for k, n in got.items() if n > 1], "articles written twice"
    assert sorted(got) == sorted(expected)


def _assert_files_named_by_their_worker(dataset: Path) -> None:
    for path in dataset.rglob("part-*.parquet"):
        ids = set(pq.read_table(path, columns=["crawl_id"]).column("crawl_id").to_pylist())
        assert len(ids) == 1
        (crawl_id,) = ids
        assert path.name.startswith(f"part-{crawl_id}-"), path
    # Each worker archives into WARC files of its own; every row names a published one.
    assert warc_problems(dataset) == []


def _warc_writers(dataset: Path) -> set[str]:
    """The crawl ids in the names of the published WARC files."""
    return {p.name.rsplit("-", 1)[0] for p in (dataset.parent / "warc").rglob("*.warc.gz")}


def _assert_syndication_consistent(rows: list[dict]) -> None:
    """Across workers, one copy of a syndicated story is the original, the others point
    to it."""
    stories: dict[str, list[dict]] = {}
    for row in rows:
        stories.setdefault(row["content_hash"], []).append(row)
    groups = [g for g in stories.values() if len(g) > 1]
    assert groups
    for group in groups:
        originals = [r for r in group if r["duplicate_of"] is None]
        assert len(originals) == 1
        for row in group:
            if row is not originals[0]:
                assert row["duplicate_of"] == originals[0]["canonical_url"]


def _stat(output: str, key: str) -> int:
    """A numeric stat from the "Dumping Scrapy stats" block of a log (0 when absent)."""
    for line in output.splitlines():
        if f"'{key}':" in line:
            return int(line.split(":", 1)[1].strip().rstrip(",}"))
    return 0


def _wait_for(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


# --------------------------------------------------------------------------- crawls


def test_two_workers_write_every_article_once(
    replica: ReplicaHandle, redis_url: str, tmp_path: Path
) -> None:
    replica.clear_log()
    dataset = tmp_path / "articles"
    first = Worker(replica, redis_url, dataset, tmp_path / "w1.log")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    keys = CrawlKeys("smn")
    # w1 registers first (so the numbering below holds), then w2 joins the same crawl.
    _wait_for(lambda: client.scard(keys.workers) >= 1, 60, "the first worker")
    second = Worker(replica, redis_url, dataset, tmp_path / "w2.log")
    codes = [first.wait(), second.wait()]
    assert codes == [0, 0], first.output[-3000:] + second.output[-3000:]

    rows = _rows(dataset)
    _assert_every_article_once(replica, rows)
    by_worker = Counter(r["crawl_id"] for r in rows)
    assert set(by_worker) == {f"{RUN}-w1", f"{RUN}-w2"}, by_worker
    assert all(n > 0 for n in by_worker.values())
    _assert_files_named_by_their_worker(dataset)
    assert _warc_writers(dataset) == {f"{RUN}-w1", f"{RUN}-w2"}
    _assert_syndication_consistent(rows)
    assert replica.off_network_requests() == []
    assert replica.disallowed_requests() == []

    # One fetch per page across the workers (the shared duplicate filter): no article page
    # answered twice. robots.txt is fetched by each worker.
    answered = Counter(
        url_key(f"https://{r.host}{r.path}")
        for r in replica.requests()
        if r.status == 200 and r.method == "GET" and r.path != "/robots.txt"
    )
    articles = {url_key(a.url) for a in replica.manifest().articles}
    assert not [u for u, n in answered.items() if n > 1 and u in articles]

    # Each worker wrote its report; the combined view sums them.
    reports = tmp_path / "reports"
    assert sorted(p.name for p in reports.glob("*.json")) == [
        f"{RUN}-w1.json",
        f"{RUN}-w2.json",
    ]
    view = combine([json.loads(p.read_text()) for p in reports.glob("*.json")])
    assert view["ok"] and view["run"] == RUN
    assert view["totals"]["written"] == len(rows)
    assert view["totals"]["entry_points_fetched"] > 0
    # The layout watch judged the run as one: its pages and the sites' states name the run,
    # not a worker, and no worker's close fired it (the replica's SpaceDaily has both platforms).
    state = RedisSeenStore(client, keys.state, recheck_days=1, scope="reader", dataset=None)
    readings = [r for window in state.readings().values() for r in window]
    assert readings and {r.run for r in readings} == {RUN}
    watches = state.site_watches()
    assert watches and {w.run for w in watches.values()} == {RUN}
    assert not [site for site, w in watches.items() if w.fired]
    assert set(watches["spacedaily.com"].layouts) == {"classic", "modern"}
    # The crawl is over: its keys are gone, the incremental state stays.
    left = set(client.keys("smn:*"))
    assert not left & set(keys.crawl_keys())
    assert client.hlen(f"{keys.state}:articles") >= len(rows)
    client.close()


def test_a_killed_workers_work_is_finished_by_the_other(
    replica: ReplicaHandle, redis_url: str, tmp_path: Path
) -> None:
    dataset = tmp_path / "articles"
    # Fewer requests at a time: the crawl lasts long enough to kill a worker in its middle.
    slow = {"CONCURRENT_REQUESTS": "4", "CONCURRENT_REQUESTS_PER_DOMAIN": "2"}
    victim = Worker(replica, redis_url, dataset, tmp_path / "w1.log", **slow)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    keys = CrawlKeys("smn")
    _wait_for(lambda: client.scard(keys.workers) >= 1, 60, "the first worker")
    survivor = Worker(replica, redis_url, dataset, tmp_path / "w2.log", **slow)
    try:
        # Kill w1 once it has published rows and claimed articles, with work in hand.
        victim_id = f"{RUN}-w1"
        _wait_for(
            lambda: (
                any(dataset.rglob(f"part-{victim_id}-*.parquet"))
                and client.hlen(keys.leases(victim_id)) > 0
            ),
            90,
            "the first worker to publish a file",
        )
        assert victim.process.poll() is None, "w1 finished before it could be killed"
        victim.kill()
        assert survivor.wait() == 0, survivor.output[-3000:]
    finally:
        victim.kill()
        survivor.kill()

    rows = _rows(dataset)
    _assert_every_article_once(replica, rows)
    by_worker = Counter(r["crawl_id"] for r in rows)
    assert by_worker[victim_id] > 0 and by_worker[f"{RUN}-w2"] > 0
    _assert_files_named_by_their_worker(dataset)
    _assert_syndication_consistent(rows)
    # w1's unpublished rows stay in hidden temp files, which readers skip.
    output = survivor.output
    assert _stat(output, "smn/distributed/workers_reaped") == 1
    assert _stat(output, "smn/distributed/requeued") > 0
    assert "Worker " + victim_id + " is dead" in output
    assert not set(client.keys("smn:*")) & set(keys.crawl_keys())
    client.close()


# --------------------------------------------------------------------------- the state


def test_redis_state_keeps_the_seen_store_guarantees(redis_url: str, tmp_path: Path) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = RedisSeenStore(client, "t:state", recheck_days=1, scope="here", dataset=tmp_path)
    assert store.created
    a = DatasetFile("year=2026/month=1/part-a.parquet", 10, 1)
    b = DatasetFile("year=2026/month=1/part-b.parquet", 20, 2)
    store.add_articles(["k1", "shared"], a)
    store.add_articles(["k2", "shared"], b)
    assert store.ingested_files() == {a, b}
    assert store.lookup(["k1", "k2", "shared", "nope"], 0) == {
        "k1": ARTICLE,
        "k2": ARTICLE,
        "shared": ARTICLE,
    }
    # A key stored by two files stays known while either holds it.
    store.forget_files([a.path])
    assert store.lookup(["k1", "shared"], 0) == {"shared": ARTICLE}
    # Re-adding a file replaces its keys.
    store.add_articles(["k3"], DatasetFile(b.path, 21, 3))
    assert store.lookup(["k2", "shared", "k3"], 0) == {"k3": ARTICLE}
    # Pages count for the re-check interval; aliases through their target only.
    store.add_pages(["about"], "other", 1000.0)
    store.add_aliases({"old": "about", "moved": "k3", "dangling": "gone"})
    assert store.lookup(["about", "old", "moved", "dangling"], 1000.0 + 3600) == {
        "about": "other",
        "old": "other",
        "moved": ARTICLE,
    }
    assert store.lookup(["about", "old"], 1000.0 + 2 * 86_400) == {}
    assert store.prune(1000.0 + 2 * 86_400) == 1
    assert client.hkeys("t:state:aliases") == ["moved"]
    # Another scope (another machine's dataset) lists its own files only.
    other = RedisSeenStore(client, "t:state", recheck_days=1, scope="there")
    assert other.created and other.ingested_files() == set()
    assert other.lookup(["k3"], 0) == {"k3": ARTICLE}
    other.forget_files([DatasetFile(b.path, 21, 3).path])
    assert store.lookup(["k3"], 0) == {"k3": ARTICLE}
    client.close()


def test_redis_state_does_not_forget_a_file_still_published(redis_url: str, tmp_path: Path) -> None:
    """The listing race: a file another worker published and ingested after this worker
    listed the dataset is not forgotten."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = RedisSeenStore(client, "t:state", recheck_days=1, scope="s", dataset=tmp_path)
    path = tmp_path / "year=2026" / "month=1" / "part-x.parquet"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"x" * 7)
    stat = path.stat()
    relative = "year=2026/month=1/part-x.parquet"
    store.add_articles(["k"], DatasetFile(relative, stat.st_size, stat.st_mtime_ns))
    store.forget_files([relative])
    assert store.lookup(["k"], 0) == {"k": ARTICLE}
    path.unlink()
    store.forget_files([relative])
    assert store.lookup(["k"], 0) == {}
    client.close()


# --------------------------------------------------------------------------- add-on, report


def test_the_addon_changes_nothing_without_a_redis_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMN_REDIS_URL", raising=False)
    settings = get_project_settings()
    assert "crawler.distributed.addon.RedisAddon" in settings.getdict("ADDONS")
    before = settings.copy_to_dict()
    RedisAddon.update_pre_crawler_settings(settings)
    RedisAddon().update_settings(settings)
    assert settings.copy_to_dict() == before


def test_a_single_process_crawl_never_imports_redis() -> None:
    # Every component a crawl without SMN_REDIS_URL loads, add-ons applied, in a fresh
    # process: neither redis nor scrapy_redis is among the modules it imported.
    code = """
import os, sys
os.environ.pop("SMN_REDIS_URL", None)
from scrapy.utils.misc import load_object
from scrapy.utils.project import get_project_settings
import crawler.spiders.smn
s = get_project_settings()
for path in s.getdict("ADDONS"):
    load_object(path)().update_settings(s)
for name in ("ITEM_PIPELINES", "SPIDER_MIDDLEWARES", "DOWNLOADER_MIDDLEWARES", "EXTENSIONS"):
    for path, priority in s.getwithbase(name).items():
        if priority is not None:
            load_object(path)
for name in ("SCHEDULER", "DUPEFILTER_CLASS", "REQUEST_FINGERPRINTER_CLASS"):
    load_object(s[name])
print(sorted(m for m in sys.modules if m.split(".")[0] in ("redis", "scrapy_redis")))
"""
    env = {k: v for k, v in os.environ.items() if k != "SMN_REDIS_URL"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_addon_makes_a_worker_with_a_redis_url() -> None:
    settings = get_project_settings()
    settings.set("SMN_REDIS_URL", "redis://127.0.0.1:1/0", priority="cmdline")
    RedisAddon.update_pre_crawler_settings(settings)
    RedisAddon().update_settings(settings)
    assert settings["SCHEDULER"] == "crawler.distributed.scheduler.RedisScheduler"
    assert settings["DUPEFILTER_CLASS"] == "crawler.distributed.scheduler.RedisDupeFilter"
    assert not settings.getbool("SMN_DATASET_LOCK")
    pipelines = {
        getattr(k, "__name__", k): v for k, v in settings.getdict("ITEM_PIPELINES").items()
    }
    assert pipelines["DistributedParquetPipeline"] == 900
    assert "pipelines.parquet_writer.ParquetDatasetPipeline" not in pipelines
    spider_mws = {getattr(k, "__name__", k) for k in settings.getdict("SPIDER_MIDDLEWARES")}
    assert {"RedisIncrementalSpiderMiddleware", "SeedOnceMiddleware"} <= spider_mws
    # An explicit -s SMN_DATASET_LOCK=1 wins over the add-on.
    explicit = Settings({"SMN_REDIS_URL": "redis://x", "SMN_DATASET_LOCK": True}, "cmdline")
    RedisAddon.update_pre_crawler_settings(explicit)
    assert explicit.getbool("SMN_DATASET_LOCK")


def _report(crawl_id: str, written: int, code: int = 0) -> dict:
    return {
        "crawl_id": crawl_id,
        "started_at": "2026-11-23T12:00:00+00:00",
        "finished_at": "2026-11-23T12:01:00+00:00",
        "elapsed_seconds": 60.0,
        "finish_reason": "finished",
        "exit_code": code,
        "requests": {"total": written * 2, "entry_points_fetched": 13},
        "responses": {"total": written * 2},
        "articles": {
            "extracted": written + 1,
            "written": written,
            "dropped": {"claimed": 1},
            "syndicated": 0,
        },
        "errors": {"count": 0},
        "files_written": ["a", "b"],
    }


def test_the_combined_report_sums_workers_and_names_the_missing() -> None:
    assert run_of(f"{RUN}-w12") == RUN
    view = combine([_report(f"{RUN}-w1", 10), _report(f"{RUN}-w3", 5)])
    assert [w["crawl_id"] for w in view["workers"]] == [f"{RUN}-w1", f"{RUN}-w3"]
    assert view["totals"]["written"] == 15
    assert view["totals"]["dropped"] == {"claimed": 2}
    assert view["totals"]["entry_points_fetched"] == 13
    assert view["missing_workers"] == [2]
    assert not view["ok"]
    text = "\n".join(format_combined(view))
    assert "no report from w2" in text and text.endswith(
        "NOT OK: 15 articles written by the run's workers"
    )


def test_the_scrapy_internals_it_relies_on_are_there() -> None:
    """crawler/distributed/ reads ``engine._slot.inprogress`` and calls
    ``engine._slot.nextcall.schedule()``; Scrapy is pinned, and this says when an upgrade
    moved them."""
    import inspect

    import scrapy
    import scrapy_redis
    from scrapy.core.engine import _Slot
    from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware

    assert scrapy.__version__ == "2.19.0"
    assert scrapy_redis.__version__ == "0.9.1"
    init = inspect.getsource(_Slot.__init__)
    assert "self.inprogress" in init and "self.nextcall" in init
    # The robots.txt waiters bug SharedRobotsTxtMiddleware works around.
    assert "await maybe_deferred_to_future(parser)" in inspect.getsource(
        RobotsTxtMiddleware.robot_parser
    )


def test_a_copy_met_by_a_later_worker_joins_the_story_kept_in_redis(
    replica: ReplicaHandle, redis_url: str, tmp_path: Path
) -> None:
    """A worker stores a story; a worker of a later run meets an edited copy of it on a new
    page: the copy gets the first copy's story_id, from the index in the shared Redis state."""
    dataset = tmp_path / "articles"
    crawl = {"SMN_REDIS_CRAWL": "stories-later"}
    first = Worker(replica, redis_url, dataset, tmp_path / "w1.log", **crawl)
    assert first.wait() == 0, first.output[-3000:]
    columns = ["url", "canonical_url", "text", "duplicate_of", "story_id", "near_duplicate_of"]
    rows = ds.dataset(dataset, partitioning="hive").to_table(columns=columns).to_pylist()
    catalog = {a.url for a in replica.app.catalog.articles.values()}
    original = next(
        r
        for r in rows
        if r["duplicate_of"] is None
        and r["url"] in catalog
        and "spacewar.com" in r["url"]
        and len(r["text"].split()) > 80
    )
    add_edited_copy(replica, original["url"])
    try:
        later = Worker(
            replica,
            redis_url,
            dataset,
            tmp_path / "w2.log",
            **crawl,
            SMN_CRAWL_ID="20261123T130000Z-test01",
        )
        assert later.wait() == 0, later.output[-3000:]
    finally:
        replica.app.routes.clear()
    rows = ds.dataset(dataset, partitioning="hive").to_table(columns=columns).to_pylist()
    (copy,) = [r for r in rows if url_key(r["url"]) == url_key(COPY_URL)]
    assert copy["story_id"] == original["story_id"]
    assert copy["near_duplicate_of"] == original["canonical_url"]
