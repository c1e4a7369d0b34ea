"""Which hosts and ports a crawl may request (crawler/network/hosts.py), and the downloader
middleware that refuses every other request whatever its flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.network.hosts import AllowedHosts

METADATA = "http://169.254.169.254/latest/meta-data/"
ONE_HOP = "https://www.spacewar.com/reports/Redirect_one_hop_999.html"


def test_the_allowed_hosts_are_the_selected_sites_on_web_ports() -> None:
    hosts = AllowedHosts.build(["spacewar.com", "spacedaily.com"])
    for url in (
        "https://www.spacewar.com/reports/x.html",
        "http://spacewar.com/",
        "https://spacedaily.com/feed/",
        "https://www.spacewar.com:443/x",
        "http://WWW.SpaceWar.com./x",
    ):
        assert hosts.refusal(url) is None, url
    refused = {
        "https://www.terradaily.com/": "off the selected sites",
        "https://www.spacewar.com:8443/": "another port",
        "http://www.spacewar.com:22/": "another port",
        "https://www.spacewar.com.evil.example/": "off the selected sites",
        "http://169.254.169.254/latest/meta-data/": "an IP address",
        "http://[fd00::1]/": "an IP address",
        "http://[::ffff:169.254.169.254]/": "an IP address",
        "http://2852039166/": "an IP address",  # 169.254.169.254 as one number
        "http://0xa9fea9fe/": "an IP address",
        "http://127.1/": "an IP address",
        "http://localhost/": "a loopback name",
        "http://metadata.localhost/": "a loopback name",
        "file:///etc/passwd": "not http(s)",
        "ftp://www.spacewar.com/": "not http(s)",
        "http://www.spacewar.com:99999/": "invalid URL",
    }
    for url, reason in refused.items():
        assert hosts.refusal(url) == reason, url


def test_a_start_url_allows_its_own_host_and_port_only() -> None:
    hosts = AllowedHosts.build(["spacewar.com"], ["http://127.0.0.1:8123/www.spacewar.com/"])
    assert hosts.allows("http://127.0.0.1:8123/www.spacewar.com/reports/x.html")
    assert not hosts.allows("http://127.0.0.1:8124/")
    assert not hosts.allows("http://127.0.0.1/")
    assert not hosts.allows("http://localhost:8123/")  # another spelling is not named
    assert not hosts.allows("http://10.0.0.1:8123/")
    mirror = AllowedHosts.build([], ["https://mirror.example.org/spacewar.xml"])
    assert mirror.allows("https://mirror.example.org/reports/x.html")
    assert not mirror.allows("http://mirror.example.org:8080/")
    assert not mirror.allows("https://www.spacewar.com/")


def test_a_refused_request_is_refused_whatever_its_flags(tmp_path: Path) -> None:
    from scrapy import Request as ScrapyRequest
    from scrapy.exceptions import IgnoreRequest
    from scrapy.utils.test import get_crawler

    from crawler.downloadermiddlewares.allowed_hosts import AllowedHostsMiddleware
    from crawler.spiders.smn import SmnSpider

    crawler = get_crawler(SmnSpider, {"SMN_OUTPUT": str(tmp_path / "articles")})
    crawler.spider = SmnSpider(sites="spacewar.com")
    middleware = AllowedHostsMiddleware.from_crawler(crawler)
    sneaky = ScrapyRequest(
        METADATA,
        dont_filter=True,
        meta={"allow_offsite": True, "redirect_urls": [ONE_HOP]},
    )
    with pytest.raises(IgnoreRequest):
        middleware.process_request(sneaky)
    assert middleware.process_request(ScrapyRequest(ONE_HOP, dont_filter=True)) is None
    assert crawler.stats is not None
    assert crawler.stats.get_value("smn/offsite/refused/an_ip_address") == 1
