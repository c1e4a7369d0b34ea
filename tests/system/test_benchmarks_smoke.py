"""The benchmark scripts run and print their tables (tiny sizes; no figure is judged)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run(script: str, *args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [sys.executable, f"benchmarks/{script}", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def has_table(output: str, *headers: str) -> bool:
    """A header line naming every column, then a line of dashes."""
    lines = output.splitlines()
    return any(
        all(h in line for h in headers) and set(lines[i + 1].replace(" ", "")) == {"-"}
        for i, line in enumerate(lines[:-1])
    )


@pytest.mark.parametrize(
    "script",
    [
        "extraction.py",
        "throughput.py",
        "memory.py",
        "parquet_write.py",
        "profile_crawl.py",
        "stories.py",
        "noop_run.py",
        "reextract.py",
    ],
)
def test_help(script: str) -> None:
    assert "usage:" in run(script, "--help")


def test_extraction() -> None:
    out = run("extraction.py", "--repeat", "1")
    assert "ratio to trafilatura" in out and "lxml parse alone (floor)" in out


def test_stories() -> None:
    out = run("stories.py", "--repeat", "1")
    assert "precision" in out and "share of extraction" in out and "<- default" in out


def test_throughput() -> None:
    out = run("throughput.py", "--pages", "50", "--workers", "2")
    assert has_table(out, "crawl", "pages", "pages/s", "vs bare", "vs lean")
    assert "bare scrapy" in out and "lean scrapy" in out and "smn, 2 workers" in out


def test_reextract() -> None:
    out = run("reextract.py", "--pages", "60", "--baseline-pages", "20", timeout=300)
    assert has_table(out, "archive", "run", "pages/s", "x baseline", "WARC read (CPU)")
    assert "scrapy reextract" in out and "trafilatura" in out


def test_memory() -> None:
    out = run("memory.py", "--sizes", "50")
    assert has_table(out, "replica", "pages", "main peak MB", "tree peak RSS MB")


def test_parquet_write() -> None:
    out = run("parquet_write.py", "--rows", "100")
    assert has_table(out, "dates", "writer", "rows/s", "vs one table", "bytes/article")
    assert out.count("ParquetDatasetPipeline") == 3


def test_profile_crawl() -> None:
    # cProfile: py-spy is not a project dependency.
    out = run("profile_crawl.py", "--pages", "50", "--cprofile", "--top", "5")
    assert "top 5 functions by cumulative time" in out


def test_compaction() -> None:
    out = run("compaction.py", "--files", "24", "--repeat", "1")
    assert (
        has_table(out, "dataset", "files", "GROUP BY site (s)") and "after `scrapy compact`" in out
    )


def test_publish_lock() -> None:
    out = run("publish_lock.py", "--sizes", "30")
    assert has_table(out, "files", "lock held ms", "x listing", "longest wait ms")
