"""Fault handlers for the replica: what a hostile or broken web server does to a crawler.

Each function returns a :data:`~replica.app.Handler` for ``ReplicaHandle.add_route(host,
path, handler)``; the page helpers at the end build bodies for them (a page with extra
links, a mangled copy of a real page). The tests (``tests/test_faults.py``,
``tests/test_security.py``) inject them on article and feed URLs and check what the crawl
made of them; ``docs/faults.md`` says what each does to a run.

Handlers run on the replica's server threads: they may block (a stalled server) and must be
thread-safe (``flaky`` counts under a lock).
"""

from __future__ import annotations

import random
import socket
import struct
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from functools import cache
from html import escape
from http.server import BaseHTTPRequestHandler
from types import FrameType

from replica.app import Handler, Request, Response

HTML = "text/html; charset=iso-8859-1"
MiB = 1024 * 1024


def serve(body: bytes, content_type: str = HTML, status: int = 200) -> Handler:
    """Always this body (a fixed page: a section page with extra links, a mangled article)."""

    def handler(request: Request) -> Response:
        # compressible: served gzipped like the replica's own pages when the client asks
        return Response(status, [("Content-Type", content_type)], body, compressible=True)

    return handler


# -- no answer in time -------------------------------------------------------------------


def stall(seconds: float) -> Handler:
    """Say nothing for ``seconds``, then send the normal page: past a short
    DOWNLOAD_TIMEOUT the client has given up long before."""

    def handler(request: Request) -> None:
        time.sleep(seconds)

    return handler


def trickle(total: int = 4096, interval: float = 0.5) -> Handler:
    """Answer at once, then send the body one 64-byte chunk per ``interval``: every read
    makes progress, only the whole download's deadline stops it."""

    head = b"<html><body>"
    count = max(total - len(head), 0) // 64

    def chunks() -> Iterator[bytes]:
        for _ in range(count):
            time.sleep(interval)
            yield b" " * 64

    def handler(request: Request) -> Response:
        headers = [("Content-Type", HTML), ("Content-Length", str(len(head) + 64 * count))]
        return Response(200, headers, head, stream=chunks())

    return handler


# -- broken connections ------------------------------------------------------------------


def reset() -> Handler:
    """Drop the connection with a TCP reset (RST) instead of answering."""

    def handler(request: Request) -> None:
        connection = _current_connection()
        if connection is not None:
            # SO_LINGER 0: closing the socket sends RST rather than a polite FIN.
            linger = struct.pack("ii", 1, 0)
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        # The server treats a ConnectionError as the client's doing: it closes the
        # connection without a word or a traceback.
        raise ConnectionResetError("fault injected: connection reset")

    return handler


def _current_connection() -> socket.socket | None:
    """The socket of the request being handled on this thread. Handlers only get the
    parsed request; the server's request handler, up the stack, holds the connection (the
    TLS socket inside a CONNECT tunnel)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        owner = frame.f_locals.get("self")
        if isinstance(owner, BaseHTTPRequestHandler):
            connection = owner.connection
            return connection if isinstance(connection, socket.socket) else None
        frame = frame.f_back
    return None


def truncated(body: bytes, keep: float = 0.5) -> Handler:
    """Declare the whole body's Content-Length, send only its first ``keep`` share, then
    close the connection."""
    part = body[: int(len(body) * keep)]

    def handler(request: Request) -> Response:
        headers = [("Content-Type", HTML), ("Content-Length", str(len(body)))]
        return Response(200, headers, part, close=True)

    return handler


# -- status codes and redirects ------------------------------------------------------------


def status(code: int, body: bytes = b"") -> Handler:
    """Always answer ``code`` (a 500 that never goes away)."""

    def handler(request: Request) -> Response:
        return Response(code, [("Content-Type", HTML)], body or f"<h1>{code}</h1>".encode())

    return handler


def flaky(code: int = 503, failures: int = 1) -> Handler:
    """Answer ``code`` to the first ``failures`` requests, then the normal page."""
    lock = threading.Lock()
    seen = 0

    def handler(request: Request) -> Response | None:
        nonlocal seen
        with lock:
            seen += 1
            failing = seen <= failures
        if not failing:
            return None
        headers = [("Content-Type", HTML), ("Retry-After", "0")]
        return Response(code, headers, f"<h1>{code}</h1>".encode())

    return handler


def redirect(location: str, code: int = 302) -> Handler:
    """Send the client to ``location`` (off the network, or the other half of a loop)."""

    def handler(request: Request) -> Response:
        return _redirection(location, code)

    return handler


def redirect_loop(code: int = 302) -> Handler:
    """Redirect every request for the URL to itself, for ever."""

    def handler(request: Request) -> Response:
        return _redirection(request.url, code)

    return handler


def _redirection(location: str, code: int) -> Response:
    body = f'<a href="{escape(location)}">moved</a>'.encode()
    return Response(code, [("Location", location), ("Content-Type", HTML)], body)


# -- bodies ------------------------------------------------------------------------------


def empty(content_type: str = HTML) -> Handler:
    """200 with an empty body."""
    return serve(b"", content_type)


def binary(size: int = 64 * 1024, seed: int = 0, content_type: str = HTML) -> Handler:
    """200 with ``size`` random bytes, declared as HTML."""
    return serve(random.Random(seed).randbytes(size), content_type)


def huge(size: int = 30 * MiB, *, declare_length: bool = True) -> Handler:
    """A page of ``size`` bytes, streamed in 64 KiB chunks (never held in memory). Without
    ``declare_length`` no Content-Length is sent and the end is the connection's close, so
    only the bytes counted as they arrive can stop the client."""
    chunk = b"<p>" + b"x" * (64 * 1024 - 7) + b"</p>\n"

    def chunks() -> Iterator[bytes]:
        for _ in range(size // len(chunk)):
            yield chunk

    def handler(request: Request) -> Response:
        headers = [("Content-Type", HTML)]
        if declare_length:
            headers.append(("Content-Length", str(size // len(chunk) * len(chunk) + 12)))
        return Response(200, headers, b"<html><body>", stream=chunks(), close=True)

    return handler


def gzip_bomb(decompressed: int = 64 * MiB) -> Handler:
    """``Content-Encoding: gzip`` with a small body (about a thousandth of ``decompressed``)
    that inflates to ``decompressed`` bytes of HTML."""
    body = _bomb(decompressed)

    def handler(request: Request) -> Response:
        headers = [("Content-Type", HTML), ("Content-Encoding", "gzip")]
        return Response(200, headers, body)

    return handler


@cache
def _bomb(size: int) -> bytes:
    # Compressed a block at a time: the inflated bytes never exist in the replica either.
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # 16+: gzip framing
    block = b" " * MiB
    parts = [packer.compress(b"<html><body><p>")]
    parts += [packer.compress(block) for _ in range(size // MiB)]
    parts.append(packer.flush())
    return b"".join(parts)


_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
"""
# Billion laughs: ten levels of entities, 10^9 "lol"s (3 GB) if a parser expands them.
XML_BOMB = _LAUGHS + b"<lolz>&lol9;</lolz>\n"
"""The classic payload: its root is no feed element."""
FEED_SHAPED_XML_BOMB = (
    _LAUGHS
    + b'<rss version="2.0"><channel><title>&lol9;</title>\n'
    + b"<item><title>&lol9;</title><link>&lol9;</link></item></channel></rss>\n"
)
"""The same entities inside an RSS document: defused, it reads as a feed without links."""


def xml_bomb(*, feed_shaped: bool = False) -> Handler:
    """Billion laughs where a feed should be, as the classic feeds' ``text/xml``."""
    return serve(FEED_SHAPED_XML_BOMB if feed_shaped else XML_BOMB, "text/xml")


# -- page helpers --------------------------------------------------------------------------


def with_links(page: bytes, urls: list[str]) -> bytes:
    """``page`` with a link to each of ``urls`` before ``</body>`` (or at the end)."""
    links = "".join(f'<p><a href="{escape(u)}">{escape(u)}</a></p>\n' for u in urls).encode()
    at = page.rfind(b"</body>")
    return page[:at] + links + page[at:] if at >= 0 else page + links


# Inserted into a real article: the parser must recover around them, and the article's
# body (between the classic layout's comments) must come through whole.
_GARBAGE = bytes(range(0x80, 0x100)) + b"\x00\x01\x02\x1b[0m\xef\xbb\xbf\xff\xfe"
_UNCLOSED = b'<div class="x"><table><tr><td><b><i><span><font size="2"><ul><li>'


def malformed(page: bytes, stray_end_before: bytes = b"<h1") -> bytes:
    """A real page made hostile: garbage bytes (NUL, control, invalid UTF-8) and a run of
    unclosed tags right after ``<body>``, a stray ``</body></html>`` in the middle, just
    before the first ``stray_end_before`` (the headline by default), and garbage after the
    end."""
    out = page
    body = out.find(b"<body")
    if body >= 0:
        end = out.find(b">", body) + 1
        out = out[:end] + _GARBAGE + _UNCLOSED + out[end:]
    at = out.find(stray_end_before)
    if at >= 0:
        out = out[:at] + b"</body></html>\n" + _GARBAGE + out[at:]
    return out + b"<div><p>trailing garbage " + _GARBAGE
