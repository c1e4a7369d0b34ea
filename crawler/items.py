"""The article record: one row of the dataset.

The Parquet schema in ``crawler.dataset.schema`` is derived from these classes, so a field added
here appears in the dataset with the type its annotation gives.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

NOT_STORED = "smn_not_stored"
"""Field metadata key: a field that travels with the record in the crawl but is no column."""


@dataclass(slots=True)
class RelatedLink:
    """One entry of an article's "Related Links" block."""

    url: str
    """Absolute URL the link points to."""
    text: str
    """The link's visible text."""


@dataclass(slots=True)
class Article:
    """A clean article record extracted from one Space Media Network page."""

    url: str
    """The article's URL as fetched, after redirects."""
    canonical_url: str
    """og:url or rel=canonical when it is on the network, else url."""
    site: str
    """The network site, without ``www.``: ``spacewar.com``, ``spacedaily.com``."""
    title: str
    """The headline."""
    text: str
    """The article body only: paragraphs, subheadings and list items, blank-line separated."""
    section: str | None = None
    """The site's section heading ("Military Space News"), None if the page shows none."""
    category: str | None = None
    """The kicker above the headline ("WAR REPORT"), None if none."""
    byline: str | None = None
    """The byline without its leading "by": "AFP Staff Writers", "Sebastian Smith", "Jane Doe
    for SpaceDaily"; None when there is none or what stands there cannot be one."""
    authors: list[str] = field(default_factory=list)
    """Person names in the byline, as printed ("Sebastian SMITH"); empty for "Staff Writers"
    bylines; "Jane Doe for SpaceDaily" gives "Jane Doe"."""
    agency: str | None = None
    """The agency in the dateline: AFP, UPI, SPX, XNA, Interfax, IANS, ESA, ...; None when the
    dateline names none ("Houston - Apr 12, 2001")."""
    dateline: str | None = None
    """The place in the dateline: "Beijing", "Washington DC", "St. Petersburg FL"; a place
    printed in capitals is title-cased, codes kept ("NAIROBI" -> "Nairobi")."""
    published_date: dt.date | None = None
    """From the dateline, else the page's metadata; never before 1995 nor after the fetch
    date."""
    published_at: dt.datetime | None = None
    """When the page says it was published (article:published_time, JSON-LD datePublished, the
    post's <time>), in UTC; None when it gives no time with a zone, or one before 1995 or
    after the fetch."""
    modified_at: dt.datetime | None = None
    """When the page says it was last changed (article:modified_time, JSON-LD dateModified),
    in UTC; None as for published_at."""
    description: str | None = None
    """The meta description, else the first paragraph."""
    image_url: str | None = None
    """The lead image."""
    related_links: list[RelatedLink] = field(default_factory=list)
    """The "Related Links" block, kept as data and out of text."""
    language: str = "en"
    """ISO 639-1 code of the text's language."""
    word_count: int = 0
    """Number of words in text."""
    content_hash: str = ""
    """Fingerprint of the normalised text: equal for the same wire story on two sites."""
    duplicate_of: str | None = None
    """Set by the dedup pipeline: URL of the first copy of this story, else None."""
    fetched_at: dt.datetime | None = None
    """When the page was fetched (UTC)."""
    crawl_id: str = ""
    """The run (and worker) that produced the record."""
    extractor_version: str = ""
    """Changes whenever extraction output can change."""
    layout: str | None = None
    """The layout that read the page: "classic", "modern" or "legacy"; "fallback" for a page
    no known layout reads (trafilatura, less exact: filter these out for the cleanest data)."""
    story_id: str | None = None
    """One id per story across the network, equal on every copy (exact or near): 16 hex digits
    of a BLAKE2b hash of the story's first copy's canonical URL; None on rows written before
    it existed."""
    near_duplicate_of: str | None = None
    """For a lightly edited copy (not an exact one): the canonical URL of its story's first
    copy."""
    near_duplicate_score: float | None = None
    """For a lightly edited copy: the estimated share of the shorter text's 5-word shingles
    found in the closest earlier copy (0-1)."""
    story_signature: bytes | None = field(
        default=None, repr=False, compare=False, metadata={NOT_STORED: True}
    )
    """Not stored: the text's MinHash signature, from the extraction worker to the stories
    pipeline."""
    warc_filename: str | None = None
    """The WARC file holding the page as fetched, relative to the archive directory
    (``2026/12/05/<crawl_id>-00000.warc.gz``); None when archiving is off."""
    warc_record_offset: int | None = None
    """Where the page's response record starts in that file (bytes)."""
    warc_record_length: int | None = None
    """The length of that record (bytes, one gzip member)."""
