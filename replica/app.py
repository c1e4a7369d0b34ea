"""From a parsed request to a response: host routing, redirects, the request log, the hooks
for fault injection, and link rewriting for direct (path-prefixed) access.

The HTTP plumbing (proxying, CONNECT, TLS, keep-alive) is in ``server.py``; this module knows
nothing about sockets, so tests and fault handlers can call :meth:`ReplicaApp.respond`.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs, urljoin, urlsplit

from replica import render_misc
from replica.catalog import Catalog, Page, redirect
from replica.model import Article
from replica.network import (
    NETWORK_DOMAINS,
    NEWER_HOST,
    REPLICATED_HOSTS,
    SERVICE_DOMAINS,
    HostKind,
    is_classic_path,
    is_disallowed,
    route_host,
)

Via = Literal["proxy", "tunnel", "host-header", "prefix"]
"""How a request reached the replica: as an HTTP proxy (absolute URI), inside a CONNECT
tunnel, directly with a site's Host header, or directly under a ``/<host>/`` path prefix."""


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    scheme: str
    host: str
    """Lower case, without port unless that is no web port (``www.spacewar.com:8443``: off
    the network); empty for the replica's own root in prefix mode."""
    path: str
    """Without the query string."""
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    via: Via = "proxy"
    base: str = ""
    """In prefix mode, the replica's own origin (``http://127.0.0.1:PORT``)."""

    @property
    def url(self) -> str:
        query = f"?{self.query}" if self.query else ""
        return f"{self.scheme}://{self.host}{self.path}{query}"


@dataclass(slots=True)
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    stream: Iterable[bytes] | None = None
    """Written after ``body`` and flushed chunk by chunk; a handler that streams sets its own
    Content-Length (or none, and ``close``). Meant for slow or truncated fault responses."""
    compressible: bool = False
    close: bool = False
    """Close the connection after this response."""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


Handler = Callable[[Request], "Response | None"]
"""A hook: returns a response, or None to let the replica answer as usual."""

ANY = "*"


class Routes:
    """Extra handlers per (host, path), consulted before the replica's own pages.

    ``host`` and ``path`` may be ``"*"``. The most specific registration wins: exact host and
    path, then host with any path, then any host with the path, then catch-all.
    """

    def __init__(self) -> None:
        self._handlers: dict[tuple[str, str], Handler] = {}
        self._lock = threading.Lock()

    def add(self, host: str, path: str, handler: Handler) -> None:
        with self._lock:
            self._handlers[(host.lower(), path)] = handler

    def remove(self, host: str, path: str) -> None:
        with self._lock:
            self._handlers.pop((host.lower(), path), None)

    def clear(self) -> None:
        with self._lock:
            self._handlers.clear()

    def find(self, host: str, path: str) -> Handler | None:
        if not self._handlers:
            return None
        for key in ((host, path), (host, ANY), (ANY, path), (ANY, ANY)):
            handler = self._handlers.get(key)
            if handler is not None:
                return handler
        return None


@dataclass(frozen=True, slots=True)
class RequestRecord:
    method: str
    scheme: str
    host: str
    path: str
    query: str
    status: int
    via: str
    host_kind: str


class RequestLog:
    """What was asked of the replica. Memory stays bounded however long a benchmark runs:
    counters per host and status, the last ``size`` requests, and in full only the requests
    a polite crawler never makes (off-network hosts, robots-disallowed paths)."""

    def __init__(self, size: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._size = size
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self.total = 0
            self._hosts: Counter[str] = Counter()
            self._statuses: Counter[int] = Counter()
            self._recent: deque[RequestRecord] = deque(maxlen=self._size)
            self._off_network: list[RequestRecord] = []
            self._disallowed: list[RequestRecord] = []

    def record(self, record: RequestRecord, *, disallowed: bool) -> None:
        with self._lock:
            self.total += 1
            self._hosts[record.host] += 1
            self._statuses[record.status] += 1
            self._recent.append(record)
            if record.host_kind == HostKind.OFF_NETWORK.value:
                self._off_network.append(record)
            if disallowed:
                self._disallowed.append(record)

    def hosts(self) -> Counter[str]:
        with self._lock:
            return Counter(self._hosts)

    def statuses(self) -> Counter[int]:
        with self._lock:
            return Counter(self._statuses)

    def recent(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._recent)

    def off_network(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._off_network)

    def disallowed(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._disallowed)

    def stats(self) -> dict[str, object]:
        with self._lock:
            return {
                "total": self.total,
                "hosts": dict(self._hosts),
                "statuses": {str(k): v for k, v in self._statuses.items()},
                "off_network": [[r.host, r.path] for r in self._off_network],
                "disallowed": [[r.host, r.path] for r in self._disallowed],
            }


TEXT_TYPES = ("text/", "application/rss+xml", "application/xml", "application/json")


class ReplicaApp:
    """Answers requests for the whole network."""

    def __init__(self, catalog: Catalog, *, log_size: int = 100_000) -> None:
        self.catalog = catalog
        self.routes = Routes()
        self.log = RequestLog(log_size)

    # -------------------------------------------------------------------------- entry

    def respond(self, req: Request) -> Response:
        route = route_host(req.host) if req.host else None
        handler = self.routes.find(req.host, req.path)
        if handler is None and route is not None and route.host != req.host:
            handler = self.routes.find(route.host, req.path)
        response = handler(req) if handler is not None else None
        if response is None:
            response = self._respond(req)
        if req.via == "prefix" and req.host:
            response = self._rebase(req, response)
        kind = route.kind.value if route is not None else "replica"
        # A bare-host spelling of a disallowed path counts too: it redirects straight there.
        disallowed = (
            route is not None
            and route.kind in (HostKind.SERVED, HostKind.REDIRECT)
            and is_disallowed(route.host, req.path)
        )
        self.log.record(
            RequestRecord(
                req.method,
                req.scheme,
                req.host,
                req.path,
                req.query,
                response.status,
                req.via,
                kind,
            ),
            disallowed=disallowed,
        )
        return response

    def tunnel_allowed(self, host: str) -> bool:
        """Whether a CONNECT to ``host`` is opened (network hosts) or refused with 502."""
        return route_host(host).kind is not HostKind.OFF_NETWORK

    def record_refused_tunnel(self, host: str, port: int) -> None:
        self.log.record(
            RequestRecord(
                "CONNECT", "https", host, f":{port}", "", 502, "proxy", HostKind.OFF_NETWORK.value
            ),
            disallowed=False,
        )

    # ------------------------------------------------------------------------ routing

    def _respond(self, req: Request) -> Response:
        if not req.host:
            return self._replica_root(req)
        route = route_host(req.host)
        if route.kind is HostKind.OFF_NETWORK:
            return Response(
                502,
                [("Content-Type", "text/html; charset=utf-8")],
                render_misc.bad_gateway(req.host),
            )
        if route.kind is HostKind.UNREPLICATED:
            return self._not_found(req)
        query = f"?{req.query}" if req.query else ""
        if route.kind is HostKind.REDIRECT:
            return self._redirect(f"{req.scheme}://{route.host}{req.path}{query}")
        host = route.host
        if host == NEWER_HOST:
            if is_classic_path(req.path) and self.catalog.get(host, req.path) is None:
                # The new platform hands the old URLs on to the classic www host.
                return self._redirect(f"{req.scheme}://www.{NEWER_HOST}{req.path}{query}")
            if req.scheme == "http" and req.via == "proxy":
                return self._redirect(f"https://{host}{req.path}{query}")
        page = self.catalog.get(host, req.path)
        if page is None and host == NEWER_HOST:
            page = self._newer_fallback(req)
        if page is None:
            return self._not_found(req)
        return self._from_page(page)

    def _newer_fallback(self, req: Request) -> Page | None:
        """WordPress's own redirects: ``/?p=ID`` shortlinks and missing trailing slashes."""
        if req.path == "/" and req.query:
            ids = parse_qs(req.query).get("p")
            if ids and ids[0].isdigit():
                article = self._post_by_id(int(ids[0]))
                return redirect(article.url) if article is not None else None
        if (
            not req.path.endswith("/")
            and "." not in req.path.rsplit("/", 1)[-1]
            and self.catalog.get(NEWER_HOST, req.path + "/") is not None
        ):
            return redirect(f"https://{NEWER_HOST}{req.path}/")
        return None

    def _post_by_id(self, post_id: int) -> Article | None:
        for article in self.catalog.articles.values():
            if article.post_id == post_id:
                return article
        synth = self.catalog.synth
        a = post_id - 100_000
        if 0 <= a < synth.count and synth.host_of(a) == NEWER_HOST:
            return synth.article(a)
        return None

    def _replica_root(self, req: Request) -> Response:
        if req.path == "/robots.txt":
            return Response(
                200,
                [("Content-Type", "text/plain")],
                render_misc.combined_robots_txt(REPLICATED_HOSTS),
            )
        if req.path == "/_replica/stats.json":
            body = json.dumps(self.log.stats()).encode()
            return Response(200, [("Content-Type", "application/json")], body)
        if req.path == "/":
            body = render_misc.direct_index(req.base, self.catalog.start_urls())
            return Response(200, [("Content-Type", "text/html; charset=utf-8")], body)
        return Response(
            404,
            [("Content-Type", "text/html; charset=iso-8859-1")],
            render_misc.not_found(req.path),
        )

    # ----------------------------------------------------------------------- responses

    @staticmethod
    def _from_page(page: Page) -> Response:
        headers = [("Content-Type", page.content_type)]
        if page.location:
            headers.append(("Location", page.location))
        compressible = page.content_type.startswith(TEXT_TYPES)
        return Response(page.status, headers, page.body, compressible=compressible)

    @staticmethod
    def _redirect(location: str) -> Response:
        return ReplicaApp._from_page(redirect(location))

    @staticmethod
    def _not_found(req: Request) -> Response:
        return Response(
            404,
            [("Content-Type", "text/html; charset=iso-8859-1")],
            render_misc.not_found(req.path),
            compressible=True,
        )

    # ------------------------------------------------------------ direct-mode rewriting

    def _rebase(self, req: Request, response: Response) -> Response:
        """Keep a path-prefixed client inside the replica: network links become prefixed."""
        page_url = f"https://{req.host}{req.path}"
        rebased = [
            (k, rebase_url(v, page_url, req.base) if k.lower() == "location" else v)
            for k, v in response.headers
        ]
        content_type = response.header("Content-Type") or ""
        body = response.body
        if "html" in content_type:
            body = rebase_html(body, page_url, req.base)
        elif "xml" in content_type:
            body = rebase_absolute(body, req.base)
        response.headers = rebased
        response.body = body
        return response


_DOMAINS = "|".join(re.escape(d) for d in (*NETWORK_DOMAINS, *SERVICE_DOMAINS))
_ABSOLUTE = re.compile(
    rb"(?:https?:)?//((?:[a-z0-9-]+\.)*(?:" + _DOMAINS.encode() + rb"))(?=[/\"'<\s?#]|$)",
    re.IGNORECASE,
)
_TAG = re.compile(rb"<[a-zA-Z][^>]*>")
_ATTR = re.compile(rb"""(\b(?:href|src|action)\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_KEEP_LINK = re.compile(rb"""^<link\b[^>]*\brel=["']?(?:canonical|shortlink)""", re.IGNORECASE)


def is_network_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in (*NETWORK_DOMAINS, *SERVICE_DOMAINS))


def rebase_url(url: str, page_url: str, base: str) -> str:
    """The prefixed form of a (possibly relative) network URL; other URLs unchanged."""
    if url.startswith(("#", "javascript:", "mailto:", "data:")):
        return url
    absolute = urljoin(page_url, url)
    if not is_network_url(absolute):
        return url
    parts = urlsplit(absolute)
    host = (parts.hostname or "").lower()
    query = f"?{parts.query}" if parts.query else ""
    return f"{base}/{host}{parts.path or '/'}{query}"


def rebase_html(body: bytes, page_url: str, base: str) -> bytes:
    """Rewrite href/src/action attributes; leave og:url, rel=canonical and text alone, so a
    crawler in direct mode still sees the network's canonical URLs."""

    def attr(match: re.Match[bytes]) -> bytes:
        value = match.group(3).decode("latin-1")
        new = rebase_url(value, page_url, base).encode("latin-1")
        return match.group(1) + match.group(2) + new + match.group(2)

    def tag(match: re.Match[bytes]) -> bytes:
        text = match.group(0)
        if _KEEP_LINK.match(text):
            return text
        return _ATTR.sub(attr, text)

    return _TAG.sub(tag, body)


def rebase_absolute(body: bytes, base: str) -> bytes:
    """Rewrite every absolute network URL (feeds, where links are element text)."""
    prefix = base.encode("latin-1")
    return _ABSOLUTE.sub(lambda m: prefix + b"/" + m.group(1).lower(), body)


def from_direct(url: str) -> str:
    """The network URL behind a direct-mode URL (``http://127.0.0.1:P/www.x.com/p`` ->
    ``https://www.x.com/p``); other URLs unchanged."""
    parts = urlsplit(url)
    segments = parts.path.split("/", 2)
    if len(segments) < 2 or not is_network_url(f"https://{segments[1]}/"):
        return url
    path = "/" + (segments[2] if len(segments) > 2 else "")
    query = f"?{parts.query}" if parts.query else ""
    return f"https://{segments[1]}{path}{query}"
