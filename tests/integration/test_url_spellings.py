"""One article linked under several percent-encodings (``%7e`` and ``~``, ``caf%c3%a9`` and
``café``, upper and lower hex) from two pages: the crawl asks for it once and writes one row,
and the next run knows it.

The pages are routes added to this module's replica (nothing of the replica's own catalogue
changes, so other tests' counts hold).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pyarrow.dataset as ds
import pytest

from crawler.dataset.schema import article_schema
from replica import faults
from replica.app import Request, Response
from replica.server import ReplicaHandle
from tests.support.crawl_run import CrawlRun, crawl
from tests.support.replica_tools import page_body, split

SW = "https://www.spacewar.com"
LINKS_A = f"{SW}/Spellings_A.html"
LINKS_B = f"{SW}/Spellings_B.html"
ARTICLE_PATH = "/reports/~Café_in_orbit_999.html"
"""The article's path, decoded; its links spell it in four ways."""
SPELLINGS_A = ["/reports/%7eCaf%c3%a9_in_orbit_999.html"]
SPELLINGS_B = [
    f"{SW}/reports/~Café_in_orbit_999.html",
    f"{SW}/reports/%7ECaf%C3%A9_in_orbit_999.html#comments",
    "http://www.spacewar.com/reports/~Caf%C3%A9_in_orbit_999.html?utm_source=feed",
]
CANONICAL = f"{SW}/reports/~Caf%C3%A9_in_orbit_999.html"
"""The record's canonical_url: the page declares ``~Café`` (og:url), spelled as requests are."""
DONOR = f"{SW}/reports/China_says_it_will_not_talk_sanctions_with_US_999.html"


def _links_page(title: str, hrefs: list[str]) -> bytes:
    links = "".join(f'<p><a href="{h}">{title} story</a></p>\n' for h in hrefs)
    return (
        f"<html><head><title>{title}</title></head><body><h1>{title}</h1>\n{links}</body></html>"
    ).encode()


def _article_body(replica: ReplicaHandle) -> bytes:
    """A real classic article of the replica, declaring the new URL as its og:url."""
    donor = next(a for a in replica.manifest().articles if a.url.startswith(f"{SW}/reports/"))
    body = page_body(replica, donor.url)
    declared = f"{SW}{ARTICLE_PATH}".encode("latin-1")  # the page is ISO-8859-1
    assert donor.url.encode() in body
    return body.replace(donor.url.encode(), declared)


def _asks_for_article(host: str, path: str) -> bool:
    return host == "www.spacewar.com" and unquote(path) == ARTICLE_PATH


@pytest.fixture(scope="module")
def runs(replica: ReplicaHandle, tmp_path_factory: pytest.TempPathFactory) -> list[CrawlRun]:
    body = _article_body(replica)

    def article(request: Request) -> Response | None:
        if not _asks_for_article(request.host, request.path):
            return None
        return Response(
            200, [("Content-Type", "text/html; charset=iso-8859-1")], body, compressible=True
        )

    replica.add_route(*split(LINKS_A), faults.serve(_links_page("Spellings A", SPELLINGS_A)))
    replica.add_route(*split(LINKS_B), faults.serve(_links_page("Spellings B", SPELLINGS_B)))
    replica.add_route("www.spacewar.com", "*", article)
    dataset = tmp_path_factory.mktemp("spellings") / "dataset"
    # The article links the rest of the replica: the crawl takes it all (some 30 rows).
    args = ("-a", f"start_urls={LINKS_A},{LINKS_B}")
    first = crawl(replica, dataset, *args)
    asked_first = sum(1 for r in replica.requests() if _asks_for_article(r.host, r.path))
    second = crawl(replica, dataset, *args)
    asked = sum(1 for r in replica.requests() if _asks_for_article(r.host, r.path))
    runs_ = [first, second]
    for run in runs_:
        assert "Traceback" not in run.output, run.output[-3000:]
    replica_counts.update(first=asked_first, second=asked - asked_first)
    return runs_


replica_counts: dict[str, int] = {}


def test_the_article_is_asked_for_once(runs: list[CrawlRun]) -> None:
    assert replica_counts["first"] == 1, runs[0].output[-3000:]


def _rows_of_the_article(dataset: Path) -> list[dict[str, str]]:
    table = ds.dataset(dataset, schema=article_schema(), format="parquet").to_table()
    rows = table.select(["url", "canonical_url"]).to_pylist()
    return [r for r in rows if unquote(r["canonical_url"]).endswith(ARTICLE_PATH)]


def test_one_row_with_the_canonical_spelling(runs: list[CrawlRun]) -> None:
    rows = _rows_of_the_article(runs[0].dataset)
    assert [r["canonical_url"] for r in rows] == [CANONICAL]
    assert unquote(rows[0]["url"]).endswith(ARTICLE_PATH)


def test_the_next_run_knows_the_article_in_every_spelling(runs: list[CrawlRun]) -> None:
    assert replica_counts["second"] == 0, runs[1].output[-3000:]
    assert len(_rows_of_the_article(runs[1].dataset)) == 1
