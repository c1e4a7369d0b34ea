"""Tests of the local Space Media Network replica (package ``replica``).

They talk to the server the ways a crawler does: as an HTTP proxy (absolute-URI requests for
http, CONNECT tunnels with TLS for https) and directly (path prefix, Host header), both with
the threaded server and with ``python -m replica.server`` in a subprocess.
"""

from __future__ import annotations

import http.client
import json
import re
import select
import ssl
import subprocess
import sys
import threading
import urllib.request
import urllib.robotparser
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Iterable, Iterator
from html import unescape
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The editable install of the project predates replica/__init__.py and registered "replica"
# as a namespace package; the repository root on sys.path makes the real package win.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from replica import (  # noqa: E402
    Manifest,
    ReplicaHandle,
    Request,
    Response,
    canonical_url,
    from_direct,
    manifest,
    serve_replica,
)
from replica.catalog import Catalog  # noqa: E402
from replica.network import REPLICATED_HOSTS, is_disallowed, route_host  # noqa: E402
from replica.synth import SYNTH_HOSTS, Synth  # noqa: E402

UNVERIFIED = ssl.create_default_context()
UNVERIFIED.check_hostname = False
UNVERIFIED.verify_mode = ssl.CERT_NONE

SKIP_SUFFIXES = (".jpg", ".jpeg", ".gif", ".png", ".css", ".js", ".pdf")


Fetched = tuple[int, dict[str, str], bytes]


class ProxyClient:
    """Fetches network URLs through the replica the way Scrapy does: absolute-URI requests
    for http://, a CONNECT tunnel per host (kept alive) for https://."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._plain: http.client.HTTPConnection | None = None
        self._tunnels: dict[str, http.client.HTTPSConnection] = {}

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> Fetched:
        parts = urlsplit(url)
        conn: http.client.HTTPConnection
        if parts.scheme == "http":
            if self._plain is None:
                self._plain = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
            conn = self._plain
            target = url
        else:
            host = parts.hostname or ""
            if host not in self._tunnels:
                tunnel = http.client.HTTPSConnection(
                    "127.0.0.1", self.port, context=UNVERIFIED, timeout=20
                )
                tunnel.set_tunnel(host, parts.port or 443)
                self._tunnels[host] = tunnel
            conn = self._tunnels[host]
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("GET", target, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body

    def close(self) -> None:
        for conn in [self._plain, *self._tunnels.values()]:
            if conn is not None:
                conn.close()


@pytest.fixture
def client(replica: ReplicaHandle) -> Iterator[ProxyClient]:
    proxy = ProxyClient(replica.port)
    yield proxy
    proxy.close()


@pytest.fixture(scope="module")
def base_manifest() -> Manifest:
    return manifest()


def follow(client: ProxyClient, url: str, limit: int = 5) -> tuple[str, Fetched]:
    """Fetch ``url``, following redirects; returns the final URL and response."""
    for _ in range(limit):
        status, headers, body = client.fetch(url)
        if status in (301, 302, 303, 307, 308):
            url = urljoin(url, headers["location"])
            continue
        return url, (status, headers, body)
    raise AssertionError(f"redirect loop at {url}")


_HREF = re.compile(r"""\bhref\s*=\s*(["'])(.*?)\1""", re.IGNORECASE | re.DOTALL)
_FEED_LINK = re.compile(r"<link>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</link>", re.DOTALL)


def links(body: bytes, content_type: str, url: str) -> Iterable[str]:
    text = body.decode("latin-1" if "iso-8859-1" in content_type else "utf-8", "replace")
    found = (
        _FEED_LINK.findall(text) if "xml" in content_type else [m[1] for m in _HREF.findall(text)]
    )
    for value in found:
        value = unescape(value.strip())
        if value and not value.startswith(("#", "javascript:", "mailto:")):
            yield urljoin(url, value)


def bfs(client: ProxyClient, start_urls: Iterable[str], limit: int = 20_000) -> dict[str, int]:
    """A tiny polite crawler: follows links on replicated hosts, obeys robots.txt rules,
    skips images and assets. Returns canonical URL -> final status."""
    queue = deque(start_urls)
    seen: set[str] = set()
    statuses: dict[str, int] = {}
    while queue and len(statuses) < limit:
        url = queue.popleft()
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        route = route_host(host)
        if route.host not in REPLICATED_HOSTS or is_disallowed(route.host, parts.path):
            continue
        if parts.path.lower().endswith(SKIP_SUFFIXES):
            continue
        # Canonicalise before fetching, as the crawler should: one fetch per page.
        key = canonical_url(url)
        if key in seen:
            continue
        seen.add(key)
        status, headers, body = client.fetch(key)
        if status in (301, 302, 303, 307, 308):
            queue.append(urljoin(key, headers["location"]))
            continue
        statuses[key] = status
        if status == 200:
            queue.extend(links(body, headers.get("content-type", ""), key))
    return statuses


def classic_body(page: str) -> list[str]:
    """The paragraphs between the body comments, tags and scripts removed."""
    segment = page.split("<!--body-2-incontainer.php-->", 1)[1].split("<!--RELATED LINKS-->")[0]
    segment = re.sub(r"<script.*?</script>", " ", segment, flags=re.DOTALL)
    paragraphs = (unescape(re.sub(r"<[^>]+>", "", p)).strip() for p in segment.split("<p>"))
    return [p for p in paragraphs if p]


# ------------------------------------------------------------------------------ manifest


def test_manifest_lists_the_hand_written_network(base_manifest: Manifest) -> None:
    m = base_manifest
    assert len(m.articles) == 40
    assert len({a.url for a in m.articles}) == 40
    assert {a.site for a in m.articles} == {
        "spacewar.com",
        "spacedaily.com",
        "terradaily.com",
        "marsdaily.com",
        "spacemart.com",
    }
    assert {a.platform for a in m.articles} == {"classic", "newer"}
    assert {a.agency for a in m.articles} >= {"AFP", "UPI", "SPX", "IANS"}
    date_texts = {a.date_text for a in m.articles}
    assert {"Apr 04, 2013", "April 03, 2013", "Apr 2, 2013", "Nov 06, 2015"} <= date_texts
    for entry in m.articles:
        assert len(entry.paragraphs) >= 4
        assert entry.title and entry.byline and entry.place
        assert entry.url.startswith("https://")
    assert any(re.search(r"/news/[a-z]+-\d\d[a-z]+\.html$", a.url) for a in m.articles)
    assert any(re.search(r"/reports/[A-Za-z_]+(?<!_999)\.html$", a.url) for a in m.articles)


def test_syndicated_story_has_identical_text_on_two_sites(base_manifest: Manifest) -> None:
    groups = base_manifest.syndicated_groups()
    assert len(groups) == 2
    for copies in groups.values():
        assert len({c.site for c in copies}) == len(copies) == 2
        assert len({c.text for c in copies}) == 1
        originals = [c for c in copies if c.copy_of is None]
        assert len(originals) == 1
        assert all(c.copy_of == originals[0].url for c in copies if c is not originals[0])
        assert all(c.syndicated for c in copies)
    agencies = {copies[0].agency for copies in groups.values()}
    assert "AFP" in agencies
    sites = {frozenset(c.site for c in copies) for copies in groups.values()}
    assert frozenset({"spacewar.com", "terradaily.com"}) in sites


def test_restricted_articles_have_exactly_one_way_in(base_manifest: Manifest) -> None:
    expectations = {
        "section-only": r"\.html$",
        "feed-only": r"(\.xml|/feed/)$",
        "sister-feed-only": r"spacedaily\.com/spacedaily\.xml$",
        "sister-page-only": r"spacewar\.com/reports/",
    }
    seen_tags = set()
    for entry in base_manifest.articles:
        for tag, pattern in expectations.items():
            if tag in entry.tags:
                seen_tags.add(tag)
                assert len(entry.linked_from) == 1, (entry.url, entry.linked_from)
                assert re.search(pattern, entry.linked_from[0]), (entry.url, entry.linked_from)
                linker = route_host(urlsplit(entry.linked_from[0]).hostname or "").host
                if tag.startswith("sister"):
                    assert linker.removeprefix("www.") != entry.site
    assert seen_tags == set(expectations)
    for entry in base_manifest.articles:
        assert entry.linked_from, f"{entry.url} is linked from nowhere"


def test_manifest_lists_traps(base_manifest: Manifest) -> None:
    m = base_manifest
    assert "https://www.spacewar.com/reports/Pentagon_Weighs_Orbital_Refuelling_Depot_999.html" in (
        m.dead_urls
    )
    assert "https://spacedaily.com/sd-moon-base-power-study-withdrawn/" in m.dead_urls
    assert {"www.nasa.gov", "twitter.com", "www.facebook.com"} <= m.off_network_hosts
    assert any("/cgi-bin/" in u for u in m.disallowed_urls)
    assert "https://spacedaily.com/wp-admin/" in m.disallowed_urls
    assert m.broken_feed_urls == ("https://www.marsdaily.com/marsdaily.xml",)
    assert "https://www.spacemedianetwork.com/" in m.non_article_urls
    assert "https://www.spacewar.com/Military_Space_News.html" in m.non_article_urls
    assert "https://spacedaily.com/about/" in m.non_article_urls
    assert not set(m.non_article_urls) & m.article_urls
    bodies = b"".join(page.body for _, page in Catalog().static_pages())
    for form in (b"utm_source=feed", b"utm_source=rss", b'href="http://www.', b'href="../reports/'):
        assert form in bodies, form
    assert b"www.SpaceWar.com" in bodies or b"www.SpaceDaily.com" in bodies


def test_manifest_finds_articles_by_any_link_form(base_manifest: Manifest) -> None:
    entry = base_manifest.article(
        "https://www.spacewar.com/reports/Baltic_states_to_link_air_defences_in_joint_shield_999.html"
    )
    assert entry is not None
    variants = [
        entry.url.replace("https://", "http://"),
        entry.url.replace("www.", ""),
        entry.url.replace("www.spacewar.com", "www.SpaceWar.com"),
        entry.url + "?utm_source=feed&utm_medium=rss",
    ]
    assert all(base_manifest.article(v) is entry for v in variants)
    newer = next(a for a in base_manifest.articles if a.platform == "newer")
    assert base_manifest.article(newer.url + "?utm_source=rss&utm_medium=rss") is newer


# -------------------------------------------------------------------------- proxy: http


def test_proxy_absolute_uri_request_line(replica: ReplicaHandle) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", replica.port), timeout=10) as sock:
        sock.sendall(
            b"GET http://www.spacewar.com/spacewar.xml HTTP/1.1\r\n"
            b"Host: www.spacewar.com\r\nConnection: close\r\n\r\n"
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"Content-Type: text/xml" in head
    assert f"Content-Length: {len(body)}".encode() in head
    root = ET.fromstring(body)
    items = root.findall("./channel/item")
    assert len(items) >= 5
    assert all(item.find("guid") is None for item in items)
    dates = {item.findtext("pubDate") or "" for item in items}
    assert len(dates) == 1
    assert re.fullmatch(r"[A-Z][a-z]{2}, \d\d [A-Z]{3} \d{4} \d\d:\d\d:\d\d AEST", dates.pop())
    assert b"<title><![CDATA[" in body and b"<link><![CDATA[http://" in body


def test_keep_alive_reuses_the_connection(replica: ReplicaHandle) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", replica.port, timeout=10)
    conn.request("GET", "http://www.spacewar.com/")
    first = conn.getresponse()
    first.read()
    sock = conn.sock
    conn.request("GET", "http://www.terradaily.com/robots.txt")
    second = conn.getresponse()
    assert second.read().startswith(b"User-agent: *")
    assert conn.sock is sock and sock is not None
    conn.close()


def test_gzip_when_asked(client: ProxyClient) -> None:
    import gzip

    status, headers, body = client.fetch(
        "http://www.spacewar.com/", headers={"Accept-Encoding": "gzip, deflate"}
    )
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert gzip.decompress(body).startswith(b"<html>")
    _, plain_headers, plain = client.fetch("http://www.spacewar.com/")
    assert "content-encoding" not in plain_headers and plain.startswith(b"<html>")


# ------------------------------------------------------------------- proxy: CONNECT + TLS


def test_connect_tunnel_serves_https(client: ProxyClient) -> None:
    status, headers, body = client.fetch("https://www.spacewar.com/")
    assert status == 200
    assert headers["content-type"] == "text/html; charset=iso-8859-1"
    assert b"<html>" in body
    # A second request goes through the same tunnel.
    status, headers, body = client.fetch("https://www.spacewar.com/spacewar.xml")
    assert status == 200 and body.startswith(b"<?xml")


def test_connect_with_urllib_proxy_handler(replica: ReplicaHandle) -> None:
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({"http": replica.proxy_url, "https": replica.proxy_url}),
        urllib.request.HTTPSHandler(context=UNVERIFIED),
    )
    with opener.open("https://spacedaily.com/feed/", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("application/rss+xml")
        root = ET.fromstring(response.read())
    assert root.find("./channel/item/guid") is not None
    # urllib follows the WordPress trailing-slash redirect, through the tunnel.
    with opener.open("https://spacedaily.com/category/news/feed", timeout=10) as response:
        assert response.geturl() == "https://spacedaily.com/category/news/feed/"
        ET.fromstring(response.read())
    with opener.open("http://www.marsdaily.com/", timeout=10) as response:
        assert response.status == 200


def test_certificate_names_the_network(replica: ReplicaHandle, tmp_path: Path) -> None:
    cert = tmp_path / "replica.pem"
    cert.write_bytes(replica.cert_pem)
    verifying = ssl.create_default_context(cafile=str(cert))
    conn = http.client.HTTPSConnection("127.0.0.1", replica.port, context=verifying, timeout=10)
    conn.set_tunnel("www.terradaily.com", 443)
    conn.request("GET", "/")
    assert conn.getresponse().status == 200
    conn.close()


def test_off_network_hosts_are_refused_and_logged(replica: ReplicaHandle) -> None:
    replica.clear_log()
    conn = http.client.HTTPConnection("127.0.0.1", replica.port, timeout=10)
    conn.request("GET", "http://www.nasa.gov/")
    assert conn.getresponse().status == 502
    conn.close()
    tunnel = http.client.HTTPSConnection("127.0.0.1", replica.port, context=UNVERIFIED, timeout=10)
    tunnel.set_tunnel("twitter.com", 443)
    with pytest.raises(OSError, match="502"):
        tunnel.request("GET", "/share")
    tunnel.close()
    hosts = {r.host for r in replica.off_network_requests()}
    assert hosts == {"www.nasa.gov", "twitter.com"}
    assert replica.requested_hosts()["www.nasa.gov"] == 1


def test_disallowed_requests_are_logged(replica: ReplicaHandle, client: ProxyClient) -> None:
    replica.clear_log()
    client.fetch("https://www.spacewar.com/robots.txt")
    assert replica.disallowed_requests() == []
    status, _, _ = client.fetch("https://www.spacewar.com/cgi-bin/subscribe.cgi?list=spacewar")
    assert status == 200
    [record] = replica.disallowed_requests()
    assert (record.host, record.path) == ("www.spacewar.com", "/cgi-bin/subscribe.cgi")


# ---------------------------------------------------------------------------- direct


def test_direct_path_prefix_rewrites_links(replica: ReplicaHandle) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", replica.port, timeout=10)
    conn.request("GET", "/www.spacewar.com/")
    response = conn.getresponse()
    page = response.read().decode("latin-1")
    assert response.status == 200
    hrefs = [m[1] for m in _HREF.findall(page)]
    local = [h for h in hrefs if h.startswith(replica.url + "/")]
    assert any("/www.spacewar.com/reports/" in h for h in local)
    # No link leads back to the real network...
    assert not [h for h in hrefs if re.match(r"(https?:)?//(www\.)?(spacewar|spacedaily)\.com", h)]
    # ...but the canonical URL is the network's.
    assert '<meta property="og:url" content="https://www.spacewar.com/">' in page
    assert from_direct(local[0]).startswith("https://")

    conn.request("GET", "/www.spacedaily.com/spacedaily.xml")
    feed = ET.fromstring(conn.getresponse().read())
    item_links = [item.findtext("link") or "" for item in feed.iter("item")]
    assert item_links and all(link.startswith(replica.url + "/www.") for link in item_links)

    conn.request("GET", "/spacewar.com/spacewar.xml")
    redirect = conn.getresponse()
    redirect.read()
    assert redirect.status == 301
    assert redirect.getheader("Location") == f"{replica.url}/www.spacewar.com/spacewar.xml"

    conn.request("GET", "/robots.txt")
    robots = conn.getresponse().read().decode()
    assert "Disallow: /www.spacewar.com/cgi-bin/" in robots
    conn.request("GET", "/")
    assert b"/www.spacewar.com/" in conn.getresponse().read()
    conn.request("GET", "/_replica/stats.json")
    stats = json.loads(conn.getresponse().read())
    assert stats["hosts"]["www.spacewar.com"] >= 1
    conn.close()


def test_direct_with_host_header(replica: ReplicaHandle) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", replica.port, timeout=10)
    conn.request("GET", "/spacewar.xml", headers={"Host": "www.spacewar.com"})
    response = conn.getresponse()
    assert response.status == 200
    ET.fromstring(response.read())
    conn.close()


# ---------------------------------------------------------------------- site behaviour


def test_robots_txt_per_site(client: ProxyClient) -> None:
    for host in ("www.spacewar.com", "www.spacedaily.com", "www.marsdaily.com"):
        status, headers, body = client.fetch(f"https://{host}/robots.txt")
        assert status == 200 and headers["content-type"].startswith("text/plain")
        parser = urllib.robotparser.RobotFileParser()
        parser.parse(body.decode().splitlines())
        assert not parser.can_fetch("smn", f"https://{host}/cgi-bin/subscribe.cgi?list=x")
        assert parser.can_fetch("smn", f"https://{host}/reports/Anything_999.html")
    _, _, body = client.fetch("https://spacedaily.com/robots.txt")
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(body.decode().splitlines())
    assert not parser.can_fetch("smn", "https://spacedaily.com/wp-admin/")
    assert parser.can_fetch("smn", "https://spacedaily.com/feed/")


def test_feeds_parse_except_the_broken_one(client: ProxyClient, base_manifest: Manifest) -> None:
    for url in base_manifest.feed_urls:
        status, headers, body = client.fetch(url)
        assert status == 200
        assert "xml" in headers["content-type"]
        if url in base_manifest.broken_feed_urls:
            with pytest.raises(ET.ParseError):
                ET.fromstring(body)
        else:
            assert ET.fromstring(body).tag == "rss"


def test_every_manifest_url_answers(client: ProxyClient, base_manifest: Manifest) -> None:
    m = base_manifest
    for url in [*m.article_urls, *m.non_article_urls, *m.feed_urls, *m.robots_urls]:
        assert client.fetch(url)[0] == 200, url
    for url in m.dead_urls + m.unreplicated_urls[:5]:
        assert follow(client, url)[1][0] == 404, url
    for url, target in list(m.redirects.items())[:15]:
        final, (status, _, _) = follow(client, url)
        assert (final, status) == (target, 200)
    for url in m.start_urls:
        assert follow(client, url)[1][0] == 200, url


def test_content_types_and_charsets(client: ProxyClient, base_manifest: Manifest) -> None:
    for entry in base_manifest.articles:
        _, headers, _ = client.fetch(entry.url)
        expected = (
            "text/html; charset=iso-8859-1"
            if entry.platform == "classic"
            else ("text/html; charset=UTF-8")
        )
        assert headers["content-type"] == expected


def test_classic_article_markup(client: ProxyClient, base_manifest: Manifest) -> None:
    for entry in base_manifest.articles:
        if entry.platform != "classic":
            continue
        _, _, body = client.fetch(entry.url)
        encoding = "cp1252" if "cp1252-bytes" in entry.tags else "latin-1"
        page = body.decode(encoding)
        assert not page.lstrip().lower().startswith("<!doctype")
        assert f"<h1>{entry.title}<br></h1>" in page.replace("&amp;", "&")
        assert f'<meta property="og:url" content="{entry.url}">' in page
        assert '<meta property="og:image"' in page
        assert f'<span class="BHS">{entry.place} ({entry.agency}) {entry.date_text}</span>' in page
        assert page.index(entry.kicker) < page.index("<h1>")
        assert classic_body(page) == list(entry.paragraphs), entry.url
        assert "</p>" not in page.split("<!--body-2-incontainer.php-->")[1].split("<!--RELATED")[0]
        for boilerplate in (
            "Related Links",
            "Subscribe Free To Our Daily Newsletters",
            "Tweet",
            "Thanks for being here;",
            "RELATED CONTENT",
            "Comment using your Disqus",
            "Share this article via these popular social media networks",
            "The content herein, unless otherwise known to be public domain",
        ):
            assert boilerplate in page, (entry.url, boilerplate)


def test_encodings(client: ProxyClient, base_manifest: Manifest) -> None:
    tagged = {
        tag: [a for a in base_manifest.articles if tag in a.tags]
        for tag in (
            "cp1252-bytes",
            "latin1-bytes",
        )
    }
    assert tagged["cp1252-bytes"] and tagged["latin1-bytes"]
    for entry in tagged["cp1252-bytes"]:
        _, headers, body = client.fetch(entry.url)
        assert "iso-8859-1" in headers["content-type"]
        assert b"\x93" in body and b"\x94" in body
        assert b"&#8220;" not in body
    for entry in tagged["latin1-bytes"]:
        if "cp1252-bytes" in entry.tags:
            continue
        _, _, body = client.fetch(entry.url)
        assert b"&#8220;" in body or b"&#8217;" in body
        assert re.search(rb"[\xe1\xf1\xf8]", body)
        assert not re.search(rb"[\x80-\x9f]", body)


def test_newer_platform_markup(client: ProxyClient, base_manifest: Manifest) -> None:
    newer = [a for a in base_manifest.articles if a.platform == "newer"]
    assert len(newer) >= 5
    for entry in newer:
        _, _, body = client.fetch(entry.url)
        page = body.decode("utf-8")
        assert page.startswith("<!DOCTYPE html>")
        assert f'<h1 class="entry-title">{entry.title}</h1>' in page
        assert '<meta property="article:published_time"' in page
        [ld] = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page)
        data = json.loads(ld)
        assert data["@type"] == "NewsArticle" and data["headline"] == entry.title
        content = page.split('<div class="entry-content">')[1].split("<!-- .entry-content -->")[0]
        content = content.split('<div class="smn-related')[0]
        paragraphs = [unescape(p) for p in re.findall(r"<p>(.*?)</p>", content)]
        assert paragraphs == list(entry.paragraphs)


def test_registry_urls_answer_as_documented(client: ProxyClient) -> None:
    sites = pytest.importorskip("crawler.network.sites")
    replicated = {h.removeprefix("www.") for h in REPLICATED_HOSTS}
    for site in sites.SITES:
        for url in (site.home, *site.feeds, *site.sections):
            status = follow(client, url)[1][0]
            if site.domain in replicated:
                assert status == 200, url
            else:
                assert status == 404, url


def test_a_polite_crawl_reaches_every_article(
    replica: ReplicaHandle, client: ProxyClient, base_manifest: Manifest
) -> None:
    replica.clear_log()
    statuses = bfs(client, base_manifest.start_urls)
    found = {url for url, status in statuses.items() if status == 200}
    assert base_manifest.article_urls <= found
    # The /index.html aliases of home pages are linked only from some feeds' channel links.
    listed = {u for u in base_manifest.non_article_urls if urlsplit(u).path != "/index.html"}
    assert listed <= found
    not_found = {url for url, status in statuses.items() if status == 404}
    assert not_found == {canonical_url(u) for u in base_manifest.dead_urls}
    assert replica.off_network_requests() == []
    assert replica.disallowed_requests() == []


def test_hooks_answer_before_the_replica(replica: ReplicaHandle, client: ProxyClient) -> None:
    calls: list[str] = []

    def unavailable(request: Request) -> Response | None:
        calls.append(request.url)
        if len(calls) == 1:
            return Response(503, [("Content-Type", "text/plain"), ("Retry-After", "1")], b"busy")
        return None  # then the replica answers as usual

    replica.add_route("www.spacewar.com", "/spacewar.xml", unavailable)
    try:
        assert client.fetch("https://www.spacewar.com/spacewar.xml")[0] == 503
        assert client.fetch("https://www.spacewar.com/spacewar.xml")[0] == 200
        # The hook also sees the bare-host spelling; falling through, the replica redirects it.
        assert client.fetch("http://spacewar.com/spacewar.xml")[0] == 301
    finally:
        replica.remove_route("www.spacewar.com", "/spacewar.xml")
    assert client.fetch("https://www.spacewar.com/spacewar.xml")[0] == 200
    assert len(calls) == 3


def test_many_concurrent_clients(replica: ReplicaHandle, base_manifest: Manifest) -> None:
    urls = sorted(base_manifest.article_urls)
    failures: list[str] = []

    def worker(offset: int) -> None:
        proxy = ProxyClient(replica.port)
        try:
            for i in range(12):
                url = urls[(offset + i) % len(urls)]
                if i % 2 and "://www." in url:  # the classic sites serve http too
                    url = url.replace("https://", "http://")
                status, _, _ = proxy.fetch(url)
                if status != 200:
                    failures.append(f"{status} {url}")
        except Exception as error:  # collected: a thread's exception would be lost
            failures.append(repr(error))
        finally:
            proxy.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(48)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []


# --------------------------------------------------------------------------------- scale


def test_synthetic_urls_decode_back() -> None:
    synth = Synth(50_000, seed=7)
    for a in range(0, 50_000, 97):
        host, path = synth.url(a).split("://", 1)[1].split("/", 1)
        assert synth.locate(host, "/" + path) == a
    urls = {synth.url(a) for a in range(3000)}
    assert len(urls) == 3000
    first_host, first_path = synth.url(0).split("://", 1)[1].split("/", 1)
    assert Synth(10, seed=7).locate(first_host, "/" + first_path) == 0
    assert synth.locate(SYNTH_HOSTS[1], "/" + first_path) is None  # right slug, wrong site
    assert synth.locate(first_host, "/" + first_path.replace("_999", "_998")) is None
    assert Synth(50_000, seed=8).url(0) != synth.url(0)


def test_synthetic_pages_are_deterministic() -> None:
    a, b = Catalog(40, seed=3), Catalog(40, seed=3)
    for n in (0, 5, 24):
        host, path = a.synth.url(n).split("://", 1)[1].split("/", 1)
        page_a, page_b = a.get(host, "/" + path), b.get(host, "/" + path)
        assert page_a is not None and page_b is not None
        assert page_a.body == page_b.body and page_a.kind == "article"


def test_scaled_replica_links_every_synthetic_article() -> None:
    with serve_replica(scale=300) as scaled:
        m = scaled.manifest()
        synthetic = {a.url for a in m.articles if a.synthetic}
        assert len(synthetic) == 300
        assert {urlsplit(u).hostname for u in synthetic} == set(SYNTH_HOSTS)
        originals = [a.copy_of for a in m.articles if a.synthetic and a.copy_of]
        assert originals and all(m.article(url) is not None for url in originals)
        proxy = ProxyClient(scaled.port)
        try:
            statuses = bfs(proxy, m.start_urls)
        finally:
            proxy.close()
        found = {url for url, status in statuses.items() if status == 200}
        assert m.article_urls <= found
        listed = {u for u in m.non_article_urls if urlsplit(u).path != "/index.html"}
        assert listed <= found
        assert scaled.off_network_requests() == []
        assert scaled.disallowed_requests() == []


# ------------------------------------------------------------------------- subprocess


def test_server_subprocess(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "replica.server", "--port", "0", "--scale", "12", "--quiet"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "the server printed nothing"
        line = process.stdout.readline()
        match = re.fullmatch(r"replica serving on http://127\.0\.0\.1:(\d+)\n", line)
        assert match, line
        proxy = ProxyClient(int(match.group(1)))
        try:
            status, _, body = proxy.fetch("http://www.spacewar.com/spacewar.xml")
            assert status == 200 and ET.fromstring(body).tag == "rss"
            status, _, _ = proxy.fetch("https://spacedaily.com/")
            assert status == 200
            synthetic = manifest(12).articles[-1]
            assert proxy.fetch(synthetic.url)[0] == 200
        finally:
            proxy.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
