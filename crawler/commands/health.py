"""``scrapy health``: the crawl's health at a glance, one line per site; ``--ack SITE``
acknowledges a fired layout watch.

Each line is read from the incremental state (the layout watch's window of each site, its
watch state, the article pages still unread) and from the run reports of the last
``--days`` days (articles per day): ::

    spacewar.com      41.5/day  usual layout 100% (classic)  fields: title 100% text 100% ...
                      implausible 0  unread 0  watch ok

``--ack SITE`` (repeatable) marks the firing of each named site as acknowledged
(:func:`crawler.outcome.layout_watch.acknowledge`): its runs stop failing with code 9 and the
layouts that read its changed pages become usual; the report keeps naming it until it reads
normally again. Exit 0; 2 for an unknown or unfired site, 4 when the state cannot be read or
written.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import UsageError

from crawler.dataset.paths import dataset_dir, reports_dir, state_path
from crawler.defaults import get_float
from crawler.incremental.store import SeenStore, SqliteSeenStore, StateError
from crawler.incremental.watch import PageReading, SiteWatch
from crawler.outcome.judge import ExitCode
from crawler.outcome.layout_watch import (
    LayoutRules,
    acknowledge,
    is_off,
    recent_coverage,
    when,
)
from crawler.util.command import ProjectCommand

if TYPE_CHECKING:
    import argparse

DAY = 86_400.0


class Command(ProjectCommand):
    def syntax(self) -> str:
        return "[--days N] [--ack SITE ...]"

    def short_desc(self) -> str:
        return "One line per site: articles per day, layouts, fields, unread pages, watch"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--days", type=float, default=7.0, help="read the run reports of the last N days"
        )
        parser.add_argument(
            "--ack",
            action="append",
            default=[],
            metavar="SITE",
            help="acknowledge the fired layout watch of SITE (repeatable)",
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError("scrapy health takes no arguments (sites go with --ack)")
        assert self.settings is not None
        try:
            with open_state(self.settings) as store:
                if opts.ack:
                    lines, code = acknowledge_sites(store, opts.ack, time.time())
                else:
                    rules = LayoutRules.from_settings(self.settings)
                    runs = load_reports(reports_dir(self.settings), opts.days)
                    lines, code = health_lines(store, runs, rules, opts.days), ExitCode.OK
        except StateError as exc:
            lines, code = [f"FAILED (code 4): {exc}"], ExitCode.OUTPUT_ERROR
        for line in lines:
            print(line, flush=True)
        self.exitcode = int(code)


@contextmanager
def open_state(settings: Any) -> Iterator[SeenStore]:
    """The incremental state the crawl uses: Redis when ``SMN_REDIS_URL`` is set, else the
    SQLite file (StateError when there is none)."""
    if settings.get("SMN_REDIS_URL"):
        from crawler.distributed.config import CrawlKeys, DistributedConfig
        from crawler.distributed.store import RedisSeenStore, default_scope

        config = DistributedConfig.from_settings(settings, "smn")
        dataset = dataset_dir(settings) or Path("output/articles")
        store: SeenStore = RedisSeenStore.from_url(
            config.url,
            CrawlKeys(config.crawl).state,
            recheck_days=get_float(settings, "SMN_STATE_RECHECK_DAYS"),
            scope=config.dataset_scope or default_scope(dataset),
            dataset=dataset,
        )
    else:
        path = state_path(settings)
        if path is None or not path.exists():
            raise StateError(f"no incremental state at {path}: run a crawl first")
        store = SqliteSeenStore(path, recheck_days=get_float(settings, "SMN_STATE_RECHECK_DAYS"))
    try:
        yield store
    finally:
        store.close()


def acknowledge_sites(
    store: SeenStore, sites: Sequence[str], now: float
) -> tuple[list[str], ExitCode]:
    watches = store.site_watches()
    lines: list[str] = []
    code = ExitCode.OK
    for name in sites:
        site = name.lower().removeprefix("www.")
        watch = watches.get(site)
        if watch is None or not watch.fired:
            lines.append(f"{site}: the layout watch has not fired; nothing to acknowledge")
            code = ExitCode.USAGE
            continue
        window = store.readings([site]).get(site, [])
        after = acknowledge(watch, window, now)
        store.set_site_watch(site, after)
        lines.append(
            f"{site}: acknowledged (fired since {_shown(watch.fired_since)}: {watch.reason}); "
            f"usual layouts now {', '.join(after.layouts) or 'none'}. Runs no longer fail on "
            "it; it stays in the report until it reads normally again."
        )
    return lines, code


def load_reports(directory: Path | None, days: float) -> list[Mapping[str, Any]]:
    """The run reports of the last ``days`` days, oldest first (unreadable ones skipped)."""
    if directory is None or not directory.is_dir():
        return []
    since = time.time() - days * DAY
    out = []
    for path in directory.glob("*.json"):
        try:
            if path.stat().st_mtime < since:
                continue
            report = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(report, dict):
            out.append(report)
    return sorted(out, key=lambda r: str(r.get("started_at") or r.get("crawl_id") or ""))


def articles_per_site(reports: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Articles extracted per site over the reports (the layout watch's counts)."""
    totals: dict[str, int] = {}
    for report in reports:
        sites = (report.get("layout_watch") or {}).get("sites") or {}
        for site, entry in sites.items():
            if isinstance(entry, Mapping):
                totals[site] = totals.get(site, 0) + int(entry.get("articles") or 0)
    return totals


def health_lines(
    store: SeenStore, reports: Sequence[Mapping[str, Any]], rules: LayoutRules, days: float
) -> list[str]:
    windows = store.readings()
    watches = store.site_watches()
    unread: dict[str, int] = {}
    for page in store.unread():
        unread[page.site] = unread.get(page.site, 0) + 1
    articles = articles_per_site(reports)
    sites = sorted(set(windows) | set(watches) | set(unread) | set(articles))
    lines = [
        f"Crawl health over the last {days:g} days ({len(reports)} runs) and each site's "
        f"newest {rules.window} article pages:"
    ]
    for site in sites:
        lines.append(
            site_line(
                site,
                windows.get(site, []),
                watches.get(site, SiteWatch()),
                articles.get(site, 0) / days if days > 0 else 0.0,
                unread.get(site, 0),
                rules,
            )
        )
    fired = [s for s in sites if watches.get(s, SiteWatch()).fired]
    lines.append(
        f"layout watch fired on {', '.join(fired)} (scrapy health --ack SITE to acknowledge)"
        if fired
        else "layout watch: no site fired"
    )
    return lines


def site_line(
    site: str,
    window: Sequence[PageReading],
    watch: SiteWatch,
    per_day: float,
    unread: int,
    rules: LayoutRules,
) -> str:
    usual = sum(1 for r in window if not is_off(r, watch.layouts))
    share = f"{usual / len(window):.0%}" if window else "n/a"
    coverage, _ = recent_coverage(window, rules)
    fields = " ".join(
        f"{_short(name)} {'n/a' if cover is None else f'{cover:.0%}'}"
        for name, cover in coverage.items()
    )
    implausible = sum(len(r.implausible) for r in window)
    if watch.fired:
        state = f"FIRED since {_shown(watch.fired_since)}: {watch.reason}"
        if watch.acknowledged_at is not None:
            state = f"acknowledged {_shown(watch.acknowledged_at)}; " + state
    else:
        state = "ok"
    layouts = ", ".join(watch.layouts) or "none learnt"
    return (
        f"{site:<22} {per_day:6.1f}/day  read as usual {share} ({layouts}) of {len(window)}"
        f"  fields: {fields}  implausible {implausible}  unread {unread}  watch {state}"
    )


_SHORT = {"published_date": "date"}


def _short(name: str) -> str:
    return _SHORT.get(name, name)


def _shown(epoch: float | None) -> str:
    return when(epoch) or "-"
