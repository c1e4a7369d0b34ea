"""Did a run succeed? The exit code of ``scrapy crawl smn``, judged from the run's stats.

:func:`judge` is a pure function of the stats dict and the settings, so every rule below is
unit-tested on plain dicts; the crawl command (:mod:`crawler.commands.crawl`) exits with its
code and the run report (:mod:`crawler.extensions.run_report`) records it.

Exit codes. When several apply, the run exits with the first of this table (they are
numbered in that order); the outcome line names the others after "also:".

====  =================  ==============================================================
code  name               meaning
====  =================  ==============================================================
0     OK                 the run finished and every record it extracted was written
                         (or dropped for a valid reason: duplicate URL, not an article)
1     NOT_STARTED        Scrapy's own: the crawl could not start (spider or settings
                         error; the traceback is above)
2     USAGE              Scrapy's own: usage error (bad option or spider argument)
3     LOCKED             another run holds the dataset lock; this one did nothing
4     OUTPUT_ERROR       a file of the run could not be read or written: the dataset,
                         the incremental state, a feed (``-o/-O``), the run report
                         (``smn/error/<kind>``, finish reason ``output_error``,
                         ``feedexport/failed_count/*``)
5     INCOMPLETE         the run did not finish: stopped by a signal (finish reason
                         ``shutdown``), killed, or closed early for another reason
6     NO_ENTRY_POINT     none of the entry points (feeds, home and section pages, or the
                         ``start_urls``) answered 2xx (not for a re-extraction, which has
                         none)
7     EXCEPTIONS         an exception escaped a spider callback or an item pipeline
                         (``spider_exceptions/*``, ``smn/errors/pipeline/*``)
8     RECORDS_LOST       records extracted but neither written nor dropped for a valid
                         reason (``parquet/rows_lost``, ``articles/dropped/schema_error``,
                         or a gap in the accounting)
9     LAYOUT_CHANGED     the layout watch fired: a site's pages are no longer read by a
                         known layout, lost fields, or its entry points link no article
                         (see :mod:`crawler.outcome.layout_watch`); it fires on every
                         run until the site reads normally or is acknowledged
10    TOO_MANY_ERRORS    more errors than ``SMN_MAX_ERRORS`` (or finish reason
                         ``closespider_errorcount``)
11    CLOCK_BEHIND       the system clock is more than a day behind the newest fetch time
                         in the dataset: nothing was written (``smn/clock/behind_hours``)
====  =================  ==============================================================

Errors (for ``SMN_MAX_ERRORS``) are counted from the log, so no error path is missed:
every message logged at ERROR or CRITICAL (``log_count/ERROR``: a download that failed, an
exception in a callback or a pipeline, a record that did not fit the schema, ...), minus
the "Gave up retrying" messages (``retry/max_reached``; each is followed by the failure it
gave up on, counted once), plus responses given up with a 5xx status (Scrapy ignores those
at INFO). 404s and other 4xx are dead links, not errors: the network has plenty.

A run stopped by a limit the operator set (``CLOSESPIDER_TIMEOUT``, ``_ITEMCOUNT``,
``_PAGECOUNT``, ``_TIMEOUT_NO_ITEM``) finished as configured: it can exit 0.

Settings:

* ``SMN_MAX_ERRORS`` (int, default 50): more errors than this fail the run; negative: no
  limit.
* the layout watch's, see :mod:`crawler.outcome.layout_watch`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from scrapy.settings import BaseSettings

from crawler.dataset.paths import dataset_dir
from crawler.defaults import default, get_int
from crawler.outcome.layout_watch import LayoutRules, watch_layout
from crawler.outcome.stats import Stats, count, counts_under

COMPLETE_REASONS = frozenset(
    {
        "finished",
        "closespider_timeout",
        "closespider_itemcount",
        "closespider_pagecount",
        "closespider_timeout_no_item",
    }
)
# Drops that are the pipelines doing their job; anything else under articles/dropped/ is
# also valid (a later pipeline's reason) except a record that did not fit the schema.
INVALID_DROPS = frozenset({"schema_error"})


class ExitCode(IntEnum):
    OK = 0
    NOT_STARTED = 1
    USAGE = 2
    LOCKED = 3
    OUTPUT_ERROR = 4
    INCOMPLETE = 5
    NO_ENTRY_POINT = 6
    EXCEPTIONS = 7
    RECORDS_LOST = 8
    LAYOUT_CHANGED = 9
    TOO_MANY_ERRORS = 10
    CLOCK_BEHIND = 11


@dataclass(frozen=True)
class Problem:
    code: ExitCode
    reason: str


@dataclass(frozen=True)
class Outcome:
    """The outcome of a run: its exit code and why."""

    code: ExitCode
    reason: str
    also: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return self.code == ExitCode.OK

    def line(self) -> str:
        """The last line a run prints: ``OK: ...`` or ``FAILED (code N): ...``."""
        if self.ok:
            return f"OK: {self.reason}"
        extra = "; ".join(f"{p.reason} (code {int(p.code)})" for p in self.also)
        return f"FAILED (code {int(self.code)}): {self.reason}" + (
            f"; also: {extra}" if extra else ""
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "exit_code": int(self.code),
            "status": self.code.name,
            "reason": self.reason,
            "also": [{"exit_code": int(p.code), "reason": p.reason} for p in self.also],
            "line": self.line(),
        }


@dataclass(frozen=True)
class OutcomeRules:
    """The settings the outcome depends on."""

    max_errors: int = default("SMN_MAX_ERRORS")
    writer_enabled: bool = True
    give_up_is_error: bool = True
    layout: LayoutRules = field(default_factory=LayoutRules)

    @classmethod
    def from_settings(cls, settings: BaseSettings | Mapping[str, Any] | None) -> OutcomeRules:
        s = settings if isinstance(settings, BaseSettings) else BaseSettings(dict(settings or {}))
        level = s.get("RETRY_GIVE_UP_LOG_LEVEL", "ERROR")
        level_no = level if isinstance(level, int) else logging.getLevelName(str(level).upper())
        return cls(
            max_errors=get_int(s, "SMN_MAX_ERRORS"),
            writer_enabled=dataset_dir(s) is not None,
            give_up_is_error=isinstance(level_no, int) and level_no >= logging.ERROR,
            layout=LayoutRules.from_settings(s),
        )


# -- the figures the rules read ----------------------------------------------------------


def error_count(stats: Stats, give_up_is_error: bool = True) -> int:
    """Errors as defined in the module docstring."""
    logged = count(stats, "log_count/ERROR") + count(stats, "log_count/CRITICAL")
    if give_up_is_error:
        logged -= count(stats, "retry/max_reached")
    server = sum(
        n
        for status, n in counts_under(stats, "httperror/response_ignored_status_count").items()
        if status.startswith("5")
    )
    return max(logged, 0) + server


def valid_drops(stats: Stats) -> dict[str, int]:
    return {
        k: n for k, n in counts_under(stats, "articles/dropped").items() if k not in INVALID_DROPS
    }


def articles_written(stats: Stats, writer_enabled: bool = True) -> int:
    """Rows in published dataset files; with the dataset writer off, items that left the
    pipelines (the feeds write those)."""
    if writer_enabled:
        return count(stats, "parquet/rows_written")
    return count(stats, "item_scraped_count")


def records_lost(stats: Stats, writer_enabled: bool = True) -> int:
    """Extracted records neither written nor dropped for a valid reason."""
    gap = (
        count(stats, "smn/articles/extracted")
        - sum(valid_drops(stats).values())
        - articles_written(stats, writer_enabled)
    )
    return max(gap, count(stats, "parquet/rows_lost"), 0)


def entry_points_fetched(stats: Stats) -> int:
    """Entry points that answered 2xx (:mod:`crawler.extensions.run_counters`); any 2xx response
    when the run was not counted that way."""
    if "smn/entry/fetched" in stats:
        return count(stats, "smn/entry/fetched")
    statuses = counts_under(stats, "downloader/response_status_count")
    return sum(n for status, n in statuses.items() if status.startswith("2"))


def is_reextraction(stats: Stats) -> bool:
    """A run of ``scrapy reextract`` (its spider planned the archive's pages)."""
    return "smn/reextract/pages_planned" in stats


def exception_counts(stats: Stats) -> dict[str, int]:
    """``spider <Type>`` / ``pipeline <Type>`` -> count."""
    out = {
        f"spider {name}": n
        for name, n in counts_under(stats, "spider_exceptions").items()
        if name != "count"
    }
    out.update(
        {
            f"pipeline {name}": n
            for name, n in counts_under(stats, "smn/errors/pipeline").items()
            if name != "count"
        }
    )
    return out


# -- the outcome ----------------------------------------------------------------------


def judge(stats: Stats, settings: BaseSettings | Mapping[str, Any] | None = None) -> Outcome:
    """The exit code and reason of a run with these stats (see the module docstring)."""
    rules = OutcomeRules.from_settings(settings)
    problems = sorted(_problems(stats, rules), key=lambda p: p.code)
    if not problems:
        return Outcome(ExitCode.OK, _ok_reason(stats, rules))
    first, *rest = problems
    return Outcome(first.code, first.reason, tuple(rest))


def _problems(stats: Stats, rules: OutcomeRules) -> Iterator[Problem]:
    reason = stats.get("finish_reason")
    output = _output_problem(stats, reason)
    if output:
        yield Problem(ExitCode.OUTPUT_ERROR, output)
    behind = stats.get("smn/clock/behind_hours")
    if behind:
        yield Problem(
            ExitCode.CLOCK_BEHIND,
            f"the system clock is {behind:g} hours behind the dataset's newest fetch time:"
            " nothing was written; set the clock right",
        )
    # output_error, state_error, ...: the file error above says why the run stopped
    explained_close = (bool(output) and str(reason).endswith("_error")) or (
        bool(behind) and reason == "clock_error"
    )
    incomplete = (
        reason not in COMPLETE_REASONS
        and reason != "closespider_errorcount"
        and not explained_close
    )
    if incomplete:
        yield Problem(
            ExitCode.INCOMPLETE,
            f"the run did not finish: closed with reason {reason!r}"
            if reason
            else "the run did not finish (no finish reason: killed or crashed)",
        )
    # A run that stopped early or could not write explains missing pages and records.
    explained = bool(output) or incomplete or bool(behind)
    # A re-extraction (scrapy reextract) reads the archive: it has no entry point to fetch.
    if not explained and not is_reextraction(stats) and entry_points_fetched(stats) == 0:
        yield Problem(ExitCode.NO_ENTRY_POINT, _no_entry_reason(stats))
    lost = records_lost(stats, rules.writer_enabled)
    if lost and not explained:
        yield Problem(ExitCode.RECORDS_LOST, _lost_reason(stats, rules, lost))
    exceptions = exception_counts(stats)
    if exceptions:
        yield Problem(
            ExitCode.EXCEPTIONS,
            "exceptions escaped callbacks or pipelines: " + _kinds(exceptions),
        )
    watch = watch_layout(stats, rules.layout)
    if watch.fired:
        yield Problem(
            ExitCode.LAYOUT_CHANGED,
            "layout changed on " + "; ".join(watch.describe()),
        )
    errors = error_count(stats, rules.give_up_is_error)
    if reason == "closespider_errorcount" or 0 <= rules.max_errors < errors:
        yield Problem(
            ExitCode.TOO_MANY_ERRORS,
            f"{errors} errors (max {rules.max_errors})" + _error_detail(stats),
        )


_FILE_ERRORS = {
    "output": "the dataset could not be written",
    "archive": "the WARC archive could not be written",
    "dedup_seed": "the dataset could not be read to seed dedup",
    "state": "the incremental state could not be used",
    "report": "the run report could not be written",
    "scratch": "the scratch space {directory} (TMPDIR) could not be written: is it full?",
}


def _output_problem(stats: Stats, reason: Any) -> str:
    """Files the run could not read or write: ``smn/error/<kind>`` (set by the component
    that failed), finish reason ``output_error``, failed feed exports."""
    kinds = counts_under(stats, "smn/error")
    if reason == "output_error" and not kinds:
        kinds = {"output": 1}
    if "dedup_seed" in kinds:
        kinds.pop("output", None)  # dedup closes the spider with output_error: one cause
    parts = []
    for kind in kinds:
        text = _FILE_ERRORS.get(kind, f"{kind.replace('_', ' ')} error")
        if kind == "scratch":
            text = text.format(directory=stats.get("smn/scratch_dir") or "TMPDIR")
        lost = count(stats, "parquet/rows_lost")
        with_lost = kind in ("output", "scratch") and lost
        parts.append(text + (f" ({lost} records lost)" if with_lost else ""))
    feeds = counts_under(stats, "feedexport/failed_count")
    if feeds:
        parts.append(f"a feed export failed ({_kinds(feeds)})")
    return "; ".join(parts)


def _no_entry_reason(stats: Stats) -> str:
    answers = {f"HTTP {status}": n for status, n in counts_under(stats, "smn/entry/failed").items()}
    answers.update(_download_failures(stats))
    detail = f" ({_kinds(answers, limit=4)})" if answers else ""
    if not count(stats, "downloader/request_count"):
        detail = " (no request was made)"
    return "no entry point could be fetched" + detail


def _download_failures(stats: Stats) -> dict[str, int]:
    """Downloader exceptions by short type name; IgnoreRequest is robots.txt or offsite
    filtering, not a failure."""
    return {
        name.rsplit(".", 1)[-1]: n
        for name, n in counts_under(stats, "downloader/exception_type_count").items()
        if not name.endswith("IgnoreRequest")
    }


def _lost_reason(stats: Stats, rules: OutcomeRules, lost: int) -> str:
    extracted = count(stats, "smn/articles/extracted")
    written = articles_written(stats, rules.writer_enabled)
    drops = sum(valid_drops(stats).values())
    schema = count(stats, "articles/dropped/schema_error")
    why = f"; {schema} did not fit the schema" if schema else ""
    return (
        f"{lost} of {extracted} extracted records were not written "
        f"({written} written, {drops} dropped as duplicates or not articles{why})"
    )


def _error_detail(stats: Stats) -> str:
    kinds = {f"download {name}": n for name, n in _download_failures(stats).items()}
    kinds.update(
        {
            f"HTTP {status}": n
            for status, n in counts_under(stats, "httperror/response_ignored_status_count").items()
            if status.startswith("5")
        }
    )
    kinds.update(exception_counts(stats))
    return f": {_kinds(kinds, limit=4)}" if kinds else ""


def _ok_reason(stats: Stats, rules: OutcomeRules) -> str:
    written = articles_written(stats, rules.writer_enabled)
    parts = [f"{written} articles written"]
    syndicated = count(stats, "articles/syndicated")
    if syndicated:
        parts[0] += f" ({syndicated} syndicated copies)"
    duplicates = count(stats, "articles/dropped/duplicate_url")
    if duplicates:
        parts.append(f"{duplicates} known URLs skipped")
    skipped = count(stats, "smn/incremental/skipped")
    if skipped:
        parts.append(f"{skipped} known pages skipped")
    errors = error_count(stats, rules.give_up_is_error)
    parts.append(f"{errors} errors" + (f" (max {rules.max_errors})" if errors else ""))
    reason = stats.get("finish_reason")
    if reason != "finished":
        parts.insert(0, f"stopped at its configured limit ({reason})")
    return ", ".join(parts)


def _kinds(counts: Mapping[str, int], limit: int = 6) -> str:
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{name} x{n}" for name, n in top[:limit])
    return text + (f", ... ({len(top) - limit} more)" if len(top) > limit else "")
