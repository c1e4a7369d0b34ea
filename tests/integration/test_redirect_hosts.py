"""No redirect takes the crawl off the allowed hosts, however many hops it makes and however
the first request was made: every hop is checked before it is sent.

The replica answers a request for an address other than its own (``169.254.169.254``,
``10.0.0.1``, ``127.0.0.1:22``) or for a network host on another port as a host off the
network, and logs it: ``off_network_requests()`` is what the crawl must never produce.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from replica import faults
from replica.app import Request, Response
from replica.server import ReplicaHandle
from tests.support.crawl_run import CrawlRun, crawl
from tests.support.replica_tools import page_body, split

SPACEWAR = "https://www.spacewar.com"
LINKING_PAGE = f"{SPACEWAR}/Superpowers.html"
METADATA = "http://169.254.169.254/latest/meta-data/"
CREDENTIALS = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"


def _page(name: str) -> str:
    return f"{SPACEWAR}/reports/Redirect_{name}_999.html"


# One hop from a link, then two hops whose first is another spelling of the same page.
ONE_HOP = _page("one_hop")
VIA_TRACKING = _page("via_tracking")
VIA_HTTPS = _page("via_https")
VIA_BARE_HOST = _page("via_bare_host")
VIA_SLASH = _page("via_slash")
OTHER_PORT = _page("other_port")
TO_PRIVATE = _page("to_private")
TO_LOOPBACK = _page("to_loopback")
# The registry's entry point of the site, through a same-page spelling, to the address.
ENTRY_FEED = f"{SPACEWAR}/spacewar.xml"
# Start URLs (``-a start_urls=``): one through the proxy, one on the replica's own address.
START = _page("start")
START_TWO_HOPS = _page("start_two_hops")


def _redirect(location: str, code: int = 302) -> Response:
    return Response(code, [("Location", location), ("Content-Type", "text/html")], b"moved")


def same_page_then(spell: Callable[[Request], str | None], target: str) -> faults.Handler:
    """301 to another spelling of the page (``spell`` gives it; None when the request
    already is that spelling), then 302 to ``target``."""

    def handler(request: Request) -> Response:
        other = spell(request)
        return _redirect(other, 301) if other is not None else _redirect(target)

    return handler


def tracking(request: Request) -> str | None:
    return None if "utm_source" in request.query else f"{request.url}?utm_source=feed"


def https(request: Request) -> str | None:
    return f"https://{request.host}{request.path}" if request.scheme == "http" else None


def www(request: Request) -> str | None:
    return None if request.host.startswith("www.") else f"https://www.{request.host}{request.path}"


def slash(request: Request) -> str | None:
    return None if request.path.endswith("/") else f"{request.url}/"


@dataclass
class Crawled:
    run: CrawlRun
    off_network: list[tuple[str, str]]
    """(host, path) of every request for a host off the network."""
    asked: set[str]
    """URLs (host and path) the replica was asked for."""


def _route(replica: ReplicaHandle, url: str, handler: faults.Handler) -> None:
    replica.add_route(*split(url), handler)


def _crawled(replica: ReplicaHandle, run: CrawlRun) -> Crawled:
    off = [(r.host, r.path) for r in replica.off_network_requests()]
    asked = {f"{r.host}{r.path}" for r in replica.requests()}
    return Crawled(run, off, asked)


@pytest.fixture(scope="module")
def registry_crawl(replica: ReplicaHandle, tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    """``scrapy crawl smn -a sites=spacewar.com`` (the cron job's form) with a section page
    linking to each redirect shape, and the site's feed redirecting too."""
    root = tmp_path_factory.mktemp("registry")
    links = [
        ONE_HOP,
        VIA_TRACKING,
        VIA_HTTPS.replace("https://", "http://"),
        VIA_BARE_HOST.replace("www.", ""),
        VIA_SLASH,
        OTHER_PORT,
        TO_PRIVATE,
        TO_LOOPBACK,
    ]
    body = faults.with_links(page_body(replica, LINKING_PAGE), links)
    _route(replica, LINKING_PAGE, faults.serve(body))
    _route(replica, ONE_HOP, faults.redirect(METADATA))
    _route(replica, VIA_TRACKING, same_page_then(tracking, METADATA))
    _route(replica, VIA_HTTPS, same_page_then(https, CREDENTIALS))
    _route(replica, VIA_BARE_HOST, same_page_then(www, METADATA))
    _route(replica, VIA_SLASH, same_page_then(slash, METADATA))
    _route(replica, VIA_SLASH + "/", same_page_then(slash, METADATA))
    _route(replica, OTHER_PORT, same_page_then(tracking, f"{SPACEWAR}:8443/reports/x.html"))
    _route(replica, TO_PRIVATE, same_page_then(tracking, "http://10.0.0.1/admin"))
    _route(replica, TO_LOOPBACK, same_page_then(tracking, "http://127.0.0.1:22/"))
    _route(replica, ENTRY_FEED, same_page_then(tracking, METADATA + "feed"))
    replica.clear_log()
    run = crawl(replica, root / "articles", "-a", "sites=spacewar.com", timeout=240)
    assert run.returncode == 0, run.output[-4000:]
    return _crawled(replica, run)


def test_no_redirect_from_a_link_leaves_the_network(registry_crawl: Crawled) -> None:
    assert registry_crawl.off_network == []


def test_every_shape_was_tried_and_refused_at_the_last_hop(registry_crawl: Crawled) -> None:
    # The premise: each page was asked, through its other spelling where it has one, so
    # the crawl did reach the hop that redirects off the network...
    for url in (ONE_HOP, VIA_TRACKING, VIA_HTTPS, VIA_SLASH, OTHER_PORT, TO_PRIVATE):
        assert split(url)[0] + split(url)[1] in registry_crawl.asked, url
    assert "spacewar.com" + split(VIA_BARE_HOST)[1] in registry_crawl.asked
    assert "www.spacewar.com" + split(VIA_SLASH)[1] + "/" in registry_crawl.asked
    # ...and each of those hops was refused, named in the log.
    output = registry_crawl.run.output
    for target in (METADATA, CREDENTIALS, "http://10.0.0.1/admin", "http://127.0.0.1:22/"):
        assert f"Refused a redirect to <{target}" in output, target
    assert f"Refused a redirect to <{SPACEWAR}:8443/reports/x.html>" in output


def test_an_entry_point_redirect_is_refused_too(registry_crawl: Crawled) -> None:
    assert split(ENTRY_FEED)[0] + split(ENTRY_FEED)[1] in registry_crawl.asked
    assert f"Refused a redirect to <{METADATA}feed> (an IP address)" in registry_crawl.run.output


@pytest.fixture(scope="module")
def start_url_crawl(replica: ReplicaHandle, tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    """``-a start_urls=`` with a network URL (through the proxy) and one on the replica's own
    address and port (direct mode): the second allows that address, on that port only."""
    root = tmp_path_factory.mktemp("start_urls")
    _route(replica, START, faults.redirect(CREDENTIALS))
    own_other_port = f"http://127.0.0.1:{replica.port + 1}/www.spacewar.com/"
    _route(replica, START_TWO_HOPS, same_page_then(tracking, own_other_port))
    replica.clear_log()
    starts = f"{START},{replica.direct_url(START_TWO_HOPS)}"
    # No article among them: the run's exit code says so, and is not what this tests.
    run = crawl(replica, root / "articles", "-a", f"start_urls={starts}", timeout=240)
    crawled = _crawled(replica, run)
    crawled.asked.add(own_other_port)
    return crawled


def test_no_redirect_from_a_start_url_leaves_the_allowed_hosts(start_url_crawl: Crawled) -> None:
    assert start_url_crawl.off_network == []
    output = start_url_crawl.run.output
    assert f"Refused a redirect to <{CREDENTIALS}> (an IP address)" in output
    # the start URL on the replica's address was followed through its same-page hop...
    assert "www.spacewar.com" + split(START_TWO_HOPS)[1] in start_url_crawl.asked
    # ...and the next hop, the same address on another port, was refused
    assert "Refused a redirect to <http://127.0.0.1:" in output
    assert "(another port)" in output or "(an IP address)" in output


# -- the policy itself, without a crawl --------------------------------------------------
