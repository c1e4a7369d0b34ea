"""Running ``scrapy reextract`` as a user would, for the tests; the crawl it re-extracts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.network.urls import url_key
from replica.server import ReplicaHandle
from tests.support.crawl_run import FAST, REPO, CrawlRun, crawl_command
from tests.support.marked_work import MARKER_ENV
from tests.support.warc import published_rows

MARKER = "Desert_Crew"
"""A marsdaily.com article of April 2013: the crawl's extractor cannot read it."""
UNREADABLE = "tests.support.marked_work.unreadable_marked"
REWORDED = "tests.support.marked_work.reworded_marked"


@dataclass
class Crawled:
    root: Path
    rows: list[dict[str, Any]]

    @property
    def dataset(self) -> Path:
        return self.root / "articles"

    @property
    def crawl_id(self) -> str:
        return self.rows[0]["crawl_id"]


def crawl_for_reextract(replica: ReplicaHandle, root: Path) -> Crawled:
    """A crawl of the replica into ``root/articles`` (its archive in ``root/warc``) by an
    extractor that cannot read the :data:`MARKER` page: today's extractor gains it."""
    command, env = crawl_command(
        replica,
        root / "articles",
        # publishes mid-run too: the archive has more than one WARC file
        settings={"SMN_EXTRACT_WORK": UNREADABLE, "SMN_PUBLISH_INTERVAL_SECONDS": "1"},
    )
    done = subprocess.run(
        command, cwd=REPO, env={**env, MARKER_ENV: MARKER}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = published_rows(root / "articles")
    assert rows and not any(MARKER in row["url"] for row in rows)
    return Crawled(root, rows)


def by_key(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    keyed = {url_key(row["canonical_url"] or row["url"]): row for row in rows}
    assert len(keyed) == len(rows), "a page has two rows"
    return keyed


def without(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in names}


def report_of(run_output: str) -> dict[str, Any]:
    """The run report a run's summary names (``report: PATH``)."""
    line = next(x for x in run_output.splitlines() if x.strip().startswith("report: "))
    return json.loads(Path(line.split("report: ", 1)[1].strip()).read_text())


def reextract_command(
    dataset: Path,
    *args: str,
    settings: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
) -> tuple[list[str], dict[str, str]]:
    command = [sys.executable, "-m", "scrapy", "reextract", *args]
    for key, value in {**FAST, "SMN_OUTPUT": str(dataset), **(settings or {})}.items():
        command += ["-s", f"{key}={value}"]
    return command, {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}


def reextract(
    dataset: Path,
    *args: str,
    settings: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> CrawlRun:
    """``scrapy reextract ARGS`` of the dataset at ``dataset`` (its archive beside it)."""
    command, environment = reextract_command(dataset, *args, settings=settings, env=env)
    done = subprocess.run(
        command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=timeout
    )
    return CrawlRun(done.returncode, done.stdout + done.stderr, dataset)
