"""Helpers for tests that crawl the replica: its pages' bodies and paths, and the memory of
a running crawl's process tree."""

from __future__ import annotations

import time
from pathlib import Path

from replica.server import ReplicaHandle
from tests.support.crawl_run import RunningCrawl

MB = 1024 * 1024

PEAK_MEMORY_LIMIT = 500 * MB


def split(url: str) -> tuple[str, str]:
    host, _, path = url.split("://", 1)[1].partition("/")
    return host, "/" + path


def page_body(replica: ReplicaHandle, url: str) -> bytes:
    page = replica.app.catalog.get(*split(url))
    assert page is not None, url
    return page.body


def descendants(pid: int) -> set[int]:
    """``pid`` and every process below it (the forkserver and the extraction workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = _parent(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        found.add(current)
        todo += children.get(current, [])
    return found


def peak_rss(pid: int) -> int | None:
    """VmHWM (peak resident set) of a live process, in bytes."""
    status = _proc(pid, "status")
    if status is None:
        return None
    for line in status.decode().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


def watch_memory(running: RunningCrawl, timeout: float = 240) -> dict[int, int]:
    """Poll the peak RSS of the crawl and its workers until it exits: pid -> VmHWM (the
    last value read, which only grows, so the one read just before the process ended).

    A child of the crawler read between its fork and its exec (the forkserver as it starts,
    a short-lived helper) still runs the crawler's program with the crawler's pages: what
    it reads then is the crawler's memory, counted once already. Such a child is skipped
    until it runs its own program (exec starts a new peak). The extraction workers, forks
    of the forkserver that never exec, are counted."""
    peaks: dict[int, int] = {}
    crawler = _program(running.pid)
    deadline = time.monotonic() + timeout
    while running.process.poll() is None:
        assert time.monotonic() < deadline, "the faulty crawl did not finish"
        for pid in descendants(running.pid):
            if pid != running.pid and _parent(pid) == running.pid and _program(pid) == crawler:
                continue
            value = peak_rss(pid)
            if value is not None:
                peaks[pid] = max(value, peaks.get(pid, 0))
        time.sleep(0.05)
    return peaks


def _proc(pid: int, name: str) -> bytes | None:
    """``/proc/<pid>/<name>``; None once the process is gone."""
    try:
        return Path(f"/proc/{pid}/{name}").read_bytes()
    except OSError:
        return None


def _program(pid: int) -> bytes | None:
    return _proc(pid, "cmdline")


def _parent(pid: int) -> int | None:
    stat = _proc(pid, "stat")
    if stat is None:
        return None
    # the command name (field 2) may hold spaces: split after its closing paren
    return int(stat.rsplit(b")", 1)[1].split()[1])
