"""Extractors for a test that changes the extractor between a crawl and a re-extraction
(``-s SMN_EXTRACT_WORK=...``)."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

from crawler.extract import Extraction
from crawler.extract.fields import content_hash
from crawler.extraction.worker import PageResult, analyse_page
from crawler.protocol import PageKind
from crawler.stories.signature import signature_bytes

MARKER_ENV = "SMN_TEST_UNREADABLE"
"""The environment variable naming the marker: a page whose URL holds it is unreadable."""
STARTED_ENV = "SMN_TEST_STARTED"
"""A file :func:`slow` touches at its first page, for a test to wait on."""


def unreadable_marked(
    body: bytes, url: str, content_type: str | None, fetched_at: dt.datetime
) -> PageResult:
    """The extractor, except that a page whose URL holds ``$SMN_TEST_UNREADABLE`` reads as
    no article (an extractor that cannot read one layout)."""
    marker = os.environ.get(MARKER_ENV)
    if marker and marker in url:
        return PageResult(Extraction(None, "unreadable (test)", kind=PageKind.OTHER))
    return analyse_page(body, url, content_type, fetched_at)


def slow(body: bytes, url: str, content_type: str | None, fetched_at: dt.datetime) -> PageResult:
    """The extractor, a second per page (a run long enough to be killed in the middle)."""
    started = os.environ.get(STARTED_ENV)
    if started:
        Path(started).touch()
    time.sleep(1)
    return analyse_page(body, url, content_type, fetched_at)


REWORDED_ENV = "SMN_TEST_REWORDED"
"""The environment variable naming the marker of :func:`reworded_marked`."""
ADDED_SENTENCE = "An agency spokesperson added that further tests are planned for the spring."


def reworded_marked(
    body: bytes, url: str, content_type: str | None, fetched_at: dt.datetime
) -> PageResult:
    """The extractor, except that the text of a page whose URL holds ``$SMN_TEST_REWORDED``
    ends with one more sentence (an extractor that now keeps a closing line it cut before)."""
    result = analyse_page(body, url, content_type, fetched_at)
    marker = os.environ.get(REWORDED_ENV)
    article = result.extraction.article
    if marker and marker in url and article is not None:
        article.text = f"{article.text}\n\n{ADDED_SENTENCE}"
        article.content_hash = content_hash(article.text)
        article.story_signature = signature_bytes(article.text)
    return result
