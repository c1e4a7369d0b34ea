"""Running ``scrapy crawl smn`` against the replica, as a user would, for the tests."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from replica.server import ReplicaHandle

REPO = Path(__file__).resolve().parents[1]
# Politeness off: the replica is local and the tests want speed, not manners.
FAST = {
    "AUTOTHROTTLE_ENABLED": "0",
    "DOWNLOAD_DELAY": "0",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "SMN_EXTRACT_WORKERS": "2",
    "LOG_LEVEL": "INFO",
}


@dataclass
class CrawlRun:
    returncode: int
    output: str
    """stdout and stderr of the crawl."""
    dataset: Path


def crawl(
    handle: ReplicaHandle,
    dataset: Path,
    *args: str,
    settings: dict[str, str] | None = None,
    timeout: float = 300,
) -> CrawlRun:
    """Run ``scrapy crawl smn`` through the replica's proxy into ``dataset``."""
    command = [sys.executable, "-m", "scrapy", "crawl", "smn", *args]
    for key, value in {**FAST, "SMN_OUTPUT": str(dataset), **(settings or {})}.items():
        command += ["-s", f"{key}={value}"]
    env = {**os.environ, **handle.proxy_env(), "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    return CrawlRun(done.returncode, done.stdout + done.stderr, dataset)
