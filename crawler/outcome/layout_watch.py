"""The layout watch: does every site still look the way the extractor's layouts expect?

A cron run every 30 minutes sees a handful of new articles per site, so the watch judges a
*window* kept across runs in the incremental state (:mod:`crawler.incremental.watch`): the
newest ``SMN_WATCH_WINDOW`` article pages of each site, each with whether a known layout
(classic, modern, legacy: not the trafilatura fallback) read an article from it, the watched
fields it missed and the fields that failed their plausibility check. A site's watch *fires*
(exit code 9, the site named on the last line) in the first run whose evidence is enough:

* **unread pages**: ``SMN_WATCH_MIN_PAGES`` (2) article pages in a row that no known layout
  reads (fallback reads, or no article at all), with no page read by one since. Runs are
  taken as wholes (their pages come in no meaningful order): one odd page among good ones in
  a run never fires, two new pages of a redesigned site in one run do, on a fresh dataset too;
* **a low share in one run**: at least ``SMN_LAYOUT_MIN_PAGES`` article pages of the site in
  the run and fewer than ``SMN_LAYOUT_MIN_SHARE`` read by a known layout (a backfill that
  meets a redesign half-way);
* **fields lost**: among the site's newest ``SMN_WATCH_FIELD_PAGES`` articles (at least
  ``SMN_LAYOUT_MIN_PAGES``, the newest of this run), a watched field's coverage under its
  minimum, a field that failed its plausibility check counting as missing: a layout that still
  finds the headline but lost, say, the dateline;
* **an entry point that links no article**: a home page, section page or feed that answered
  but links no article page.

Only runs with *evidence* change a site's state: article pages of the site, or its entry
points fetched. A run that fetched nothing new keeps it as it was; pages the server did not
really answer (empty, truncated or binary bodies, 5xx, timeouts: ``PageKind.ERROR`` or no
response) are no evidence. Once fired, a site fires on every later run (its state says since
when) until a run with evidence finds it reading normally again, or an operator acknowledges
it (``scrapy health --ack SITE``): an acknowledged site is reported, not failed, until it
reads normally again. Without the incremental state the window is the run's own pages.

The spider middleware :mod:`crawler.spidermiddlewares.layout_watch` gathers the readings and
the per-site counts (``smn/site/<site>/...``); at the close it judges each site with
:func:`judge_site` and stores the verdicts in the stats (``smn/watch/verdicts``), so that
:func:`watch_layout`, and with it the exit code, stays a function of the stats.

Settings: ``SMN_WATCH_MIN_PAGES`` (2), ``SMN_WATCH_WINDOW`` (50), ``SMN_WATCH_FIELD_PAGES``
(10), ``SMN_LAYOUT_MIN_SHARE`` (0.8), ``SMN_LAYOUT_MIN_PAGES`` (5) and
``SMN_LAYOUT_MIN_FIELD_COVERAGE`` (dict field -> float, or one float for every field; a dict
given is merged over the default; 0 stops watching a field):

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

import dataclasses
import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scrapy.settings import BaseSettings

from crawler.defaults import default, get_float, get_int
from crawler.incremental.watch import PageReading, SiteWatch
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
LOST_FIELD_USUAL = 0.9
"""A field found on this share of a site's earlier articles is one its pages have."""
VERDICTS_STAT = "smn/watch/verdicts"
"""Stats key: ``{site: verdict dict}`` of the close-time judgement (:meth:`SiteVerdict.as_dict`)."""
UNREAD_STAT = "smn/watch/unread"
"""Stats key: the run's article pages that gave no article, ``[{url, site, reason}]``."""
UNREAD_LISTED = 200
"""At most this many unread pages are listed in the stats and the report (all are counted)."""


@dataclass(frozen=True)
class LayoutRules:
    min_share: float = default("SMN_LAYOUT_MIN_SHARE")
    min_pages: int = default("SMN_LAYOUT_MIN_PAGES")
    min_changed: int = default("SMN_WATCH_MIN_PAGES")
    window: int = default("SMN_WATCH_WINDOW")
    field_pages: int = default("SMN_WATCH_FIELD_PAGES")
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
            min_changed=max(get_int(settings, "SMN_WATCH_MIN_PAGES"), 1),
            window=max(get_int(settings, "SMN_WATCH_WINDOW"), 1),
            field_pages=max(get_int(settings, "SMN_WATCH_FIELD_PAGES"), 1),
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
    layouts: Mapping[str, int] = field(default_factory=dict)
    """The article pages each known layout read."""

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
            "layouts": dict(sorted(self.layouts.items())),
            "field_coverage": {n: _round(self.coverage(n)) for n in names},
            "judged": self.judged,
            "fired": self.fired,
            "low_fields": self.low_fields,
            "entry_points": self.entry_points,
            "entry_points_without_articles": self.entry_points_empty,
        }


@dataclass(frozen=True)
class SiteVerdict:
    """The watch's judgement of one site at a run's close, and the state it leaves."""

    site: str
    watch: SiteWatch
    """The site's state after this run (stored for the next)."""
    problems: tuple[str, ...]
    """What is wrong now (empty: the site reads normally, or there was no evidence)."""
    evidence: bool
    """The run brought evidence on the site (article pages, or its entry points fetched)."""
    window_pages: int
    known: int
    """Of the window's pages, those a known layout read."""
    changed_streak: int
    """The newest pages that show a change, back to the newest run read as usual."""
    field_coverage: Mapping[str, float | None]
    """Over the newest articles (see ``field_pages``); None without enough of them."""

    @property
    def fired(self) -> bool:
        """The site fails the run: fired and not acknowledged."""
        return self.watch.fired and self.watch.acknowledged_at is None

    def describe(self) -> str:
        since = when(self.watch.fired_since)
        phrase = f"{self.site}: {self.watch.reason}"
        return phrase + (f" (since {since})" if since else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "fired": self.fired,
            "fired_since": when(self.watch.fired_since),
            "acknowledged_at": when(self.watch.acknowledged_at),
            "reason": self.watch.reason or None,
            "problems_now": list(self.problems),
            "evidence": self.evidence,
            "window_pages": self.window_pages,
            "window_known_share": _round(self.known / self.window_pages)
            if self.window_pages
            else None,
            "usual_layouts": list(self.watch.layouts),
            "changed_streak": self.changed_streak,
            "recent_field_coverage": {k: _round(v) for k, v in self.field_coverage.items()},
        }


def is_off(reading: PageReading, usual: Collection[str]) -> bool:
    """Whether a page shows a change of the site's layout: no known layout read it, or (once
    the site's usual layouts are learnt) another than those did."""
    if not reading.known:
        return True
    return bool(usual) and reading.layout not in usual


def learnt_layouts(readings: Sequence[PageReading]) -> set[str]:
    """The known layouts that read ``readings`` (of a run that read normally). Every era's:
    a site whose archive one layout reads and whose new pages another (SpaceDaily) has both
    as usual, and a backfill that meets old pages teaches the layout that reads them."""
    return {r.layout for r in readings if r.known and r.layout}


def runs_newest_first(window: Sequence[PageReading]) -> list[list[PageReading]]:
    """The window's pages grouped by run, the newest run first."""
    by_run: dict[str, list[PageReading]] = {}
    for reading in window:
        by_run.setdefault(reading.run, []).append(reading)
    return sorted(by_run.values(), key=lambda pages: max(r.seen_at for r in pages), reverse=True)


def lost_fields(window: Sequence[PageReading], rules: LayoutRules) -> list[str]:
    """Fields the site's articles nearly always had (90% of at least ``field_pages`` earlier
    articles) that its newest articles lack, ``min_changed`` of them in a row (whole runs)
    with none that has it since: a layout that still reads the page but lost a part of it.
    A value that failed its plausibility check counts as missing."""
    runs = runs_newest_first([r for r in window if r.article])
    out = []
    for name, minimum in rules.field_min_coverage.items():
        if minimum <= 0:
            continue
        lacking = 0
        for pages in runs:
            if any(name not in r.missing and name not in r.implausible for r in pages):
                break
            lacking += 1
        streak = sum(len(pages) for pages in runs[:lacking])
        older = [r for pages in runs[lacking:] for r in pages]
        if streak < rules.min_changed or not older:
            continue
        found = sum(1 for r in older if name not in r.missing and name not in r.implausible)
        if len(older) >= rules.field_pages and found / len(older) >= LOST_FIELD_USUAL:
            out.append(
                f"{name} missing on the {streak} newest articles (found on "
                f"{_pct(found / len(older))} of the {len(older)} before)"
            )
    return out


def changed_streak(
    window: Sequence[PageReading], usual: Collection[str]
) -> tuple[list[PageReading], float | None]:
    """The pages of the newest runs in which every page shows a change (:func:`is_off`),
    back to the newest run with a page read as usual (whole runs: a run's pages come in no
    meaningful order); and when that run read its newest usual page (None: no such run)."""
    streak: list[PageReading] = []
    for pages in runs_newest_first(window):
        usual_reads = [r.seen_at for r in pages if not is_off(r, usual)]
        if usual_reads:
            return streak, max(usual_reads)
        streak += pages
    return streak, None


def recent_coverage(
    window: Sequence[PageReading], rules: LayoutRules
) -> tuple[dict[str, float | None], list[PageReading]]:
    """Coverage of each watched field over the newest ``field_pages`` articles of the window
    (a field that failed its check counts as missing), and those articles."""
    articles = [r for r in window if r.article][-rules.field_pages :]
    coverage: dict[str, float | None] = {}
    for name in rules.field_min_coverage:
        if not articles:
            coverage[name] = None
            continue
        found = sum(1 for r in articles if name not in r.missing and name not in r.implausible)
        coverage[name] = found / len(articles)
    return coverage, articles


def judge_site(
    site: str,
    window: Sequence[PageReading],
    before: SiteWatch,
    run: SiteLayout | None,
    crawl_id: str,
    now: float,
    rules: LayoutRules,
    started: float | None = None,
) -> SiteVerdict:
    """Judge one site over its window (oldest first, this run's pages included) at the close
    of run ``crawl_id`` (a distributed crawl's run: :func:`~crawler.crawl_id.whole_run_of`);
    ``run`` is the site's counts in this run, ``before`` its stored state, ``started`` when
    this crawl (this worker) began.

    A run is judged from the state before it. A worker of a distributed run that closes
    early judges the run's pages read so far; a worker that closes later judges the run again,
    all of its pages in the window, from the state before the run, not from what the first
    made of a part of it (layouts learnt from the archive's pages, while the newest pages are
    the newer platform's, say). A state stored under the same run id before ``started`` is
    an earlier run's (an id given again with ``SMN_CRAWL_ID``), and is the state before."""
    prior = before
    if (
        before.run == crawl_id
        and before.before_run is not None
        and (started is None or (before.judged_at or 0.0) >= started)
    ):
        prior = before.before_run
    usual = prior.layouts
    evidence = any(r.run == crawl_id for r in window) or bool(run and run.entry_points)
    streak, last_usual = changed_streak(window, usual)
    coverage, articles = recent_coverage(window, rules)
    problems: list[str] = []
    if len(streak) >= rules.min_changed:
        problems.append(_describe_change(streak, usual, last_usual))
    else:
        recent = window[-rules.field_pages :]
        off = [r for r in recent if is_off(r, usual)]
        share = 1 - len(off) / len(recent) if recent else 1.0
        if len(recent) >= rules.min_pages and share < rules.min_share:
            problems.append(
                f"{_pct(share)} of the {len(recent)} newest article pages read as usual (min "
                f"{_pct(rules.min_share)}; {_how(off, usual)})"
            )
    problems += lost_fields(window, rules)
    if len(articles) >= rules.min_pages:
        minimum = rules.field_min_coverage
        low = [
            f"{name} {_pct(cover)} (min {_pct(minimum[name])})"
            for name, cover in coverage.items()
            if cover is not None and minimum[name] > 0 and cover < minimum[name]
        ]
        if low:
            problems.append(
                f"fields below their minimum on the {len(articles)} newest articles: "
                + ", ".join(low)
            )
    if run is not None and run.entry_points_empty:
        problems.append(
            f"{run.entry_points_empty} of {run.entry_points} entry points (home, section pages,"
            " feeds) answered but link no article page"
        )
    if not evidence:
        after = before
    elif problems:
        after = SiteWatch(
            layouts=usual,
            fired_since=prior.fired_since if prior.fired else now,
            reason="; ".join(problems),
            acknowledged_at=prior.acknowledged_at if prior.fired else None,
            run=crawl_id,
            before_run=dataclasses.replace(prior, before_run=None),
            judged_at=now,
        )
    else:
        # Reads normally: a firing and its acknowledgement end; the layouts that read this
        # run's pages are usual from now on: those of the window, those of the run's pages
        # the window no longer holds, and those another worker of the run learnt.
        learnt = learnt_layouts([r for r in window if r.run == crawl_id])
        learnt |= {name for name, n in (run.layouts if run else {}).items() if n > 0}
        after = SiteWatch(
            layouts=tuple(sorted(set(before.layouts) | learnt)),
            run=crawl_id,
            before_run=dataclasses.replace(prior, before_run=None),
            judged_at=now,
        )
    return SiteVerdict(
        site=site,
        watch=after,
        problems=tuple(problems),
        evidence=evidence,
        window_pages=len(window),
        known=sum(1 for r in window if r.known),
        changed_streak=len(streak),
        field_coverage=coverage,
    )


def _describe_change(
    streak: Sequence[PageReading], usual: Collection[str], last_usual: float | None
) -> str:
    """The phrase of a change: how many pages in a row, read how, since when."""
    how = _how(streak, usual)
    since = f"since {when(last_usual)}" if last_usual is not None else "in the window"
    return (
        f"{len(streak)} article pages in a row not read as before ({how}; none "
        f"read as usual {since})"
    )


@dataclass(frozen=True)
class LayoutWatch:
    sites: Mapping[str, SiteLayout]
    rules: LayoutRules
    verdicts: Mapping[str, Mapping[str, Any]] | None = None
    """The close-time verdicts (``smn/watch/verdicts``); None: the run's counts alone."""

    @property
    def fired(self) -> list[str]:
        """The sites that fail the run."""
        if self.verdicts is not None:
            return sorted(site for site, v in self.verdicts.items() if v.get("fired"))
        return [s.site for s in self.sites.values() if s.fired]

    @property
    def acknowledged(self) -> list[str]:
        if self.verdicts is None:
            return []
        return sorted(
            site
            for site, v in self.verdicts.items()
            if v.get("fired_since") and v.get("acknowledged_at")
        )

    def describe(self) -> list[str]:
        """One phrase per fired site for the outcome line."""
        if self.verdicts is None:
            return [s.describe() for s in self.sites.values() if s.fired]
        phrases = []
        for site in self.fired:
            verdict = self.verdicts[site]
            since = verdict.get("fired_since")
            phrases.append(
                f"{site}: {verdict.get('reason')}" + (f" (since {since})" if since else "")
            )
        return phrases

    def as_dict(self) -> dict[str, Any]:
        sites: dict[str, dict[str, Any]] = {
            name: s.as_dict() for name, s in sorted(self.sites.items())
        }
        for name, verdict in sorted((self.verdicts or {}).items()):
            entry = sites.setdefault(name, {})
            entry["fired"] = bool(verdict.get("fired"))
            entry["window"] = dict(verdict)
        return {
            "min_share": self.rules.min_share,
            "min_pages": self.rules.min_pages,
            "min_changed": self.rules.min_changed,
            "window": self.rules.window,
            "field_min_coverage": dict(self.rules.field_min_coverage),
            "fired": self.fired,
            "acknowledged": self.acknowledged,
            "sites": sites,
        }


def site_counts(stats: Stats, rules: LayoutRules) -> dict[str, SiteLayout]:
    """The per-site counts of a run (``smn/site/<site>/...``)."""
    names = {
        key[len(SITE_PREFIX) :].split("/", 1)[0]
        for key in stats
        if key.startswith(SITE_PREFIX) and key.count("/") >= 3
    }
    sites = {}
    for site in sorted(names):
        prefix = f"{SITE_PREFIX}{site}/"
        fields = _counts_under(stats, f"{prefix}field/")
        sites[site] = SiteLayout(
            site=site,
            article_pages=count(stats, f"{prefix}article_pages"),
            articles=count(stats, f"{prefix}articles"),
            recognised=count(stats, f"{prefix}recognised"),
            fields=fields,
            rules=rules,
            entry_points=count(stats, f"{prefix}entry_points"),
            entry_points_empty=count(stats, f"{prefix}entry_points_empty"),
            layouts=_counts_under(stats, f"{prefix}layout/"),
        )
    return sites


def _counts_under(stats: Stats, prefix: str) -> dict[str, int]:
    return {key[len(prefix) :]: count(stats, key) for key in stats if key.startswith(prefix)}


def watch_layout(stats: Stats, rules: LayoutRules | None = None) -> LayoutWatch:
    """The layout watch of a run: the close-time verdicts in its stats when there are, else
    the run's own counts judged alone."""
    rules = rules or LayoutRules()
    verdicts = stats.get(VERDICTS_STAT)
    return LayoutWatch(
        site_counts(stats, rules),
        rules,
        verdicts if isinstance(verdicts, Mapping) else None,
    )


def when(epoch: float | None) -> str | None:
    """``2026-12-05 06:00 UTC`` for epoch seconds, None for None."""
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _how(pages: Sequence[PageReading], usual: Collection[str]) -> str:
    """ "2 by the legacy layout instead of classic, 1 by the fallback, 1 not read as an
    article"."""
    unread = sum(1 for r in pages if not r.article)
    fallback = sum(1 for r in pages if r.article and not r.known)
    other: dict[str, int] = {}
    for r in pages:
        if r.known and r.layout:
            other[r.layout] = other.get(r.layout, 0) + 1
    instead = f" instead of {', '.join(sorted(usual))}" if usual else ""
    how = [f"{n} by the {layout} layout{instead}" for layout, n in sorted(other.items())]
    how += [f"{fallback} by the fallback"] if fallback else []
    how += [f"{unread} not read as articles"] if unread else []
    return ", ".join(how)


def acknowledge(watch: SiteWatch, window: Sequence[PageReading], now: float) -> SiteWatch:
    """An operator's acknowledgement of a fired site: it no longer fails runs, and the known
    layouts that read its changed pages become usual (the site's new markup, accepted), so
    that it clears at the next run that reads it so; a site whose pages no known layout reads
    stays acknowledged until it reads normally again."""
    streak, _ = changed_streak(window, watch.layouts)
    accepted = {r.layout for r in streak if r.known and r.layout}
    return SiteWatch(
        layouts=tuple(sorted(set(watch.layouts) | accepted)),
        fired_since=watch.fired_since,
        reason=watch.reason,
        acknowledged_at=now,
    )
