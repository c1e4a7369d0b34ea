"""Shared fixtures: the replica (one per test module), a private redis-server (one per test
session) and a flushed Redis database per test; and the test kinds as markers, from the
directory a test lives in (``unit``: seconds, no server, no subprocess; ``integration``: a
crawl of the replica, a real server; ``system``: kills, Redis, benchmarks)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from replica.server import ReplicaHandle, serve_replica

KINDS = ("unit", "integration", "system")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        kind = Path(str(item.path)).parent.name
        if kind in KINDS:
            item.add_marker(getattr(pytest.mark, kind))


@pytest.fixture(scope="module")
def replica(request: pytest.FixtureRequest) -> Iterator[ReplicaHandle]:
    """The replica for one test module, at the module's ``REPLICA_SCALE`` (default 0: the
    hand-written pages only)."""
    with serve_replica(scale=getattr(request.module, "REPLICA_SCALE", 0)) as handle:
        yield handle


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a private redis-server (database 0)."""
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        reason = "redis-server is not installed (run scripts/ensure-redis.sh)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{reason}: CI must run the distributed tests")
        pytest.skip(reason)
    port = _free_port()
    directory = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            *(binary, "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no"),
            *("--dir", str(directory), "--logfile", str(directory / "redis.log")),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        client.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def redis_url(redis_server: str) -> Iterator[str]:
    """A flushed database for each test."""
    import redis

    client = redis.Redis.from_url(redis_server)
    client.flushall()
    client.close()
    yield redis_server
