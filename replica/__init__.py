"""A local replica of the Space Media Network, for testing and benchmarking the crawler.

``python -m replica.server`` serves it (as an HTTP/HTTPS proxy for the network's hosts, or
directly); :func:`serve_replica` runs it in a thread for tests; :func:`manifest` says what a
correct crawl of it finds. See README.md in this directory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from replica.app import Handler, Request, RequestRecord, Response, from_direct
from replica.network import canonical_url
from replica.oracle import ArticleEntry, Manifest, manifest
from replica.synth import DEFAULT_SEED

if TYPE_CHECKING:
    from replica.server import ReplicaHandle, serve_replica


def __getattr__(name: str) -> Any:
    # Imported on first use: importing replica.server here would make
    # ``python -m replica.server`` load that module twice (runpy warns about it).
    if name in ("ReplicaHandle", "serve_replica"):
        from replica import server

        return getattr(server, name)
    raise AttributeError(f"module 'replica' has no attribute {name!r}")


__all__ = [
    "DEFAULT_SEED",
    "ArticleEntry",
    "Handler",
    "Manifest",
    "ReplicaHandle",
    "Request",
    "RequestRecord",
    "Response",
    "canonical_url",
    "from_direct",
    "manifest",
    "serve_replica",
]
