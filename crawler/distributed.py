"""Distributed crawls on Redis (scrapy-redis): many workers, one frontier, one dataset.

With ``SMN_REDIS_URL`` set (a setting, or the environment variable of that name), ``scrapy
crawl smn`` becomes one *worker* of a crawl whose request queue, duplicate filter,
incremental state and article claims live in Redis; start as many workers as wanted, on one
machine or several (docs/distributed.md). Without it nothing here is active: the add-on
(:class:`RedisAddon`) changes no setting.

This module is the one place that adapts scrapy-redis 0.9.1 (written for Scrapy < 2.13) to
Scrapy 2.19 and to this project:

* :class:`RedisScheduler` (scrapy-redis' ``Scheduler``) is built ``from_crawler``, not
  ``from_settings``; it always persists the shared queue (a worker that closes must not
  flush what the others work on); it pushes new requests in batches, the duplicate check
  and the enqueue in one Lua script, and pops through another that *leases* the request.
* :class:`RedisDupeFilter` (scrapy-redis' ``RFPDupeFilter``) fingerprints with the crawler's
  ``request_fingerprinter`` (:class:`~crawler.request_identity.CanonicalRequestFingerprinter`)
  instead of its own ``canonicalize_url`` hash (deprecated ``request_fingerprint`` API),
  never deletes the shared set on close, and remembers the fingerprints it sent already.
* scrapy-redis' ``RedisSpider`` feeds ``start_requests()``, which Scrapy 2.13+ no longer
  calls: it is not used. The spider's ``async start()`` stays, and :class:`SeedOnceMiddleware`
  lets one worker per crawl enqueue the entry points (a ``SET NX`` flag).
* :class:`SharedRobotsTxtMiddleware` fixes Scrapy 2.19's robots.txt middleware, which checks
  only the first of several requests waiting for a host's robots.txt: a worker joining a
  crawl starts with many such requests.

**Leases: a worker that dies loses nothing.** scrapy-redis pops destructively; here the pop
moves the request into the worker's lease hash in the same atomic step. A lease is released
once its request is done (its new links are in the queue, its items in the dataset writer)
*and* the writer has published its rows: every ``SMN_REDIS_CHECKPOINT_SECONDS``, when the
worker runs out of work and when it closes, it publishes its open files and releases the
leases of the requests finished before. Each worker refreshes a heartbeat key (TTL
``SMN_REDIS_WORKER_TIMEOUT``) every ``SMN_REDIS_HEARTBEAT_SECONDS``; when a worker's key has
expired, the first live worker to notice puts its leased requests back in the queue (a Lua
script, so only one does). A dead worker's unpublished rows are in hidden temp files, which
no reader lists.

**One row per article across workers.** The shared duplicate filter makes one fetch per
URL, but two URLs can name one article (``og:url``, redirects) and the dedup pipeline is per
process. :class:`DistributedParquetPipeline` (the dataset writer, subclassed) claims each
record's canonical URL in Redis and writes the row in the same synchronous call. A claim
stays *pending* until a file holding its row is published (at a checkpoint, a rollover, an
evicted partition or the close), then it is permanent; a dead worker's pending claims are
released with its leases, so the survivor that refetches the page writes the row. The first
copy of a syndicated story is kept in Redis too, so ``duplicate_of`` agrees across workers.

**When the crawl ends.** A worker whose engine runs out of work publishes its files,
releases its leases and marks itself idle; it closes (reason ``finished``) once the shared
queue has been empty, every registered worker idle and the seeding done, for
``SMN_REDIS_IDLE_SECONDS``. A dead worker counts as busy until its heartbeat expires and its
leases are requeued, so the crawl waits for its work to be redone. The last worker to leave
a finished crawl deletes the crawl's keys (the queue, the duplicate filter, the claims; the
incremental state stays): the next ``scrapy crawl smn`` starts a new crawl. A crawl left
with requests in its queue (workers stopped or killed) is resumed by the next worker.

A worker whose own heartbeat expired (its reactor blocked longer than the timeout) with work
in hand closes with reason ``worker_expired`` and discards its unpublished rows: its leases
and claims may be another worker's by then.

Scrapy internals used (pinned to 2.19.0, tested): ``engine._slot.inprogress`` (the requests
the engine has not finished with: which leases are done; without it, leases are released
only when the worker is idle or closes) and ``engine._slot.nextcall.schedule()`` (an idle
worker looks at the shared queue at once, not at the engine's next 5-second heartbeat).

Settings (read when the crawl starts):

* ``SMN_REDIS_URL`` (str, default unset; else the environment variable ``SMN_REDIS_URL``):
  ``redis://[:password@]host:port/db``. Unset: not distributed.
* ``SMN_REDIS_CRAWL`` (str, default the spider's name, ``smn``): the crawl's name, the
  prefix of its keys; workers with the same name share a frontier and a state.
* ``SMN_REDIS_IDLE_SECONDS`` (float, default 5): how long the whole crawl must have been
  quiet before a worker closes.
* ``SMN_REDIS_HEARTBEAT_SECONDS`` (float, default 1): heartbeat period.
* ``SMN_REDIS_WORKER_TIMEOUT`` (float, default 30): a worker silent this long is dead; must
  exceed the longest stall of a live worker's reactor (a large dedup seed, an NFS hang).
* ``SMN_REDIS_CHECKPOINT_SECONDS`` (float, default 300): how often a busy worker publishes
  its files and releases its leases: at most this much work is redone after it dies (each
  checkpoint publishes up to ``SMN_MAX_OPEN_FILES`` files).
* ``SMN_REDIS_DATASET_SCOPE`` (str, default ``<hostname>:<absolute SMN_OUTPUT>``): see
  :mod:`crawler.incremental_redis`.

With the add-on active, ``SMN_DATASET_LOCK`` defaults to False: workers write one dataset,
each its own files, named by its crawl id ``<run>-w<N>``.

Stats: ``smn/distributed/seeded``, ``.../leased``, ``.../leases_released``,
``.../requeued`` (requests of dead workers this worker put back), ``.../workers_reaped``,
``.../checkpoints``, ``.../entry_fetched_own``, ``.../expired``, ``.../rows_discarded``,
``articles/dropped/claimed`` (another worker wrote that canonical URL),
``scheduler/enqueued/redis``, ``scheduler/dequeued/redis``. ``smn/entry/fetched`` is set
to the *crawl's* count of entry points fetched when the worker closes: any worker may fetch
any entry point, and one that fetched none has not failed (the exit code reads it).

Commands: ``python -m crawler.distributed report|status|reset`` (``--help``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import socket
import sys
import time
import weakref
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import redis
from itemadapter import ItemAdapter
from scrapy import Request, signals
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import CloseSpider, DontCloseSpider, DropItem, NotConfigured
from scrapy.utils.asyncio import CallLaterResult, call_later, create_looping_call
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler
from twisted.internet.defer import Deferred

from crawler.crawl_id import new_crawl_id
from crawler.incremental import (
    IncrementalRedirectMiddleware,
    IncrementalRun,
    IncrementalSpiderMiddleware,
)
from crawler.incremental_redis import RedisSeenStore, default_scope, state_counts
from crawler.incremental_state import StateError
from crawler.urls import url_key
from pipelines import defaults
from pipelines.parquet_files import partition_of
from pipelines.parquet_writer import ParquetDatasetPipeline

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.robotstxt import RobotParser
    from scrapy.settings import BaseSettings
    from scrapy.spiders import Spider
    from scrapy.statscollectors import StatsCollector

    from pipelines.parquet_writer import _Partition

logger = logging.getLogger(__name__)

URL_SETTING = "SMN_REDIS_URL"
LEASE_META = "smn_lease"
ENTRY_META = "smn_entry"
DEFAULT_IDLE_SECONDS = 5.0
DEFAULT_HEARTBEAT_SECONDS = 1.0
DEFAULT_WORKER_TIMEOUT = 30.0
DEFAULT_CHECKPOINT_SECONDS = 300.0
_CRAWL_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_WORKER_SUFFIX = re.compile(r"-w(\d+)$")


def redis_url(settings: BaseSettings) -> str | None:
    """``SMN_REDIS_URL`` from the settings, else from the environment; None when unset."""
    return settings.get(URL_SETTING) or os.environ.get(URL_SETTING) or None


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True, slots=True)
class DistributedConfig:
    url: str
    crawl: str
    idle_seconds: float
    heartbeat_seconds: float
    worker_timeout: float
    checkpoint_seconds: float
    dataset_scope: str | None

    @classmethod
    def from_settings(cls, settings: BaseSettings, spider_name: str) -> Self:
        """The configuration, or NotConfigured when ``SMN_REDIS_URL`` is unset."""
        url = redis_url(settings)
        if not url:
            raise NotConfigured(f"{URL_SETTING} is unset: not a distributed crawl")
        crawl = str(settings.get("SMN_REDIS_CRAWL") or spider_name)
        if not _CRAWL_NAME.match(crawl):
            raise ValueError(f"SMN_REDIS_CRAWL must match {_CRAWL_NAME.pattern}, got {crawl!r}")
        config = cls(
            url=url,
            crawl=crawl,
            idle_seconds=settings.getfloat("SMN_REDIS_IDLE_SECONDS", DEFAULT_IDLE_SECONDS),
            heartbeat_seconds=settings.getfloat(
                "SMN_REDIS_HEARTBEAT_SECONDS", DEFAULT_HEARTBEAT_SECONDS
            ),
            worker_timeout=settings.getfloat("SMN_REDIS_WORKER_TIMEOUT", DEFAULT_WORKER_TIMEOUT),
            checkpoint_seconds=settings.getfloat(
                "SMN_REDIS_CHECKPOINT_SECONDS", DEFAULT_CHECKPOINT_SECONDS
            ),
            dataset_scope=settings.get("SMN_REDIS_DATASET_SCOPE") or None,
        )
        if config.heartbeat_seconds <= 0 or config.idle_seconds < 0:
            raise ValueError("SMN_REDIS_HEARTBEAT_SECONDS must be > 0, IDLE_SECONDS >= 0")
        if config.worker_timeout < 3 * config.heartbeat_seconds:
            raise ValueError(
                "SMN_REDIS_WORKER_TIMEOUT must be at least 3 x SMN_REDIS_HEARTBEAT_SECONDS"
            )
        if config.checkpoint_seconds <= 0:
            raise ValueError("SMN_REDIS_CHECKPOINT_SECONDS must be > 0")
        return config


@dataclass(frozen=True, slots=True)
class CrawlKeys:
    """The Redis keys of one crawl (docs/distributed.md lists what each holds)."""

    crawl: str

    @property
    def prefix(self) -> str:
        return f"{self.crawl}:"

    def key(self, name: str) -> str:
        return f"{self.crawl}:{name}"

    @property
    def requests(self) -> str:
        return self.key("requests")

    @property
    def dupefilter(self) -> str:
        return self.key("dupefilter")

    @property
    def workers(self) -> str:
        return self.key("workers")

    @property
    def idle(self) -> str:
        return self.key("idle")

    @property
    def claims(self) -> str:
        return self.key("claims")

    @property
    def stories(self) -> str:
        return self.key("stories")

    @property
    def seed(self) -> str:
        return self.key("seed")

    @property
    def run(self) -> str:
        return self.key("run")

    @property
    def seq(self) -> str:
        return self.key("seq")

    @property
    def entry_fetched(self) -> str:
        return self.key("entry_fetched")

    @property
    def state(self) -> str:
        """Prefix of the incremental state (kept across crawls)."""
        return self.key("state")

    def alive(self, worker: str) -> str:
        return self.key(f"alive:{worker}")

    def leases(self, worker: str) -> str:
        return self.key(f"leases:{worker}")

    def pending_claims(self, worker: str) -> str:
        return self.key(f"pclaims:{worker}")

    def publishing(self, worker: str) -> str:
        return self.key(f"publishing:{worker}")

    def crawl_keys(self) -> list[str]:
        """What a finished crawl leaves behind and the last worker deletes."""
        return [
            self.requests,
            self.dupefilter,
            self.seed,
            self.run,
            self.seq,
            self.claims,
            self.stories,
            self.idle,
            self.entry_fetched,
            self.workers,
        ]


# --------------------------------------------------------------------------- Lua scripts

# Join the crawl: its run id (set by the first worker), a worker number, the heartbeat key.
# KEYS: run, seq, workers. ARGV: proposed run id, alive-key prefix, ttl ms, info, worker
# id to reuse ("" for a new one).
_REGISTER = """
local run = redis.call('GET', KEYS[1])
if not run then run = ARGV[1]; redis.call('SET', KEYS[1], run) end
local worker = ARGV[5]
if worker == '' then worker = run .. '-w' .. redis.call('INCR', KEYS[2]) end
redis.call('SADD', KEYS[3], worker)
redis.call('SET', ARGV[2] .. worker, ARGV[4], 'PX', ARGV[3])
return {run, worker}
"""

# Enqueue the requests not seen before; the number enqueued. KEYS: dupefilter, queue.
# ARGV: (fingerprint ("" = dont_filter), score, request) triples.
_PUSH = """
local added = 0
for i = 1, #ARGV, 3 do
  if ARGV[i] == '' or redis.call('SADD', KEYS[1], ARGV[i]) == 1 then
    redis.call('ZADD', KEYS[2], ARGV[i + 1], ARGV[i + 2])
    added = added + 1
  end
end
return added
"""

# Pop the best request into the worker's leases; the worker is busy from now on.
# KEYS: queue, leases, idle, alive. ARGV: worker. -1: the worker is no longer registered.
_POP = """
if redis.call('EXISTS', KEYS[4]) == 0 then return -1 end
local m = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #m == 0 then return false end
redis.call('ZREM', KEYS[1], m[1])
local id = redis.sha1hex(m[1])
redis.call('HSET', KEYS[2], id, m[2] .. '|' .. m[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return {id, m[1]}
"""

# Claim a canonical URL for the worker's next row and, for a claimed row with a story
# hash, get the crawl's first copy of the story (this row's URL if it is the first).
# KEYS: claims, pending claims, alive, stories. ARGV: key, worker, hash or "", URL.
# {1, first copy or ""} claimed, {0, ""} someone has it, {-1, ""} no longer registered.
_CLAIM = """
if redis.call('EXISTS', KEYS[3]) == 0 then return {-1, ''} end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return {0, ''} end
redis.call('SADD', KEYS[2], ARGV[1])
if ARGV[3] == '' then return {1, ''} end
redis.call('HSETNX', KEYS[4], ARGV[3], ARGV[4])
return {1, redis.call('HGET', KEYS[4], ARGV[3])}
"""

# Give back a claim whose row was not written. KEYS: claims, pending claims. ARGV: key,
# worker.
_UNCLAIM = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
return redis.call('SREM', KEYS[2], ARGV[1])
"""

# Release the leases of requests whose work is published; mark the worker idle if asked
# and no lease is left. KEYS: leases, alive, idle. ARGV: idle timestamp or "", worker,
# lease ids... -1: no longer registered.
_RELEASE = """
if redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
for i = 3, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
local left = redis.call('HLEN', KEYS[1])
if ARGV[1] ~= '' and left == 0 then redis.call('HSET', KEYS[3], ARGV[2], ARGV[1]) end
return left
"""

# A worker leaves: its leases go back to the queue, its unpublished claims are released, it
# is deregistered; a seeding it had not finished is undone. For a dead worker (ARGV[3] "0")
# only when its heartbeat key is gone and it is still registered (so one survivor does it).
# With ARGV[4] "1", a crawl left with no worker and an empty queue is deleted.
# KEYS: workers, queue, idle, claims, seed, then the crawl's keys. ARGV: worker, key prefix,
# self ("1") or dead ("0"), clean up ("1"/"0").
_SURRENDER = """
local w, p = ARGV[1], ARGV[2]
if ARGV[3] ~= '1' then
  if redis.call('EXISTS', p .. 'alive:' .. w) == 1 then return false end
  if redis.call('SISMEMBER', KEYS[1], w) == 0 then return false end
end
local leases = redis.call('HVALS', p .. 'leases:' .. w)
for _, v in ipairs(leases) do
  local sep = string.find(v, '|', 1, true)
  redis.call('ZADD', KEYS[2], string.sub(v, 1, sep - 1), string.sub(v, sep + 1))
end
local released = 0
for _, key in ipairs(redis.call('SMEMBERS', p .. 'pclaims:' .. w)) do
  if redis.call('HGET', KEYS[4], key) == w then
    redis.call('HDEL', KEYS[4], key)
    released = released + 1
  end
end
redis.call('DEL', p .. 'leases:' .. w, p .. 'pclaims:' .. w, p .. 'alive:' .. w,
  p .. 'publishing:' .. w)
redis.call('SREM', KEYS[1], w)
redis.call('HDEL', KEYS[3], w)
local reseed = 0
if redis.call('GET', KEYS[5]) == 'seeding:' .. w then
  redis.call('DEL', KEYS[5])
  reseed = 1
end
local cleaned = 0
if ARGV[4] == '1' and redis.call('SCARD', KEYS[1]) == 0
    and redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('DEL', unpack(KEYS, 6))
  cleaned = 1
end
return {#leases, released, reseed, cleaned}
"""

# Seeding done, if this worker still holds the flag. KEYS: seed. ARGV: worker.
_SEEDED = """
if redis.call('GET', KEYS[1]) == 'seeding:' .. ARGV[1] then
  redis.call('SET', KEYS[1], 'done:' .. ARGV[1])
  return 1
end
return 0
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# --------------------------------------------------------------------------- the worker


@dataclass(frozen=True, slots=True)
class CrawlView:
    """One consistent reading of the crawl's shared state."""

    queued: int
    workers: frozenset[str]
    idle: frozenset[str]
    seed: str | None

    @property
    def busy(self) -> frozenset[str]:
        return self.workers - self.idle

    @property
    def quiet(self) -> bool:
        seeding = self.seed is not None and self.seed.startswith("seeding:")
        return self.queued == 0 and not self.busy and not seeding


class DistributedCrawl:
    """This process's membership of a distributed crawl: registration, heartbeat, leases,
    claims, checkpoints, reaping dead workers, and leaving. One per crawler
    (:meth:`of`); the scheduler, the dataset writer, the middlewares and the extension
    share it."""

    def __init__(self, crawler: Crawler, config: DistributedConfig) -> None:
        self.crawler = crawler
        self.config = config
        self.keys = CrawlKeys(config.crawl)
        self.server = redis.Redis.from_url(
            config.url,
            socket_timeout=30,
            socket_connect_timeout=10,
            retry_on_timeout=True,
            health_check_interval=30,
        )
        self._ttl_ms = int(config.worker_timeout * 1000)
        self._register_script = self.server.register_script(_REGISTER)
        self.push_script = self.server.register_script(_PUSH)
        self.pop_script = self.server.register_script(_POP)
        self._claim_script = self.server.register_script(_CLAIM)
        self._unclaim_script = self.server.register_script(_UNCLAIM)
        self._release_script = self.server.register_script(_RELEASE)
        self._surrender_script = self.server.register_script(_SURRENDER)
        self._seeded_script = self.server.register_script(_SEEDED)
        self.leases: dict[str, Request] = {}
        self.writer: DistributedParquetPipeline | None = None
        self.scheduler: RedisScheduler | None = None
        self.expired = False
        self.finished = False
        self._last_checkpoint = time.monotonic()
        self._last_renew = time.monotonic()
        self._quiet_since: float | None = None
        self._loop: Any = None
        spider = crawler.spider
        proposed = str(
            crawler.settings.get("SMN_CRAWL_ID")
            or getattr(spider, "crawl_id", None)
            or new_crawl_id()
        )
        self.run_id, self.worker = self._register(proposed, reuse="")
        if spider is not None:
            # Every file name and row of this worker carries it (crawler.crawl_id).
            spider.crawl_id = self.worker  # type: ignore[attr-defined]
        logger.info(
            "Distributed crawl %r on %s: worker %s of run %s",
            config.crawl,
            _safe_url(config.url),
            self.worker,
            self.run_id,
        )

    @classmethod
    def of(cls, crawler: Crawler) -> DistributedCrawl:
        """The crawler's membership, made (and registered) by whichever component asks
        first; NotConfigured when the crawl is not distributed."""
        crawl = _CRAWLS.get(crawler)
        if crawl is None:
            spider_name = getattr(crawler.spider, "name", None) or crawler.spidercls.name
            config = DistributedConfig.from_settings(crawler.settings, spider_name)
            crawl = _CRAWLS[crawler] = cls(crawler, config)
        return crawl

    @property
    def stats(self) -> StatsCollector:
        assert self.crawler.stats is not None
        return self.crawler.stats

    def _register(self, proposed: str, reuse: str) -> tuple[str, str]:
        info = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "since": time.time()})
        run, worker = self._register_script(
            keys=[self.keys.run, self.keys.seq, self.keys.workers],
            args=[proposed, f"{self.keys.prefix}alive:", self._ttl_ms, info, reuse],
        )
        return _text(run), _text(worker)

    # -- engine internals (Scrapy 2.19; see the module docstring) -------------------------

    def _engine_slot(self) -> Any:
        try:
            engine = self.crawler.engine
        except RuntimeError:
            return None
        return getattr(engine, "_slot", None)

    def _in_progress(self) -> Collection[Request] | None:
        """The requests the engine has not finished with; None when unknown."""
        inprogress = getattr(self._engine_slot(), "inprogress", None)
        return inprogress if isinstance(inprogress, set) else None

    def nudge(self) -> None:
        """Have the engine ask the scheduler for requests now."""
        nextcall = getattr(self._engine_slot(), "nextcall", None)
        if nextcall is not None:
            nextcall.schedule()

    # -- leases and claims ---------------------------------------------------------------

    def leased(self, lease: str, request: Request) -> None:
        request.meta[LEASE_META] = lease
        self.leases[lease] = request
        self.stats.inc_value("smn/distributed/leased")

    def claim(self, key: str, digest: str | None, url: str) -> tuple[bool | None, str | None]:
        """Claim ``key`` for a row this worker is about to write: (True, the first copy of
        the story ``digest`` or None) when it is ours now, (False, None) when another worker
        has it (or we wrote it already), (None, None) when this worker is no longer
        registered."""
        if self.expired:
            return None, None
        verdict, first = self._claim_script(
            keys=[
                self.keys.claims,
                self.keys.pending_claims(self.worker),
                self.keys.alive(self.worker),
                self.keys.stories,
            ],
            args=[key, self.worker, digest or "", url],
        )
        if int(verdict) < 0:
            self.on_expired()
            return None, None
        return bool(int(verdict)), (_text(first) or None) if first else None

    def unclaim(self, key: str) -> None:
        """The row of a claim was not written after all."""
        self._unclaim_script(
            keys=[self.keys.claims, self.keys.pending_claims(self.worker)],
            args=[key, self.worker],
        )

    def renew(self) -> bool:
        """Make sure the heartbeat has not expired (before publishing): False when it has.
        A heartbeat refreshed less than a period ago needs no round trip."""
        if self.expired:
            return False
        if time.monotonic() - self._last_renew < self.config.heartbeat_seconds:
            return True
        if self.server.pexpire(self.keys.alive(self.worker), self._ttl_ms):
            self._last_renew = time.monotonic()
            return True
        self.on_expired()
        return False

    def publishing(self, path: Path, claims: Sequence[str]) -> None:
        """A file with the rows of these claims is about to be published: if the worker
        dies before :meth:`published`, the worker that reaps it finds the file or not."""
        record = json.dumps({"host": socket.gethostname(), "claims": list(claims)})
        self.server.hset(self.keys.publishing(self.worker), str(path.resolve()), record)

    def published(self, path: Path, claims: Sequence[str]) -> None:
        """The file is published: its claims stay claimed if the worker dies."""
        pipe = self.server.pipeline(transaction=True)
        if claims:
            pipe.srem(self.keys.pending_claims(self.worker), *claims)
        pipe.hdel(self.keys.publishing(self.worker), str(path.resolve()))
        pipe.execute()

    def _settle_publishing(self, worker: str) -> int:
        """A dead worker's files that were being published: the claims of those that made
        it to their final name stay (the rename is the publication); the others' are
        released with its pending claims. A file not found may be on another machine's
        disk (a dataset per machine): its claims are released, the safe side for
        completeness (a duplicate is possible if that machine comes back)."""
        records = self.server.hgetall(self.keys.publishing(worker))
        kept = 0
        for path, payload in records.items():
            if not os.path.exists(_text(path)):
                continue
            claims = json.loads(_text(payload)).get("claims") or []
            if claims:
                self.server.srem(self.keys.pending_claims(worker), *claims)
                kept += len(claims)
        return kept

    # -- seeding -------------------------------------------------------------------------

    def begin_seeding(self) -> bool:
        """Take the crawl's seeding flag: True when this worker enqueues the entry points."""
        if self.expired:
            return False
        taken = bool(self.server.set(self.keys.seed, f"seeding:{self.worker}", nx=True))
        if taken:
            self.stats.set_value("smn/distributed/seeded", 1)
        return taken

    def end_seeding(self) -> None:
        self._seeded_script(keys=[self.keys.seed], args=[self.worker])

    async def reseed(self) -> None:
        """Enqueue the entry points again: their seeder died before it had enqueued all of
        them (the duplicate filter drops the ones it had)."""
        if not self.begin_seeding():
            return
        spider = self.crawler.spider
        assert spider is not None
        logger.warning("Re-seeding the crawl's entry points (their seeder died)")
        async for out in spider.start():
            if isinstance(out, Request):
                self.crawler.engine.crawl(out)
        self.end_seeding()

    # -- heartbeat, reaping, checkpoints --------------------------------------------------

    def start(self) -> None:
        self._loop = create_looping_call(self._tick)
        self._loop.start(self.config.heartbeat_seconds, now=False)

    def stop(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None

    def _tick(self) -> None:
        """The heartbeat: never raises (a looping call that raises stops)."""
        try:
            self.heartbeat()
        except redis.RedisError as exc:
            logger.warning("Redis heartbeat failed: %s", exc)
            self.stats.inc_value("smn/distributed/heartbeat_errors")
        except Exception:
            logger.exception("Distributed heartbeat failed")

    def heartbeat(self) -> None:
        if self.expired or self.finished:
            return
        if not self.server.pexpire(self.keys.alive(self.worker), self._ttl_ms):
            self.on_expired()
            return
        self._last_renew = time.monotonic()
        self.reap()
        # An idle engine asks the scheduler for work (and checks whether the crawl is over)
        # only every 5 s by itself.
        self.nudge()
        if time.monotonic() - self._last_checkpoint >= self.config.checkpoint_seconds:
            self.checkpoint()

    def on_expired(self) -> None:
        """Our heartbeat key is gone (the reactor was blocked longer than the timeout, or
        Redis lost it): with no work outstanding, join again under the same id; else our
        leases and claims may already be someone else's, so stop without publishing."""
        if self.expired:
            return
        unpublished = self.writer.unpublished if self.writer is not None else 0
        if not self.leases and not unpublished:
            logger.warning(
                "Worker %s: heartbeat expired while idle; registering again", self.worker
            )
            self._register(self.run_id, reuse=self.worker)
            return
        self.expired = True
        self.stats.set_value("smn/distributed/expired", 1)
        logger.error(
            "Worker %s: heartbeat expired with %d leases outstanding; other workers redo its "
            "work, so it stops and discards its unpublished rows",
            self.worker,
            len(self.leases),
        )
        self.stop()
        try:
            engine = self.crawler.engine
        except RuntimeError:
            return
        if engine.spider is not None:
            deferred_from_coro(engine.close_spider_async(reason="worker_expired"))

    def reap(self) -> None:
        """Requeue the leases of dead workers (heartbeat expired)."""
        members = {_text(w) for w in self.server.smembers(self.keys.workers)} - {self.worker}
        for worker in sorted(members):
            if self.server.exists(self.keys.alive(worker)):
                continue
            self._settle_publishing(worker)
            result = self._surrender(worker, own=False, clean=False)
            if result is None:
                continue  # alive again, or another survivor was first
            requeued, released, reseed, _ = result
            self.stats.inc_value("smn/distributed/workers_reaped")
            self.stats.inc_value("smn/distributed/requeued", requeued)
            logger.warning(
                "Worker %s is dead (no heartbeat for %.0f s): %d requests requeued, "
                "%d unpublished claims released",
                worker,
                self.config.worker_timeout,
                requeued,
                released,
            )
            if reseed:
                d = deferred_from_coro(self.reseed())
                d.addErrback(lambda f: logger.error("Re-seeding failed: %s", f.value))
            self.nudge()

    def _surrender(self, worker: str, *, own: bool, clean: bool) -> tuple[int, ...] | None:
        result = self._surrender_script(
            keys=[
                self.keys.workers,
                self.keys.requests,
                self.keys.idle,
                self.keys.claims,
                self.keys.seed,
                *self.keys.crawl_keys(),
            ],
            args=[worker, self.keys.prefix, "1" if own else "0", "1" if clean else "0"],
        )
        return tuple(int(n) for n in result) if result else None

    def checkpoint(self, *, idle: bool = False) -> bool:
        """Send the buffered new requests, publish the open dataset files (which makes
        their rows' claims permanent) and release the leases of the requests finished
        before. With ``idle`` (the engine has nothing in progress) every lease is finished,
        and the worker is marked idle once none is left. True when no lease is left."""
        self._last_checkpoint = time.monotonic()
        if self.expired:
            return False
        in_progress = () if idle else self._in_progress()
        if in_progress is None:
            return not self.leases  # unknown: wait for the worker to be idle
        done = [lease for lease, request in self.leases.items() if request not in in_progress]
        if not done and not idle:
            return not self.leases
        if self.scheduler is not None:
            self.scheduler.flush()  # the links those requests found are in the queue
        if done and self.writer is not None:
            # The items of the finished requests are in the writer (the engine finishes
            # with a request once its items went through the pipelines): publish them.
            if self.writer.failed:
                return False  # the run closes with output_error; closing requeues
            self.writer.checkpoint()
            if self.writer.failed or self.expired:
                return False
        left = self._release(done, mark_idle=idle)
        if left < 0:
            self.on_expired()
            return False
        for lease in done:
            del self.leases[lease]
        if done:
            self.stats.inc_value("smn/distributed/checkpoints")
            self.stats.inc_value("smn/distributed/leases_released", len(done))
        return left == 0

    def _release(self, leases: Sequence[str], *, mark_idle: bool) -> int:
        return int(
            self._release_script(
                keys=[self.keys.leases(self.worker), self.keys.alive(self.worker), self.keys.idle],
                args=[repr(time.time()) if mark_idle else "", self.worker, *leases],
            )
        )

    # -- the end of the crawl ------------------------------------------------------------

    def view(self) -> CrawlView:
        pipe = self.server.pipeline(transaction=True)
        pipe.zcard(self.keys.requests)
        pipe.smembers(self.keys.workers)
        pipe.hkeys(self.keys.idle)
        pipe.get(self.keys.seed)
        queued, workers, idle, seed = pipe.execute()
        return CrawlView(
            int(queued),
            frozenset(map(_text, workers)),
            frozenset(map(_text, idle)),
            _text(seed) if seed is not None else None,
        )

    def idle(self) -> bool:
        """The engine has run out of work: may the worker close (the whole crawl has been
        quiet for ``SMN_REDIS_IDLE_SECONDS``)? Else the engine should wait for more."""
        if self.expired or self.finished:
            return True
        self.reap()
        if not self.checkpoint(idle=True):
            self._quiet_since = None
            return False
        view = self.view()
        if not view.quiet:
            self._quiet_since = None
            if view.queued:
                self.nudge()
            return False
        now = time.monotonic()
        if self._quiet_since is None:
            self._quiet_since = now
        if now - self._quiet_since < self.config.idle_seconds:
            return False
        logger.info(
            "Crawl %r is done: queue empty and %d workers idle for %.1f s",
            self.config.crawl,
            len(view.workers),
            now - self._quiet_since,
        )
        return True

    def finish(self, reason: str) -> None:
        """The worker closes (the writer has published or discarded its files): release
        what is durable, requeue the rest, leave; the last worker deletes a finished crawl."""
        if self.finished:
            return
        self.finished = True
        self.stop()
        entry = self.server.get(self.keys.entry_fetched)
        own = self.stats.get_value("smn/entry/fetched", 0)
        self.stats.set_value("smn/distributed/entry_fetched_own", own)
        self.stats.set_value("smn/entry/fetched", max(int(entry or 0), int(own or 0)))
        if self.expired:
            return  # our work is someone else's now; nothing of ours is published
        if self.scheduler is not None:
            self.scheduler.flush()
        writer_ok = self.writer is None or not self.writer.failed
        if writer_ok:
            in_progress = self._in_progress() or ()
            done = [lease for lease, r in self.leases.items() if r not in in_progress]
            if self._release(done, mark_idle=False) >= 0:
                self.stats.inc_value("smn/distributed/leases_released", len(done))
                for lease in done:
                    del self.leases[lease]
        result = self._surrender(self.worker, own=True, clean=True)
        requeued = result[0] if result else 0
        if requeued:
            logger.warning(
                "Worker %s leaves %d requests back in the queue (closed: %s)",
                self.worker,
                requeued,
                reason,
            )
        if result and result[3]:
            logger.info(
                "Crawl %r finished: its Redis keys are deleted (the state stays)",
                self.config.crawl,
            )
        self.server.close()

    def entry_fetched(self) -> None:
        self.server.incr(self.keys.entry_fetched)


# One membership per crawler; weak, so a finished crawler takes its membership with it.
_CRAWLS: weakref.WeakKeyDictionary[Crawler, DistributedCrawl] = weakref.WeakKeyDictionary()


def _safe_url(url: str) -> str:
    """The URL without its password, for the log."""
    return re.sub(r"//[^@/]*@", "//***@", url)


# --------------------------------------------------------------------------- scrapy-redis


class LeasedQueue(PriorityQueue):
    """scrapy-redis' priority queue (a sorted set of pickled requests, score -priority),
    pushed with the duplicate check in one round trip and popped into a lease."""

    def __init__(self, crawl: DistributedCrawl, spider: Spider) -> None:
        super().__init__(server=crawl.server, spider=spider, key=crawl.keys.requests)
        self.crawl = crawl

    def _encode_request(self, request: Request) -> bytes:
        data = request.to_dict(spider=self.spider)
        # A lease is this worker's: a request pushed again (a redirect) gets its own.
        data["meta"] = {k: v for k, v in data["meta"].items() if k != LEASE_META}
        encoded: bytes = self.serializer.dumps(data)
        return encoded

    def push_many(self, batch: Sequence[tuple[str, int, bytes]]) -> int:
        """Enqueue (fingerprint or "" for ``dont_filter``, score, encoded request) triples,
        those whose fingerprint is not in the duplicate filter; the number enqueued."""
        args = [value for triple in batch for value in triple]
        return int(self.crawl.push_script(keys=[self.crawl.keys.dupefilter, self.key], args=args))

    def push(self, request: Request) -> None:
        self.push_many([("", -request.priority, self._encode_request(request))])

    def pop(self, timeout: int = 0) -> Request | None:
        crawl = self.crawl
        if crawl.expired:
            return None
        result = crawl.pop_script(
            keys=[
                self.key,
                crawl.keys.leases(crawl.worker),
                crawl.keys.idle,
                crawl.keys.alive(crawl.worker),
            ],
            args=[crawl.worker],
        )
        if result is None:
            return None
        if isinstance(result, int):
            crawl.on_expired()
            return None
        lease, data = result
        request: Request = self._decode_request(data)
        crawl.leased(_text(lease), request)
        return request


class RedisDupeFilter(RFPDupeFilter):
    """scrapy-redis' duplicate filter (a Redis set of fingerprints shared by the workers)
    with the crawler's request fingerprinter, hex-encoded."""

    def __init__(
        self,
        server: redis.Redis,
        key: str,
        fingerprint: Callable[[Request], bytes],
        stats: StatsCollector | None = None,
        debug: bool = False,
    ) -> None:
        super().__init__(server, key=key, debug=debug)
        self._fingerprint = fingerprint
        self._stats = stats
        self._sent: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        crawl = DistributedCrawl.of(crawler)
        return cls(
            crawl.server,
            crawl.keys.dupefilter,
            crawler.request_fingerprinter.fingerprint,
            crawler.stats,
            debug=crawler.settings.getbool("DUPEFILTER_DEBUG"),
        )

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self:
        raise NotConfigured("RedisDupeFilter is built from the crawler only")

    def request_fingerprint(self, request: Request) -> str:
        return self._fingerprint(request).hex()

    def sent_before(self, fingerprint: str) -> bool:
        """Whether this worker has added (or found) ``fingerprint`` in the shared set."""
        return fingerprint in self._sent

    def remember(self, fingerprint: str) -> None:
        self._sent.add(fingerprint)

    def request_seen(self, request: Request) -> bool:
        fingerprint = self.request_fingerprint(request)
        if fingerprint in self._sent:
            return True
        self._sent.add(fingerprint)
        return bool(self.server.sadd(self.key, fingerprint) == 0)

    def close(self, reason: str = "") -> None:
        # scrapy-redis deletes the set here: it is the crawl's, not this worker's.
        self._sent.clear()

    def log(self, request: Request, spider: Spider) -> None:
        if self._stats is not None:
            self._stats.inc_value("dupefilter/filtered")
        super().log(request, spider)


class RedisScheduler(Scheduler):
    """scrapy-redis' scheduler on the shared, leased queue (see the module docstring).

    Requests are pushed in batches: ``enqueue_request`` checks the fingerprints this worker
    sent already, then buffers the request; the buffer goes to Redis in one round trip at
    the end of the reactor turn (or at 500), before the next pop, and before a checkpoint
    releases the leases of the requests whose links they are. A request the shared filter
    finds a duplicate at that point is counted (``dupefilter/filtered``) but has already been
    reported as scheduled: no ``request_dropped`` signal for it."""

    BATCH = 500

    def __init__(
        self, crawl: DistributedCrawl, dupefilter: RedisDupeFilter, stats: StatsCollector
    ) -> None:
        super().__init__(
            server=crawl.server,
            persist=True,
            queue_key=crawl.keys.requests,
            dupefilter=dupefilter,
            dupefilter_key=crawl.keys.dupefilter,
        )
        self.crawl = crawl
        self.df: RedisDupeFilter = dupefilter
        self.stats = stats
        self.queue: LeasedQueue | None = None
        self._pending: list[tuple[str, int, bytes]] = []
        self._flush_call: CallLaterResult | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        dupefilter = RedisDupeFilter.from_crawler(crawler)
        return cls(DistributedCrawl.of(crawler), dupefilter, crawler.stats)

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self:
        raise NotConfigured("RedisScheduler is built from the crawler only")

    def open(self, spider: Spider) -> None:
        self.spider = spider
        self.queue = LeasedQueue(self.crawl, spider)
        self.crawl.scheduler = self
        queued = len(self.queue)
        if queued:
            logger.info("Joining crawl %r: %d requests queued", self.crawl.config.crawl, queued)

    def close(self, reason: str) -> None:
        self.crawl.finish(reason)

    def __len__(self) -> int:
        return (len(self.queue) if self.queue is not None else 0) + len(self._pending)

    def enqueue_request(self, request: Request) -> bool:
        assert self.queue is not None
        fingerprint = None if request.dont_filter else self.df.request_fingerprint(request)
        if fingerprint is not None:
            if self.df.sent_before(fingerprint):
                self.df.log(request, self.spider)
                return False
            self.df.remember(fingerprint)
        encoded = self.queue._encode_request(request)
        self._pending.append((fingerprint or "", -request.priority, encoded))
        if len(self._pending) >= self.BATCH:
            self.flush()
        elif self._flush_call is None:
            self._flush_call = call_later(0, self.flush)
        return True

    def flush(self) -> None:
        """Send the buffered requests to Redis (kept for the next try if that fails)."""
        if self._flush_call is not None:
            self._flush_call.cancel()  # nothing when it is this very call
            self._flush_call = None
        if not self._pending or self.queue is None:
            return
        batch, self._pending = self._pending, []
        try:
            added = self.queue.push_many(batch)
        except Exception:
            self._pending[:0] = batch
            raise
        self.stats.inc_value("scheduler/enqueued/redis", added)
        if len(batch) > added:
            self.stats.inc_value("dupefilter/filtered", len(batch) - added)

    def next_request(self) -> Request | None:
        assert self.queue is not None
        self.flush()
        request = self.queue.pop()
        if request is not None:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        return not self.crawl.expired and len(self) > 0


# --------------------------------------------------------------------------- components


class SeedOnceMiddleware:
    """Spider middleware: of all the workers of a crawl, the first enqueues the spider's
    entry points (``start()``); the others start from the shared queue."""

    def __init__(self, crawl: DistributedCrawl) -> None:
        self.crawl = crawl

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(DistributedCrawl.of(crawler))

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        if not self.crawl.begin_seeding():
            logger.info("Crawl %r is seeded: not enqueuing entry points", self.crawl.config.crawl)
            return
        logger.info("Worker %s enqueues the crawl's entry points", self.crawl.worker)
        try:
            async for out in start:
                yield out
        except GeneratorExit:
            # Closed before it was done (shutdown): the flag goes when this worker leaves,
            # and the next worker to join seeds again (the duplicate filter keeps what was).
            raise
        except Exception:
            self.crawl.end_seeding()  # start() failed: the run says so (start_error)
            raise
        self.crawl.end_seeding()


class SentLinksMiddleware:
    """Spider middleware, nearest the spider: drops the links this worker already sent to
    the shared duplicate filter, before the other middlewares and the incremental lookup
    spend time on them (the scheduler would drop them anyway). The spider does the same
    for Scrapy's stock duplicate filter only."""

    def __init__(self, crawl: DistributedCrawl, stats: StatsCollector) -> None:
        self.crawl = crawl
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        return cls(DistributedCrawl.of(crawler), crawler.stats)

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        scheduler = self.crawl.scheduler
        dropped = 0
        async for out in result:
            if (
                scheduler is not None
                and isinstance(out, Request)
                and not out.dont_filter
                and scheduler.df.sent_before(scheduler.df.request_fingerprint(out))
            ):
                dropped += 1
                continue
            yield out
        if dropped:
            self.stats.inc_value("smn/distributed/links_sent_before", dropped)


class DistributedWorker:
    """Extension: the worker's heartbeat, its idle rule, the crawl's entry point count."""

    def __init__(self, crawl: DistributedCrawl) -> None:
        self.crawl = crawl

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        worker = cls(DistributedCrawl.of(crawler))
        crawler.signals.connect(worker.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(worker.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(worker.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(worker.response_received, signal=signals.response_received)
        return worker

    def spider_opened(self) -> None:
        self.crawl.stats.set_value("smn/distributed/worker", self.crawl.worker)
        self.crawl.start()

    def spider_idle(self) -> None:
        try:
            done = self.crawl.idle()
        except redis.RedisError as exc:
            logger.warning("Redis unavailable while idle (%s): waiting", exc)
            raise DontCloseSpider from exc
        if not done:
            raise DontCloseSpider

    def spider_closed(self) -> None:
        self.crawl.stop()

    def response_received(self, response: Response, request: Request) -> None:
        if request.meta.get(ENTRY_META) and 200 <= response.status < 300:
            self.crawl.entry_fetched()


class DistributedParquetPipeline(ParquetDatasetPipeline):
    """The dataset writer of a worker: claims each record's canonical URL in Redis before
    writing it (a record another worker wrote is dropped: ``articles/dropped/claimed``),
    keeps ``duplicate_of`` consistent across workers, publishes its files at checkpoints,
    and discards its unpublished rows when the worker was declared dead."""

    crawl: DistributedCrawl
    _claims: dict[str, list[str]]

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        pipeline = super().from_crawler(crawler)
        pipeline.crawl = DistributedCrawl.of(crawler)
        pipeline.crawl.writer = pipeline
        # partition -> canonical keys claimed for its rows not yet in a published file
        pipeline._claims = {}
        return pipeline

    @property
    def failed(self) -> bool:
        """The writer hit an output error: rows were lost."""
        return self._failed

    @property
    def unpublished(self) -> int:
        """Rows claimed and not yet in a published file."""
        return sum(map(len, self._claims.values()))

    def process_item(self, item: Any) -> Any:
        if not ItemAdapter.is_item(item) or self._failed:
            return super().process_item(item)
        adapter = ItemAdapter(item)
        url = adapter.get("canonical_url") or adapter.get("url") or ""
        key = url_key(url)
        claimed, first = self.crawl.claim(
            key, adapter.get("content_hash") or None, adapter.get("duplicate_of") or url
        )
        if claimed is None:
            self.stats.inc_value("articles/dropped/worker_expired")
            raise DropItem("worker_expired: another worker redoes this page", log_level="DEBUG")
        if not claimed:
            self.stats.inc_value("articles/dropped/claimed")
            raise DropItem(f"claimed: another worker wrote {url}", log_level="DEBUG")
        if first is not None and first != url:
            # Another copy of the story was the crawl's first (perhaps on another worker).
            if not adapter.get("duplicate_of"):
                self.stats.inc_value("articles/syndicated")
            adapter["duplicate_of"] = first
        elif first == url and adapter.get("duplicate_of"):
            # The crawl's first copy is this one: a worker that died claimed it first, and
            # this worker, redoing its page, saw another copy before it. That other copy
            # points here; pointing back would leave the story with no original.
            self.stats.inc_value("articles/syndicated", -1)
            adapter["duplicate_of"] = None
        # Claim and write in one synchronous call: a file holds the rows of every claim
        # recorded for its partition when it is published.
        claims = self._claims.setdefault(partition_of(adapter), [])
        claims.append(key)
        try:
            return super().process_item(item)
        except DropItem:
            claims.remove(key)  # not written (schema error): give the claim back
            self.crawl.unclaim(key)
            raise

    def _publish(self, part: _Partition) -> None:
        """Publish a file (checkpoint, rollover, least recently used partition, close):
        first make sure this worker still owns its claims, after publishing make them
        permanent."""
        if not self.crawl.renew() or part.file is None:
            self._abort(part)
            return
        claims = self._claims.pop(part.key, [])
        final = part.file.final_path
        # Recorded before the rename, cleared after: a worker killed in between leaves the
        # record, and the one that reaps it looks for the file (_settle_publishing).
        self.crawl.publishing(final, claims)
        super()._publish(part)
        self.crawl.published(final, claims)

    def checkpoint(self) -> None:
        """Publish every open file (new rows go to new files)."""
        super().close_spider()

    def close_spider(self) -> None:
        if self.crawl.expired:
            self.discard()
        else:
            super().close_spider()

    def discard(self) -> None:
        """Abort the open files: this worker's leases and claims were given to others."""
        for key in list(self._partitions):
            self._abort(self._partitions.pop(key))

    def _abort(self, part: _Partition) -> None:
        rows = len(part.rows) + part.file_rows
        self._abort_file(part)
        self._drop_rows(part)
        self._claims.pop(part.key, None)
        self.stats.inc_value("smn/distributed/rows_discarded", rows)


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy 2.19's ``RobotsTxtMiddleware`` with its waiters fixed.

    Requests for a host whose robots.txt is being fetched all await one Deferred; with the
    asyncio reactor each ``await`` converts it with ``Deferred.asFuture``, whose callback
    returns None, so only the first waiter gets the parser and the others get None,
    which the middleware reads as "no robots.txt": they are not checked. A single crawl
    rarely has several requests of a host waiting then; a worker joining a distributed
    crawl starts with a queue of links to every host, and fetched disallowed pages. Here
    each waiter gets its own Deferred, relayed without consuming the result.
    """

    async def robot_parser(self, request: Request) -> RobotParser | None:
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if not isinstance(pending, Deferred):
            return await super().robot_parser(request)
        waiter: Deferred[RobotParser | None] = Deferred()

        def relay(result: RobotParser | None) -> RobotParser | None:
            waiter.callback(result)
            return result

        pending.addCallback(relay)
        return await maybe_deferred_to_future(waiter)


class RedisIncrementalRun(IncrementalRun):
    """The incremental state of a distributed crawl: :class:`RedisSeenStore` in the crawl's
    Redis, under ``<crawl>:state``, instead of the SQLite file."""

    def spider_opened(self) -> None:
        crawl = DistributedCrawl.of(self.crawler)
        config = self.config
        try:
            store = RedisSeenStore.from_url(
                crawl.config.url,
                crawl.keys.state,
                recheck_days=config.recheck_days,
                scope=crawl.config.dataset_scope or default_scope(config.dataset),
                dataset=config.dataset,
            )
        except StateError as exc:
            logger.error("Incremental state unusable: %s", exc)
            self.stats.set_value("smn/error/state", 1)
            raise CloseSpider("state_error") from exc
        self._store = store
        if store.created:
            self.stats.set_value("smn/incremental/state_created", 1)
        report = self._sync()
        pruned = store.prune(time.time())
        logger.info(
            "Incremental state in Redis (%s, scope %s): %d dataset files (%d new, %d rows; "
            "%d gone), %d expired page observations dropped",
            crawl.keys.state,
            store.scope,
            len(store.ingested_files()),
            report.ingested,
            report.rows,
            report.forgotten,
            pruned,
        )


class RedisIncrementalSpiderMiddleware(IncrementalSpiderMiddleware):
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(RedisIncrementalRun.of(crawler))


class RedisIncrementalRedirectMiddleware(IncrementalRedirectMiddleware):
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(RedisIncrementalRun.of(crawler))


# --------------------------------------------------------------------------- the add-on

_SWAPS: tuple[tuple[str, type, type], ...] = (
    ("ITEM_PIPELINES", ParquetDatasetPipeline, DistributedParquetPipeline),
    ("SPIDER_MIDDLEWARES", IncrementalSpiderMiddleware, RedisIncrementalSpiderMiddleware),
    ("DOWNLOADER_MIDDLEWARES", IncrementalRedirectMiddleware, RedisIncrementalRedirectMiddleware),
)


class RedisAddon:
    """Scrapy add-on (``ADDONS``): turns ``scrapy crawl smn`` into a worker of a distributed
    crawl when ``SMN_REDIS_URL`` is set; does nothing otherwise."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not redis_url(crawler.settings):
            raise NotConfigured  # without a message: Scrapy skips it silently
        return cls()

    @classmethod
    def update_pre_crawler_settings(cls, settings: BaseSettings) -> None:
        # Read by the crawl command before the crawler applies add-ons: the workers of one
        # crawl write one dataset, each under its own crawl id. At "project" priority, as
        # crawler/settings.py sets the lock's default there; -s SMN_DATASET_LOCK=1 wins.
        if redis_url(settings):
            settings.set("SMN_DATASET_LOCK", False, priority="project")

    def update_settings(self, settings: BaseSettings) -> None:
        url = redis_url(settings)
        if not url:
            return
        settings.set(URL_SETTING, url, priority="addon")
        settings.set("SCHEDULER", f"{__name__}.RedisScheduler", priority="addon")
        settings.set("DUPEFILTER_CLASS", f"{__name__}.RedisDupeFilter", priority="addon")
        settings.set("SCHEDULER_PERSIST", True, priority="addon")
        settings.set("REDIS_URL", url, priority="addon")
        for name, old, new in _SWAPS:
            # KeyError: the component is not enabled, nothing to replace
            with suppress(KeyError):
                settings.replace_in_component_priority_dict(name, old, new)
        with suppress(KeyError):
            settings.replace_in_component_priority_dict(
                "DOWNLOADER_MIDDLEWARES_BASE", RobotsTxtMiddleware, SharedRobotsTxtMiddleware
            )
        settings.set_in_component_priority_dict("SPIDER_MIDDLEWARES", SeedOnceMiddleware, 10)
        # Output passes spider middlewares from the highest number down: before the
        # incremental one (950).
        settings.set_in_component_priority_dict("SPIDER_MIDDLEWARES", SentLinksMiddleware, 990)
        settings.set_in_component_priority_dict("EXTENSIONS", DistributedWorker, 100)


# --------------------------------------------------------------------------- commands


def _worker_number(crawl_id: str) -> int | None:
    match = _WORKER_SUFFIX.search(crawl_id)
    return int(match.group(1)) if match else None


def run_of(crawl_id: str) -> str:
    """The run a worker's crawl id belongs to: ``<run>-w3`` -> ``<run>``."""
    return _WORKER_SUFFIX.sub("", crawl_id)


def load_reports(directory: Path) -> list[dict[str, Any]]:
    reports = []
    for path in sorted(directory.glob("*.json")):
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"skipping {path}: {exc}", file=sys.stderr)
            continue
        if isinstance(report, dict) and report.get("crawl_id"):
            reports.append(report)
    return reports


def _get(report: Mapping[str, Any], *path: str) -> Any:
    value: Any = report
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


_COUNTERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("requests", ("requests", "total")),
    ("responses", ("responses", "total")),
    ("extracted", ("articles", "extracted")),
    ("written", ("articles", "written")),
    ("duplicates", ("articles", "duplicates")),
    ("syndicated", ("articles", "syndicated")),
    ("known_skipped", ("articles", "known_skipped")),
    ("lost", ("articles", "lost")),
    ("errors", ("errors", "count")),
)


def combine(reports: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The combined view of one run's worker reports: per-worker lines and the sums."""
    workers = sorted(reports, key=lambda r: _worker_number(str(r["crawl_id"])) or 0)
    rows = []
    for report in workers:
        row: dict[str, Any] = {
            "crawl_id": report["crawl_id"],
            "finish_reason": report.get("finish_reason"),
            "exit_code": report.get("exit_code"),
            "elapsed_seconds": report.get("elapsed_seconds"),
            "files": len(report.get("files_written") or []),
        }
        for name, path in _COUNTERS:
            row[name] = _int(_get(report, *path))
        rows.append(row)
    totals: dict[str, Any] = {name: sum(r[name] for r in rows) for name, _ in _COUNTERS}
    totals["files"] = sum(r["files"] for r in rows)
    dropped: dict[str, int] = {}
    for report in workers:
        for reason, n in (_get(report, "articles", "dropped") or {}).items():
            dropped[reason] = dropped.get(reason, 0) + _int(n)
    totals["dropped"] = dict(sorted(dropped.items()))
    # Each worker reports the crawl's count (any worker may fetch any entry point).
    totals["entry_points_fetched"] = max(
        (_int(_get(r, "requests", "entry_points_fetched")) for r in workers), default=0
    )
    elapsed = [r["elapsed_seconds"] for r in rows if isinstance(r["elapsed_seconds"], int | float)]
    numbers = sorted(n for n in (_worker_number(str(r["crawl_id"])) for r in rows) if n)
    missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers)) if numbers else []
    failed = [r["crawl_id"] for r in rows if r["exit_code"] not in (0, None)]
    started = sorted(str(r["started_at"]) for r in workers if r.get("started_at"))
    finished = sorted(str(r["finished_at"]) for r in workers if r.get("finished_at"))
    return {
        "run": run_of(str(workers[0]["crawl_id"])) if workers else None,
        "workers": rows,
        "totals": totals,
        "started_at": started[0] if started else None,
        "finished_at": finished[-1] if finished else None,
        "longest_worker_seconds": max(elapsed) if elapsed else None,
        "missing_workers": missing,
        "failed_workers": failed,
        "ok": not failed and not missing and bool(rows),
    }


def _runs(reports: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    runs: dict[str, list[Mapping[str, Any]]] = {}
    for report in reports:
        runs.setdefault(run_of(str(report["crawl_id"])), []).append(report)
    return runs


def format_combined(view: Mapping[str, Any]) -> list[str]:
    headers = ["worker", "reason", "exit", "seconds", "requests", "written", "files", "errors"]
    count = len(view["workers"])
    lines = [f"Run {view['run']}: {count} worker{'' if count == 1 else 's'}"]
    table = [headers]
    for row in view["workers"]:
        seconds = row["elapsed_seconds"]
        table.append(
            [
                str(row["crawl_id"]),
                str(row["finish_reason"]),
                str(row["exit_code"]),
                f"{seconds:.1f}" if isinstance(seconds, int | float) else "-",
                str(row["requests"]),
                str(row["written"]),
                str(row["files"]),
                str(row["errors"]),
            ]
        )
    totals = view["totals"]
    table.append(
        [
            "total",
            "",
            "",
            "",
            str(totals["requests"]),
            str(totals["written"]),
            str(totals["files"]),
            str(totals["errors"]),
        ]
    )
    widths = [max(len(r[i]) for r in table) for i in range(len(headers))]
    for row in table:
        cells = [
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  " + "  ".join(cells).rstrip())
    dropped = ", ".join(f"{k} x{n}" for k, n in totals["dropped"].items()) or "none"
    lines.append(
        f"  articles: {totals['extracted']} extracted, {totals['written']} written, "
        f"{totals['lost']} lost; syndicated {totals['syndicated']}; dropped: {dropped}; "
        f"entry points fetched {totals['entry_points_fetched']}"
    )
    if view["missing_workers"]:
        numbers = ", ".join(f"w{n}" for n in view["missing_workers"])
        lines.append(f"  no report from {numbers} (killed? its requests were requeued)")
    verdict = "OK" if view["ok"] else "NOT OK"
    lines.append(f"{verdict}: {totals['written']} articles written by the run's workers")
    return lines


def _cmd_report(args: argparse.Namespace) -> int:
    reports = load_reports(Path(args.reports))
    runs = _runs(reports)
    if not runs:
        print(f"no run report in {args.reports}", file=sys.stderr)
        return 1
    if args.run:
        if args.run not in runs:
            print(f"no report of run {args.run} in {args.reports}", file=sys.stderr)
            return 1
        chosen = [args.run]
    elif args.all:
        chosen = sorted(runs)
    else:
        chosen = [max(runs, key=lambda r: max(str(x.get("finished_at") or "") for x in runs[r]))]
    views = [combine(runs[run]) for run in chosen]
    if args.json:
        print(json.dumps(views if args.all else views[0], indent=2, default=str))
    else:
        for view in views:
            print("\n".join(format_combined(view)))
    return 0 if all(v["ok"] for v in views) else 3


def _client(url: str | None) -> redis.Redis:
    url = url or os.environ.get(URL_SETTING)
    if not url:
        raise SystemExit(f"give --redis URL or set {URL_SETTING}")
    return redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=10)


def _cmd_status(args: argparse.Namespace) -> int:
    client = _client(args.redis)
    keys = CrawlKeys(args.crawl)
    workers = sorted(_text(w) for w in client.smembers(keys.workers))
    idle = client.hgetall(keys.idle)
    status: dict[str, Any] = {
        "crawl": args.crawl,
        "run": client.get(keys.run),
        "seed": client.get(keys.seed),
        "queued": client.zcard(keys.requests),
        "seen": client.scard(keys.dupefilter),
        "claims": client.hlen(keys.claims),
        "entry_points_fetched": int(client.get(keys.entry_fetched) or 0),
        "workers": [
            {
                "worker": w,
                "alive": bool(client.exists(keys.alive(w))),
                "info": json.loads(client.get(keys.alive(w)) or "null"),
                "idle": w in idle,
                "leases": client.hlen(keys.leases(w)),
                "pending_claims": client.scard(keys.pending_claims(w)),
            }
            for w in workers
        ],
    }
    status["state"] = state_counts(client, keys.state)
    print(json.dumps(status, indent=2))
    return 0


def _cmd_reset(args: argparse.Namespace) -> int:
    client = _client(args.redis)
    keys = CrawlKeys(args.crawl)
    members = [_text(w) for w in client.smembers(keys.workers)]
    alive = [w for w in members if client.exists(keys.alive(w))]
    if alive and not args.force:
        print(
            f"workers alive: {', '.join(sorted(alive))}; stop them or use --force", file=sys.stderr
        )
        return 1
    state_prefix = f"{keys.state}:"
    doomed = [
        key
        for key in map(_text, client.scan_iter(match=f"{keys.prefix}*", count=1000))
        if args.state or not key.startswith(state_prefix)
    ]
    for start in range(0, len(doomed), 500):
        client.delete(*doomed[start : start + 500])
    what = "crawl and incremental state" if args.state else "crawl (the incremental state stays)"
    print(f"deleted {len(doomed)} keys of {args.crawl!r}: {what}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crawler.distributed", description="Distributed crawls on Redis."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    report = sub.add_parser("report", help="combined view of a run's worker reports")
    default_reports = Path(defaults.OUTPUT).parent / "reports"
    report.add_argument("--reports", default=str(default_reports), help="reports directory")
    report.add_argument("--run", help="the run id (default: the last run to finish)")
    report.add_argument("--all", action="store_true", help="every run in the directory")
    report.add_argument("--json", action="store_true", help="print JSON")
    report.set_defaults(func=_cmd_report)
    for name, func, text in (
        ("status", _cmd_status, "what Redis holds for a crawl (JSON)"),
        ("reset", _cmd_reset, "delete a crawl's keys (frontier, claims; --state: the state)"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument("--redis", help=f"Redis URL (default: ${URL_SETTING})")
        command.add_argument("--crawl", default="smn", help="SMN_REDIS_CRAWL (default smn)")
        command.set_defaults(func=func)
        if name == "reset":
            command.add_argument("--state", action="store_true", help="the state too")
            command.add_argument("--force", action="store_true", help="even with live workers")
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
