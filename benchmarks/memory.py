"""Peak memory of ``scrapy crawl smn`` as the crawl grows: is it flat?

    python benchmarks/memory.py [--sizes 5000,20000,50000] [--workers 0]

For each size N the replica serves N synthetic articles (its own process, reached as a
proxy) and one crawl fetches them all, politeness off, writing Parquet into a temp dir.
The crawl's process tree is sampled from /proc every half second:

* ``main peak``: VmHWM of the crawler process (its own peak RSS, kept by the kernel);
* ``workers peak``: the largest sum of RSS of its descendants (forkserver and extraction
  workers) in one sample;
* ``tree peak RSS``: the largest sum of RSS of the whole tree in one sample; pages shared
  between the forkserver and the workers count once per process, so this is an upper bound;
* ``tree peak PSS``: the same with shared pages divided among their processes: the memory
  the crawl really took.

The last column is the growth of the tree's peak RSS per 10,000 pages against the smallest
size: flat memory means a figure near zero.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (
    REPO,
    RunResult,
    crawl_env,
    failed,
    machine,
    replica,
    run_measured,
    setting_arg,
    smn_command,
    table,
)


def _sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from None
    if not sizes or sizes[0] < 0:
        raise argparse.ArgumentTypeError("sizes are integers >= 0")
    return sizes


def crawl(size: int, settings: dict[str, str], timeout: float) -> RunResult:
    with replica(size) as rep, tempfile.TemporaryDirectory(prefix="smn-bench-mem-") as out:
        command = smn_command(Path(out) / "articles", settings)
        return run_measured(
            command, env=crawl_env(rep), cwd=REPO, timeout=timeout, interval=0.5, with_pss=True
        )


def report(results: list[tuple[int, RunResult]]) -> str:
    rows = []
    base_pages, base_rss = 0, 0.0
    for n, (size, r) in enumerate(results):
        u = r.usage
        if n == 0:
            base_pages, base_rss = r.pages, u.tree_peak_rss_mb
        growth = (
            (u.tree_peak_rss_mb - base_rss) / (r.pages - base_pages) * 10_000
            if n and r.pages > base_pages
            else 0.0
        )
        rows.append(
            [
                f"{size:,} articles",
                r.pages,
                int(r.stat("parquet/rows_written")),
                r.wall_s,
                u.main_hwm_mb,
                u.children_peak_rss_mb,
                u.tree_peak_rss_mb,
                u.tree_peak_pss_mb,
                u.processes,
                growth if n else "-",
            ]
        )
    return table(
        [
            "replica",
            "pages",
            "rows",
            "wall s",
            "main peak MB",
            "workers peak MB",
            "tree peak RSS MB",
            "tree peak PSS MB",
            "procs",
            "MB per 10k pages",
        ],
        rows,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Peak RSS of scrapy crawl smn (and its extraction workers) by crawl size."
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=[5000, 20000, 50000],
        help="synthetic articles per crawl, comma-separated (default 5000,20000,50000)",
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="SMN_EXTRACT_WORKERS (0 = one per core)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=64, help="CONCURRENT_REQUESTS(_PER_DOMAIN)"
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per crawl")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        type=setting_arg,
        metavar="NAME=VALUE",
        help="an extra Scrapy setting for the crawls (repeatable)",
    )
    args = parser.parse_args(argv)
    settings = {
        "SMN_EXTRACT_WORKERS": str(args.workers),
        "CONCURRENT_REQUESTS": str(args.concurrency),
        "CONCURRENT_REQUESTS_PER_DOMAIN": str(args.concurrency),
        **dict(args.set),
    }
    print(f"machine: {machine()}")
    results: list[tuple[int, RunResult]] = []
    for size in args.sizes:
        result = crawl(size, settings, args.timeout)
        if result.returncode != 0:
            print(failed(result, f"crawl of {size} articles"), file=sys.stderr)
        results.append((size, result))
        print(
            f"  {size:,} articles: {result.pages:,} pages in {result.wall_s:.0f} s, "
            f"tree peak RSS {result.usage.tree_peak_rss_mb:.0f} MB",
            flush=True,
        )
    print()
    print(report(results))
    return 0 if all(r.returncode == 0 for _, r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
