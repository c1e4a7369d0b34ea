"""The extractor never raises, whatever it is given, and reads the network's encodings."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.extract import extract, extract_article
from crawler.extract.decode import decode_html
from crawler.protocol import PageKind
from tests.support.fixture_pages import load_fixtures

REAL = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "real"
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/fixtures/real not beside repo")
ARTICLES = [f for f in load_fixtures() if f.is_article]
URL = "https://www.spacewar.com/reports/Test_999.html"

_TAGS = [
    "p",
    "h1",
    "br",
    "table",
    "td",
    "tr",
    "span class=BHS",
    "div",
    "a href='/x'",
    "script",
    "iframe",
    "center",
    "li",
    "ul",
    "article",
    "div class=entry-content",
    "!--",
    "/p",
    "/table",
    "/h1",
    "/td",
    "&#8220;",
    "&#147;",
    "&amp;",
    "<!--body-2-incontainer.php-->",
    "<!--RELATED LINKS-->",
    "Beijing (AFP) May 20, 2025",
    "by AFP Staff Writers",
]


@st.composite
def html_soup(draw: st.DrawFn) -> str:
    pieces = draw(
        st.lists(
            st.one_of(
                st.sampled_from(_TAGS).map(
                    lambda t: (
                        t
                        if t.startswith(("<", "&")) or " (" in t or t.startswith("by")
                        else f"<{t}>"
                    )
                ),
                st.text(max_size=40),
            ),
            max_size=60,
        )
    )
    return "".join(pieces)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(html_soup())
def test_random_html_never_raises(soup: str) -> None:
    result = extract(soup, URL)
    assert (result.article is None) == (result.reason is not None)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(body: bytes) -> None:
    result = extract(body, URL)
    assert result.article is None or result.article.title


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(ARTICLES), st.floats(min_value=0.0, max_value=1.0))
def test_truncated_pages_never_raise(fixture, fraction: float) -> None:  # type: ignore[no-untyped-def]
    body = fixture.html.read_bytes()
    cut = body[: int(len(body) * fraction)]
    result = extract(cut, fixture.url)
    if result.article is not None:
        assert result.article.title and result.article.text


@needs_real
def test_rss_feed_and_advertising_page_are_not_articles() -> None:
    feed = (REAL / "spacedaily_feed_2013.xml").read_bytes()
    assert extract_article(feed, "http://www.spacedaily.com/spacedaily.xml") is None
    assert "feed" in (extract(feed, "http://www.spacedaily.com/spacedaily.xml").reason or "")
    ad = (REAL / "smn_advertising_page.html").read_bytes()
    assert extract_article(ad, "http://www.spacemedianetwork.com/") is None


def test_empty_and_binary_bodies() -> None:
    assert extract(b"", URL).reason == "empty page"
    assert extract(b"   \n ", URL).article is None
    assert extract(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20, URL).article is None


def test_windows_1252_bytes_under_iso_8859_1_read_as_browsers_do() -> None:
    body = (
        b'<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
        b"<p>\x93Quoted\x94 it\x92s \x96 caf\xe9"
    )
    assert decode_html(body) == (
        '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
        "<p>“Quoted” it’s – café"
    )


def test_utf8_bytes_under_a_latin1_declaration_stay_utf8() -> None:
    body = '<meta charset="iso-8859-1"><p>“Quoted” café'.encode()
    assert decode_html(body).endswith("<p>“Quoted” café")


def test_header_charset_wins_over_meta() -> None:
    body = '<meta charset="utf-8"><p>café'.encode("cp1252")
    assert decode_html(body, "text/html; charset=windows-1252").endswith("café")


def test_utf8_page_with_a_few_windows_1252_bytes_keeps_both_readable() -> None:
    # One pasted-in windows-1252 quote must not turn every UTF-8 letter of the page into
    # mojibake (nor the quote into U+FFFD).
    body = '<meta charset="utf-8"><p>Zürich café, São Paulo'.encode() + b" \x93quoted\x94"
    assert decode_html(body).endswith("<p>Zürich café, São Paulo “quoted”")
    latin = '<meta charset="iso-8859-1"><p>Zürich café'.encode() + b" it\x92s"
    assert decode_html(latin).endswith("<p>Zürich café it’s")


@pytest.mark.parametrize("end_tag", ["</html>", "</body>", "</BODY >"])
def test_a_stray_document_end_tag_before_the_article_loses_nothing(end_tag: str) -> None:
    # Browsers ignore a stray </html> or </body>; libxml2 2.14 drops all that follows it.
    for fixture in ARTICLES:
        clean = extract_article(fixture.html.read_bytes(), fixture.url)
        assert clean is not None
        body = fixture.html.read_bytes()
        cut = body.lower().find(b"<h1")
        if cut < 0:  # an older page without <h1>: right after <body ...>
            cut = body.find(b">", body.lower().find(b"<body")) + 1
        assert cut > 0, fixture.name
        mangled = body[:cut] + end_tag.encode() + body[cut:]
        got = extract_article(mangled, fixture.url)
        assert got is not None, fixture.name
        assert (got.title, got.text, got.dateline) == (clean.title, clean.text, clean.dateline)


def test_garbage_bytes_inside_a_body_are_no_paragraph() -> None:
    fixture = next(f for f in ARTICLES if "cp1252" not in f.name)
    clean = extract_article(fixture.html.read_bytes(), fixture.url)
    assert clean is not None
    garbage = b"<p>" + bytes(range(0x80, 0x100)) + b"\x01\x02\x1b[0m\xff\xfe"
    body = fixture.html.read_bytes()
    last_p = body.rfind(b"<p", 0, body.find(b"<!--RELATED LINKS-->"))
    got = extract_article(body[:last_p] + garbage + body[last_p:], fixture.url)
    assert got is not None and got.text == clean.text


def test_a_body_of_hundreds_of_thousands_of_tags_is_not_parsed() -> None:
    """The probe's 8 MB page of 450,000 paragraphs cost a worker 34 s and 1.2 GB."""
    body = b"<html><body>" + b"<p>abc def ghi</p>" * 450_000 + b"</body></html>"
    started = time.process_time()
    result = extract(body, URL, content_type="text/html")
    assert time.process_time() - started < 1
    assert result.article is None and result.kind == PageKind.ERROR  # not judged
    assert result.reason is not None and result.reason.startswith("too many tags")


def test_a_large_page_of_no_known_layout_skips_the_fallback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import crawler.extract.fallback as fallback

    def never(*args: object) -> None:
        raise AssertionError("trafilatura ran on a page too large for it")

    monkeypatch.setattr(fallback, "extract", never)
    cells = "".join(f"<div><span>cell {i}</span></div>" for i in range(15_000))
    body = f"<html><body><h1>A table</h1>{cells}</body></html>".encode()
    result = extract(body, URL, content_type="text/html")
    assert result.article is None and result.layout == "fallback"
    assert result.reason is not None and "too large for the fallback" in result.reason
