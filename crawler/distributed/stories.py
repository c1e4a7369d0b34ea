"""The story index of a distributed crawl in Redis: a
:class:`~crawler.stories.index.BandStore` the workers share, so that a copy extracted by one
worker joins the story of the first copy another worker extracted, in this crawl or a later
one.

Keys (``<p>`` is the state prefix, ``<crawl>:state``: kept across crawls, deleted with
``reset --state``):

* ``<p>:story:entry:<doc>``: string, the entry (story id, day, added time, scheme, first copy's
  URL, then the signature's bytes), expiring ``keep_days`` after it was written;
* ``<p>:story:post:<hex key>``: sorted set of the article ids filed under the band key,
  scored by their day (a lookup reads those of the window only), its expiry renewed on every
  add (a set outlives the last entry it names by at most ``keep_days``, and ids of expired
  entries are skipped on read);
* ``<p>:story:postings``: set once the entries of an older crawler (whose ``band:`` sets had
  hashed keys and no day) were filed under the current keys, on a worker's first lookup.

Pruning is Redis's expiry. Two workers that index copies of one story within the same few
milliseconds may both find nothing and start two stories: the read and the write of one
article are two round trips, not one transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import redis

from crawler.stories.index import PER_BAND, StoryEntry, band_keys, top
from crawler.stories.signature import Signature

_SEP = b"\t"


def pack(entry: StoryEntry) -> bytes:
    head = "\t".join(
        (entry.story_id, str(entry.day), repr(entry.added_at), entry.scheme, entry.first_url)
    )
    return head.encode("utf-8") + _SEP + entry.signature


def unpack(doc: str, data: bytes) -> StoryEntry:
    story_id, day, added, scheme, first_url, signature = data.split(_SEP, 5)
    return StoryEntry(
        doc,
        story_id.decode(),
        first_url.decode("utf-8"),
        int(day),
        signature,
        float(added),
        scheme.decode(),
    )


class RedisBandStore:
    """A :class:`~crawler.stories.index.BandStore` in Redis (see the module docstring)."""

    def __init__(self, client: redis.Redis, prefix: str, *, keep_days: float) -> None:
        self.client = client
        self.prefix = f"{prefix}:story"
        self.keep_seconds = max(1, int(keep_days * 86_400))
        self._current = False

    @classmethod
    def from_url(cls, url: str, prefix: str, *, keep_days: float) -> RedisBandStore:
        """A store on its own connection (bytes: signatures are binary)."""
        client = redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10)
        return cls(client, prefix, keep_days=keep_days)

    def _band(self, key: bytes) -> str:
        return f"{self.prefix}:post:{key.hex()}"

    def _entry(self, doc: str) -> str:
        return f"{self.prefix}:entry:{doc}"

    def _rebuild_old_bands(self) -> None:
        """File entries written by an older crawler under the current keys (idempotent: two
        workers doing it at once file the same members)."""
        marker = f"{self.prefix}:postings"
        if self.client.exists(marker):
            self._current = True
            return
        for name in self.client.scan_iter(match=f"{self.prefix}:entry:*", count=500):
            doc = name.decode("utf-8").rsplit(":entry:", 1)[1]
            value = self.client.get(name)
            if not isinstance(value, bytes):
                continue  # expired meanwhile
            entry = unpack(doc, value)
            try:
                keys = band_keys(Signature.from_bytes(entry.signature))
            except ValueError:
                continue  # another scheme's signature: never compared anyway
            self._file(self.client.pipeline(transaction=True), entry, keys).execute()
        for name in self.client.scan_iter(match=f"{self.prefix}:band:*", count=500):
            self.client.delete(name)
        self.client.set(marker, b"1")
        self._current = True

    def candidates(
        self, keys: Sequence[bytes], days: tuple[int, int], limit: int
    ) -> list[tuple[StoryEntry, int]]:
        if not keys:
            return []
        if not self._current:
            self._rebuild_old_bands()
        first, last = days
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.zrangebyscore(self._band(key), first, last, start=0, num=PER_BAND)
        out: dict[str, int] = {}
        for members in pipe.execute():
            for member in members:
                doc = member.decode("utf-8")
                out[doc] = out.get(doc, 0) + 1
        best = top(out, limit)
        return [(entry, best[entry.doc]) for entry in self.entries(best)]

    def entries(self, docs: Collection[str]) -> list[StoryEntry]:
        listed = list(docs)
        if not listed:
            return []
        values = self.client.mget([self._entry(d) for d in listed])
        return [
            unpack(doc, value)
            for doc, value in zip(listed, values, strict=True)
            if isinstance(value, bytes)
        ]

    def add(self, entry: StoryEntry, keys: Sequence[bytes]) -> None:
        self._file(self.client.pipeline(transaction=True), entry, keys).execute()

    def _file(self, pipe: Any, entry: StoryEntry, keys: Sequence[bytes]) -> Any:
        pipe.set(self._entry(entry.doc), pack(entry), ex=self.keep_seconds)
        for key in keys:
            band = self._band(key)
            pipe.zadd(band, {entry.doc: entry.day})
            pipe.expire(band, self.keep_seconds)
        return pipe

    def prune(self, before: float) -> int:
        return 0  # Redis expires entries and bands

    def checkpoint(self) -> None:
        pass  # every entry is written when added

    def close(self) -> None:
        self.client.close()
