"""URLs that name one page: percent-encoding variants give one key and one request, pages
that differ keep their keys apart, and no URL a page can hold makes the rules raise anything
but ValueError (what every caller already turns into "not a link")."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.utils.test import get_crawler

from crawler.dataset.files import DatasetFile
from crawler.fingerprint import CanonicalRequestFingerprinter
from crawler.incremental.store import ARTICLE, SqliteSeenStore
from crawler.network.urls import KEY_RULES, clean_url, respelled, url_key
from crawler.spiders.smn import SmnSpider

SW = "https://www.spacewar.com"

# Each group: spellings of one page.
VARIANTS = [
    [
        f"{SW}/reports/%7eorbit_999.html",
        f"{SW}/reports/~orbit_999.html",
        f"{SW}/reports/%7Eorbit_999.html",
    ],
    [
        f"{SW}/reports/Caf%C3%A9_in_orbit_999.html",
        f"{SW}/reports/Café_in_orbit_999.html",
        f"{SW}/reports/Caf%c3%a9_in_orbit_999.html",
        # NFC "é" as one code point is what the page says; the key does not fold NFD forms.
        "http://spacewar.com/reports/Caf%C3%A9_in_orbit_999.html?utm_source=feed#top",
    ],
    [f"{SW}/reports/A%20B_999.html", f"{SW}/reports/A B_999.html"],
    [f"{SW}/reports/a%2fb_999.html", f"{SW}/reports/a%2Fb_999.html"],
    [f"{SW}/reports/%41_999.html", f"{SW}/reports/A_999.html"],
    [f"{SW}/x?q=caf%C3%A9", f"{SW}/x?q=café", f"{SW}/x?q=caf%c3%a9"],
    [f"{SW}/x?q=a%20b", f"{SW}/x?q=a+b", f"{SW}/x?q=a b"],
    [
        "https://spacedaily.com/caf%C3%A9-in-orbit-at-last/",
        "https://spacedaily.com/café-in-orbit-at-last/",
    ],
]


@pytest.mark.parametrize("group", VARIANTS, ids=lambda g: g[0].rsplit("/", 1)[-1])
def test_spellings_of_one_page_give_one_key_and_one_request(group: list[str]) -> None:
    assert len({url_key(u) for u in group}) == 1
    fingerprints = CanonicalRequestFingerprinter()
    requests = [Request(clean_url(u)) for u in group]
    assert len({fingerprints.fingerprint(r) for r in requests}) == 1
    # The request goes out in one spelling, whichever link came first.
    assert len({clean_url(u) for u in group if "utm_source" not in u}) == 1


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (f"{SW}/reports/a%2Fb_999.html", f"{SW}/reports/a/b_999.html"),  # a slash is no %2F
        (f"{SW}/reports/a%3Fb_999.html", f"{SW}/reports/a?b_999.html"),
        (f"{SW}/reports/A_B_999.html", f"{SW}/reports/a_b_999.html"),  # paths keep their case
        (f"{SW}/reports/A+B_999.html", f"{SW}/reports/A%20B_999.html"),  # + is no space in paths
        # Bytes that are no UTF-8 stay what they are: two pages, not two U+FFFD.
        (f"{SW}/x?q=caf%E9", f"{SW}/x?q=caf%E8"),
        (f"{SW}/reports/caf%E9_999.html", f"{SW}/reports/caf%E8_999.html"),
        (f"{SW}/x?q=a%26b", f"{SW}/x?q=a&b"),
    ],
)
def test_different_pages_keep_different_keys(one: str, other: str) -> None:
    assert url_key(one) != url_key(other)


# The network's shapes (SMN-SITES.md) and the ordinary folding: the key the rules gave before
# canonicalize_url, written out by hand.
PLAIN = {
    "https://www.spacewar.com/reports/China_says_999.html": (
        "https://spacewar.com/reports/China_says_999.html"
    ),
    "http://www.spacedaily.com/news/launch-03zzb.html": (
        "https://spacedaily.com/news/launch-03zzb.html"
    ),
    "http://www.spacewar.com/2004/040612083015.ab3kx9qe.html?utm_source=rss": (
        "https://spacewar.com/2004/040612083015.ab3kx9qe.html"
    ),
    "https://www.spacedaily.com/afp/260224093512.7hq2xw0p.html#x": (
        "https://spacedaily.com/afp/260224093512.7hq2xw0p.html"
    ),
    "https://spacedaily.com/t-some-long-slug-here/": "https://~spacedaily.com/t-some-long-slug-here",
    "https://www.spacewar.com/x/../reports/./A_999.html?b=2&a=1": (
        "https://spacewar.com/reports/A_999.html?a=1&b=2"
    ),
    "https://www.spacewar.com/search?q": "https://spacewar.com/search?q=",
    "https://www.spacewar.com/reports/Einsteins_(new)_theory_999.html": (
        "https://spacewar.com/reports/Einsteins_(new)_theory_999.html"
    ),
}


@pytest.mark.parametrize("url", sorted(PLAIN))
def test_one_spelling_urls_keep_their_keys(url: str) -> None:
    assert url_key(url) == PLAIN[url]
    # url_key skips canonicalize_url for such URLs: it would change nothing the key keeps.
    assert url_key(respelled(url)) == url_key(url)
    assert url_key(clean_url(url)) == url_key(url)


def test_the_spelling_requested_is_a_fixed_point() -> None:
    for group in VARIANTS:
        for url in group:
            assert clean_url(clean_url(url)) == clean_url(url)
            assert url_key(clean_url(url)) == url_key(url)


HOSTILE = [
    "http://[::1/reports/A_999.html",  # bad IPv6
    "http://[fe80::1%25eth0]/x",
    "https://www.spacewar.com:99999/x",
    "https://www.spacewar.com:port/x",
    "https://www.spacewar.com/\ud800",  # a lone surrogate (a broken decoder's output)
    "https://www.spacewar.com/%ff%fe%zz%",
    "https://bücher.example/reports/A_999.html",  # IDN host
    "https://xn--zz/x",
    "https://a..b/x",
    "https://" + "a" * 70 + ".com/x",  # a label IDNA refuses
    "https://www.spacewar.com/" + "é" * 100_000,
    "https://www.spacewar.com/?" + "&".join(f"k{i}=%E9" for i in range(5_000)),
    "https://www.spacewar.com/a\x00b\x1bc",
    "https://www.spacewar.com/?q=\u20ac\ud800",
]


@pytest.mark.parametrize("url", HOSTILE, ids=lambda u: repr(u[:40]))
def test_hostile_urls_raise_nothing_but_value_error(url: str) -> None:
    for rule in (clean_url, url_key, respelled):
        try:
            result = rule(url)
        except ValueError:
            continue
        assert isinstance(result, str)


def test_idn_hosts_are_one_host_in_either_form() -> None:
    assert url_key("https://bücher.example/a") == url_key("https://xn--bcher-kva.example/a")


def test_the_spider_turns_hostile_links_into_no_request() -> None:
    crawler = get_crawler(SmnSpider, {"SMN_EXTRACT_WORKERS": 1})
    spider = SmnSpider.from_crawler(crawler, sites="spacewar.com")
    crawler.spider = spider
    assert crawler.stats is not None
    crawler.stats.open_spider()
    base = f"{SW}/reports/Page_999.html"
    made = [spider._follow(base, href) for href in HOSTILE]
    for request in made:
        if request is not None:
            assert request.url.startswith("https://www.spacewar.com/")
    assert crawler.stats.get_value("smn/links/invalid", 0) >= 4  # ports, IPv6, surrogates
    # and the variants of one page make one request while remembered
    first = spider._follow(base, "/reports/%7eorbit_999.html")
    second = spider._follow(base, "/reports/~orbit_999.html")
    assert first is not None
    assert first.url == f"{SW}/reports/~orbit_999.html"
    fingerprints = CanonicalRequestFingerprinter()
    assert second is None or fingerprints.fingerprint(second) == fingerprints.fingerprint(first)


def _old_state(path: Path, article_key: str, pending: dict[str, str]) -> None:
    """A state as a crawler of the first key rules left it (no key_rules in its meta)."""
    store = SqliteSeenStore(path, recheck_days=7)
    store.add_articles([article_key], DatasetFile("2026/01/part-a.parquet", 10, 1))
    store.add_pending(pending, 1_800_000_000.0)
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM meta")


def test_a_state_of_older_key_rules_is_keyed_again(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    old_key = "https://spacewar.com/reports/%7eorbit_999.html"  # the old rules kept %7e
    _old_state(
        path,
        old_key,
        {
            "https://spacewar.com/reports/caf%c3%a9_999.html": f"{SW}/reports/caf%c3%a9_999.html",
            "https://spacewar.com/reports/caf%C3%A9_999.html": f"{SW}/reports/café_999.html",
        },
    )
    store = SqliteSeenStore(path, recheck_days=7)
    try:
        assert store.rekeyed
        # Its files are read again by the next sync (the dataset is the truth), under the new
        # rules; until then no old key answers.
        assert store.ingested_files() == set()
        assert store.lookup([old_key], 1_800_000_000.0) == {}
        pending = store.pending()
        assert [p.key for p in pending] == [url_key(f"{SW}/reports/café_999.html")]
        store.add_articles([url_key(old_key)], DatasetFile("2026/01/part-a.parquet", 10, 1))
        assert store.lookup([url_key(f"{SW}/reports/~orbit_999.html")], 1_800_000_000.0) == {
            url_key(f"{SW}/reports/~orbit_999.html"): ARTICLE
        }
    finally:
        store.close()
    again = SqliteSeenStore(path, recheck_days=7)
    try:
        assert not again.rekeyed  # once
        assert len(again.ingested_files()) == 1
    finally:
        again.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta").fetchall() == [(KEY_RULES,)]


def test_a_new_state_is_made_under_the_current_rules(tmp_path: Path) -> None:
    store = SqliteSeenStore(tmp_path / "state.sqlite", recheck_days=7)
    store.close()
    again = SqliteSeenStore(tmp_path / "state.sqlite", recheck_days=7)
    try:
        assert not again.rekeyed
    finally:
        again.close()
