"""Stories across connections, workers and runs: the story index in the state file and in
Redis (two workers, each on its own connection), a later crawl of the replica that meets an
edited copy of a stored story, and a dataset written before the story columns existed."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from crawler.dataset.schema import article_schema
from crawler.network.urls import url_key
from crawler.stories.index import BandStore, StoryEntry, StoryIndex, band_keys, story_id_of
from crawler.stories.signature import Signature, signature_bytes
from crawler.stories.sqlite import SqliteBandStore
from replica.server import ReplicaHandle
from tests.support.crawl_run import crawl
from tests.support.redesign import COPY_URL, add_edited_copy
from tests.support.story_fixtures import StoryFixture, load_story_fixtures

NOW = 1_800_000_000.0
FIXTURES = {f.id: f for f in load_story_fixtures()}


@pytest.fixture(params=["sqlite", "redis"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], BandStore]:
    """A new connection to one shared index each call: a later run, or another worker."""
    if request.param == "sqlite":
        return lambda: SqliteBandStore(tmp_path / "state.sqlite")
    url = request.getfixturevalue("redis_url")
    from crawler.distributed.stories import RedisBandStore

    return lambda: RedisBandStore.from_url(url, "crawl:state", keep_days=14)


def assign(store: BandStore, f: StoryFixture) -> Any:
    return StoryIndex(store).assign(
        f.url, signature_bytes(f.text), f.published.toordinal(), now=NOW
    )


def test_a_copy_met_by_another_connection_joins_the_first_copys_story(
    open_store: Callable[[], BandStore],
) -> None:
    # One run (or worker) after the other: a SQLite state is one crawl's at a time (the
    # dataset lock), and its index writes what it holds when the run closes.
    worker_a = open_store()
    try:
        first = assign(worker_a, FIXTURES["g04-base"])
        lookalike = assign(worker_a, FIXTURES["l-followup-isro"])
    finally:
        worker_a.close()
    worker_b = open_store()
    try:
        copy = assign(worker_b, FIXTURES["g04-combo"])
        other = assign(worker_b, FIXTURES["g04-first"])
    finally:
        worker_b.close()
    assert copy.story_id == first.story_id == other.story_id
    assert copy.near_duplicate_of == FIXTURES["g04-base"].url
    assert lookalike.story_id != first.story_id


def test_a_checkpoint_files_what_was_added_for_a_later_connection(
    open_store: Callable[[], BandStore],
) -> None:
    # Rows of the first copy are about to be published; its process is killed afterwards
    # (never closes its store): the next run still finds the story.
    killed = open_store()
    first = assign(killed, FIXTURES["g04-base"])
    killed.checkpoint()
    later = open_store()
    try:
        copy = assign(later, FIXTURES["g04-combo"])
    finally:
        later.close()
        killed.close()
    assert copy.story_id == first.story_id
    assert copy.near_duplicate_of == FIXTURES["g04-base"].url


def test_redis_entries_expire_after_keep_days(redis_url: str) -> None:
    import redis

    from crawler.distributed.stories import RedisBandStore

    store = RedisBandStore.from_url(redis_url, "crawl:state", keep_days=2)
    try:
        assign(store, FIXTURES["g03-base"])
        client = redis.Redis.from_url(redis_url)
        keys = [k for k in client.keys("crawl:state:story:*") if not k.endswith(b":postings")]
        assert len(keys) == 1 + 64  # the entry and its bands
        assert all(0 < client.ttl(k) <= 2 * 86_400 for k in keys)
        client.close()
    finally:
        store.close()


def test_a_redis_index_of_the_older_layout_is_rebuilt(redis_url: str) -> None:
    import hashlib

    import redis

    from crawler.distributed.stories import RedisBandStore, pack

    base, copy = FIXTURES["g05-base"], FIXTURES["g05-combo"]
    raw = signature_bytes(base.text)
    assert raw is not None
    doc = url_key(base.url)
    made = StoryEntry(doc, story_id_of(base.url), base.url, base.published.toordinal(), raw, NOW)
    client = redis.Redis.from_url(redis_url)
    # What a 1.4.0 worker wrote: the entry, and sets under hashed band keys.
    client.set(f"crawl:state:story:entry:{doc}", pack(made))
    for key in band_keys(Signature.from_bytes(raw)):
        old = hashlib.blake2b(key, digest_size=8).hexdigest()
        client.sadd(f"crawl:state:story:band:{old}", doc)
    store = RedisBandStore.from_url(redis_url, "crawl:state", keep_days=14)
    try:
        joined = assign(store, copy)
    finally:
        store.close()
    assert joined.story_id == made.story_id and joined.near_duplicate_of == base.url
    assert not client.keys("crawl:state:story:band:*")
    client.close()


# -- rows written before the story columns existed -------------------------------------------

NEW_COLUMNS = ("story_id", "near_duplicate_of", "near_duplicate_score")


def test_a_dataset_with_rows_of_the_old_schema_reads_whole(tmp_path: Path) -> None:
    schema = article_schema()
    old_schema = pa.schema([f for f in schema if f.name not in NEW_COLUMNS])
    base: dict[str, Any] = {
        "url": "https://www.spacewar.com/reports/a_999.html",
        "canonical_url": "https://www.spacewar.com/reports/a_999.html",
        "site": "spacewar.com",
        "title": "A",
        "text": "Text.",
        "related_links": [],
        "authors": [],
        "language": "en",
        "word_count": 1,
        "content_hash": "h",
        "crawl_id": "old",
        "extractor_version": "1.2.0",
        "fetched_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    }
    part = tmp_path / "articles" / "year=2026" / "month=1"
    part.mkdir(parents=True)
    old = {name: base.get(name) for name in old_schema.names}
    pq.write_table(pa.Table.from_pylist([old], schema=old_schema), part / "part-old.parquet")
    new = {name: base.get(name) for name in schema.names}
    new.update(url=new["url"].replace("a_", "b_"), crawl_id="new", story_id="0123456789abcdef")
    new["near_duplicate_score"] = 0.8
    pq.write_table(pa.Table.from_pylist([new], schema=schema), part / "part-new.parquet")

    table = ds.dataset(tmp_path / "articles", schema=schema, partitioning="hive").to_table()
    rows = {r["crawl_id"]: r for r in table.to_pylist()}
    assert set(rows) == {"old", "new"}
    assert [rows["old"][c] for c in NEW_COLUMNS] == [None, None, None]
    assert (rows["new"]["story_id"], rows["new"]["near_duplicate_score"]) == (
        "0123456789abcdef",
        0.8,
    )
    # DuckDB reads both files whole when told to unify the columns by name.
    glob = str(tmp_path / "articles" / "**" / "*.parquet")
    got = duckdb.sql(
        f"SELECT crawl_id, story_id FROM read_parquet('{glob}', union_by_name = true)"
        " ORDER BY crawl_id"
    ).fetchall()
    assert got == [("new", "0123456789abcdef"), ("old", None)]
    # pandas (pyarrow engine) takes the schema of one file: what it gives is the lead's
    # reader problem; here it must at least not lose the rows.
    frame = pd.read_parquet(tmp_path / "articles", schema=schema)
    assert sorted(frame["crawl_id"]) == ["new", "old"]


# -- a later crawl meets an edited copy of a stored story ------------------------------------


def read_rows(dataset: Path) -> list[dict[str, Any]]:
    columns = ["url", "canonical_url", "text", "published_date", "duplicate_of", *NEW_COLUMNS]
    return ds.dataset(dataset, partitioning="hive").to_table(columns=columns).to_pylist()


def test_an_edited_copy_in_a_later_run_joins_the_stored_story(
    replica: ReplicaHandle, tmp_path: Path
) -> None:
    dataset = tmp_path / "articles"
    first = crawl(replica, dataset, "-a", "sites=spacewar.com")
    assert first.returncode == 0, first.output[-3000:]
    before = read_rows(dataset)
    assert before and all(r["story_id"] for r in before)
    with sqlite3.connect(tmp_path / "state.sqlite") as state:
        indexed = state.execute("SELECT count(*) FROM story_articles").fetchone()[0]
    assert indexed == len({r["text"] for r in before})
    original = next(
        r
        for r in sorted(before, key=lambda r: r["url"])  # the same one whatever the file order
        if r["duplicate_of"] is None
        and r["published_date"]
        and len(r["text"].split()) > 80
        and r["url"] in {a.url for a in replica.app.catalog.articles.values()}
    )
    add_edited_copy(replica, original["url"])

    second = crawl(replica, dataset, "-a", "sites=spacewar.com")
    assert second.returncode == 0, second.output[-3000:]
    copy = next(r for r in read_rows(dataset) if r["url"] == COPY_URL)
    assert copy["story_id"] == original["story_id"]
    assert copy["near_duplicate_of"] == original["canonical_url"]
    # a near copy, not an exact one; its text is nearly all in the original's, so the
    # estimated containment may reach 1
    assert copy["duplicate_of"] is None
    assert 0.65 <= copy["near_duplicate_score"] <= 1
