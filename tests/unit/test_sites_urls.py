"""The site registry and URL canonicalisation."""

from __future__ import annotations

import pytest

from crawler.network.sites import SITES, is_network_host, select_sites, site_for_host
from crawler.network.urls import clean_url, is_asset, looks_like_article, url_key

ADVERTISED = [
    "SpaceDaily",
    "SpaceWar",
    "TerraDaily",
    "EnergyDaily",
    "BiofuelDaily",
    "GPSDaily",
    "IndoDaily",
    "InternDaily",
    "MarsDaily",
    "MoonDaily",
    "NanoDaily",
    "NuclearPowerDaily",
    "RadarDaily",
    "RoboDaily",
    "OilGasDaily",
    "RussoDaily",
    "SaturnDaily",
    "SeedDaily",
    "SinoDaily",
    "SkyNightly",
    "SolarDaily",
    "SpaceMart",
    "Space-Travel",
    "WindDaily",
]


def test_registry_holds_every_site_of_the_network_page() -> None:
    assert sorted(s.name for s in SITES) == sorted(ADVERTISED)
    for site in SITES:
        assert site.home.startswith("https://")
        assert site.feeds, site.name


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("www.spacewar.com", "spacewar.com"),
        ("SPACEWAR.COM", "spacewar.com"),
        ("spacedaily.com", "spacedaily.com"),
        ("www.spacedaily.com:443", "spacedaily.com"),
        ("www.energydaily.com", "energy-daily.com"),
        ("www.energy-daily.com", "energy-daily.com"),
    ],
)
def test_hosts_map_to_sites(host: str, domain: str) -> None:
    site = site_for_host(host)
    assert site is not None and site.domain == domain


def test_off_network_hosts_are_not_sites() -> None:
    for host in ("nasa.gov", "spacewar.com.evil.example", "notspacewar.com", "", None):
        assert site_for_host(host) is None
    assert not is_network_host("twitter.com")
    assert is_network_host("www.spxdaily.com")


def test_select_sites_by_domain_or_name_and_rejects_typos() -> None:
    assert [s.domain for s in select_sites("spacewar.com, SpaceDaily")] == [
        "spacewar.com",
        "spacedaily.com",
    ]
    assert select_sites(None) == SITES
    with pytest.raises(ValueError, match=r"spacewr\.com"):
        select_sites("spacewr.com")


def test_url_key_ignores_spelling_differences() -> None:
    base = url_key("https://www.spacewar.com/reports/A_999.html")
    for variant in (
        "http://www.spacewar.com/reports/A_999.html",
        "https://spacewar.com/reports/A_999.html",
        "https://WWW.SpaceWar.com/reports/A_999.html?utm_source=feed&utm_medium=rss",
        "https://www.spacewar.com:443/reports/A_999.html#comments",
    ):
        assert url_key(variant) == base
    assert url_key("https://spacedaily.com/sd-a-b-c/") == url_key("https://spacedaily.com/sd-a-b-c")
    assert url_key("https://www.spacewar.com/reports/B_999.html") != base
    assert url_key("https://www.spacewar.com/x?id=1&b=2") == url_key(
        "https://www.spacewar.com/x?b=2&id=1"
    )


def test_clean_url_keeps_the_page_and_drops_tracking() -> None:
    assert (
        clean_url("https://www.spacewar.com/reports/A_999.html?utm_source=x&fbclid=1#top")
        == "https://www.spacewar.com/reports/A_999.html"
    )


def test_article_and_asset_shapes() -> None:
    assert looks_like_article("https://www.spacewar.com/reports/China_says_999.html")
    assert looks_like_article("http://www.spacedaily.com/news/mars-03zb.html")
    assert looks_like_article(
        "https://spacedaily.com/sd-century-old-solar-records-refine-forecasts/"
    )
    assert not looks_like_article("https://spacedaily.com/category/news/")
    assert not looks_like_article("https://www.spacewar.com/")
    assert is_asset("https://www.spxdaily.com/images-lg/x.jpg")
    assert not is_asset("https://www.spacewar.com/reports/A_999.html")


def test_bare_spacedaily_is_another_platform_than_www() -> None:
    assert url_key("https://spacedaily.com/") != url_key("https://www.spacedaily.com/")
    assert url_key("http://spacedaily.com/x-y-z-w/") == url_key("https://spacedaily.com/x-y-z-w")
    assert url_key("https://spacewar.com/") == url_key("https://www.spacewar.com/")


@pytest.mark.parametrize(
    "url",
    [
        "https://www.spacewar.com/reports/China_says_999.html",
        "http://www.spacedaily.com/reports/Soyuz_Lands_Safely.html",
        "http://www.spacedaily.com/news/mir-99k.html",
        "http://www.spacedaily.com/news/launch-03zzb.html",
        "http://www.gpsdaily.com/news/gps-04zzzzzzzf.html",
        "http://www.spacedaily.com/news/space-station-03a.html",
        "http://www.spacewar.com/2004/040612083015.ab3kx9qe.html",
        "http://www.spacedaily.com/2005/040612083015.ab3kx9qe.html",  # the folder's year differs
        "https://www.spacedaily.com/afp/260224093512.7hq2xw0p.html",
        "https://spacedaily.com/century-old-solar-records-refine-future-cycle-forecasts-999/",
    ],
)
def test_every_article_url_shape_of_the_network(url: str) -> None:
    assert looks_like_article(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://www.spacedaily.com/news/launchers-06.html",  # a topic index, no letters
        "http://www.spacedaily.com/2004/index.html",
        "https://www.spacedaily.com/afp/",
        "https://www.spacedaily.com/afp/260224093512.html",
        "http://www.spacewar.com/2004/040612083015.ab3kx9q.html",  # seven characters
        "https://www.spacewar.com/spacewar.xml",
    ],
)
def test_pages_that_are_not_article_url_shapes(url: str) -> None:
    assert not looks_like_article(url)
