"""Distributed crawls on Redis (scrapy-redis): many workers, one frontier, one dataset.

With ``SMN_REDIS_URL`` set (a setting, or the environment variable of that name), ``scrapy
crawl smn`` becomes one *worker* of a crawl whose request queue, duplicate filter,
incremental state and article claims live in Redis; start as many workers as wanted, on one
machine or several (docs/distributed.md). Without it nothing here is active: the add-on
(:class:`RedisAddon`) changes no setting.

This package is the one place that adapts scrapy-redis 0.9.1 (written for Scrapy < 2.13) to
Scrapy 2.19 and to this project:

* :class:`RedisScheduler` (scrapy-redis' ``Scheduler``) is built ``from_crawler``, not
  ``from_settings``; it always persists the shared queue (a worker that closes must not
  flush what the others work on); it pushes new requests in batches, the duplicate check
  and the enqueue in one Lua script, and pops through another that *leases* the request.
* :class:`RedisDupeFilter` (scrapy-redis' ``RFPDupeFilter``) fingerprints with the crawler's
  ``request_fingerprinter`` (:class:`~crawler.fingerprint.CanonicalRequestFingerprinter`)
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
process. ``pipelines.distributed.DistributedParquetPipeline`` (the dataset writer) claims each
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
  :mod:`crawler.distributed.store`.

With the add-on active, ``SMN_DATASET_LOCK`` defaults to False: workers write one dataset,
each its own files, named by its crawl id ``<run>-w<N>``. A compaction or re-extraction may
switch the dataset's generation meanwhile: each publication holds the dataset's publish lock
shared (:mod:`crawler.dataset.writer`, :class:`crawler.dataset.generations.PublishLock`), and
a worker migrates a plain dataset directory when it starts
(:func:`crawler.dataset.lock.join_generations`).

Stats: ``smn/distributed/seeded``, ``.../leased``, ``.../leases_released``,
``.../requeued`` (requests of dead workers this worker put back), ``.../workers_reaped``,
``.../checkpoints``, ``.../entry_fetched_own``, ``.../expired``, ``.../rows_discarded``,
``articles/dropped/claimed`` (another worker wrote that canonical URL),
``scheduler/enqueued/redis``, ``scheduler/dequeued/redis``. ``smn/entry/fetched`` is set
to the *crawl's* count of entry points fetched when the worker closes: any worker may fetch
any entry point, and one that fetched none has not failed (the exit code reads it).

Commands: ``python -m crawler.distributed report|status|reset`` (``--help``).

Modules: :mod:`~crawler.distributed.config` (settings, key names), :mod:`~.scripts` (the
Lua scripts), :mod:`~.coordination` (the shared crawl as one worker sees it),
:mod:`~.scheduler` (scrapy-redis' scheduler, queue and duplicate filter, adapted),
:mod:`~.worker` (the worker's middlewares, extension and dataset writer),
:mod:`~.incremental` (the state in Redis), :mod:`~.addon`, :mod:`~.reports` (the combined
view of a run) and ``__main__`` (the commands).
"""

from __future__ import annotations

# Nothing is imported here: ``ADDONS`` names the add-on in every crawl, and a crawl without
# SMN_REDIS_URL must not import redis or scrapy_redis. Import the modules themselves.
