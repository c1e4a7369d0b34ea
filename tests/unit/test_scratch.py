"""The on-disk sets and maps behave as Python's set and dict (against a model)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.util.batches import CHUNK
from crawler.util.scratch import ScratchDb

keys = st.text(alphabet="abcdé/._", min_size=0, max_size=6)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["add", "update"]), st.lists(keys))))
def test_a_key_set_behaves_as_a_set(ops: list[tuple[str, list[str]]]) -> None:
    db = ScratchDb()
    try:
        real, model = db.key_set(), set()
        for op, batch in ops:
            if op == "add":
                for k in batch:
                    assert real.add(k) == (k not in model)
                    model.add(k)
            else:
                real.update(batch)
                model.update(batch)
            assert len(real) == len(model) and bool(real) == bool(model)
            assert list(real) == sorted(model)
            probe = [*batch, "zz", ""]
            assert real.members(probe) == model & set(probe)
            assert all((k in real) == (k in model) for k in probe)
    finally:
        db.close()


def test_iteration_difference_and_lookups_go_past_one_chunk() -> None:
    db = ScratchDb()
    try:
        tried, settled = db.key_set(), db.key_set()
        everything = [f"spacewar.com/reports/story_{i}_999.html" for i in range(3 * CHUNK + 7)]
        random.Random(1).shuffle(everything)
        tried.update(everything)
        settled.update(everything[::3])
        assert list(tried) == sorted(everything)
        assert list(tried.difference(settled)) == sorted(set(everything) - set(everything[::3]))
        assert tried.members([*everything[:-5], "other"]) == set(everything[:-5])
        both = db.key_set()
        both.update_from(settled)
        assert len(both) == len(everything[::3])
    finally:
        db.close()


def test_bytes_sets_and_maps() -> None:
    db = ScratchDb()
    try:
        seen = db.bytes_set()
        assert seen.add(b"\x00\x01") and not seen.add(b"\x00\x01")
        assert b"\x00\x01" in seen and b"\x00" not in seen
        first = db.key_map()
        assert first.setdefault(b"h1", "https://a/1") == "https://a/1"
        assert first.setdefault(b"h1", "https://b/1") == "https://a/1"
        first.update_missing([(b"h1", "https://c/1"), (b"h2", "https://c/2")])
        assert first.setdefault(b"h2", "x") == "https://c/2"
    finally:
        db.close()
