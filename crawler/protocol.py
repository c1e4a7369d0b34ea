"""What the crawl's components tell each other: defined once, used by all.

Glossary, one word per concept:

* **page kind** (:class:`PageKind`): what a fetched page turned out to be. The spider sets it
  on the response's meta (:data:`PAGE_KIND_META`); the incremental state reads it.
* **entry point**: a request of the spider's start (a feed, a home or section page, an
  overriding start URL), marked :data:`ENTRY_META`; always fetched, never remembered.
* **outcome**: what a whole run came to (exit code and reason; :mod:`crawler.outcome`).
* **observation**: what the incremental state stores of a page (``other``, ``dead``,
  ``article``; :mod:`crawler.incremental.store`).
* **fault kind**: why a download failed (:mod:`crawler.downloadermiddlewares.faults`).
* **settled**: a link the incremental frontier no longer holds pending, because its page
  got an answer in a run.
"""

from __future__ import annotations

from enum import StrEnum


class PageKind(StrEnum):
    """What a fetched page is."""

    ARTICLE = "article"
    """One story: a record is made of it."""
    LISTING = "listing"
    """Lists stories (home, section, archive pages): fetched again every run."""
    FEED = "feed"
    """An RSS or Atom feed: fetched again every run."""
    OTHER = "other"
    """Neither (about pages, error pages, ...): trusted for ``SMN_STATE_RECHECK_DAYS``."""
    ERROR = "error"
    """Not judged: the extraction failed or the server sent no page; asked again next run."""


ENTRY_META = "smn_entry"
"""Request meta: an entry point of the crawl (always fetched, never remembered)."""
PAGE_KIND_META = "smn_page_kind"
"""Response meta: the :class:`PageKind` the spider found the page to be."""
ENTRY_ARTICLE_LINKS_META = "smn_entry_article_links"
"""Response meta of an entry point the spider read: how many article pages it links."""
PAGE_LAYOUT_META = "smn_layout"
"""Response meta: the layout that read the page ("classic", "modern", "fallback") or None."""
PAGE_REASON_META = "smn_page_reason"
"""Response meta: why the page gave no article (the extractor's reason), when it gave none."""
PAGE_FIELDS_META = "smn_page_fields"
"""Response meta: the fields of the page's record that failed their plausibility check."""

NOT_JUDGED_STAT = "smn/pages/not_judged_list"
"""Stats key: the pages the extraction could not judge, ``[{url, reason}]`` (the first
:data:`NOT_JUDGED_LISTED`; all are counted as ``smn/pages/not_judged``)."""
NOT_JUDGED_LISTED = 200
WARC_RECORD_META = "smn_warc_record"
"""Response meta: where the response's WARC record is
(:class:`crawler.archive.writer.RecordLocation`), None when it was not archived."""

FETCHED_AT_META = "smn_fetched_at"
"""Response meta: when the answer was received (UTC), as its WARC record's ``WARC-Date``
says: the WARC middleware sets it on a crawl's answers, the archive replay on a
re-extraction's, so a page's ``fetched_at`` is the same in both."""
ARCHIVED_RECORD_META = "smn_archived_record"
"""Request meta of a re-extraction: ``(filename, offset, length)`` of the response record
to answer the request from (:mod:`crawler.downloadermiddlewares.archive_replay`)."""

REDIRECTS = frozenset({301, 302, 303, 307, 308})
"""HTTP statuses whose Location the crawl follows."""
DEAD_STATUSES = frozenset({404, 410})
"""HTTP statuses that say a page is gone."""


dataset_file_published = object()
"""Signal sent when a dataset file is published (argument ``path``: its final path)."""

dataset_file_publishing = object()
"""Signal sent before a dataset file is published: what its rows depend on (their story
entries, say) is made to survive a crash first, so that a published row never outlives it."""


def site_stat(site: str, name: str) -> str:
    """The stats key of a per-site count: ``smn/site/<site>/<name>`` (the layout watch's)."""
    return f"smn/site/{site}/{name}"


SITE_STATS_PREFIX = "smn/site/"
