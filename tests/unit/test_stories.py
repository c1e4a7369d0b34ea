"""Stories: normalisation, signatures, and the grouping of the hand-written copies and
look-alikes of tests/fixtures/stories into one id per story."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from array import array
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

import pytest

from crawler.network.urls import url_key
from crawler.stories.index import (
    HEAVY_FLOOR,
    HEAVY_SHARE,
    Assignment,
    MemoryBandStore,
    StoryEntry,
    StoryIndex,
    band_keys,
    day_of,
    story_id_of,
)
from crawler.stories.signature import (
    PERMUTATIONS,
    SCHEME,
    Signature,
    signature,
    signature_bytes,
)
from crawler.stories.sqlite import SqliteBandStore
from crawler.stories.text import words
from tests.support.story_fixtures import StoryFixture, load_story_fixtures

NOW = 1_800_000_000.0
FIXTURES = load_story_fixtures()


def group_all(index: StoryIndex, fixtures: list[StoryFixture]) -> dict[str, str]:
    """Fixture id -> story id, assigned in file order; exact copies named as dedup would."""
    first_by_text: dict[str, str] = {}
    out: dict[str, str] = {}
    for f in fixtures:
        exact_of = first_by_text.setdefault(f.text, f.url)
        story = index.assign(
            f.url,
            signature_bytes(f.text),
            f.published.toordinal(),
            exact_of=None if exact_of == f.url else exact_of,
            now=NOW,
        )
        out[f.id] = story.story_id
    return out


def test_normalisation_ignores_case_quotes_dashes_and_paragraph_breaks() -> None:
    plain = 'China\'s "Tianwen-3" probe - said Liu.\n\nIt will fly.'
    fancy = "CHINA’S “Tianwen–3” probe — said Liu. It  will\tfly."
    assert words(plain) == words(fancy)
    assert words("The 1,696 kg satellite lifted off at 5.59 a.m.")[1:2] == ["1,696"]


def test_a_signature_survives_bytes_and_knows_itself() -> None:
    sig = signature(FIXTURES[0].text)
    assert sig is not None
    again = Signature.from_bytes(sig.to_bytes())
    assert again == sig and again.jaccard(sig) == 1.0
    assert signature("  \n ") is None


def test_a_trimmed_copy_is_contained_in_its_original() -> None:
    base = next(f for f in FIXTURES if f.id == "g08-base")
    trimmed = next(f for f in FIXTURES if f.id == "g08-trimmed")
    a, b = signature(base.text), signature(trimmed.text)
    assert a is not None and b is not None
    assert a.jaccard(b) < 0.8 < a.containment(b)


def test_every_group_of_copies_is_one_story_and_no_two_stories_share_an_id() -> None:
    ids = group_all(StoryIndex(MemoryBandStore()), FIXTURES)
    by_group: dict[str, set[str]] = defaultdict(set)
    for f in FIXTURES:
        by_group[f.group].add(ids[f.id])
    split = {g: s for g, s in by_group.items() if len(s) != 1}
    assert split == {}
    merged = [
        (a, b) for a, b in itertools.combinations(sorted(by_group), 2) if by_group[a] & by_group[b]
    ]
    assert merged == []


def test_the_first_copy_names_the_story_and_near_copies_name_the_first() -> None:
    index = StoryIndex(MemoryBandStore())
    base, first = (next(f for f in FIXTURES if f.id == i) for i in ("g02-base", "g02-first"))
    a = index.assign(base.url, signature_bytes(base.text), base.published.toordinal(), now=NOW)
    b = index.assign(first.url, signature_bytes(first.text), first.published.toordinal(), now=NOW)
    assert a.story_id == story_id_of(base.url) == b.story_id
    assert (a.near_duplicate_of, a.near_duplicate_score) == (None, None)
    assert b.near_duplicate_of == base.url
    assert b.near_duplicate_score is not None and 0.65 <= b.near_duplicate_score < 1
    # http or https, www or not: one story id
    assert story_id_of(base.url.replace("https://www.", "http://")) == a.story_id


def test_a_copy_outside_the_window_is_a_story_of_its_own_but_an_exact_one_joins() -> None:
    index = StoryIndex(MemoryBandStore(), window_days=3)
    base = next(f for f in FIXTURES if f.id == "g10-base")
    sig = signature_bytes(base.text)
    day = base.published.toordinal()
    first = index.assign(base.url, sig, day, now=NOW)
    late = index.assign("https://www.spacewar.com/reports/late_999.html", sig, day + 4, now=NOW)
    assert late.story_id != first.story_id
    exact = index.assign(
        "https://www.terradaily.com/reports/late_999.html",
        sig,
        day + 40,
        exact_of=base.url,
        now=NOW,
    )
    assert (exact.story_id, exact.near_duplicate_of) == (first.story_id, None)


def test_a_page_seen_again_keeps_its_story() -> None:
    index = StoryIndex(MemoryBandStore())
    base, copy = (next(f for f in FIXTURES if f.id == i) for i in ("g03-base", "g03-quotes"))
    index.assign(base.url, signature_bytes(base.text), base.published.toordinal(), now=NOW)
    once = index.assign(copy.url, signature_bytes(copy.text), copy.published.toordinal(), now=NOW)
    again = index.assign(copy.url, signature_bytes(copy.text), copy.published.toordinal(), now=NOW)
    assert again.story_id == once.story_id and again.near_duplicate_of == base.url


def test_day_is_the_published_date_else_the_fetch_date() -> None:
    fetched = dt.datetime(2026, 1, 2, 23, 0, tzinfo=dt.UTC)
    assert day_of(dt.date(2026, 1, 1), fetched) == dt.date(2026, 1, 1).toordinal()
    assert day_of(None, fetched) == dt.date(2026, 1, 2).toordinal()


@pytest.mark.parametrize("kind", ["memory", "sqlite", "private"])
def test_stores_group_alike_and_prune_what_is_old(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    store = (
        MemoryBandStore() if kind == "memory" else SqliteBandStore(path, private=kind == "private")
    )
    ids = group_all(StoryIndex(store), FIXTURES)
    assert ids == group_all(StoryIndex(MemoryBandStore()), FIXTURES)
    base = FIXTURES[0]
    sig = signature(base.text)
    assert sig is not None
    day = base.published.toordinal()
    assert store.candidates(band_keys(sig), (day - 3, day + 3), 64)
    assert store.candidates(band_keys(sig), (day + 30, day + 40), 64) == []
    # exact copies (the same text) are not indexed: their original stands for them
    assert store.prune(NOW + 1) == len({f.text for f in FIXTURES})
    assert store.candidates(band_keys(sig), (day - 3, day + 3), 64) == []
    store.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite", "private"])
def test_a_copy_is_found_among_years_of_articles_that_share_its_bands(
    kind: str, tmp_path: Path
) -> None:
    # A stock text that 100 articles of other years share word for word (same signature):
    # before the window was asked of the store, they filled every band and the candidate
    # list (ids that sort first), and this week's original was never compared.
    store = (
        MemoryBandStore()
        if kind == "memory"
        else SqliteBandStore(tmp_path / "state.sqlite", private=kind == "private")
    )
    index = StoryIndex(store)
    base, copy = (next(f for f in FIXTURES if f.id == i) for i in ("g05-base", "g05-combo"))
    day = base.published.toordinal()
    for year in range(1, 101):
        index.assign(
            f"https://www.spacedaily.com/reports/a{year:03d}_999.html",
            signature_bytes(base.text),
            day - 365 * year,
            now=NOW,
        )
    first = index.assign(base.url, signature_bytes(base.text), day, now=NOW)
    near = index.assign(copy.url, signature_bytes(copy.text), day + 1, now=NOW)
    assert near.story_id == first.story_id and near.near_duplicate_of == base.url
    store.close()


@pytest.mark.parametrize("layout", ["story_bands", "story_postings"])
def test_an_index_of_an_earlier_layout_is_rebuilt_on_open(layout: str, tmp_path: Path) -> None:
    import hashlib
    import sqlite3

    path = tmp_path / "state.sqlite"
    base, copy = (next(f for f in FIXTURES if f.id == i) for i in ("g05-base", "g05-combo"))
    raw = signature_bytes(base.text)
    assert raw is not None
    doc, day, story = url_key(base.url), base.published.toordinal(), story_id_of(base.url)
    # Articles named by their URL; with hashed band keys and no day (the first index), or
    # keys by day.
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE story_entries (doc TEXT PRIMARY KEY, story_id TEXT NOT NULL,"
        " first_url TEXT NOT NULL, day INTEGER NOT NULL, signature BLOB NOT NULL,"
        " added_at REAL NOT NULL, scheme TEXT NOT NULL) WITHOUT ROWID"
    )
    db.execute(
        "INSERT INTO story_entries VALUES (?, ?, ?, ?, ?, ?, ?)",
        (doc, story, base.url, day, raw, NOW, SCHEME),
    )
    keys = band_keys(Signature.from_bytes(raw))
    if layout == "story_bands":
        db.execute(
            "CREATE TABLE story_bands (band BLOB NOT NULL, doc TEXT NOT NULL,"
            " PRIMARY KEY (band, doc)) WITHOUT ROWID"
        )
        for key in keys:
            old = hashlib.blake2b(key, digest_size=8).digest()
            db.execute("INSERT INTO story_bands VALUES (?, ?)", (old, doc))
    else:
        db.execute(
            "CREATE TABLE story_postings (day INTEGER NOT NULL, band BLOB NOT NULL,"
            " doc TEXT NOT NULL, PRIMARY KEY (day, band, doc)) WITHOUT ROWID"
        )
        db.executemany(
            "INSERT INTO story_postings VALUES (?, ?, ?)", [(day, key, doc) for key in keys]
        )
    db.commit()
    db.close()
    store = SqliteBandStore(path)
    joined = StoryIndex(store).assign(
        copy.url, signature_bytes(copy.text), copy.published.toordinal(), now=NOW
    )
    store.close()
    assert joined.story_id == story and joined.near_duplicate_of == base.url
    db = sqlite3.connect(path)
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    (articles,) = db.execute("SELECT count(*) FROM story_articles").fetchone()
    db.close()
    assert not tables & {"story_entries", "story_bands", "story_postings"}
    assert articles == 2


def test_the_sqlite_index_outlives_its_connection(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    base, copy = (next(f for f in FIXTURES if f.id == i) for i in ("g05-base", "g05-combo"))
    first = SqliteBandStore(path)
    a = StoryIndex(first).assign(
        base.url, signature_bytes(base.text), base.published.toordinal(), now=NOW
    )
    first.close()
    second = SqliteBandStore(path)
    b = StoryIndex(second).assign(
        copy.url, signature_bytes(copy.text), copy.published.toordinal(), now=NOW
    )
    second.close()
    assert b.story_id == a.story_id and b.near_duplicate_of == base.url


@pytest.mark.parametrize("window", [3, 100])
def test_the_sqlite_index_keeps_to_the_window_narrow_or_wide(window: int, tmp_path: Path) -> None:
    # A window of weeks is looked up day by day, one of months as a range of days.
    store = SqliteBandStore(tmp_path / "state.sqlite")
    index = StoryIndex(store, window_days=window)
    base, copy = (next(f for f in FIXTURES if f.id == i) for i in ("g05-base", "g05-combo"))
    day = base.published.toordinal()
    first = index.assign(base.url, signature_bytes(base.text), day, now=NOW)
    inside = index.assign(copy.url, signature_bytes(copy.text), day + window, now=NOW)
    outside = index.assign(
        "https://www.terradaily.com/reports/late_999.html",
        signature_bytes(copy.text),
        day - window - 1,
        now=NOW,
    )
    store.close()
    assert inside.story_id == first.story_id
    assert outside.story_id != first.story_id


def test_the_jaccard_estimate_counts_equal_values_whatever_they_are() -> None:
    # Lanes at 0, at the top bit alone, all ones, and neighbours that differ by one bit:
    # the count must not carry from one value into the next.
    rng = random.Random(7)
    special = [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]
    for _ in range(300):
        a = [rng.choice([*special, rng.getrandbits(32)]) for _ in range(PERMUTATIONS)]
        b = [v if rng.random() < 0.5 else rng.choice([*special, v ^ 1]) for v in a]
        same = sum(1 for x, y in zip(a, b, strict=True) if x == y)
        sig_a = Signature(array("I", a), 10)
        sig_b = Signature(array("I", b), 10)
        assert sig_a.jaccard(sig_b) == same / PERMUTATIONS


class _Spy(MemoryBandStore):
    """Remembers the keys each lookup asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[set[bytes]] = []

    def candidates(
        self, keys: Sequence[bytes], days: tuple[int, int], limit: int
    ) -> list[tuple[StoryEntry, int]]:
        self.asked.append(set(keys))
        return super().candidates(keys, days, limit)


def test_wording_hundreds_of_articles_share_neither_joins_them_nor_hides_a_copy() -> None:
    # 1,500 articles of one week, each nearly half a stock text (a template's paragraphs)
    # and the rest its own words: some bands the stock text decides are carried by hundreds.
    rng = random.Random(3)
    vocabulary = [f"w{i}" for i in range(50_000)]
    stock = " ".join(rng.choice(vocabulary) for _ in range(180))

    def text() -> str:
        return stock + " " + " ".join(rng.choice(vocabulary) for _ in range(220))

    store = _Spy()
    index = StoryIndex(store)
    day = dt.date(2026, 3, 2).toordinal()
    carried: Counter[bytes] = Counter()
    stories = set()
    for i in range(1500):
        url = f"https://www.spacedaily.com/reports/look_alike_{i}_999.html"
        raw = signature_bytes(text())
        assert raw is not None
        carried.update(band_keys(Signature.from_bytes(raw)))
        stories.add(index.assign(url, raw, day + i % 7, now=NOW).story_id)
    assert len(stories) == 1500  # no look-alike joined another
    original = text()
    first = index.assign(
        "https://www.spacewar.com/reports/original_999.html",
        signature_bytes(original),
        day + 3,
        now=NOW,
    )
    text_words = original.split()
    copy = " ".join(text_words[:150] + text_words[170:])  # a paragraph cut
    raw = signature_bytes(copy)
    assert raw is not None
    near = index.assign("https://www.terradaily.com/reports/copy_999.html", raw, day + 4, now=NOW)
    assert near.story_id == first.story_id and near.near_duplicate_of is not None
    # The keys carried by 200 or more of the articles were not asked for (two keys that
    # share a counter may make one more look heavy); the others were.
    cut = max(HEAVY_FLOOR, HEAVY_SHARE * 1501)
    keys = set(band_keys(Signature.from_bytes(raw)))
    heavy = {k for k in keys if carried[k] >= cut}
    asked = store.asked[-1]
    assert heavy and not asked & heavy
    assert len(keys - heavy - asked) <= 2


@pytest.mark.parametrize("kind", ["memory", "sqlite", "private"])
def test_an_article_filed_again_replaces_its_entry_and_keys(kind: str, tmp_path: Path) -> None:
    store = (
        MemoryBandStore()
        if kind == "memory"
        else SqliteBandStore(tmp_path / "state.sqlite", private=kind == "private")
    )
    a, b = FIXTURES[0], next(f for f in FIXTURES if f.text != FIXTURES[0].text)
    doc = url_key(a.url)
    old_raw, new_raw = signature_bytes(a.text), signature_bytes(b.text)
    assert old_raw is not None and new_raw is not None
    old_keys = band_keys(Signature.from_bytes(old_raw))
    new_keys = band_keys(Signature.from_bytes(new_raw))
    old = StoryEntry(doc, "s1", a.url, 1000, old_raw, NOW)
    new = StoryEntry(doc, "s2", a.url, 2000, new_raw, NOW + 1)
    store.add(old, old_keys)
    if isinstance(store, SqliteBandStore):
        store.flush()  # written, then filed again while it waits
    store.add(new, new_keys)
    for _ in range(2):  # waiting, then written
        assert store.candidates(old_keys, (997, 1003), 24) == []
        assert store.candidates(new_keys, (1997, 2003), 24) == [(new, 64)]
        assert store.entries([doc]) == [new]
        if isinstance(store, SqliteBandStore):
            store.flush()
    store.close()


def test_an_article_filed_in_a_given_story_is_found_by_its_copies() -> None:
    # A re-extraction files a text that did not change in the story its row has; a changed
    # copy read after it joins that story, not one of the re-extraction's own making.
    base, copy = (next(f for f in FIXTURES if f.id == i) for i in ("g05-base", "g05-combo"))
    index = StoryIndex(MemoryBandStore())
    given = Assignment("0123456789abcdef", "https://www.spacewar.com/reports/first_999.html", 0.9)
    day = base.published.toordinal()
    assert index.file(base.url, signature_bytes(base.text), day, given, now=NOW) == given
    near = index.assign(copy.url, signature_bytes(copy.text), day + 1, now=NOW)
    assert near.story_id == given.story_id
    assert near.near_duplicate_of == given.near_duplicate_of
