"""The incremental state in Redis: a :class:`~crawler.incremental.store.SeenStore` shared by
the workers of a distributed crawl (:mod:`crawler.distributed`), on one machine or several.

It keeps the guarantees of :class:`~crawler.incremental.store.SqliteSeenStore`:

* article keys enter only through :meth:`RedisSeenStore.add_articles`, with the published
  dataset file they were read from, in one atomic step (a Lua script): the file's key set
  and its ingested mark are stored together or not at all;
* :meth:`RedisSeenStore.forget_files` removes exactly the keys of those files: every
  article key carries a count of the files that hold it, and leaves when that reaches 0
  (a key stored by two files stays known);
* page observations count for ``recheck_days``; an alias counts only while its target is
  known, one level deep.

Keys (``<p>`` is the prefix, ``<crawl>:state`` by default; see docs/distributed.md):

* ``<p>:articles``: hash, article key -> number of ingested files holding it;
* ``<p>:scopes``: set of the dataset scopes ever ingested (see below);
* ``<p>:files:<scope>``: hash, relative path of an ingested file -> ``"<size> <mtime_ns>"``;
* ``<p>:file:<scope>|<path>``: set, the article keys read from that file;
* ``<p>:copies``: hash, ``content_hash`` -> ``"<files>\t<path>\t<url of the first copy>"``:
  the story copies (see :class:`~crawler.incremental.store.Stored`), with the number of
  ingested files holding the story and the path of the one its first copy came from (the
  first in path order wins; once that file is forgotten, its URL stays while other files
  hold the story: they name the same first copy, unless two runs both stored an original);
* ``<p>:filecopies:<scope>|<path>``: set, the ``content_hash`` values read from that file;
* ``<p>:meta``: hash, ``key_rules`` -> the URL key rules its keys were made under
  (:data:`crawler.network.urls.KEY_RULES`; other rules: see ``_settle_key_rules``);
* ``<p>:pages``: hash, key -> ``"<kind>\\t<epoch seconds>"``;
* ``<p>:aliases``: hash, source key -> target key;
* ``<p>:pending``: hash, pending link key -> ``"<attempts>\\t<epoch first added>\\t<url>"``
  (the frontier kept between runs: see :mod:`crawler.incremental.run`);
* ``<p>:watch:pages:<site>``: hash, page key -> its reading (JSON), the layout watch's window
  of the site; ``<p>:watch:window_sites``: set of those sites; ``<p>:watch:sites``: hash, site
  -> its watch state (JSON); ``<p>:unread``: hash, key -> an unread article page (JSON) (see
  :mod:`crawler.incremental.watch`).

**Scopes.** Each worker syncs the state with the dataset directory *it* sees
(:func:`crawler.incremental.sync.sync` forgets the ingested files that are not in it).
Workers on several machines may write one shared directory (NFS) or one directory each;
so the ingested files are kept per *scope*, by default ``<hostname>:<absolute dataset
path>``: a worker only ever lists and forgets files of its own scope, and an article is
known while any scope holds it. Workers of one machine share a scope.

**The listing race.** ``sync`` lists the directory, then reads what the store holds, then
forgets what the listing lacked. With several writers on one directory, a file published
and ingested by another worker between those two reads would be forgotten at once. So
:meth:`RedisSeenStore.forget_files` leaves a file alone while it is still on disk with the
size and mtime it was ingested with (it is not gone; the listing was just older).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import redis
from redis.typing import EncodableT, FieldT

from crawler.dataset.files import DatasetFile
from crawler.incremental.store import DAY, STALE_MTIME, PendingLink, StateError, Stored
from crawler.incremental.watch import (
    PageReading,
    SiteWatch,
    UnreadPage,
    dump,
    load_reading,
    load_site_watch,
    load_unread,
    merge_unread,
    newest,
)
from crawler.network.urls import KEY_RULES, url_key
from crawler.util.batches import chunks

logger = logging.getLogger(__name__)

# Drop what one ingested file held: its article keys and its story copies, each counted
# down (KEYS: articles, files:<scope>, file:<scope>|<path>, copies, filecopies:<scope>|<path>).
_DROP_FILE = """
local function drop()
  for _, key in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    if redis.call('HINCRBY', KEYS[1], key, -1) <= 0 then redis.call('HDEL', KEYS[1], key) end
  end
  redis.call('DEL', KEYS[3])
  for _, digest in ipairs(redis.call('SMEMBERS', KEYS[5])) do
    local value = redis.call('HGET', KEYS[4], digest)
    if value then
      local tab = string.find(value, '\t', 1, true)
      local files = tonumber(string.sub(value, 1, tab - 1)) - 1
      if files <= 0 then
        redis.call('HDEL', KEYS[4], digest)
      else
        redis.call('HSET', KEYS[4], digest, files .. string.sub(value, tab))
      end
    end
  end
  redis.call('DEL', KEYS[5])
end
"""

# Store the keys and story copies of one file (replacing what the same path held) and mark
# it ingested. KEYS as _DROP_FILE's; ARGV: path, "size mtime holds", the number of keys,
# the keys, then content_hash, first copy pairs.
_ADD_ARTICLES = (
    _DROP_FILE
    + """
drop()
local last_key = 3 + tonumber(ARGV[3])
for i = 4, last_key do
  if redis.call('SADD', KEYS[3], ARGV[i]) == 1 then
    redis.call('HINCRBY', KEYS[1], ARGV[i], 1)
  end
end
for i = last_key + 1, #ARGV, 2 do
  local digest, first = ARGV[i], ARGV[i + 1]
  if redis.call('SADD', KEYS[5], digest) == 1 then
    local value = redis.call('HGET', KEYS[4], digest)
    if value then
      local tab = string.find(value, '\t', 1, true)
      local rest = string.sub(value, tab + 1)
      local tab2 = string.find(rest, '\t', 1, true)
      local path = string.sub(rest, 1, tab2 - 1)
      if ARGV[1] < path then rest = ARGV[1] .. '\t' .. first end
      local files = tonumber(string.sub(value, 1, tab - 1)) + 1
      redis.call('HSET', KEYS[4], digest, files .. '\t' .. rest)
    else
      redis.call('HSET', KEYS[4], digest, '1\t' .. ARGV[1] .. '\t' .. first)
    end
  end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return last_key - 3
"""
)

# Drop one ingested file and the keys only it held. KEYS as above; ARGV: path.
_FORGET_FILE = (
    _DROP_FILE
    + """
drop()
return redis.call('HDEL', KEYS[2], ARGV[1])
"""
)

# What an ingest of this crawler stores of a file, the last word of its files:<scope> value
# (an older crawler's has none: the file is listed as stale and read again).
_HOLDS = "copies"


# The known keys among ARGV[2:] and their kinds, flattened: an article outranks a page seen
# since ARGV[1]; a key not known itself gets the kind of its alias target (one level, as a
# redirect chain is recorded whole where it ends). KEYS: pages, articles, aliases.
_LOOKUP = """
local function direct(key)
  if redis.call('HEXISTS', KEYS[2], key) == 1 then return 'article' end
  local page = redis.call('HGET', KEYS[1], key)
  if page then
    local tab = string.find(page, '\t', 1, true)
    if tab and tonumber(string.sub(page, tab + 1)) >= tonumber(ARGV[1]) then
      return string.sub(page, 1, tab - 1)
    end
  end
  return false
end
local out = {}
for i = 2, #ARGV do
  local kind = direct(ARGV[i])
  if not kind then
    local target = redis.call('HGET', KEYS[3], ARGV[i])
    if target then kind = direct(target) end
  end
  if kind then
    out[#out + 1] = ARGV[i]
    out[#out + 1] = kind
  end
end
return out
"""

# Pending links: add those not pending yet (ARGV: when, then key, url pairs; the number
# added), and count one more attempt for those still pending (ARGV: keys). KEYS: pending.
_ADD_PENDING = """
local added = 0
for i = 2, #ARGV, 2 do
  added = added + redis.call('HSETNX', KEYS[1], ARGV[i], '0\t' .. ARGV[1] .. '\t' .. ARGV[i + 1])
end
return added
"""
_COUNT_ATTEMPTS = """
for i = 1, #ARGV do
  local value = redis.call('HGET', KEYS[1], ARGV[i])
  if value then
    local tab = string.find(value, '\t', 1, true)
    local attempts = tonumber(string.sub(value, 1, tab - 1)) + 1
    redis.call('HSET', KEYS[1], ARGV[i], attempts .. string.sub(value, tab))
  end
end
return #ARGV
"""


_STORED_BATCH = 1000
"""Keys (and hashes) asked in one round trip by :meth:`RedisSeenStore.stored`."""


def default_scope(dataset: Path) -> str:
    """``<hostname>:<absolute dataset path>``: the files one machine sees in one directory."""
    return f"{socket.gethostname()}:{dataset.resolve()}"


def _meta(file: DatasetFile) -> str:
    return f"{file.size} {file.mtime_ns} {_HOLDS}"


class RedisSeenStore:
    """A :class:`~crawler.incremental.store.SeenStore` in Redis (see the module docstring).

    ``created`` is True when this scope had never been ingested (the caller then ingests
    the whole dataset, as for a new SQLite state). Redis errors while opening raise
    :class:`~crawler.incremental.store.StateError`.
    """

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        *,
        recheck_days: float,
        scope: str,
        dataset: Path | None = None,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.recheck = recheck_days * DAY
        self.scope = scope
        self.dataset = dataset
        self.replaced_corrupt: Path | None = None  # SqliteSeenStore's; never for Redis
        self._articles = f"{prefix}:articles"
        self._pages = f"{prefix}:pages"
        self._aliases = f"{prefix}:aliases"
        self._pending = f"{prefix}:pending"
        self._files = f"{prefix}:files:{scope}"
        self._copies = f"{prefix}:copies"
        self._watch_sites = f"{prefix}:watch:sites"
        self._unread = f"{prefix}:unread"
        self._lookup = client.register_script(_LOOKUP)
        self._add = client.register_script(_ADD_ARTICLES)
        self._forget = client.register_script(_FORGET_FILE)
        self._add_pending = client.register_script(_ADD_PENDING)
        self._count_attempts = client.register_script(_COUNT_ATTEMPTS)
        try:
            rekeyed = self._settle_key_rules()
            self.created = bool(client.sadd(f"{prefix}:scopes", scope)) or rekeyed
        except redis.RedisError as exc:
            raise StateError(f"cannot open the Redis state {prefix}: {exc}") from exc

    def _settle_key_rules(self) -> bool:
        """A state whose keys were made under other URL key rules (:data:`KEY_RULES`) drops
        what it read from the dataset (every scope's files, article keys and story copies:
        each worker's next sync reads its files again, under the new rules) and keys its
        pending links again from their URLs, as the SQLite store does. Whether it had to."""
        meta = f"{self.prefix}:meta"
        if _str(self.client.hget(meta, "key_rules") or "") == KEY_RULES:
            return False
        # One worker migrates; one that finds another at it waits for the mark.
        guard = f"{meta}:rekeying"
        if not self.client.set(guard, "1", nx=True, ex=600):
            return False
        try:
            dropped = [self._articles, self._copies, f"{self.prefix}:scopes"]
            for pattern in ("files:*", "file:*", "filecopies:*"):
                dropped += [
                    _str(k) for k in self.client.scan_iter(f"{self.prefix}:{pattern}", 1000)
                ]
            for chunk in chunks(dropped):
                self.client.delete(*chunk)
            rekeyed: dict[str, str] = {}
            for key, value in self.client.hscan_iter(self._pending, count=1000):
                attempts, when, url = _str(value).split("\t", 2)
                try:
                    new = url_key(url)
                except ValueError:
                    new = _str(key)
                rekeyed.setdefault(new, f"{attempts}\t{when}\t{url}")
            self.client.delete(self._pending)
            for batch in chunks(rekeyed.items()):
                self.client.hset(self._pending, mapping=dict(batch))
            self.client.hset(meta, "key_rules", KEY_RULES)
        finally:
            self.client.delete(guard)
        logger.info(
            "Redis state %s: keys made again under URL key rules %s", self.prefix, KEY_RULES
        )
        return True

    @classmethod
    def from_url(
        cls,
        url: str,
        prefix: str,
        *,
        recheck_days: float,
        scope: str,
        dataset: Path | None = None,
    ) -> RedisSeenStore:
        """A store on its own connection to ``url`` (closed by :meth:`close`)."""
        try:
            client = redis.Redis.from_url(
                url, decode_responses=True, socket_timeout=30, socket_connect_timeout=10
            )
        except (ValueError, redis.RedisError) as exc:
            raise StateError(f"cannot open the Redis state at {url}: {exc}") from exc
        return cls(client, prefix, recheck_days=recheck_days, scope=scope, dataset=dataset)

    def _file_key(self, path: str) -> str:
        return f"{self.prefix}:file:{self.scope}|{path}"

    def _file_keys(self, path: str) -> list[str]:
        """The KEYS of the add and forget scripts for one file."""
        return [
            self._articles,
            self._files,
            self._file_key(path),
            self._copies,
            f"{self.prefix}:filecopies:{self.scope}|{path}",
        ]

    # -- reads ---------------------------------------------------------------------------

    def lookup(self, keys: Collection[str], now: float) -> dict[str, str]:
        found: dict[str, str] = {}
        oldest = repr(now - self.recheck)
        for chunk in chunks(keys):
            # One round trip per chunk: a page's links are looked up together.
            flat = self._lookup(
                keys=[self._pages, self._articles, self._aliases], args=[oldest, *chunk]
            )
            found.update(zip(map(_str, flat[::2]), map(_str, flat[1::2]), strict=True))
        return found

    def stored(self, keys: Collection[str], hashes: Collection[str]) -> Stored:
        found: set[str] = set()
        firsts: dict[str, str] = {}
        listed_keys, listed_hashes = list(keys), list(hashes)
        for start in range(0, max(len(listed_keys), len(listed_hashes)), _STORED_BATCH):
            some_keys = listed_keys[start : start + _STORED_BATCH]
            some_hashes = listed_hashes[start : start + _STORED_BATCH]
            # One round trip for both.
            pipe = self.client.pipeline(transaction=False)
            pipe.hmget(self._articles, some_keys or [""])
            pipe.hmget(self._copies, some_hashes or [""])
            counts, copies = pipe.execute()
            found.update(k for k, n in zip(some_keys, counts, strict=False) if n is not None)
            for digest, value in zip(some_hashes, copies, strict=False):
                if value is not None:
                    firsts[digest] = _str(value).split("\t", 2)[2]
        return Stored(found, firsts)

    def ingested_files(self) -> set[DatasetFile]:
        out: set[DatasetFile] = set()
        for path, meta in self.client.hgetall(self._files).items():
            size, mtime, *holds = _str(meta).split(" ")
            stale = holds != [_HOLDS]
            out.add(DatasetFile(_str(path), int(size), STALE_MTIME if stale else int(mtime)))
        return out

    # -- writes --------------------------------------------------------------------------

    def add_pages(self, keys: Iterable[str], kind: str, when: float) -> None:
        mapping: dict[FieldT, EncodableT] = {key: f"{kind}\t{when!r}" for key in set(keys)}
        if mapping:
            self.client.hset(self._pages, mapping=mapping)

    def add_aliases(self, aliases: Mapping[str, str]) -> None:
        mapping: dict[FieldT, EncodableT] = {s: t for s, t in aliases.items() if s != t}
        if mapping:
            self.client.hset(self._aliases, mapping=mapping)

    def add_articles(
        self, keys: Iterable[str], source: DatasetFile, copies: Mapping[str, str] | None = None
    ) -> None:
        listed = set(keys)
        pairs = [part for pair in (copies or {}).items() for part in pair]
        self._add(
            keys=self._file_keys(source.path),
            args=[source.path, _meta(source), len(listed), *listed, *pairs],
        )

    def forget_files(self, paths: Iterable[str]) -> None:
        listed = list(paths)
        if not listed:
            return
        metas = self.client.hmget(self._files, listed)
        for path, meta in zip(listed, metas, strict=True):
            if meta is not None and self._still_there(path, _str(meta)):
                logger.debug("Not forgetting %s: still published (listed before it was)", path)
                continue
            self._forget(keys=self._file_keys(path), args=[path])

    def _still_there(self, path: str, meta: str) -> bool:
        if self.dataset is None:
            return False
        try:
            stat = os.stat(self.dataset / path)
        except OSError:
            return False
        return meta.split(" ")[:2] == [str(stat.st_size), str(stat.st_mtime_ns)]

    def prune(self, now: float) -> int:
        """Drop page observations older than the re-check interval, then aliases whose
        target is neither a stored article nor a remembered page."""
        oldest = now - self.recheck
        expired: list[str] = []
        for key, value in self.client.hscan_iter(self._pages, count=1000):
            _, _, when = _str(value).partition("\t")
            if float(when or 0) < oldest:
                expired.append(_str(key))
        for chunk in chunks(expired):
            self.client.hdel(self._pages, *chunk)
        orphans: list[str] = []
        scan = self.client.hscan_iter(self._aliases, count=1000)
        for batch in chunks((_str(source), _str(target)) for source, target in scan):
            orphans += self._orphans(batch)
        for chunk in chunks(orphans):
            self.client.hdel(self._aliases, *chunk)
        return len(expired)

    def _orphans(self, aliases: list[tuple[str, str]]) -> list[str]:
        if not aliases:
            return []
        targets = [t for _, t in aliases]
        pipe = self.client.pipeline(transaction=False)
        pipe.hmget(self._pages, targets)
        pipe.hmget(self._articles, targets)
        pages, articles = pipe.execute()
        return [
            source
            for (source, _), page, count in zip(aliases, pages, articles, strict=True)
            if page is None and count is None
        ]

    def add_pending(self, links: Mapping[str, str], when: float) -> int:
        added = 0
        for batch in chunks(links.items()):
            flat = [part for pair in batch for part in pair]
            added += int(self._add_pending(keys=[self._pending], args=[repr(when), *flat]))
        return added

    def pending(self) -> list[PendingLink]:
        out = []
        for key, value in self.client.hscan_iter(self._pending, count=1000):
            attempts, when, url = _str(value).split("\t", 2)
            out.append(PendingLink(_str(key), url, float(when), int(attempts)))
        return out

    def count_attempts(self, keys: Iterable[str]) -> None:
        for chunk in chunks(set(keys)):
            self._count_attempts(keys=[self._pending], args=chunk)

    def remove_pending(self, keys: Iterable[str]) -> None:
        for chunk in chunks(set(keys)):
            self.client.hdel(self._pending, *chunk)

    # -- the layout watch (crawler/incremental/watch.py) -----------------------------------

    def _window(self, site: str) -> str:
        return f"{self.prefix}:watch:pages:{site}"

    def record_readings(self, readings: Sequence[PageReading], keep: int) -> None:
        by_site: dict[str, list[PageReading]] = {}
        for reading in readings:
            by_site.setdefault(reading.site, []).append(reading)
        for site, listed in by_site.items():
            window = self._window(site)
            self.client.hset(window, mapping={r.key: dump(r) for r in listed})
            stored = [load_reading(_str(raw)) for raw in self.client.hvals(window)]
            _, older = newest(stored, keep)
            for chunk in chunks(older):
                self.client.hdel(window, *chunk)
            self.client.sadd(f"{self.prefix}:watch:window_sites", site)

    def readings(self, sites: Collection[str] | None = None) -> dict[str, list[PageReading]]:
        known = {_str(s) for s in self.client.smembers(f"{self.prefix}:watch:window_sites")}
        out: dict[str, list[PageReading]] = {}
        for site in sorted(known if sites is None else known & set(sites)):
            listed = [load_reading(_str(raw)) for raw in self.client.hvals(self._window(site))]
            if listed:
                out[site] = sorted(listed, key=lambda r: (r.seen_at, r.key))
        return out

    def site_watches(self) -> dict[str, SiteWatch]:
        stored = self.client.hgetall(self._watch_sites)
        return {_str(site): load_site_watch(_str(raw)) for site, raw in stored.items()}

    def set_site_watch(self, site: str, watch: SiteWatch) -> None:
        self.client.hset(self._watch_sites, site, dump(watch))

    def add_unread(self, pages: Iterable[UnreadPage]) -> None:
        listed = {p.key: p for p in pages}
        for chunk in chunks(list(listed)):
            before = self.client.hmget(self._unread, chunk)
            old = {k: load_unread(_str(raw)) for k, raw in zip(chunk, before, strict=True) if raw}
            merged = merge_unread(old, (listed[k] for k in chunk))
            self.client.hset(self._unread, mapping={p.key: dump(p) for p in merged})

    def unread(self) -> list[UnreadPage]:
        return [
            load_unread(_str(raw)) for _, raw in self.client.hscan_iter(self._unread, count=1000)
        ]

    def remove_unread(self, keys: Iterable[str]) -> None:
        for chunk in chunks(set(keys)):
            self.client.hdel(self._unread, *chunk)

    def remove_pages(self, keys: Iterable[str]) -> None:
        for chunk in chunks(set(keys)):
            self.client.hdel(self._pages, *chunk)

    def close(self) -> None:
        self.client.close()


def state_counts(client: redis.Redis, prefix: str) -> dict[str, Any]:
    """Sizes of the state under ``prefix``, for ``python -m crawler.distributed status``."""
    pipe = client.pipeline(transaction=False)
    pipe.hlen(f"{prefix}:articles")
    pipe.hlen(f"{prefix}:pages")
    pipe.hlen(f"{prefix}:aliases")
    pipe.hlen(f"{prefix}:pending")
    pipe.smembers(f"{prefix}:scopes")
    pipe.hlen(f"{prefix}:copies")
    articles, pages, aliases, pending, scopes, stories = pipe.execute()
    return {
        "articles": articles,
        "stories": stories,
        "pages": pages,
        "aliases": aliases,
        "pending": pending,
        "scopes": sorted(_str(s) for s in scopes),
    }


def _str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
