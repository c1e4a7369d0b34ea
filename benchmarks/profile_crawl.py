"""Where an end-to-end ``scrapy crawl smn`` spends its CPU, on the scaled replica.

    python benchmarks/profile_crawl.py [--pages 3000] [--rate 100] [--top 20]

Runs the replica (its own process) and one crawl, politeness off, under py-spy (sampling
the crawler and its extraction workers: ``pip install py-spy``; it is not a project
dependency), then prints:

* samples per process kind (crawler process, extraction workers, other children);
* the crawler process's self time by owner: our code (crawler/, pipelines/), Scrapy,
  Twisted, asyncio, the process pool's plumbing (multiprocessing, concurrent.futures),
  pyarrow, lxml, and the rest of the standard library;
* the top functions by self time and, for our own code, by inclusive time, in the crawler
  process and in the workers.

Threads blocked in a wait (select, a lock, a condition) are counted apart as "waiting".
Without py-spy (or with --cprofile) the crawl runs under cProfile instead, which sees the
crawler process only (the workers are separate processes), and the top functions by
cumulative and internal time are printed.
"""

from __future__ import annotations

import argparse
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import PYTHON, REPO, crawl_env, machine, replica, smn_command, table

# Leaf frames of a thread blocked in the kernel: (function name, file) pairs.
WAITS = frozenset(
    {
        ("select", "selectors.py"),
        ("wait", "threading.py"),
        ("_wait_for_tstate_lock", "threading.py"),
        ("__enter__", "multiprocessing/synchronize.py"),
        ("wait", "multiprocessing/connection.py"),
        ("_recv", "multiprocessing/connection.py"),
        ("_send", "multiprocessing/connection.py"),
    }
)
OWNERS: tuple[tuple[str, str], ...] = (
    ("crawler/", "ours: crawler/"),
    ("pipelines/", "ours: pipelines/"),
    ("benchmarks/", "ours: benchmarks/"),
    ("scrapy/", "scrapy"),
    ("twisted/", "twisted"),
    ("asyncio/", "asyncio"),
    ("multiprocessing/", "process pool plumbing"),
    ("concurrent/", "process pool plumbing"),
    ("pyarrow/", "pyarrow"),
    ("lxml/", "lxml"),
    ("trafilatura/", "trafilatura/justext"),
    ("justext/", "trafilatura/justext"),
    ("OpenSSL/", "TLS (pyOpenSSL)"),
    ("w3lib/", "w3lib"),
    ("itemadapter/", "itemadapter"),
)
_LINE = re.compile(r":\d+\)$")


def is_wait(frame: str) -> bool:
    name, _, location = frame.partition(" (")
    return (name.rsplit(".", 1)[-1], location.split(":")[0].rstrip(")")) in WAITS


def owner(frame: str) -> str:
    location = frame.rsplit("(", 1)[-1]
    for prefix, name in OWNERS:
        if location.startswith(prefix):
            return name
    return "stdlib / other"


@dataclass
class Group:
    """Samples of one kind of process."""

    samples: int = 0
    waiting: int = 0
    self_time: Counter[str] = field(default_factory=Counter)
    inclusive: Counter[str] = field(default_factory=Counter)
    owners: Counter[str] = field(default_factory=Counter)


def parse_raw(path: Path) -> dict[str, Group]:
    """py-spy's raw (collapsed stack) output, grouped by process kind."""
    groups: dict[str, Group] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        starts = [i for i, f in enumerate(frames) if f.startswith("process ")]
        innermost = starts[-1] if starts else 0
        frames = [_LINE.sub(")", f) for f in frames[innermost + 1 :]]
        if innermost == 0:
            kind = "crawler process"
        elif any(f.startswith("_process_worker ") for f in frames):
            kind = "extraction workers"
        else:
            kind = "other children (fork server, start-up)"
        group = groups.setdefault(kind, Group())
        group.samples += count
        if not frames:
            continue
        leaf = frames[-1]
        if is_wait(leaf):
            group.waiting += count
            continue
        group.self_time[leaf] += count
        group.owners[owner(leaf)] += count
        for frame in set(frames):
            group.inclusive[frame] += count
    return groups


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "-"


def report_pyspy(groups: dict[str, Group], rate: int, top: int) -> None:
    print(
        table(
            ["process kind", "thread samples", "thread seconds", "of which waiting"],
            [
                [kind, g.samples, g.samples / rate, _pct(g.waiting, g.samples)]
                for kind, g in sorted(groups.items(), key=lambda kv: -kv[1].samples)
            ],
        )
    )
    for kind in ("crawler process", "extraction workers"):
        g = groups.get(kind)
        if g is None:
            continue
        busy = g.samples - g.waiting
        print()
        print(f"== {kind}: {busy / rate:.1f} s busy; self time by owner")
        print(
            table(
                ["owner", "share of busy"],
                [[name, _pct(n, busy)] for name, n in g.owners.most_common()],
            )
        )
        print()
        print(f"== {kind}: top {top} functions by self time")
        print(
            table(
                ["function", "self"],
                [[f, _pct(n, busy)] for f, n in g.self_time.most_common(top)],
            )
        )
        ours = [
            (f, n) for f, n in g.inclusive.most_common() if owner(f).startswith("ours") and n < busy
        ][:top]
        print()
        print(f"== {kind}: our functions by inclusive time")
        print(table(["function", "inclusive"], [[f, _pct(n, busy)] for f, n in ours]))


def report_cprofile(path: Path, top: int) -> None:
    stats = pstats.Stats(str(path))
    for key, title in (("tottime", "internal"), ("cumulative", "cumulative")):
        print()
        print(f"== crawler process: top {top} functions by {title} time (cProfile)")
        stats.sort_stats(key).print_stats(top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Profile an end-to-end scrapy crawl smn on the replica (py-spy or cProfile)."
    )
    parser.add_argument("--pages", type=int, default=3000, help="synthetic articles served")
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=20, help="functions listed per table")
    parser.add_argument("--workers", type=int, default=0, help="SMN_EXTRACT_WORKERS")
    parser.add_argument("--cprofile", action="store_true", help="use cProfile even with py-spy")
    parser.add_argument("--keep", type=Path, help="save the raw profile to this file")
    parser.add_argument("--timeout", type=float, default=900, help="seconds for the crawl")
    args = parser.parse_args(argv)
    py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(PYTHON).parent))
    use_pyspy = py_spy is not None and not args.cprofile
    print(f"machine: {machine()}")
    print(f"profiler: {'py-spy ' + str(args.rate) + ' Hz' if use_pyspy else 'cProfile'}")
    with replica(args.pages) as rep, tempfile.TemporaryDirectory(prefix="smn-prof-") as tmp:
        out = Path(tmp)
        crawl = smn_command(out / "articles", {"SMN_EXTRACT_WORKERS": str(args.workers)})
        raw = out / ("profile.txt" if use_pyspy else "profile.pstats")
        if use_pyspy:
            assert py_spy is not None
            command = [
                py_spy,
                "record",
                "--format",
                "raw",
                "--subprocesses",
                "--rate",
                str(args.rate),
                "--output",
                str(raw),
                "--",
                *crawl,
            ]
        else:
            # the scrapy script (or "-m scrapy") under cProfile, in this interpreter
            target = crawl[1:] if crawl[0] == PYTHON else crawl
            command = [PYTHON, "-m", "cProfile", "-o", str(raw), *target]
        done = subprocess.run(
            command,
            cwd=REPO,
            env=crawl_env(rep),
            capture_output=True,
            text=True,
            timeout=args.timeout,
        )
        if done.returncode != 0 or not raw.exists():
            print(done.stdout[-3000:] + done.stderr[-3000:], file=sys.stderr)
            return 1
        pages = re.search(r"'downloader/response_count': (\d+)", done.stdout + done.stderr)
        print(f"crawl: {pages.group(1) if pages else '?'} pages")
        if args.keep:
            shutil.copyfile(raw, args.keep)
        print()
        if use_pyspy:
            report_pyspy(parse_raw(raw), args.rate, args.top)
        else:
            report_cprofile(raw, args.top)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
