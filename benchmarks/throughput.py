"""Crawl throughput: ``scrapy crawl smn`` end to end against two plain Scrapy spiders, on
the replica.

    python benchmarks/throughput.py [--pages 5000] [--workers 0,1] [--concurrency 64]
                                    [--repeat N] [--no-bare] [--no-lean] [--archive]
                                    [--set NAME=VALUE ...]

The replica (``python -m replica.server --scale PAGES``) runs as its own process and is
reached as a proxy, as in production. Each crawl is a subprocess with politeness off
(AutoThrottle off, no download delay, CONCURRENT_REQUESTS and _PER_DOMAIN = --concurrency;
robots.txt obeyed by the smn crawl, not by the plain spiders, Scrapy's default):

* ``bare scrapy``: benchmarks/bare_spider.py, Scrapy's defaults, same entry points and
  links, nothing extracted or written;
* ``lean scrapy``: benchmarks/lean_spider.py, the leanest honest baseline, what a user
  writes in a day with Scrapy alone: same entry points, then only article links (and the
  archive pages listing them), found by a regex over the raw bytes and each requested once,
  nothing parsed, extracted or written; Scrapy's defaults but the smn crawl's
  CONCURRENT_ITEMS;
* ``smn, N workers``: ``scrapy crawl smn`` writing its Parquet dataset into a temp dir,
  with ``SMN_EXTRACT_WORKERS=N`` (0 = the default, one per core; 1 = a thread);
  ``--archive``: each also with ``SMN_ARCHIVE=0`` (``no archive``), interleaved, and the
  WARC archive's disk cost per 1,000 pages and per 1,000 articles printed after the table.

Printed per crawl: responses ("pages", robots.txt and redirects included), articles
written, seconds (engine start to close, and the process's wall time), pages per second and
its ratios to the bare and to the lean spider (by crawl seconds, and by wall seconds:
start-up, the pool's start and the pipelines' closing work included), and the CPU seconds
of the crawler process, its extraction workers and the replica server: on a small machine
they share the same cores, so "cores busy" (CPU seconds / wall seconds) says how many cores
were kept busy, and the last column the CPU seconds every other process of the machine
took meanwhile (near zero for clean figures: on a shared machine, other jobs steal the
cores).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (
    REPO,
    ReplicaProcess,
    RunResult,
    bare_command,
    crawl_env,
    failed,
    lean_command,
    machine,
    replica,
    run_measured,
    setting_arg,
    smn_command,
    table,
)


@dataclass
class Measured:
    label: str
    result: RunResult
    replica_cpu_s: float
    warc_bytes: int = 0
    """The published WARC files' size (``.warc.gz``)."""
    index_bytes: int = 0
    """Their indexes' (``.cdxj``)."""

    @property
    def pages_per_s(self) -> float:
        return self.result.pages / self.result.crawl_s if self.result.crawl_s else 0.0


def _workers(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from None
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError("worker counts are >= 0")
    return values


BARE = "bare scrapy"
LEAN = "lean scrapy"


def run_baseline(
    rep: ReplicaProcess, label: str, settings: dict[str, str], timeout: float
) -> Measured:
    """One of the plain Scrapy spiders: ``BARE`` or ``LEAN``."""
    command = bare_command(settings) if label == BARE else lean_command(settings)
    with tempfile.TemporaryDirectory(prefix="smn-bench-plain-") as cwd:
        before = rep.cpu_seconds()
        # Outside the project directory: Scrapy's defaults, not the project's settings.
        result = run_measured(command, env=crawl_env(rep), cwd=Path(cwd), timeout=timeout)
        return Measured(label, result, rep.cpu_seconds() - before)


def _size(directory: Path, pattern: str) -> int:
    return sum(p.stat().st_size for p in directory.rglob(pattern) if not p.name.startswith("."))


def run_smn(
    rep: ReplicaProcess, workers: int, settings: dict[str, str], timeout: float
) -> Measured:
    with tempfile.TemporaryDirectory(prefix="smn-bench-out-") as out:
        before = rep.cpu_seconds()
        command = smn_command(
            Path(out) / "articles", {**settings, "SMN_EXTRACT_WORKERS": str(workers)}
        )
        result = run_measured(command, env=crawl_env(rep), cwd=REPO, timeout=timeout)
        label = (
            f"smn, {workers or len(os.sched_getaffinity(0))} worker{'s' if workers != 1 else ''}"
        )
        if workers == 0:
            label += " (default)"
        elif workers == 1:
            label = "smn, 1 thread"
        if settings.get("SMN_ARCHIVE") == "0":
            label += ", no archive"
        warc = Path(out) / "warc"
        return Measured(
            label,
            result,
            rep.cpu_seconds() - before,
            _size(warc, "*.warc.gz"),
            _size(warc, "*.cdxj"),
        )


def archive_cost(runs: list[Measured]) -> str:
    """The archive's disk cost of each archiving run."""
    lines = []
    for m in runs:
        if not m.warc_bytes:
            continue
        pages, articles = m.result.pages, int(m.result.stat("parquet/rows_written"))
        mb = 1e6
        lines.append(
            f"{m.label}: WARC {m.warc_bytes / mb:.1f} MB + index {m.index_bytes / mb:.2f} MB for"
            f" {pages:,} pages ({m.warc_bytes / pages * 1000 / mb:.1f} MB +"
            f" {m.index_bytes / pages * 1000 / mb:.2f} MB per 1,000 pages;"
            f" {(m.warc_bytes + m.index_bytes) / max(articles, 1) * 1000 / mb:.1f} MB per 1,000"
            " articles)"
        )
    return "\n".join(lines)


def median(runs: list[Measured]) -> Measured:
    """The run with the median pages/s (the lower middle one of an even count)."""
    ordered = sorted(runs, key=lambda m: m.pages_per_s)
    return ordered[(len(ordered) - 1) // 2]


def _wall_rate(m: Measured) -> float:
    return m.result.pages / m.result.wall_s if m.result.wall_s else 0.0


def _ratios(m: Measured, base: Measured | None) -> tuple[float | str, float | str]:
    """Pages/s of ``m`` over the baseline's, by crawl and by wall seconds ("-" without it)."""
    if base is None:
        return "-", "-"
    crawl = m.pages_per_s / base.pages_per_s if base.pages_per_s else 0.0
    wall = _wall_rate(m) / _wall_rate(base) if _wall_rate(base) else 0.0
    return crawl, wall


def report(runs: list[Measured]) -> str:
    bare = next((m for m in runs if m.label == BARE), None)
    lean = next((m for m in runs if m.label == LEAN), None)
    rows = []
    for m in runs:
        r = m.result
        ratio, wall_ratio = _ratios(m, bare)
        lean_ratio, lean_wall_ratio = _ratios(m, lean)
        cpu = r.usage.main_cpu_s + r.usage.children_cpu_s + m.replica_cpu_s
        others = max(0.0, r.machine_busy_s - cpu)
        rows.append(
            [
                m.label,
                r.pages,
                int(r.stat("parquet/rows_written")),
                r.crawl_s,
                r.wall_s,
                m.pages_per_s,
                ratio,
                wall_ratio,
                lean_ratio,
                lean_wall_ratio,
                r.usage.main_cpu_s,
                r.usage.children_cpu_s,
                m.replica_cpu_s,
                cpu / r.wall_s if r.wall_s else 0.0,
                others,
            ]
        )
    return table(
        [
            "crawl",
            "pages",
            "articles",
            "crawl s",
            "wall s",
            "pages/s",
            "vs bare",
            "vs bare (wall)",
            "vs lean",
            "vs lean (wall)",
            "crawler cpu s",
            "workers cpu s",
            "replica cpu s",
            "cores busy",
            "others cpu s",
        ],
        rows,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Crawl throughput of scrapy crawl smn against plain Scrapy spiders on the"
        " replica."
    )
    parser.add_argument(
        "--pages", type=int, default=5000, help="synthetic articles the replica serves"
    )
    parser.add_argument(
        "--workers",
        type=_workers,
        default=[0, 1],
        help="SMN_EXTRACT_WORKERS values to run, comma-separated (0 = one per core)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=64, help="CONCURRENT_REQUESTS(_PER_DOMAIN)"
    )
    parser.add_argument("--no-bare", action="store_true", help="skip the bare Scrapy baseline")
    parser.add_argument("--no-lean", action="store_true", help="skip the lean Scrapy baseline")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="crawls per configuration, interleaved; the median (by pages/s) is shown",
    )
    parser.add_argument(
        "--archive",
        action="store_true",
        help="each smn crawl also with SMN_ARCHIVE=0; print the archive's disk cost",
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds per crawl")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        type=setting_arg,
        metavar="NAME=VALUE",
        help="an extra Scrapy setting for the smn crawls (repeatable)",
    )
    args = parser.parse_args(argv)
    settings = {
        "CONCURRENT_REQUESTS": str(args.concurrency),
        "CONCURRENT_REQUESTS_PER_DOMAIN": str(args.concurrency),
    }
    smn_settings = {**settings, **dict(args.set)}
    print(f"machine: {machine()}")
    print(f"replica: --scale {args.pages}, its own process; crawls through it as a proxy")
    trials: list[list[Measured]] = []
    with replica(args.pages) as rep:
        for _ in range(max(1, args.repeat)):
            # Interleaved (bare, lean, smn, smn, bare, ...): a machine that slows down
            # mid-run slows every configuration alike.
            baselines = [b for b, off in ((BARE, args.no_bare), (LEAN, args.no_lean)) if not off]
            trial = [run_baseline(rep, b, settings, args.timeout) for b in baselines]
            for workers in args.workers:
                trial.append(run_smn(rep, workers, smn_settings, args.timeout))
                if args.archive:
                    off = {**smn_settings, "SMN_ARCHIVE": "0"}
                    trial.append(run_smn(rep, workers, off, args.timeout))
            trials.append(trial)
    runs = [median(list(same)) for same in zip(*trials, strict=True)]
    for m in runs:
        if m.result.returncode != 0:
            print(failed(m.result, m.label), file=sys.stderr)
    print()
    print(report(runs))
    cost = archive_cost(runs)
    if cost:
        print()
        print(cost)
    return 0 if all(m.result.returncode == 0 for m in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
