"""The incremental state's store protocol (crawler/incremental/store.py), one contract for
every store: SQLite (a single crawl) and Redis (a distributed crawl, a real redis-server)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from crawler.dataset.files import DatasetFile
from crawler.incremental.store import (
    STALE_MTIME,
    PendingLink,
    SeenStore,
    SqliteSeenStore,
    Stored,
)

T0 = 1_800_000_000.0


@pytest.fixture(params=["sqlite", "redis"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], SeenStore]:
    """Opens the same state again each time it is called."""
    if request.param == "sqlite":
        return lambda: SqliteSeenStore(tmp_path / "state.sqlite", recheck_days=7)
    from crawler.distributed.store import RedisSeenStore

    url = request.getfixturevalue("redis_url")
    return lambda: RedisSeenStore.from_url(url, "t:state", recheck_days=7, scope="here")


def test_a_store_keeps_pending_links_until_removed(open_store: Callable[[], SeenStore]) -> None:
    """The pending-links API of a store; ``open_store`` opens the same state again."""
    store = open_store()
    try:
        assert store.pending() == []
        assert store.add_pending({"k1": "https://a/1", "k2": "https://a/2"}, T0) == 2
        # Already pending: keeps its URL, age and attempts.
        assert store.add_pending({"k2": "https://a/2?again", "k3": "https://a/3"}, T0 + 60) == 1
        store.count_attempts(["k1", "k3", "k3", "not-pending"])
        store.count_attempts(["k3"])
        store.remove_pending(["k2", "never-pending"])
    finally:
        store.close()
    again = open_store()
    try:
        assert sorted(again.pending()) == [
            PendingLink("k1", "https://a/1", T0, 1),
            PendingLink("k3", "https://a/3", T0 + 60, 2),
        ]
        # A pending link is no knowledge: the lookup ignores it.
        assert again.lookup(["k1", "k3"], T0) == {}
        again.remove_pending(["k1", "k3"])
        assert again.pending() == []
    finally:
        again.close()


def test_a_store_keeps_the_layout_watch_window_bounded_per_site(
    open_store: Callable[[], SeenStore],
) -> None:
    """The watch's part of the state: the newest pages of each site (``keep`` of them), each
    site's watch state, and the unread article pages, the same through every store."""
    from crawler.incremental.watch import PageReading, SiteWatch, UnreadPage

    def reading(site: str, i: int, **kw: object) -> PageReading:
        return PageReading(site, f"{site}/{i}", T0 + i, f"run{i // 3}", True, True, **kw)  # type: ignore[arg-type]

    store = open_store()
    try:
        store.record_readings([reading("a.com", i, layout="classic") for i in range(8)], keep=5)
        store.record_readings([reading("b.com", 0, missing=("byline",))], keep=5)
        # The same page read again replaces its reading.
        store.record_readings([reading("a.com", 7, layout="legacy", implausible=("dateline",))], 5)
        store.set_site_watch("a.com", SiteWatch(("classic",), T0, "2 pages", None))
        store.add_unread(
            [UnreadPage("u1", "https://a.com/u1", "a.com", "no headline", "1.0", T0, T0)]
        )
        store.add_unread(
            [UnreadPage("u1", "https://a.com/u1", "a.com", "no body", "1.1", T0 + 9, T0 + 9)]
        )
    finally:
        store.close()
    again = open_store()
    try:
        windows = again.readings()
        assert [r.key for r in windows["a.com"]] == [f"a.com/{i}" for i in range(3, 8)]
        newest = windows["a.com"][-1]
        assert (newest.layout, newest.implausible) == ("legacy", ("dateline",))
        assert windows["b.com"][0].missing == ("byline",)
        assert again.readings(["b.com"]).keys() == {"b.com"}
        assert again.site_watches() == {"a.com": SiteWatch(("classic",), T0, "2 pages", None)}
        (unread,) = again.unread()
        # Updated, first seen kept.
        assert (unread.reason, unread.first_seen, unread.last_seen) == ("no body", T0, T0 + 9)
        again.remove_unread(["u1"])
        assert again.unread() == []
    finally:
        again.close()


def test_a_store_answers_for_stored_articles_and_story_copies(
    open_store: Callable[[], SeenStore],
) -> None:
    """What dedup asks (``stored``): the article keys of ingested files, and for each story
    hash the first copy of the file first in path order, whatever the order of ingest."""
    later = DatasetFile("year=2026/month=11/part-b-00000.parquet", 10, 1)
    earlier = DatasetFile("year=2026/month=11/part-a-00000.parquet", 20, 2)
    store = open_store()
    try:
        store.add_articles(["k1", "shared"], later, {"h1": "https://b/1", "h2": "https://b/2"})
        store.add_articles(["k2", "shared"], earlier, {"h1": "https://a/1"})
        # Page observations and aliases are no stored articles.
        store.add_pages(["https://a/about"], "other", T0)
        store.add_aliases({"https://a/alias": "k1"})
    finally:
        store.close()
    again = open_store()
    try:
        asked = ["k1", "k2", "shared", "k3", "https://a/about", "https://a/alias"]
        assert again.stored(asked, ["h1", "h2", "h3"]) == Stored(
            {"k1", "k2", "shared"}, {"h1": "https://a/1", "h2": "https://b/2"}
        )
        assert again.stored([], []) == Stored(set(), {})
        again.forget_files([later.path])
        assert again.stored(["k1", "shared"], ["h1", "h2"]) == Stored(
            {"shared"}, {"h1": "https://a/1"}
        )
        # A file read again (changed) replaces what it held.
        changed = DatasetFile(earlier.path, 21, 3)
        again.add_articles(["k4"], changed, {})
        assert again.stored(["k2", "shared", "k4"], ["h1"]) == Stored({"k4"}, {})
        assert again.ingested_files() == {changed}
        # Many at once: batched the store's way, nothing lost between batches.
        many = DatasetFile("year=2026/month=12/part-c-00000.parquet", 30, 4)
        keys = [f"https://c/{i}" for i in range(2500)]
        again.add_articles(keys, many, {f"c{i}": f"https://c/{i}" for i in range(2500)})
        stored = again.stored([*keys, "nope"], [f"c{i}" for i in range(0, 2500, 2)])
        assert stored.keys == set(keys)
        assert stored.first_copies == {f"c{i}": f"https://c/{i}" for i in range(0, 2500, 2)}
    finally:
        again.close()


def test_a_file_an_older_crawler_ingested_is_listed_as_stale(
    open_store: Callable[[], SeenStore],
) -> None:
    """An older crawler kept no story copies: its files read as changed (STALE_MTIME), so
    the next sync reads them again; their keys stay known until then."""
    file = DatasetFile("year=2026/month=11/part-a-00000.parquet", 10, 1)
    store = open_store()
    try:
        store.add_articles(["k1"], file, {"h1": "https://a/1"})
        if isinstance(store, SqliteSeenStore):
            store._db.execute("DELETE FROM ingests")  # as an older crawler's ingest leaves it
        else:
            store.client.hset(store._files, file.path, "10 1")  # type: ignore[attr-defined]
        assert store.ingested_files() == {DatasetFile(file.path, 10, STALE_MTIME)}
        assert store.stored(["k1"], []).keys == {"k1"}
        store.add_articles(["k1"], file, {"h1": "https://a/1"})
        assert store.ingested_files() == {file}
        assert store.stored(["k1"], ["h1"]) == Stored({"k1"}, {"h1": "https://a/1"})
    finally:
        store.close()


def test_a_redis_state_of_older_key_rules_is_keyed_again(redis_url: str, tmp_path: Path) -> None:
    """As the SQLite store does: what was read from the dataset is dropped (read again by the
    next sync, under the new rules) and the pending links keyed again from their URLs."""
    import redis as redis_client

    from crawler.dataset.files import DatasetFile
    from crawler.distributed.store import RedisSeenStore
    from crawler.network.urls import url_key

    url = "https://www.spacewar.com/reports/caf%C3%A9_999.html"
    store = RedisSeenStore.from_url(redis_url, "rk:state", recheck_days=7, scope="here")
    try:
        store.add_articles(
            ["old-key-of-an-article"], DatasetFile("year=2026/month=1/a.parquet", 1, 1)
        )
        store.add_pending({"old-key-of-a-link": url}, T0)
    finally:
        store.close()
    client = redis_client.Redis.from_url(redis_url, decode_responses=True)
    client.hdel("rk:state:meta", "key_rules")  # a state of the older rules
    again = RedisSeenStore.from_url(redis_url, "rk:state", recheck_days=7, scope="here")
    try:
        assert again.created
        assert again.ingested_files() == set()
        assert again.lookup(["old-key-of-an-article"], T0) == {}
        assert [(p.key, p.url, p.added_at) for p in again.pending()] == [(url_key(url), url, T0)]
    finally:
        again.close()
        client.close()
