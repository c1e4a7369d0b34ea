"""Running ``scrapy crawl smn`` against the replica, as a user would, for the tests."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from replica.server import ReplicaHandle

REPO = Path(__file__).resolve().parents[2]
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

    @property
    def last_line(self) -> str:
        """The last line of output: the run's outcome (``OK: ...``/``FAILED (code N): ...``)."""
        lines = self.output.rstrip().splitlines()
        return lines[-1] if lines else ""


def crawl_command(
    handle: ReplicaHandle,
    dataset: Path,
    *args: str,
    settings: dict[str, str] | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of ``scrapy crawl smn`` through the replica's proxy."""
    command = [sys.executable, "-m", "scrapy", "crawl", "smn", *args]
    for key, value in {**FAST, "SMN_OUTPUT": str(dataset), **(settings or {})}.items():
        command += ["-s", f"{key}={value}"]
    env = {**os.environ, **handle.proxy_env(), "PYTHONPATH": str(REPO)}
    return command, env


def crawl(
    handle: ReplicaHandle,
    dataset: Path,
    *args: str,
    settings: dict[str, str] | None = None,
    timeout: float = 300,
) -> CrawlRun:
    """Run ``scrapy crawl smn`` through the replica's proxy into ``dataset``."""
    command, env = crawl_command(handle, dataset, *args, settings=settings)
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    return CrawlRun(done.returncode, done.stdout + done.stderr, dataset)


class RunningCrawl:
    """A crawl started in the background; its output goes to a file (a pipe left unread
    would fill up and stall the crawl)."""

    def __init__(
        self,
        handle: ReplicaHandle,
        dataset: Path,
        log: Path,
        *args: str,
        settings: dict[str, str] | None = None,
    ) -> None:
        command, env = crawl_command(handle, dataset, *args, settings=settings)
        self.dataset = dataset
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait(self, timeout: float = 300) -> CrawlRun:
        returncode = self.process.wait(timeout=timeout)
        return CrawlRun(returncode, self.log.read_text(errors="replace"), self.dataset)
