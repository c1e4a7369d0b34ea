"""One worker's view of the shared crawl: registration, leases, claims, heartbeats,
reaping dead workers, checkpoints and the end of the crawl."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import time
import weakref
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import redis
from scrapy import Request
from scrapy.utils.asyncio import create_looping_call
from scrapy.utils.defer import deferred_from_coro

from crawler.crawl_id import assign_crawl_id, crawl_id_of
from crawler.distributed.config import LEASE_META, CrawlKeys, DistributedConfig
from crawler.distributed.scripts import (
    CLAIM,
    POP,
    PUSH,
    REGISTER,
    RELEASE,
    SEEDED,
    SURRENDER,
    UNCLAIM,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

    from crawler.distributed.scheduler import RedisScheduler


logger = logging.getLogger(__name__)


class WorkerWriter(Protocol):
    """What the crawl asks of its worker's dataset writer
    (``pipelines.distributed.DistributedParquetPipeline``)."""

    @property
    def unpublished(self) -> int: ...

    @property
    def failed(self) -> bool: ...

    def checkpoint(self) -> None: ...

    def discard(self) -> None: ...


def as_text(value: Any) -> str:
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
        self._register_script = self.server.register_script(REGISTER)
        self.push_script = self.server.register_script(PUSH)
        self.pop_script = self.server.register_script(POP)
        self._claim_script = self.server.register_script(CLAIM)
        self._unclaim_script = self.server.register_script(UNCLAIM)
        self._release_script = self.server.register_script(RELEASE)
        self._surrender_script = self.server.register_script(SURRENDER)
        self._seeded_script = self.server.register_script(SEEDED)
        self.leases: dict[str, Request] = {}
        self.writer: WorkerWriter | None = None
        self.scheduler: RedisScheduler | None = None
        self.expired = False
        self.finished = False
        self._last_checkpoint = time.monotonic()
        self._last_renew = time.monotonic()
        self._quiet_since: float | None = None
        self._loop: Any = None
        self.run_id, self.worker = self._register(crawl_id_of(crawler), reuse="")
        # Every file name and row of this worker carries it.
        assign_crawl_id(crawler, self.worker, run=self.run_id)
        logger.info(
            "Distributed crawl %r on %s: worker %s of run %s",
            config.crawl,
            safe_url(config.url),
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
        return as_text(run), as_text(worker)

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
        claimed, first = self._claim_script(
            keys=[
                self.keys.claims,
                self.keys.pending_claims(self.worker),
                self.keys.alive(self.worker),
                self.keys.stories,
            ],
            args=[key, self.worker, digest or "", url],
        )
        if int(claimed) < 0:
            self.on_expired()
            return None, None
        return bool(int(claimed)), (as_text(first) or None) if first else None

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
            if not os.path.exists(as_text(path)):
                continue
            claims = json.loads(as_text(payload)).get("claims") or []
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
        members = {as_text(w) for w in self.server.smembers(self.keys.workers)} - {self.worker}
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
            frozenset(map(as_text, workers)),
            frozenset(map(as_text, idle)),
            as_text(seed) if seed is not None else None,
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


def safe_url(url: str) -> str:
    """The URL without its password, for the log."""
    return re.sub(r"//[^@/]*@", "//***@", url)
