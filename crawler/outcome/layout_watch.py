"""The layout watch: does every site still look the way the extractor's layouts expect?

The spider counts, per site (``smn/site/<site>/...``): ``article_pages`` (pages that look
like, or turned out to be, articles), ``articles`` (records extracted), ``recognised``
(records read by a known layout, classic or modern, not the trafilatura fallback) and
``field/<name>`` (records that have the field). From these the watch computes, per site:

* the **share** recognised: ``recognised / article_pages``. When a site changes its markup
  (as SpaceDaily did in 2026) its pages fall to the fallback or stop reading as articles
  at all, and the share drops.
* the **coverage** of each field: ``field/<name> / articles``. A layout that still finds
  the headline but lost, say, the dateline shows here while its share stays at 100%.

A site fires the watch when it had at least ``SMN_LAYOUT_MIN_PAGES`` article pages and its
share is below ``SMN_LAYOUT_MIN_SHARE``, or it had at least that many articles and a
field's coverage is below that field's minimum. A handful of pages says little (one odd
page of three is 33%), hence the floor.

Settings:

* ``SMN_LAYOUT_MIN_SHARE`` (float, default 0.8).
* ``SMN_LAYOUT_MIN_PAGES`` (int, default 5).
* ``SMN_LAYOUT_MIN_FIELD_COVERAGE`` (dict field -> float, or one float for every field;
  default below, a dict given is merged over it; 0 stops watching a field):

  ==============  =======  ====================================================
  field           minimum  why
  ==============  =======  ====================================================
  title           0.9      every article has a headline; the validation drops
                           records without one, so a gap means pages lost
  text            0.9      same
  published_date  0.8      the dateline or the page metadata; rare gaps only
  dateline        0.5      wire briefs and some newer-platform posts have none
  byline          0.2      agency briefs (IANS, ...) often carry no byline
  ==============  =======  ====================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scrapy.settings import BaseSettings

from crawler.defaults import default, get_float, get_int
from crawler.outcome.stats import Stats, count
from crawler.protocol import SITE_STATS_PREFIX

DEFAULT_FIELD_MIN_COVERAGE: Mapping[str, float] = {
    "title": 0.9,
    "text": 0.9,
    "published_date": 0.8,
    "dateline": 0.5,
    "byline": 0.2,
}
SITE_PREFIX = SITE_STATS_PREFIX
WATCHED_FIELDS: tuple[str, ...] = tuple(DEFAULT_FIELD_MIN_COVERAGE)
"""The record fields whose coverage the watch judges (counted per site as ``field/<name>``)."""


@dataclass(frozen=True)
class LayoutRules:
    min_share: float = default("SMN_LAYOUT_MIN_SHARE")
    min_pages: int = default("SMN_LAYOUT_MIN_PAGES")
    field_min_coverage: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_FIELD_MIN_COVERAGE)
    )

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> LayoutRules:
        coverage = dict(DEFAULT_FIELD_MIN_COVERAGE)
        raw = settings.get("SMN_LAYOUT_MIN_FIELD_COVERAGE")
        if isinstance(raw, int | float) or (isinstance(raw, str) and _is_number(raw)):
            coverage = dict.fromkeys(coverage, float(raw))
        elif raw not in (None, ""):
            coverage.update(
                {
                    str(k): float(v)
                    for k, v in settings.getdict("SMN_LAYOUT_MIN_FIELD_COVERAGE").items()
                }
            )
        return cls(
            min_share=get_float(settings, "SMN_LAYOUT_MIN_SHARE"),
            min_pages=get_int(settings, "SMN_LAYOUT_MIN_PAGES"),
            field_min_coverage=coverage,
        )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class SiteLayout:
    """What the watch saw on one site."""

    site: str
    article_pages: int
    articles: int
    recognised: int
    fields: Mapping[str, int]
    rules: LayoutRules
    entry_points: int = 0
    """The site's entry points (home, section pages, feeds) the spider read."""
    entry_points_empty: int = 0
    """Of those, the ones that link no article page."""

    @property
    def share(self) -> float | None:
        """Share of article pages read by a known layout; None without article pages."""
        return self.recognised / self.article_pages if self.article_pages else None

    def coverage(self, name: str) -> float | None:
        return self.fields.get(name, 0) / self.articles if self.articles else None

    @property
    def judged(self) -> bool:
        return self.article_pages >= self.rules.min_pages

    @property
    def share_low(self) -> bool:
        share = self.share
        return self.judged and share is not None and share < self.rules.min_share

    @property
    def low_fields(self) -> list[str]:
        """Watched fields under their minimum (only with enough articles to say so)."""
        if self.articles < self.rules.min_pages:
            return []
        low = []
        for name, minimum in self.rules.field_min_coverage.items():
            cover = self.coverage(name)
            if minimum > 0 and cover is not None and cover < minimum:
                low.append(name)
        return low

    @property
    def fired(self) -> bool:
        return self.share_low or bool(self.low_fields) or self.entry_points_empty > 0

    def describe(self) -> str:
        """One phrase for the outcome line: which site, what fell, how far."""
        parts = []
        if self.share_low:
            fallback = self.articles - self.recognised
            unread = self.article_pages - self.articles
            how = ", ".join(
                text
                for n, text in (
                    (fallback, f"{fallback} by the fallback"),
                    (unread, f"{unread} not read as articles"),
                )
                if n > 0
            )
            parts.append(
                f"{_pct(self.share)} of {self.article_pages} article pages read by a known "
                f"layout (min {_pct(self.rules.min_share)}; {how})"
            )
        low = self.low_fields
        if low:
            fields = ", ".join(
                f"{n} {_pct(self.coverage(n))} (min {_pct(self.rules.field_min_coverage[n])})"
                for n in low
            )
            parts.append(f"fields below their minimum on {self.articles} articles: {fields}")
        if self.entry_points_empty:
            parts.append(
                f"{self.entry_points_empty} of {self.entry_points} entry points (home, section"
                " pages, feeds) answered but link no article page"
            )
        return f"{self.site}: " + "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        names = sorted(set(self.rules.field_min_coverage) | set(self.fields))
        return {
            "article_pages": self.article_pages,
            "articles": self.articles,
            "recognised": self.recognised,
            "recognised_share": _round(self.share),
            "field_coverage": {n: _round(self.coverage(n)) for n in names},
            "judged": self.judged,
            "fired": self.fired,
            "low_fields": self.low_fields,
            "entry_points": self.entry_points,
            "entry_points_without_articles": self.entry_points_empty,
        }


@dataclass(frozen=True)
class LayoutWatch:
    sites: Mapping[str, SiteLayout]
    rules: LayoutRules

    @property
    def fired(self) -> list[SiteLayout]:
        return [s for s in self.sites.values() if s.fired]

    def as_dict(self) -> dict[str, Any]:
        return {
            "min_share": self.rules.min_share,
            "min_pages": self.rules.min_pages,
            "field_min_coverage": dict(self.rules.field_min_coverage),
            "fired": [s.site for s in self.fired],
            "sites": {name: s.as_dict() for name, s in sorted(self.sites.items())},
        }


def watch_layout(stats: Stats, rules: LayoutRules | None = None) -> LayoutWatch:
    """The layout watch over the ``smn/site/*`` counts of a run's stats."""
    rules = rules or LayoutRules()
    names = {
        key[len(SITE_PREFIX) :].split("/", 1)[0]
        for key in stats
        if key.startswith(SITE_PREFIX) and key.count("/") >= 3
    }
    sites = {}
    for site in sorted(names):
        prefix = f"{SITE_PREFIX}{site}/"
        field_prefix = f"{prefix}field/"
        fields = {
            key[len(field_prefix) :]: count(stats, key)
            for key in stats
            if key.startswith(field_prefix)
        }
        sites[site] = SiteLayout(
            site=site,
            article_pages=count(stats, f"{prefix}article_pages"),
            articles=count(stats, f"{prefix}articles"),
            recognised=count(stats, f"{prefix}recognised"),
            fields=fields,
            rules=rules,
            entry_points=count(stats, f"{prefix}entry_points"),
            entry_points_empty=count(stats, f"{prefix}entry_points_empty"),
        )
    return LayoutWatch(sites, rules)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
