"""The incremental state's store protocol (crawler/incremental/store.py), one contract for
every store: SQLite (a single crawl) and Redis (a distributed crawl, a real redis-server)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from crawler.incremental.store import PendingLink, SeenStore, SqliteSeenStore

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
