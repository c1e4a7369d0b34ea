"""What a no-op incremental run costs as the dataset grows (issue 13: dedup seeded from the
incremental state, not by re-reading the whole dataset every run).

A cron run every few minutes mostly finds nothing new: it fetches the entry points, knows
every article, stores nothing. Such a run should cost the same on a dataset of 5,000 small
files (a few months of cron) as on one of 100. This script crawls the replica once, pads the
dataset to each size with small files of rows like the replica's (copied from the crawl's
own files, with URLs and story hashes of their own), lets one run build the state, then
times no-op ``scrapy crawl smn`` runs against the replica (everything known) on each size.

The baseline of each row is the same code's no-op run on the smallest dataset, in the same
invocation. With ``--before DIR`` (a checkout of the code before, e.g. ``git worktree add
--detach /tmp/smn-before <commit>``) the same runs are timed with that code too, and the
first run of this code on the state the older code left (the one-time fill of what the
state lacked) is reported.

    .venv/bin/python benchmarks/noop_run.py [--sizes 100 5000] [--repeat 3] [--before DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    ReplicaProcess,
    RunResult,
    crawl_env,
    failed,
    machine,
    replica,
    run_measured,
    smn_command,
    table,
)


def crawl(code: Path, output: Path, rp: ReplicaProcess) -> RunResult:
    """One ``scrapy crawl smn`` of the code checked out at ``code`` (its own package first
    on the path), writing ``output``."""
    env = crawl_env(rp, {"PYTHONPATH": str(code)})
    result = run_measured(smn_command(output), env=env, cwd=code, timeout=1800)
    if result.returncode != 0:
        raise SystemExit(failed(result, f"crawl of {output} with {code}"))
    return result


def filler(base: pa.Table, n: int, rows: int) -> pa.Table:
    """``rows`` rows of the crawl's own, as the article ``n`` of a small cron file: URLs
    and story hashes of their own, no copy of anything."""
    picked = base.slice((n * rows) % max(base.num_rows - rows, 1), rows)
    urls = [f"https://www.spacewar.com/reports/archive_{n}_{i}.html" for i in range(rows)]
    hashes = [hashlib.blake2b(u.encode(), digest_size=16).hexdigest() for u in urls]
    out = picked
    for name, values in (("url", urls), ("canonical_url", urls), ("content_hash", hashes)):
        i = out.schema.get_field_index(name)
        out = out.set_column(i, out.schema.field(i), pa.array(values, out.schema.field(i).type))
    i = out.schema.get_field_index("duplicate_of")
    field = out.schema.field(i)
    return out.set_column(i, field, pa.nulls(rows, field.type))


def build(crawled: Path, target: Path, files: int, rows: int) -> None:
    """The crawl's dataset padded to ``files`` files, one small file per cron run and
    month, spread over the months of 25 years."""
    shutil.copytree(crawled, target)
    existing = sorted(target.rglob("*.parquet"))
    base = pa.concat_tables(pq.read_table(p, partitioning=None) for p in existing)
    for n in range(files - len(existing)):
        year, month = 2001 + (n // 12) % 25, n % 12 + 1
        folder = target / f"year={year}" / f"month={month}"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = f"2026{month:02d}{(n % 28) + 1:02d}T{n % 24:02d}0000Z-f{n:05d}"
        pq.write_table(filler(base, n, rows), folder / f"part-{stamp}-00000.parquet")


def median_run(code: Path, output: Path, rp: ReplicaProcess, repeat: int) -> RunResult:
    runs = [crawl(code, output, rp) for _ in range(repeat)]
    for r in runs:
        if r.stat("item_scraped_count") or r.stat("smn/incremental/files_ingested"):
            raise SystemExit(f"not a no-op run on {output}: {r.stats}")
    return sorted(runs, key=lambda r: r.wall_s)[len(runs) // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 5000])
    parser.add_argument("--repeat", type=int, default=3, help="no-op runs per cell (median)")
    parser.add_argument("--rows", type=int, default=3, help="rows per padding file")
    parser.add_argument("--scale", type=int, default=0, help="the replica's extra articles")
    parser.add_argument("--before", type=Path, help="a checkout of the code before")
    args = parser.parse_args()
    codes = [("after", ROOT)]
    if args.before is not None:
        codes.insert(0, ("before", args.before.resolve()))

    print(f"machine: {machine()}")
    print(f"replica: --scale {args.scale}; no-op runs: median of {args.repeat}")
    noop: dict[tuple[str, int], RunResult] = {}
    once: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="noop-run-") as tmp, replica(args.scale) as rp:
        work = Path(tmp)
        first = crawl(ROOT, work / "crawl" / "articles", rp)
        crawled = work / "crawl" / "articles"
        print(
            f"crawl of the replica: {int(first.stat('item_scraped_count'))} articles in "
            f"{len(list(crawled.rglob('*.parquet')))} files; padding files of {args.rows} rows"
        )
        for size in args.sizes:
            # One dataset per code: each code's state is built by its own first run.
            for name, code in codes:
                output = work / f"{name}-{size}" / "articles"
                build(crawled, output, size, args.rows)
                built = crawl(code, output, rp)
                once.append([f"{name}: first run, new state", size, built.wall_s])
                noop[name, size] = median_run(code, output, rp, args.repeat)
            if args.before is not None:
                # This code on the state the older code left: the one-time fill.
                output = work / f"before-{size}" / "articles"
                upgraded = crawl(ROOT, output, rp)
                once.append(
                    [
                        "after: first run on the older state (fill)",
                        size,
                        upgraded.wall_s,
                        int(upgraded.stat("smn/incremental/files_ingested")),
                    ]
                )
                noop["after, upgraded", size] = median_run(ROOT, output, rp, args.repeat)

    smallest = min(args.sizes)
    rows = []
    for (name, size), result in noop.items():
        base = noop[name, smallest]
        rows.append(
            [
                name,
                size,
                result.wall_s,
                result.crawl_s,
                int(result.stat("dedup/seed_rows")),
                result.wall_s / base.wall_s,
                result.crawl_s / base.crawl_s,
            ]
        )
    print()
    print("No-op incremental run (everything known), by dataset size:")
    print(
        table(
            [
                "code",
                "files",
                "wall s",
                "crawl s",
                "rows read by dedup",
                f"wall / {smallest} files",
                f"crawl / {smallest} files",
            ],
            rows,
        )
    )
    print()
    print("Runs that happen once (a new state, or the first run after the upgrade):")
    print(table(["run", "files", "wall s", "files read"], [r + [""] * (4 - len(r)) for r in once]))
    print("(crawl s: Scrapy's elapsed_time_seconds, the wall time less start-up and imports)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
