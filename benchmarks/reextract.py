"""Re-extraction speed: ``scrapy reextract`` against a plain warcio + trafilatura loop.

    python benchmarks/reextract.py [--pages 10000[,30000]] [--baseline-pages N]

For each size, an archive of that many HTML pages (the replica's articles and listings at
``--scale``, made in-process by the replica's own app: each answer gzipped, as it comes
off the wire, into WARC files by the crawl's own writer, ``crawler.archive.writer``), then,
side by side in one run on the same archive:

* ``scrapy reextract --into DIR`` (a subprocess; the current dataset empty, so every
  article is written), its process tree sampled for CPU and memory;
* the baseline, the leanest honest loop a user writes in a day: warcio's ArchiveIterator
  over every file, each 200 HTML response's body to ``trafilatura.extract(body, url=url,
  with_metadata=True)`` in ``multiprocessing.Pool(2)`` (``imap_unordered``, chunks of 16),
  nothing written; on the first ``--baseline-pages`` pages of the archive (trafilatura is
  slow: a larger run says nothing more).

Printed: pages per second of each and their ratio; the share of re-extraction's time spent
reading WARC records (goal < 10%): the CPU time of the reading (``smn/reextract/read_seconds``,
on the reactor thread) over the run's elapsed seconds, and the same on the clock
(``read_wall_seconds``: with the moments the reading thread waited for the GIL); peak
memory (the main process's VmHWM, the tree's PSS) per size: flat from the smallest to the
largest archive is the goal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import PYTHON, REPO, machine, run_measured, table
from crawler.archive.writer import Exchange, WarcArchive
from replica.app import ReplicaApp
from replica.app import Request as ReplicaRequest
from replica.catalog import Catalog
from replica.oracle import manifest

# Fetched in the past (a second apart), after every page's publication date: a fetch time
# before it would null the date and fire the layout watch.
START = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)


def page_urls(scale: int) -> Iterator[str]:
    found = manifest(scale)
    yield from (a.url for a in found.articles)
    yield from found.non_article_urls


def build_archive(root: Path, pages: int) -> int:
    """An archive of about ``pages`` HTML pages; how many were written."""
    from urllib.parse import urlsplit

    scale = pages
    app = ReplicaApp(Catalog(scale))
    archive = WarcArchive(root, "bench", max_bytes=200 * 2**20, info={"extractor-version": "0"})
    archive.open()
    written = 0
    for i, url in enumerate(page_urls(scale)):
        if written >= pages:
            break
        parts = urlsplit(url)
        answer = app.respond(
            ReplicaRequest("GET", parts.scheme, parts.hostname or "", parts.path, parts.query)
        )
        if answer.status != 200:
            continue
        headers = [(k, v) for k, v in answer.headers if k.lower() != "content-length"]
        body = gzip.compress(answer.body, 6)
        headers += [("Content-Encoding", "gzip"), ("Content-Length", str(len(body)))]
        archive.write(Exchange(url, 200, headers, body, START + dt.timedelta(seconds=i)))
        written += 1
    archive.close()
    return written


# -- the baseline ------------------------------------------------------------------------


def _extract(job: tuple[bytes, str]) -> bool:
    import trafilatura

    body, url = job
    return trafilatura.extract(body, url=url, with_metadata=True) is not None


def _records(archive: Path, limit: int) -> Iterator[tuple[bytes, str]]:
    from warcio.archiveiterator import ArchiveIterator

    count = 0
    for path in sorted(archive.rglob("*.warc.gz")):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                if record.http_headers.get_statuscode() != "200":
                    continue
                mime = record.http_headers.get_header("Content-Type") or ""
                if "html" not in mime:
                    continue
                yield (
                    record.content_stream().read(),
                    record.rec_headers.get_header("WARC-Target-URI"),
                )
                count += 1
                if count >= limit:
                    return


def baseline(archive: Path, limit: int) -> tuple[int, int, float]:
    """(pages, articles, seconds) of the warcio + trafilatura loop in a pool of 2."""
    started = time.perf_counter()
    pages = articles = 0
    with multiprocessing.get_context("fork").Pool(2) as pool:
        for ok in pool.imap_unordered(_extract, _records(archive, limit), chunksize=16):
            pages += 1
            articles += ok
    return pages, articles, time.perf_counter() - started


# -- the re-extraction ---------------------------------------------------------------------


def reextract(root: Path, timeout: float) -> dict[str, float]:
    into = root / "next"
    command = [
        PYTHON, "-m", "scrapy", "reextract", "--into", str(into),
        "-s", f"SMN_OUTPUT={root / 'articles'}", "-s", f"SMN_ARCHIVE_DIR={root / 'warc'}",
        "-s", f"SMN_REPORTS={root / 'reports'}", "-s", "LOG_LEVEL=INFO",
    ]  # fmt: skip
    result = run_measured(
        command, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, cwd=REPO,
        timeout=timeout, interval=0.5, with_pss=True,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"reextract failed ({result.returncode}):\n{result.output[-3000:]}")
    report_path = next((root / "reports").glob("*.json"))
    report = json.loads(report_path.read_text())
    done = report["reextract"]
    elapsed = float(report["elapsed_seconds"])
    return {
        "pages": done["pages_done"],
        "articles": report["articles"]["written"],
        "elapsed": elapsed,
        "wall": result.wall_s,
        "read_share": done["read_seconds"] / elapsed,
        "read_wall_share": done.get("read_wall_seconds", 0.0) / elapsed,
        "main_hwm_mb": result.usage.main_hwm_mb,
        "tree_pss_mb": result.usage.tree_peak_pss_mb,
        "cpu_main": result.usage.main_cpu_s,
        "cpu_workers": result.usage.children_cpu_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", default="10000", help="archive sizes, comma-separated")
    parser.add_argument("--baseline-pages", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=7200)
    args = parser.parse_args()
    sizes = [int(x) for x in args.pages.split(",")]
    print(f"# {machine()}")
    rows = []
    memory = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="smn-reextract-") as tmp:
            root = Path(tmp)
            built = time.perf_counter()
            written = build_archive(root / "warc", size)
            print(
                f"archive of {written} pages built in {time.perf_counter() - built:.0f} s",
                flush=True,
            )
            smn = reextract(root, args.timeout)
            pages, articles, seconds = baseline(root / "warc", args.baseline_pages)
        base_rate = pages / seconds
        rate = smn["pages"] / smn["elapsed"]
        rows.append(
            [f"{written:,}", "warcio + trafilatura, Pool(2)", pages, articles, f"{seconds:.1f}",
             f"{base_rate:.1f}", "1.00", "", "", ""]
        )  # fmt: skip
        rows.append(
            [f"{written:,}", "scrapy reextract", int(smn["pages"]), int(smn["articles"]),
             f"{smn['elapsed']:.1f}", f"{rate:.1f}", f"{rate / base_rate:.2f}",
             f"{100 * smn['read_share']:.1f}%", f"{100 * smn['read_wall_share']:.1f}%",
             f"{smn['wall']:.1f}"]
        )  # fmt: skip
        memory.append(
            [f"{written:,}", f"{smn['main_hwm_mb']:.0f}", f"{smn['tree_pss_mb']:.0f}",
             f"{smn['cpu_main']:.0f}", f"{smn['cpu_workers']:.0f}"]
        )  # fmt: skip
    print(
        table(
            ["archive", "run", "pages", "articles", "s", "pages/s", "x baseline",
             "WARC read (CPU)", "WARC read (clock)", "wall s"],
            rows,
        )
    )  # fmt: skip
    print()
    print(
        table(
            ["archive", "main peak RSS MB", "tree peak PSS MB", "CPU s main", "CPU s workers"],
            memory,
        )
    )


if __name__ == "__main__":
    main()
