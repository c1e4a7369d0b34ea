"""The LSH index of story signatures, over a small key-value protocol, and the grouping rule.

**LSH.** A signature's :data:`PERMUTATIONS` values are cut into :data:`BANDS` bands of
:data:`ROWS` values; each band hashes to a key, and two articles are candidates when they share
a key. With 64 bands of 2 rows, a pair of Jaccard similarity 0.3 becomes a candidate with a
probability of 0.998, 0.2 with 0.93: lower than any copy of the fixture set (the weakest, a short
brief with its first sentence rewritten, a paragraph split and its tail cut, is at 0.44); what
decides is the similarity computed on the whole signatures of the candidates.

**The rule** (:meth:`StoryIndex.assign`). An article joins the story of its most similar
earlier article among the candidates published within ``window_days`` of it (published date,
else the fetch date) whose similarity reaches ``threshold``; else it starts a story of its own.
The similarity is the estimated *containment* of the smaller text in the larger
(:meth:`~crawler.stories.signature.Signature.containment`), not the Jaccard similarity: a copy
with its tail cut is contained whole in the original. A story's id is
:func:`story_id_of` its first copy's canonical URL; an exact copy (the dedup pipeline's
``duplicate_of``) joins its original's story even outside the window.

**Heavy bands** (:class:`BandCounts`). A band key that a large share of the indexed articles
carry (at least :data:`HEAVY_SHARE` of them, and at least :data:`HEAVY_FLOOR`) comes from wording
that many articles share, not from a story: a stock sentence, a template's line left in the
text. Such a key is neither looked up nor filed: it would bring only look-alikes, at a row
each (on the replica's synthetic archive, whose texts are drawn from a dozen stock sentences,
3,300 heavy keys of a million brought 98% of the rows a lookup read, and 106 look-alikes of
50,000 articles joined stories through them). A copy still shares its original's other bands:
a story's copies are a handful of articles, never hundreds.

**The store** (:class:`BandStore`): band key -> article ids, and article id -> entry (story,
first copy, day, signature). Implementations: :class:`MemoryBandStore` (a run without
incremental state), :class:`crawler.stories.sqlite.SqliteBandStore` (the incremental state
file), :class:`crawler.distributed.stories.RedisBandStore` (a distributed crawl). An entry is
kept ``keep_days`` after it was added, then pruned (Redis expires it): a copy published more
than the window after its original cannot join it anyway.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
from array import array
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from crawler.network.urls import url_key
from crawler.stories.signature import PERMUTATIONS, SCHEME, Signature

BANDS = 64
ROWS = PERMUTATIONS // BANDS

K = TypeVar("K", str, int)


def band_keys(sig: Signature) -> list[bytes]:
    """One key per band: the band's number, then its :data:`ROWS` values as stored (9 bytes;
    equal values in different bands are not a match). Not hashed: 64 hashes an article cost
    a tenth of the index's time, and the key is barely longer."""
    raw = sig.to_bytes()[4:]
    width = 4 * ROWS
    return [bytes((band,)) + raw[band * width : (band + 1) * width] for band in range(BANDS)]


def story_id_of(url: str) -> str:
    """The id of the story whose first copy has this canonical URL: 16 hex digits of the
    BLAKE2b hash of its :func:`~crawler.network.urls.url_key` (http/https, ``www.`` and
    tracking parameters give the same id)."""
    try:
        key = url_key(url)
    except ValueError:
        key = url
    return hashlib.blake2b(key.encode("utf-8"), digest_size=8).hexdigest()


def day_of(published: dt.date | None, fetched: dt.datetime | None) -> int:
    """The day an article counts from: its published date, else its fetch date (proleptic
    ordinal; 0 when neither is known: such an article is compared with none but its kind)."""
    if published is not None:
        return published.toordinal()
    if fetched is not None:
        return fetched.date().toordinal()
    return 0


@dataclass(frozen=True, slots=True)
class StoryEntry:
    """What the index keeps of one article."""

    doc: str
    """The article's id: the url_key of its canonical URL."""
    story_id: str
    first_url: str
    """The canonical URL of the story's first copy."""
    day: int
    signature: bytes
    added_at: float
    """Epoch seconds when it was indexed (pruning)."""
    scheme: str = SCHEME


class BandStore(Protocol):
    """Where the index lives: band keys -> article ids (with their day), article id ->
    entry."""

    def candidates(
        self, keys: Sequence[bytes], days: tuple[int, int], limit: int
    ) -> list[tuple[StoryEntry, int]]:
        """The entries of the articles filed under any of ``keys`` whose day is within
        ``days`` (first, last), each with how many of the keys: the ``limit`` that share the
        most (ties in the store's own order). At most :data:`PER_BAND` articles of one key are
        counted."""
        ...

    def entries(self, docs: Collection[str]) -> list[StoryEntry]:
        """The entries of those ids that are still kept (pruned ones are absent)."""
        ...

    def add(self, entry: StoryEntry, keys: Sequence[bytes]) -> None:
        """Keep ``entry`` and file it under ``keys`` (an entry of the same id is replaced)."""
        ...

    def prune(self, before: float) -> int:
        """Drop the entries added before ``before`` (epoch seconds); how many. A store with
        native expiry may do nothing."""
        ...

    def checkpoint(self) -> None:
        """Make the entries added so far survive a crash: rows that carry their stories are
        about to be published (a store that writes at once, or holds nothing worth keeping,
        does nothing)."""
        ...

    def close(self) -> None: ...


class MemoryBandStore:
    """A :class:`BandStore` in a dict: one run, no state."""

    def __init__(self) -> None:
        self._bands: dict[bytes, dict[str, int]] = {}
        """Band key -> {article id: its day}."""
        self._entries: dict[str, tuple[StoryEntry, Sequence[bytes]]] = {}

    def candidates(
        self, keys: Sequence[bytes], days: tuple[int, int], limit: int
    ) -> list[tuple[StoryEntry, int]]:
        first, last = days
        out: dict[str, int] = {}
        for key in keys:
            filed = self._bands.get(key)
            if not filed:
                continue
            within = sorted(doc for doc, day in filed.items() if first <= day <= last)
            for doc in within[:PER_BAND]:
                out[doc] = out.get(doc, 0) + 1
        return [(self._entries[doc][0], n) for doc, n in top(out, limit).items()]

    def entries(self, docs: Collection[str]) -> list[StoryEntry]:
        return [self._entries[d][0] for d in docs if d in self._entries]

    def add(self, entry: StoryEntry, keys: Sequence[bytes]) -> None:
        self._drop(entry.doc)
        self._entries[entry.doc] = (entry, keys)
        for key in keys:
            self._bands.setdefault(key, {})[entry.doc] = entry.day

    def prune(self, before: float) -> int:
        old = [doc for doc, (e, _) in self._entries.items() if e.added_at < before]
        for doc in old:
            self._drop(doc)
        return len(old)

    def _drop(self, doc: str) -> None:
        gone = self._entries.pop(doc, None)
        if gone is None:
            return
        for key in gone[1]:
            members = self._bands.get(key)
            if members is not None:
                members.pop(doc, None)
                if not members:
                    del self._bands[key]

    def checkpoint(self) -> None:
        pass  # nothing outlives the run

    def close(self) -> None:
        self._bands.clear()
        self._entries.clear()


@dataclass(frozen=True, slots=True)
class Assignment:
    """An article's story."""

    story_id: str
    near_duplicate_of: str | None = None
    """The first copy's canonical URL, for a near copy (not for an exact one, nor a first)."""
    near_duplicate_score: float | None = None
    """The similarity to the closest earlier copy, for a near copy."""


PER_BAND = 32
"""At most this many articles of one band (within the window) are counted as candidates: a
band that many articles of the same days share (a stock sentence) says little, and would
cost a row per article."""
MAX_LOADED = 24
"""At most this many candidates, those sharing the most bands, are read from the store and
compared whole. A copy shares about 12 of its 64 bands with its original even at the lowest
similarity that joins (0.44 Jaccard), a look-alike of the same days 1 or 2: the original
ranks among the first few. The replica's synthetic texts, which share stock wording, meet
dozens within a window; real ones meet few."""
DEFAULT_THRESHOLD = 0.65
"""See :class:`StoryIndex`; measured in benchmarks/stories.py."""


HEAVY_FLOOR = 200
"""A band key carried by fewer indexed articles than this is never heavy: far more than the
copies of one story (at most one a site)."""
HEAVY_SHARE = 0.002
"""A band key carried by at least this share of the indexed articles (and by
:data:`HEAVY_FLOOR`) is heavy."""


class BandCounts:
    """How many of the articles this index has filed carry each band key, approximately: a
    fixed array of counters, one per hash of a key (keys that share a counter add up, so a
    count is never too low; with two million counters a light key shares one with a heavy
    key at odds of a few in a thousand). Counts the articles filed by this process only (an
    index opened on a stored state starts at zero): 8 MB whatever their number."""

    SLOTS = 1 << 21

    def __init__(self) -> None:
        self._counts = array("I", bytes(4 * self.SLOTS))
        self.articles = 0

    def add(self, keys: Sequence[bytes]) -> None:
        counts = self._counts
        for key in keys:
            counts[_slot(key)] += 1
        self.articles += 1

    def light(self, keys: Sequence[bytes]) -> list[bytes]:
        """The keys that are not heavy (the module docstring)."""
        cut = max(HEAVY_FLOOR, HEAVY_SHARE * self.articles)
        if self.articles < cut:
            return list(keys)
        counts = self._counts
        return [key for key in keys if counts[_slot(key)] < cut]


def _slot(key: bytes) -> int:
    """A band key's counter: the whole key (its band's number and both values) modulo a
    prime. Not ``hash()``: that changes from process to process, and with it which keys share
    a counter, and the stories of a run would depend on the process."""
    return int.from_bytes(key, "little") % _SLOT_PRIME


_SLOT_PRIME = 2_097_143
"""The largest prime below :attr:`BandCounts.SLOTS`."""


class StoryIndex:
    """Gives each article its story (the rule in the module docstring)."""

    def __init__(
        self,
        store: BandStore,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        window_days: float = 3,
    ) -> None:
        self.store = store
        self.threshold = threshold
        self.window_days = window_days
        self.bands = BandCounts()

    def candidates(
        self, sig: Signature, day: int, doc: str, keys: Sequence[bytes]
    ) -> list[tuple[float, StoryEntry]]:
        """The earlier articles within the window, most similar first, with their scores;
        the article's own entry (a page indexed by a run that did not publish it) first
        with 2.0. ``keys``: the signature's :func:`band_keys` that are not heavy."""
        # Days are whole (within 3.5 days is within 3); no window is wider than all dates.
        span = int(min(self.window_days, 1e6))
        # Only articles of the window are looked at (the store filters by day): over years
        # of archive, the articles that share a band would crowd out those of the window,
        # and cost a row each. The most shared bands first: a copy shares most of its
        # bands, a look-alike few. Bounded, so that a page whose wording a thousand others
        # of the same days share (templates, a replica's synthetic text) costs a few
        # comparisons, not a thousand.
        shared = self.store.candidates(keys, (day - span, day + span), MAX_LOADED)
        found = [entry for entry, _ in shared]
        if all(entry.doc != doc for entry in found):  # its own entry, whatever its day was
            found[:0] = self.store.entries([doc])
        scored: list[tuple[float, StoryEntry]] = []
        for entry in found:
            if entry.scheme != SCHEME:
                continue
            if entry.doc == doc:
                scored.append((2.0, entry))
                continue
            if abs(entry.day - day) > span:
                continue
            scored.append((sig.containment(Signature.from_bytes(entry.signature)), entry))
        scored.sort(key=lambda pair: (-pair[0], pair[1].added_at, pair[1].doc))
        return scored

    def assign(
        self,
        url: str,
        signature: bytes | None,
        day: int,
        *,
        exact_of: str | None = None,
        now: float,
    ) -> Assignment:
        """The story of the article at canonical ``url``; the article is indexed.

        ``exact_of``: the URL of the first copy when the text is the same (duplicate_of)."""
        doc = _doc(url)
        sig = Signature.from_bytes(signature) if signature is not None else None
        best: tuple[float, StoryEntry] | None = None
        every = band_keys(sig) if sig is not None else []
        keys = self.bands.light(every)
        if sig is not None:
            scored = self.candidates(sig, day, doc, keys)
            if scored and scored[0][0] >= self.threshold:
                best = scored[0]
        if best is not None and best[1].doc == doc:
            entry = best[1]  # seen before: what it was given then
            near = entry.first_url if entry.first_url != url else None
            return Assignment(entry.story_id, near, None)
        if exact_of is not None:
            # An exact copy: its original's story, the closest copy's when it is in the index.
            story = best[1].story_id if best is not None else story_id_of(exact_of)
            return Assignment(story)
        if best is not None:
            score, entry = best
            assignment = Assignment(entry.story_id, entry.first_url, round(score, 4))
            first_url = entry.first_url
        else:
            assignment = Assignment(story_id_of(url))
            first_url = url
        if sig is not None:
            entry = StoryEntry(doc, assignment.story_id, first_url, day, sig.to_bytes(), now)
            self._keep(entry, every, keys)
        return assignment

    def file(
        self, url: str, signature: bytes | None, day: int, story: Assignment, *, now: float
    ) -> Assignment:
        """Index the article at canonical ``url`` in a story already given to it (a
        re-extraction keeps the story of a text that did not change), without looking for
        its copies; ``story``."""
        if signature is not None:
            sig = Signature.from_bytes(signature)
            first_url = story.near_duplicate_of or url
            every = band_keys(sig)
            entry = StoryEntry(_doc(url), story.story_id, first_url, day, sig.to_bytes(), now)
            self._keep(entry, every, self.bands.light(every))
        return story

    def _keep(self, entry: StoryEntry, every: list[bytes], light: list[bytes]) -> None:
        """Count all of the entry's band keys (``every``), and file it under the ``light``
        ones (those not heavy before it counted)."""
        self.bands.add(every)
        self.store.add(entry, light)


def top(counts: dict[K, int], limit: int) -> dict[K, int]:
    """The ``limit`` entries of ``counts`` with the highest counts (ties by key)."""
    if len(counts) <= limit:
        return counts
    return dict(heapq.nsmallest(limit, counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _doc(url: str) -> str:
    try:
        return url_key(url)
    except ValueError:
        return url


def assign_all(
    index: StoryIndex, articles: Iterable[tuple[str, bytes | None, int, str | None]], now: float
) -> list[Assignment]:
    """Assign a sequence of (url, signature, day, exact_of) in order (benchmarks, tests)."""
    return [index.assign(u, s, d, exact_of=e, now=now) for u, s, d, e in articles]
