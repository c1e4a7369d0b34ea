"""Running ``scrapy reextract`` as a user would, for the tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.crawl_run import FAST, REPO, CrawlRun


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
