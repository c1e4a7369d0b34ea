"""Extraction quality and speed: this extractor against plain trafilatura, side by side.

    python benchmarks/extraction.py [--repeat N]

For every hand-built fixture page (tests/fixtures/pages): body precision/recall/F1 at word
level, boilerplate phrases leaked into the text, field accuracy, and milliseconds per page,
for ``extract_article`` and for ``trafilatura.extract`` on the same bytes in the same run;
then the time of lxml parsing alone (the floor), of the crawl's per-page work
(``crawler.extraction.worker.analyse_page``: the extraction and the page's links from one parse),
and the same on large synthetic pages.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import lxml.html
import trafilatura

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.extract import extract
from crawler.extract.decode import decode_html
from crawler.extraction.worker import analyse_page
from tests.support.fixture_pages import METADATA_FIELDS, Fixture, load_fixtures
from tests.support.quality import leaked_phrases, score

FIELDS = METADATA_FIELDS
FETCHED = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)


def _timed(fn: Callable[[], object], repeat: int) -> tuple[object, float]:
    best = float("inf")
    result: object = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return result, best * 1000


def _ours(f: Fixture, body: bytes) -> Callable[[], object]:
    return lambda: extract(body, f.url, fetched_at=FETCHED)


def _trafilatura(f: Fixture, body: bytes) -> Callable[[], object]:
    return lambda: trafilatura.extract(body, url=f.url, include_comments=False)


def _page_work(f: Fixture, body: bytes) -> Callable[[], object]:
    # What a crawl's worker does per page: the extraction and the page's links, one parse.
    return lambda: analyse_page(body, f.url, None, FETCHED)


def _parse_only(body: bytes) -> Callable[[], object]:
    return lambda: lxml.html.document_fromstring(decode_html(body))


def _field_hits(f: Fixture, article: object) -> tuple[int, int]:
    hits = total = 0
    for name in FIELDS:
        if name not in f.expected:
            continue
        total += 1
        got = getattr(article, name, None)
        if isinstance(got, dt.date):
            got = got.isoformat()
        hits += got == f.expected[name]
    return hits, total


def synthetic_page(paragraphs: int) -> bytes:
    """A classic-layout page with a long body and the usual boilerplate."""
    body = "".join(
        f"<p>Paragraph {i} of a long report on launch vehicles, satellites and the agencies "
        f"that fly them, with &#8220;quotes&#8221; and numbers such as {i * 7}.\n"
        for i in range(paragraphs)
    )
    teasers = "".join(
        f"<b>SPACE TRAVEL</b><br><a href='/reports/T{i}_999.html'>Teaser {i}</a><br>"
        f"<span class=BHS>Paris (AFP) Apr 2, 2013</span><br>Summary text ... read more<br><br>"
        for i in range(40)
    )
    return (
        "<html><head><title>Long</title><meta property='og:url' "
        "content='https://www.spacedaily.com/reports/Long_999.html'></head><body>"
        "<table><tr><td>Space News</td></tr><tr><td><b>LAUNCH PAD</b><h1>A long story<br></h1>"
        "by Staff Writers<br><span class=BHS>Paris (AFP) Apr 2, 2013</span>"
        f"<!--body-2-incontainer.php-->{body}<!--RELATED LINKS-->"
        "<b>Related Links</b><br><a href='https://www.esa.int'>ESA</a><br>"
        f"Subscribe Free To Our Daily Newsletters<br>{teasers}"
        "The content herein, unless otherwise known to be public domain, are Copyright 1995-2024"
        "</td></tr></table></body></html>"
    ).encode("cp1252")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timing runs per page (best kept)")
    args = parser.parse_args()
    fixtures = [f for f in load_fixtures() if f.is_article]
    rows = []
    ours_ms: list[float] = []
    traf_ms: list[float] = []
    floor_ms: list[float] = []
    work_ms: list[float] = []
    hits = total = 0
    print(
        f"{'page':44} {'ours P/R/F1':>17} {'traf F1':>7} {'leaks o/t':>9} "
        f"{'fields':>6} {'ours ms':>8} {'traf ms':>8} {'parse ms':>8}"
    )
    for f in fixtures:
        body = f.html.read_bytes()
        result, ms = _timed(_ours(f, body), args.repeat)
        article = getattr(result, "article", None)
        text = getattr(article, "text", "")
        traf_text, tms = _timed(_trafilatura(f, body), args.repeat)
        _, pms = _timed(_parse_only(body), args.repeat)
        s = score(text, f.expected["text"])
        ts = score(traf_text if isinstance(traf_text, str) else "", f.expected["text"])
        h, t = _field_hits(f, article)
        hits, total = hits + h, total + t
        leaks, tleaks = leaked_phrases(text), leaked_phrases(traf_text)  # type: ignore[arg-type]
        rows.append((s, ts, leaks, tleaks))
        ours_ms.append(ms)
        traf_ms.append(tms)
        floor_ms.append(pms)
        work_ms.append(_timed(_page_work(f, body), args.repeat)[1])
        print(
            f"{f.name[:44]:44} {s.precision:.2f}/{s.recall:.2f}/{s.f1:.3f} {ts.f1:7.3f} "
            f"{len(leaks):4}/{len(tleaks):<4} {h:>2}/{t:<3} {ms:8.2f} {tms:8.2f} {pms:8.2f}"
        )
        for phrase in leaks:
            print(f"    LEAKED (ours): {phrase}")
    f1s = [r[0].f1 for r in rows]
    tf1s = [r[1].f1 for r in rows]
    print()
    print(f"pages: {len(rows)}")
    print(
        f"body F1   ours: mean {statistics.mean(f1s):.4f}, worst {min(f1s):.4f} | "
        f"trafilatura: mean {statistics.mean(tf1s):.4f}, worst {min(tf1s):.4f}"
    )
    print(
        f"pages leaking boilerplate: ours {sum(1 for r in rows if r[2])}, "
        f"trafilatura {sum(1 for r in rows if r[3])}"
    )
    print(f"field accuracy (ours, {', '.join(FIELDS)}): {hits}/{total}")
    print()
    print(f"{'ms per page':28} {'mean':>8} {'ratio to trafilatura':>22} {'x parse floor':>14}")
    t_mean = statistics.mean(traf_ms)
    p_mean = statistics.mean(floor_ms)
    for label, values in (
        ("extract_article (ours)", ours_ms),
        ("analyse_page (+ links)", work_ms),
        ("trafilatura.extract", traf_ms),
        ("lxml parse alone (floor)", floor_ms),
    ):
        mean = statistics.mean(values)
        print(f"{label:28} {mean:8.2f} {mean / t_mean:22.2f} {mean / p_mean:14.1f}")
    print()
    print(
        f"{'synthetic page':28} {'KB':>6} {'ours ms':>8} {'traf ms':>8} {'parse ms':>8} "
        f"{'ours/traf':>9}"
    )
    for paragraphs in (200, 1000, 4000):
        body = synthetic_page(paragraphs)
        fake = Fixture(
            "synthetic", Path("-"), "https://www.spacedaily.com/reports/Long_999.html", True, {}
        )
        _, ms = _timed(_ours(fake, body), max(1, args.repeat // 2))
        _, tms = _timed(_trafilatura(fake, body), max(1, args.repeat // 2))
        _, pms = _timed(_parse_only(body), max(1, args.repeat // 2))
        print(
            f"{paragraphs:>5} paragraphs{'':17} {len(body) // 1024:6} {ms:8.1f} {tms:8.1f} "
            f"{pms:8.1f} {ms / tms:9.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
