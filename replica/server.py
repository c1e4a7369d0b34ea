"""The replica's HTTP server: an HTTP proxy for the whole network, and a plain web server.

Reached as a proxy (``http_proxy``/``https_proxy`` pointing here), it answers absolute-URI
requests (``GET http://www.spacewar.com/spacewar.xml``) by host, and opens ``CONNECT`` tunnels
for network hosts, terminating TLS inside with a self-signed certificate. Reached directly,
it routes by the Host header when that names a site, else by a ``/<host>/`` path prefix.

Run ``python -m replica.server [--host H] [--port P] [--scale N] [--seed S] [--quiet]``: the
first line on stdout is ``replica serving on http://H:P``.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import io
import signal
import socket
import socketserver
import ssl
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from replica.app import Handler, ReplicaApp, Request, RequestRecord, Response, Via
from replica.catalog import Catalog
from replica.network import (
    NETWORK_DOMAINS,
    SERVICE_DOMAINS,
    is_own_authority,
    normalise_host,
    with_port,
)
from replica.synth import DEFAULT_SEED
from replica.tls import TlsMaterial, make_tls

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

    from replica.oracle import Manifest

GZIP_MIN_SIZE = 512
ROOT_FILE_SUFFIXES = (".txt", ".xml", ".json", ".ico", ".html")


class _SendallWriter(io.BufferedIOBase):
    """``wfile`` for a TLS socket: every write is sent whole, as socketserver does for TCP."""

    def __init__(self, sock: ssl.SSLSocket) -> None:
        self._sock = sock

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        view = memoryview(data)
        self._sock.sendall(view)
        return view.nbytes


@functools.lru_cache(maxsize=512)
def _gzip(body: bytes) -> bytes:
    # Static pages are the same bytes objects on every request: cache their compressed form.
    return gzip.compress(body, compresslevel=5, mtime=0)


def _accepts_gzip(value: str | None) -> bool:
    if not value:
        return False
    for token in value.lower().split(","):
        name, _, params = token.strip().partition(";")
        if name.strip() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Apache"
    sys_version = ""
    timeout = 120.0
    """Idle keep-alive connections are dropped after this long, so they cannot pin threads."""

    server: ReplicaHTTPServer

    def setup(self) -> None:
        super().setup()
        # Without this, Nagle's algorithm holds small writes until the client's delayed ACK:
        # 40 ms per response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._tunnel_host: str | None = None
        self._tls: ssl.SSLSocket | None = None

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if self._tls is not None:
                with suppress(OSError):
                    self._tls.close()

    def log_message(self, format: str, *args: object) -> None:
        if not self.server.quiet:
            host = self._tunnel_host or ""
            sys.stderr.write(f"{self.address_string()} {host} {format % args}\n")

    # ------------------------------------------------------------------------ CONNECT

    def do_CONNECT(self) -> None:
        authority = self.path
        host, _, port_text = authority.rpartition(":")
        if not host:
            host, port_text = authority, "443"
        host = normalise_host(host)
        port = int(port_text) if port_text.isdigit() else 443
        app = self.server.app
        if not app.tunnel_allowed(with_port(host, port)):
            app.record_refused_tunnel(host, port)
            self._send(
                Response(
                    502,
                    [("Content-Type", "text/plain")],
                    f"CONNECT refused: {host} is not on the network\n".encode(),
                    close=True,
                ),
                head_only=False,
            )
            return
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        self.log_request(200)
        try:
            tls = self.server.tls.context.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            self.close_connection = True
            return
        # From here on the handler's loop reads the tunnelled requests from the TLS stream.
        self._tls = tls
        self.connection = tls
        self.rfile = tls.makefile("rb")
        self.wfile = _SendallWriter(tls)
        self._tunnel_host = host
        self.close_connection = False

    # -------------------------------------------------------------------- other methods

    def do_GET(self) -> None:
        self._serve(head_only=False)

    def do_HEAD(self) -> None:
        self._serve(head_only=True)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self._serve(head_only=False)

    def _serve(self, *, head_only: bool) -> None:
        request = self._request()
        response = self.server.app.respond(request)
        self._send(response, head_only=head_only)

    def _request(self) -> Request:
        target = self.path
        host_header = self.headers.get("Host", "")
        headers = {k.lower(): v for k, v in self.headers.items()}
        scheme = "http"
        via: Via
        if target.startswith(("http://", "https://")):
            parts = urlsplit(target)
            scheme, host = parts.scheme, with_port(normalise_host(parts.netloc), parts.port)
            path, query = parts.path or "/", parts.query
            via = "tunnel" if self._tunnel_host else "proxy"
            if is_own_authority(parts.netloc, self.server.server_port):
                return self._prefixed(parts.netloc, path, query, headers)
        else:
            path, _, query = target.partition("?")
            if self._tunnel_host is not None:
                scheme, via = "https", "tunnel"
                host = normalise_host(host_header) or self._tunnel_host
            else:
                host = normalise_host(host_header)
                if not host or is_own_authority(host_header, self.server.server_port):
                    return self._prefixed(host_header, path, query, headers)
                via = "host-header"
        return Request(self.command, scheme, host, path, query, headers, via)

    def _prefixed(self, authority: str, path: str, query: str, headers: dict[str, str]) -> Request:
        if not authority:
            authority = f"{self.server.server_name}:{self.server.server_port}"
        segments = path.split("/", 2)
        first = segments[1] if len(segments) > 1 else ""
        host, rest = "", path
        # "/www.spacewar.com/..." names a host; "/robots.txt" is the replica's own file.
        if "." in first and not first.lower().endswith(ROOT_FILE_SUFFIXES):
            host = normalise_host(first)
            rest = "/" + (segments[2] if len(segments) > 2 else "")
        return Request(
            self.command, "http", host, rest, query, headers, "prefix", f"http://{authority}"
        )

    def _send(self, response: Response, *, head_only: bool) -> None:
        body = response.body
        headers = list(response.headers)
        if (
            response.compressible
            and response.stream is None
            and len(body) >= GZIP_MIN_SIZE
            and response.header("Content-Encoding") is None
            and _accepts_gzip(self.headers.get("Accept-Encoding"))
        ):
            body = _gzip(body)
            headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
        self.send_response(response.status)
        for name, value in headers:
            self.send_header(name, value)
        if response.stream is None and response.header("Content-Length") is None:
            self.send_header("Content-Length", str(len(body)))
        if response.close:
            self.send_header("Connection", "close")
        self.end_headers()
        if head_only:
            return
        self.wfile.write(body)
        if response.stream is not None:
            for chunk in response.stream:
                self.wfile.write(chunk)
                self.wfile.flush()


class ReplicaHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    request_queue_size = 1024

    def __init__(
        self, address: tuple[str, int], app: ReplicaApp, tls: TlsMaterial, *, quiet: bool
    ) -> None:
        self.app = app
        self.tls = tls
        self.quiet = quiet
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn): a DNS query we neither need
        # nor can rely on without a network.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: object, client_address: object) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, ssl.SSLError, TimeoutError)):
            return  # clients hang up and time out; that is not the replica's fault
        if not self.quiet:
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def build_server(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    scale: int = 0,
    seed: int = DEFAULT_SEED,
    quiet: bool = True,
    log_size: int = 100_000,
) -> ReplicaHTTPServer:
    app = ReplicaApp(Catalog(scale, seed), log_size=log_size)
    tls = make_tls((*NETWORK_DOMAINS, *SERVICE_DOMAINS))
    return ReplicaHTTPServer((host, port), app, tls, quiet=quiet)


class ReplicaHandle:
    """A running replica, for tests: where it listens, what it was asked, and its hooks."""

    def __init__(self, server: ReplicaHTTPServer) -> None:
        self.server = server
        self.app = server.app
        self.host = str(server.server_address[0])
        self.port = int(server.server_address[1])
        self.url = f"http://{self.host}:{self.port}"
        self.proxy_url = self.url
        self.cert_pem = server.tls.cert_pem

    @property
    def scale(self) -> int:
        return self.app.catalog.scale

    @property
    def seed(self) -> int:
        return self.app.catalog.synth.seed

    def manifest(self) -> Manifest:
        from replica.oracle import manifest

        return manifest(self.scale, seed=self.seed)

    def proxy_env(self) -> dict[str, str]:
        """Environment for a subprocess (``scrapy crawl``) that should use the replica."""
        return {
            "http_proxy": self.proxy_url,
            "https_proxy": self.proxy_url,
            "HTTP_PROXY": self.proxy_url,
            "HTTPS_PROXY": self.proxy_url,
            "no_proxy": "",
            "NO_PROXY": "",
        }

    def direct_url(self, url: str) -> str:
        """The path-prefixed form of a network URL on this server."""
        parts = urlsplit(url)
        query = f"?{parts.query}" if parts.query else ""
        return f"{self.url}/{(parts.hostname or '').lower()}{parts.path or '/'}{query}"

    # ------------------------------------------------------------------- request log

    def requests(self) -> list[RequestRecord]:
        return self.app.log.recent()

    def requested_hosts(self) -> Counter[str]:
        return self.app.log.hosts()

    def off_network_requests(self) -> list[RequestRecord]:
        """Requests (and refused CONNECTs) for hosts outside the network: should be none."""
        return self.app.log.off_network()

    def disallowed_requests(self) -> list[RequestRecord]:
        """Requests for paths robots.txt disallows: a polite crawler makes none."""
        return self.app.log.disallowed()

    def clear_log(self) -> None:
        self.app.log.clear()

    # ------------------------------------------------------------------------- hooks

    def add_route(self, host: str, path: str, handler: Handler) -> None:
        """Answer (host, path) with ``handler`` first; "*" matches any host or path."""
        self.app.routes.add(host, path, handler)

    def remove_route(self, host: str, path: str) -> None:
        self.app.routes.remove(host, path)


@contextmanager
def serve_replica(
    scale: int = 0,
    *,
    seed: int = DEFAULT_SEED,
    host: str = "127.0.0.1",
    port: int = 0,
    quiet: bool = True,
    log_size: int = 100_000,
) -> Iterator[ReplicaHandle]:
    """Run the replica in a background thread for the duration of the block."""
    server = build_server(
        host=host, port=port, scale=scale, seed=seed, quiet=quiet, log_size=log_size
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield ReplicaHandle(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _stop(signum: int, frame: object) -> None:
    # SIGTERM (what benchmarks and tests send) ends the server like Ctrl-C: cleanly, exit 0.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m replica.server", description="Serve the Space Media Network replica."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--scale", type=int, default=0, help="extra synthetic articles")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--quiet", action="store_true", help="no access log on stderr")
    args = parser.parse_args(argv)
    server = build_server(
        host=args.host, port=args.port, scale=args.scale, seed=args.seed, quiet=args.quiet
    )
    handle = ReplicaHandle(server)
    print(f"replica serving on {handle.url}", flush=True)
    if not args.quiet:
        print(
            f"crawl it with: http_proxy={handle.url} https_proxy={handle.url} scrapy crawl smn",
            file=sys.stderr,
            flush=True,
        )
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
