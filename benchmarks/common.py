"""Shared plumbing of the crawl benchmarks: the replica in its own process, crawls run as
subprocesses and measured from outside (wall time, CPU time and memory of the process tree,
sampled from ``/proc``), Scrapy's stats read back from the crawl's log.

Nothing here is timed against a threshold: the scripts print figures, people judge them.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MB = 1024 * 1024

# Politeness off: the replica is local. Everything else stays at the project's defaults.
FAST_SETTINGS: dict[str, str] = {
    "AUTOTHROTTLE_ENABLED": "0",
    "DOWNLOAD_DELAY": "0",
    "CONCURRENT_REQUESTS": "64",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "64",
    "LOG_LEVEL": "INFO",
    # The run's own progress lines every 60 s are noise here.
    "LOGSTATS_INTERVAL": "0",
}

_STAT_LINE = re.compile(r"^\s*[{ ]'([^']+)': (-?\d+(?:\.\d+)?),?\}?$")


# --------------------------------------------------------------------------- replica


@dataclass
class ReplicaProcess:
    """``python -m replica.server`` running as a separate process."""

    process: subprocess.Popen[str]
    url: str
    scale: int

    def proxy_env(self) -> dict[str, str]:
        return {
            "http_proxy": self.url,
            "https_proxy": self.url,
            "HTTP_PROXY": self.url,
            "HTTPS_PROXY": self.url,
            "no_proxy": "",
            "NO_PROXY": "",
        }

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.process.pid)


@contextmanager
def replica(scale: int) -> Iterator[ReplicaProcess]:
    """Start the replica with ``scale`` synthetic articles; stop it (SIGTERM) afterwards."""
    process = subprocess.Popen(
        [PYTHON, "-m", "replica.server", "--port", "0", "--scale", str(scale), "--quiet"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"(http://\S+)", line)
        if match is None:
            raise RuntimeError(f"replica did not start: {line!r}")
        yield ReplicaProcess(process, match.group(1), scale)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --------------------------------------------------------------------------- /proc


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one live process (0.0 once it is gone)."""
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3): utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def system_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores, all processes) since boot."""
    fields = _read("/proc/stat").splitlines()[0].split()[1:]
    values = [int(v) for v in fields]
    # user nice system idle iowait irq softirq steal (guest time is inside user already)
    busy = values[0] + values[1] + values[2] + sum(values[5:8])
    return busy / CLOCK_TICKS


def _status_kb(pid: int, key: str) -> int:
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith(key):
            return int(line.split()[1])
    return 0


def _pss_kb(pid: int) -> int:
    for line in _read(f"/proc/{pid}/smaps_rollup").splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def descendants(pid: int) -> list[int]:
    """Every live descendant of a process (children of children included)."""
    out: list[int] = []
    stack = [pid]
    while stack:
        current = stack.pop()
        for task in (
            os.listdir(f"/proc/{current}/task") if os.path.isdir(f"/proc/{current}/task") else []
        ):
            children = _read(f"/proc/{current}/task/{task}/children").split()
            for child in children:
                out.append(int(child))
                stack.append(int(child))
    return out


@dataclass
class TreeUsage:
    """Peak memory and CPU time of a process and its descendants, sampled from /proc."""

    main_hwm_mb: float = 0.0
    """VmHWM of the main process: its own peak RSS, exact (kernel-kept)."""
    children_peak_rss_mb: float = 0.0
    """Largest sum of the descendants' RSS seen in one sample (workers, forkserver)."""
    tree_peak_rss_mb: float = 0.0
    """Largest sum of RSS of the whole tree seen in one sample (shared pages counted once
    per process: an upper bound)."""
    tree_peak_pss_mb: float = 0.0
    """Largest sum of PSS of the whole tree in one sample (shared pages split: the real
    memory taken)."""
    processes: int = 0
    """Most processes seen at once in the tree."""
    main_cpu_s: float = 0.0
    children_cpu_s: float = 0.0
    samples: int = 0
    _last_cpu: dict[int, float] = field(default_factory=dict)

    def sample(self, pid: int, with_pss: bool) -> None:
        tree = [pid, *descendants(pid)]
        hwm = _status_kb(pid, "VmHWM:")
        if hwm:
            self.main_hwm_mb = max(self.main_hwm_mb, hwm / 1024)
        rss = [_status_kb(p, "VmRSS:") for p in tree]
        self.children_peak_rss_mb = max(self.children_peak_rss_mb, sum(rss[1:]) / 1024)
        self.tree_peak_rss_mb = max(self.tree_peak_rss_mb, sum(rss) / 1024)
        if with_pss:
            self.tree_peak_pss_mb = max(self.tree_peak_pss_mb, sum(map(_pss_kb, tree)) / 1024)
        self.processes = max(self.processes, len(tree))
        for p in tree:
            cpu = proc_cpu_seconds(p)
            if cpu:
                self._last_cpu[p] = cpu
        self.main_cpu_s = self._last_cpu.get(pid, 0.0)
        self.children_cpu_s = sum(v for k, v in self._last_cpu.items() if k != pid)
        self.samples += 1


@dataclass
class RunResult:
    """One measured subprocess run."""

    command: list[str]
    returncode: int
    wall_s: float
    output: str
    usage: TreeUsage
    stats: dict[str, float]
    machine_busy_s: float = 0.0
    """CPU seconds the whole machine was busy during the run, every process included."""

    def stat(self, key: str, default: float = 0.0) -> float:
        return self.stats.get(key, default)

    @property
    def pages(self) -> int:
        """Responses downloaded (robots.txt, redirects and errors included, as for any
        crawler: every one cost a request)."""
        return int(self.stat("downloader/response_count"))

    @property
    def crawl_s(self) -> float:
        """Seconds from engine start to close (Scrapy's elapsed_time_seconds): the wall time
        less the interpreter start-up and imports."""
        return self.stat("elapsed_time_seconds", self.wall_s) or self.wall_s


def parse_stats(output: str) -> dict[str, float]:
    """The numeric entries of the "Dumping Scrapy stats" block of a crawl's log."""
    stats: dict[str, float] = {}
    inside = False
    for line in output.splitlines():
        if "Dumping Scrapy stats" in line:
            inside, stats = True, {}
            continue
        if inside:
            match = _STAT_LINE.match(line)
            if match:
                stats[match.group(1)] = float(match.group(2))
            elif line.startswith(" ") or line.startswith("{"):
                continue
            else:
                inside = False
    return stats


def run_measured(
    command: Sequence[str],
    *,
    env: dict[str, str],
    cwd: Path,
    timeout: float,
    interval: float = 0.25,
    with_pss: bool = False,
) -> RunResult:
    """Run a command, sampling its process tree every ``interval`` seconds."""
    usage = TreeUsage()
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as log:
        busy_before = system_busy_seconds()
        start = time.perf_counter()
        process = subprocess.Popen(
            list(command), cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
        done = threading.Event()

        def sampler() -> None:
            while not done.is_set():
                with suppress(OSError, ValueError, IndexError):
                    usage.sample(process.pid, with_pss)
                done.wait(interval)

        thread = threading.Thread(target=sampler, daemon=True)
        thread.start()
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            returncode = process.wait()
        wall = time.perf_counter() - start
        busy = system_busy_seconds() - busy_before
        done.set()
        thread.join()
        log.seek(0)
        output = log.read()
    return RunResult(
        list(command), returncode, wall, output, usage, parse_stats(output), machine_busy_s=busy
    )


def crawl_env(
    replica_process: ReplicaProcess, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """Environment of a crawl subprocess: the replica as its proxy, the repo importable."""
    return {
        **os.environ,
        **replica_process.proxy_env(),
        "PYTHONPATH": str(REPO),
        **(extra or {}),
    }


def setting_arg(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` of a ``--set`` option."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value


def settings_args(settings: dict[str, str]) -> list[str]:
    args: list[str] = []
    for key, value in settings.items():
        args += ["-s", f"{key}={value}"]
    return args


def scrapy_command() -> list[str]:
    """The ``scrapy`` console script beside this interpreter, as a user runs it (else
    ``python -m scrapy``)."""
    script = Path(PYTHON).parent / "scrapy"
    return [str(script)] if script.exists() else [PYTHON, "-m", "scrapy"]


def smn_command(output_dir: Path, settings: dict[str, str] | None = None) -> list[str]:
    """``scrapy crawl smn`` writing its dataset to ``output_dir``, politeness off."""
    merged = {**FAST_SETTINGS, "SMN_OUTPUT": str(output_dir), **(settings or {})}
    return [*scrapy_command(), "crawl", "smn", *settings_args(merged)]


def runspider_command(spider: str, settings: dict[str, str] | None = None) -> list[str]:
    """``scrapy runspider benchmarks/<spider>``, politeness off; run it outside the project
    directory so that Scrapy's defaults, not the project's settings, apply."""
    merged = {**FAST_SETTINGS, **(settings or {})}
    path = REPO / "benchmarks" / spider
    return [*scrapy_command(), "runspider", str(path), *settings_args(merged)]


def bare_command(settings: dict[str, str] | None = None) -> list[str]:
    """``scrapy runspider benchmarks/bare_spider.py``: every link, nothing extracted."""
    return runspider_command("bare_spider.py", settings)


def lean_command(settings: dict[str, str] | None = None) -> list[str]:
    """``scrapy runspider benchmarks/lean_spider.py``: article links only, nothing
    extracted."""
    return runspider_command("lean_spider.py", settings)


def failed(result: RunResult, what: str) -> str:
    tail = "\n".join(result.output.splitlines()[-30:])
    return f"{what} exited {result.returncode}:\n{tail}"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table, numbers right-aligned, the first column left-aligned."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        parts = [
            row[i].ljust(widths[i]) if i == 0 else row[i].rjust(widths[i]) for i in range(len(row))
        ]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def machine() -> str:
    """One line about the machine the figures come from."""
    cores = len(os.sched_getaffinity(0))
    mem = _status_meminfo("MemTotal:")
    return (
        f"{cores} cores, {mem / MB:.1f} GB RAM, Python {sys.version.split()[0]}, "
        f"{os.uname().sysname} {os.uname().release}"
    )


def _status_meminfo(key: str) -> int:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith(key):
            return int(line.split()[1])
    return 0
