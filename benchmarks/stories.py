"""The grouping of copies into stories: quality on the hand-written set, and its cost.

    python benchmarks/stories.py [--repeat N]

Quality: the 44 stories of tests/fixtures/stories (copies of each edit kind, look-alikes that
must stay apart; the gold groups are written by hand) are given to the story index in file
order, as a crawl meets them; pairwise precision and recall of "same story_id" against the
gold, at several thresholds, with and without the window; then per edit kind at the default
threshold. Cost: the signature (normalisation, shingles, MinHash) as a share of the
extractor's time on the same pages (tests/fixtures/pages), both in this process; datasketch
beside rensa when it is installed (the dev extra), for the choice of the library.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import itertools
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.extract import extract
from crawler.stories.index import DEFAULT_THRESHOLD, MemoryBandStore, StoryIndex
from crawler.stories.signature import PERMUTATIONS, SEED, signature_bytes
from crawler.stories.text import shingles, words
from tests.support.fixture_pages import load_fixtures
from tests.support.story_fixtures import StoryFixture, load_story_fixtures

FETCHED = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
THRESHOLDS = (0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9)
WINDOW = 3.0
NOW = 1_800_000_000.0


def assign(fixtures: list[StoryFixture], threshold: float, window: float) -> dict[str, str]:
    """Fixture id -> story id, in file order; exact copies named as the dedup pipeline does."""
    index = StoryIndex(MemoryBandStore(), threshold=threshold, window_days=window)
    first_by_text: dict[str, str] = {}
    out = {}
    for f in fixtures:
        original = first_by_text.setdefault(f.text, f.url)
        story = index.assign(
            f.url,
            signature_bytes(f.text),
            f.published.toordinal(),
            exact_of=None if original == f.url else original,
            now=NOW,
        )
        out[f.id] = story.story_id
    return out


def pairwise(
    fixtures: list[StoryFixture], ids: dict[str, str]
) -> tuple[float, float, list[tuple[str, str]], list[tuple[str, str]]]:
    """Precision, recall, false merges and missed pairs."""
    tp, merged, missed = 0, [], []
    for a, b in itertools.combinations(fixtures, 2):
        same, gold = ids[a.id] == ids[b.id], a.group == b.group
        tp += same and gold
        if same and not gold:
            merged.append((a.id, b.id))
        if gold and not same:
            missed.append((a.id, b.id))
    precision = tp / (tp + len(merged)) if tp + len(merged) else 1.0
    recall = tp / (tp + len(missed)) if tp + len(missed) else 1.0
    return precision, recall, merged, missed


def per_kind(fixtures: list[StoryFixture], ids: dict[str, str]) -> list[tuple[str, int, int, int]]:
    """Per edit kind: records, records that joined their group's story, records merged into
    another group's story."""
    members: dict[str, set[str]] = defaultdict(set)
    for f in fixtures:
        members[ids[f.id]].add(f.group)
    base = {f.group: ids[f.id] for f in fixtures if f.edit == "base"}
    kinds: dict[str, list[StoryFixture]] = defaultdict(list)
    for f in fixtures:
        if f.edit == "base":
            continue
        apart = f.lookalike or f.edit == "far"  # must stay a story of its own
        for kind in f.edits if not apart else [f"apart: {f.edit}"]:
            kinds[kind].append(f)
    rows = []
    for kind, fs in sorted(kinds.items()):
        joined = sum(1 for f in fs if f.group in base and ids[f.id] == base[f.group])
        wrong = sum(1 for f in fs if len(members[ids[f.id]]) > 1)
        rows.append((kind, len(fs), joined, wrong))
    return rows


def title_words(f: StoryFixture) -> set[str]:
    return set(words(f.title))


def title_overlap(fixtures: list[StoryFixture]) -> tuple[float, float]:
    """The lowest title-word Jaccard of two copies of one story, and the highest of two
    different stories published within the window: a title check could only help if the
    first were above the second."""
    same, other = [], []
    for a, b in itertools.combinations(fixtures, 2):
        ta, tb = title_words(a), title_words(b)
        j = len(ta & tb) / len(ta | tb)
        if a.group == b.group:
            same.append(j)
        elif abs((a.published - b.published).days) <= WINDOW:
            other.append(j)
    return min(same), max(other)


def best_ms(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def datasketch_signature() -> Callable[[str], object] | None:
    try:
        from datasketch import MinHash
    except ImportError:
        return None

    def sign(text: str) -> object:
        m = MinHash(num_perm=PERMUTATIONS, seed=SEED)
        m.update_batch([s.encode("utf-8") for s in shingles(text)])
        return m.hashvalues

    return sign


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    fixtures = load_story_fixtures()
    groups = len({f.group for f in fixtures})
    print(f"stories: {len(fixtures)} records in {groups} gold groups (tests/fixtures/stories)")
    print()
    print(f"{'threshold':>9} {'window':>8} {'precision':>10} {'recall':>7}  false merges / missed")
    for threshold, window in [(t, WINDOW) for t in THRESHOLDS] + [(DEFAULT_THRESHOLD, 1e6)]:
        p, r, merged, missed = pairwise(fixtures, assign(fixtures, threshold, window))
        shown = "none" if window > 1e5 else f"{window:g} d"
        mark = " <- default" if threshold == DEFAULT_THRESHOLD and window == WINDOW else ""
        detail = ", ".join(f"{a}~{b}" for a, b in merged[:2]) or "-"
        detail += " / " + (", ".join(f"{a}|{b}" for a, b in missed[:2]) or "-")
        print(f"{threshold:9.2f} {shown:>8} {p:10.3f} {r:7.3f}  {detail}{mark}")
    print()
    ids = assign(fixtures, DEFAULT_THRESHOLD, WINDOW)
    print(f"per edit kind, threshold {DEFAULT_THRESHOLD}, window {WINDOW:g} days")
    print(f"{'edit kind':28} {'records':>7} {'joined':>7} {'recall':>7} {'merged wrongly':>15}")
    for kind, n, joined, wrong in per_kind(fixtures, ids):
        recall = f"{joined / n:7.2f}" if not kind.startswith("apart") else "      -"
        joined_shown = joined if not kind.startswith("apart") else "-"
        print(f"{kind:28} {n:7} {joined_shown!s:>7} {recall} {wrong:15}")
    low_same, high_other = title_overlap(fixtures)
    print()
    print(
        f"title words (Jaccard): lowest between copies {low_same:.2f}, highest between "
        f"different stories within the window {high_other:.2f} (a title check cannot help)"
    )

    print()
    pages = [f for f in load_fixtures() if f.is_article]
    bodies = [f.html.read_bytes() for f in pages]
    texts = []
    extract_ms = []
    for f, body in zip(pages, bodies, strict=True):
        result = extract(body, f.url, fetched_at=FETCHED)
        texts.append(result.article.text if result.article else "")
        extract_ms.append(
            best_ms(functools.partial(extract, body, f.url, fetched_at=FETCHED), args.repeat)
        )
    sign_ms = [best_ms(functools.partial(signature_bytes, t), args.repeat * 4) for t in texts]
    shingle_ms = [best_ms(functools.partial(shingles, t), args.repeat * 4) for t in texts]
    e_mean, s_mean, sh_mean = map(statistics.mean, (extract_ms, sign_ms, shingle_ms))
    print(f"cost per page ({len(pages)} article pages of tests/fixtures/pages, best of repeats)")
    print(f"{'':36} {'ms':>8} {'share of extraction':>20}")
    print(f"{'extraction alone (baseline)':36} {e_mean:8.3f} {1:20.1%}")
    print(f"{'  normalise + shingles':36} {sh_mean:8.3f} {sh_mean / e_mean:20.1%}")
    print(f"{'signature, rensa (all of it)':36} {s_mean:8.3f} {s_mean / e_mean:20.1%}")
    other = datasketch_signature()
    if other is not None:
        ds_mean = statistics.mean(
            best_ms(functools.partial(other, t), args.repeat * 4) for t in texts
        )
        print(f"{'signature, datasketch (not chosen)':36} {ds_mean:8.3f} {ds_mean / e_mean:20.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
