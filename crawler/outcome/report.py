"""The run report: what a finished run did, built from its stats alone, and the summary
lines the crawl command prints (the last one is the outcome). Pure functions, no Scrapy:
the extension (:mod:`crawler.extensions.run_report`) and the command call them.

A report holds: the crawl id, start and end time, elapsed seconds, requests, responses by
status, articles (extracted, written, known articles skipped, duplicates, syndicated copies,
drops by reason, lost), errors by kind, faults (retries, timeouts, size-cap cancels,
robots.txt refusals, offsite requests, every download fault by kind, 5xx answers, broken
feeds), the files written, the finish reason, the exit code and its reason
(:mod:`crawler.outcome.judge`), the layout watch (:mod:`crawler.outcome.layout_watch`) and
the damaged dataset files the run moved to the quarantine (``quarantined``: path, reason and
where it went, from the ``smn/dataset/quarantined_files`` stat; see
:mod:`crawler.dataset.quarantine`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crawler.crawl_id import filename_safe
from crawler.dataset.generations import stable_path
from crawler.dataset.quarantine import STAT_FILES as QUARANTINED_FILES
from crawler.dataset.quarantine import quarantine_dir
from crawler.dataset.schema_check import OUTDATED_SCHEMA_STAT
from crawler.downloadermiddlewares.faults import PREFIX as FAULTS
from crawler.outcome.judge import (
    Outcome,
    OutcomeRules,
    articles_written,
    entry_points_fetched,
    error_count,
    is_reextraction,
    records_lost,
)
from crawler.outcome.layout_watch import UNREAD_STAT, watch_layout
from crawler.outcome.stats import Stats, count, counts_under, listed
from crawler.protocol import NOT_JUDGED_STAT, SITE_STATS_PREFIX


def build_report(
    stats: Stats,
    *,
    crawl_id: str,
    outcome: Outcome,
    rules: OutcomeRules,
    dataset: Path | None = None,
    files: Sequence[Path] = (),
) -> dict[str, Any]:
    """The report of a run with these stats (a JSON-ready dict)."""
    exceptions = counts_under(stats, "downloader/exception_type_count")
    failures = {k: n for k, n in exceptions.items() if not k.endswith(".IgnoreRequest")}
    # files are named relative to the generation the run wrote; the dataset by its stable path
    root = dataset.resolve() if dataset is not None else None
    return {
        "crawl_id": crawl_id,
        "started_at": _iso(stats.get("start_time")),
        "finished_at": _iso(stats.get("finish_time")),
        "elapsed_seconds": _seconds(stats.get("elapsed_time_seconds")),
        "finish_reason": stats.get("finish_reason"),
        "exit_code": int(outcome.code),
        "outcome": outcome.as_dict(),
        "requests": {
            "total": count(stats, "downloader/request_count"),
            "entry_points_fetched": entry_points_fetched(stats),
            "entry_points_failed": counts_under(stats, "smn/entry/failed"),
            "robots_txt": count(stats, "robotstxt/request_count"),
        },
        "responses": {
            "total": count(stats, "downloader/response_count"),
            "by_status": counts_under(stats, "downloader/response_status_count"),
        },
        "articles": {
            "extracted": count(stats, "smn/articles/extracted"),
            "written": articles_written(stats, rules.writer_enabled),
            "known_skipped": count(stats, "smn/incremental/skipped"),
            "known_skipped_by_kind": counts_under(stats, "smn/incremental/skipped"),
            "duplicates": count(stats, "articles/dropped/duplicate_url"),
            "syndicated": count(stats, "articles/syndicated"),
            "dropped": counts_under(stats, "articles/dropped"),
            "lost": records_lost(stats, rules.writer_enabled),
        },
        "errors": {
            "count": error_count(stats, rules.give_up_is_error),
            "max": rules.max_errors,
            "logged": count(stats, "log_count/ERROR") + count(stats, "log_count/CRITICAL"),
            "download_exceptions": failures,
            "spider_exceptions": _without_count(counts_under(stats, "spider_exceptions")),
            "pipeline_exceptions": _without_count(counts_under(stats, "smn/errors/pipeline")),
            "http_statuses": counts_under(stats, "httperror/response_ignored_status_count"),
            "retries_given_up": count(stats, "retry/max_reached"),
        },
        "faults": {
            "retries": count(stats, "retry/count"),
            "retry_reasons": counts_under(stats, "retry/reason_count"),
            "timeouts": sum(n for k, n in exceptions.items() if "Timeout" in k),
            # a gzip bomb is dropped during decompression, not cancelled while downloading
            "size_cap_cancels": sum(n for k, n in exceptions.items() if "Cancelled" in k)
            + count(stats, f"{FAULTS}/decompression_cap"),
            "robots_forbidden": count(stats, "robotstxt/forbidden"),
            "offsite_filtered": count(stats, "offsite/filtered"),
            "offsite_links_skipped": count(stats, "smn/links/offsite"),
            # crawler/downloadermiddlewares/faults.py: every download fault by kind (docs/faults.md)
            "by_kind": counts_under(stats, FAULTS),
            "http_5xx": {
                status: n
                for status, n in counts_under(stats, "downloader/response_status_count").items()
                if status.startswith("5")
            },
            "broken_feeds": count(stats, "smn/feeds/broken"),
        },
        "dataset": str(stable_path(dataset)) if dataset is not None else None,
        "outdated_schema_files": count(stats, OUTDATED_SCHEMA_STAT),
        "files_written": [_relative(Path(f), root) for f in files],
        "layout_watch": watch_layout(stats, rules.layout).as_dict(),
        "unread_pages": _unread(stats),
        "not_judged": _not_judged(stats),
        "quarantined": _quarantined(stats),
        "fields": _fields(stats),
        "reextract": _reextract(stats),
    }


def _reextract(stats: Stats) -> dict[str, Any] | None:
    """What a re-extraction (``scrapy reextract``) did; None for a crawl."""
    if not is_reextraction(stats):
        return None
    figures = {
        name: count(stats, f"smn/reextract/{name}")
        for name in (
            "pages_planned",
            "archived_pages",
            "current_rows",
            "records_read",
            "pages_done",
            "damaged_records",
            "rows_changed",
            "rows_unchanged",
            "articles_gained",
            "rows_kept",
            "stories_kept",
            "refused",
            "unindexed_files",
        )
    }
    return {
        **figures,
        "kept": counts_under(stats, "smn/reextract/kept"),
        "damaged": stats.get("smn/reextract/damaged_list") or [],
        "read_seconds": round(float(stats.get("smn/reextract/read_seconds") or 0.0), 3),
        "read_wall_seconds": round(float(stats.get("smn/reextract/read_wall_seconds") or 0.0), 3),
        "published": stats.get("smn/reextract/published") or None,
    }


def _reextract_line(done: Mapping[str, Any]) -> str:
    kept = done["kept"]
    articles = done["rows_changed"] + done["rows_unchanged"] + done["articles_gained"]
    where = f"into {done['published']}" if done["published"] else "nothing published"
    return (
        f"  re-extraction ({where}): {done['records_read']} of {done['pages_planned']} pages"
        f" read, {done['damaged_records']} damaged records skipped; {articles} articles"
        f" ({done['rows_changed']} rows changed, {done['articles_gained']} gained,"
        f" {done['rows_unchanged']} unchanged); {done['rows_kept']} rows kept"
        f" ({kept.get('no_longer_read', 0)} no longer read as articles,"
        f" {kept.get('not_judged', 0)} not judged, {kept.get('damaged', 0)} damaged records,"
        f" {kept.get('not_reextracted', 0)} not re-extracted)"
    )


def _unread(stats: Stats) -> dict[str, Any]:
    """The run's pages at article URLs that gave no article: counted per site, the first
    :data:`~crawler.outcome.layout_watch.UNREAD_LISTED` listed with their reason."""
    by_site = {
        key[len(SITE_STATS_PREFIX) :].split("/", 1)[0]: count(stats, key)
        for key in stats
        if key.startswith(SITE_STATS_PREFIX) and key.endswith("/unread")
    }
    pages = listed(stats, UNREAD_STAT, ("url", "site", "reason"))
    return {"count": sum(by_site.values()), "by_site": by_site, "pages": pages}


def _not_judged(stats: Stats) -> dict[str, Any]:
    """Pages the extraction could not judge (a worker's time or memory limit, a crash, an
    empty or binary answer): asked again by the next run."""
    pages = listed(stats, NOT_JUDGED_STAT, ("url", "reason"))
    return {"count": count(stats, "smn/pages/not_judged"), "pages": pages}


def _quarantined(stats: Stats) -> list[dict[str, str]]:
    """The files the run quarantined: ``{"path", "reason", "moved_to"}`` each."""
    listed = stats.get(QUARANTINED_FILES)
    if not isinstance(listed, list | tuple):
        return []
    out = []
    for entry in listed:
        if isinstance(entry, Mapping) and entry.get("path"):
            out.append({k: str(entry.get(k) or "") for k in ("path", "reason", "moved_to")})
    return out


def write_report(directory: Path, report: Mapping[str, Any], *, replace: bool = True) -> Path:
    """Write ``<directory>/<crawl_id>.json`` atomically; OSError when it cannot.

    With ``replace=False`` an existing report of that name is kept (FileExistsError).
    """
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{filename_safe(str(report['crawl_id']))}.json"
    path = directory / name
    if not replace and path.exists():
        raise FileExistsError(f"{path} exists")
    tmp = directory / f".{name}.{os.getpid()}.tmp"
    try:
        with tmp.open("w", encoding="utf-8") as out:
            json.dump(report, out, indent=2, default=str)
            out.write("\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def summary_lines(report: Mapping[str, Any], path: Path | None = None) -> list[str]:
    """A few lines on the run for a human (cron mail); the last is the outcome line."""
    articles = report["articles"]
    errors = report["errors"]
    faults = report["faults"]
    requests = report["requests"]
    responses = report["responses"]
    statuses = ", ".join(f"{s} x{n}" for s, n in responses["by_status"].items())
    watch = report["layout_watch"]
    windows = sum(1 for s in watch["sites"].values() if s.get("window"))
    judged = windows or sum(1 for s in watch["sites"].values() if s.get("judged"))
    acknowledged = watch.get("acknowledged") or []
    elapsed = report.get("elapsed_seconds")
    lines = [
        f"Run {report['crawl_id']}: {report.get('finish_reason') or 'not run'}"
        + (f" after {elapsed:.1f} s" if isinstance(elapsed, float | int) else ""),
        f"  requests {requests['total']}, responses {responses['total']}"
        + (f" ({statuses})" if statuses else "")
        + f", entry points fetched {requests['entry_points_fetched']}",
        f"  articles: {articles['extracted']} extracted, {articles['written']} written "
        f"({len(report['files_written'])} files), {articles['lost']} lost; syndicated copies "
        f"{articles['syndicated']}, duplicates {articles['duplicates']}, known pages skipped "
        f"{articles['known_skipped']}",
        f"  errors: {errors['count']} (max {errors['max']}); faults: {faults['retries']} "
        f"retries, {faults['timeouts']} timeouts, {faults['size_cap_cancels']} size-cap "
        f"cancels, {faults['robots_forbidden']} robots.txt refusals" + _other_faults(faults),
        f"  layout watch: {len(watch['sites'])} sites, {judged} judged, "
        + (f"fired on {', '.join(watch['fired'])}" if watch["fired"] else "no change seen")
        + (f"; acknowledged: {', '.join(acknowledged)}" if acknowledged else ""),
    ]
    reextracted = report.get("reextract")
    if reextracted:
        lines.append(_reextract_line(reextracted))
    not_judged = report.get("not_judged")
    if not_judged and not_judged.get("count"):
        reasons: dict[str, int] = {}
        for page in not_judged["pages"]:
            reasons[page["reason"]] = reasons.get(page["reason"], 0) + 1
        shown = ", ".join(f"{why} x{n}" for why, n in sorted(reasons.items()))
        lines.append(f"  pages not judged: {not_judged['count']} ({shown}); asked again next run")
    unread = report.get("unread_pages")
    if unread and unread.get("count"):
        per_site = ", ".join(f"{site} {n}" for site, n in sorted(unread["by_site"].items()))
        lines.append(
            f"  article pages that gave no article: {unread['count']} ({per_site}); listed in"
            " the report, kept pending in the state"
        )
    fields = report.get("fields")
    if fields and (fields["implausible"] or fields["disagree"]):
        lines.append(_fields_line(fields))
    outdated = report.get("outdated_schema_files")
    if outdated:
        lines.append(
            f"  dataset: {outdated} files of an older schema (a reader that meets one first "
            "may miss the newer columns); `scrapy compact` rewrites them"
        )
    quarantined = report.get("quarantined") or []
    if quarantined:
        lines.append(_quarantine_line(quarantined, report.get("dataset")))
    if path is not None:
        lines.append(f"  report: {path}")
    lines.append(report["outcome"]["line"])
    return lines


_QUARANTINE_SHOWN = 5
_SITE_FIELDS = re.compile(r"^smn/site/([^/]+)/(implausible|disagree)/(\w+)$")


def _fields(stats: Stats) -> dict[str, Any]:
    """Fields written as null for failing a plausibility check, and fields whose sources
    disagreed (crawler/extract/checks.py), in all and per site."""
    sites: dict[str, dict[str, dict[str, int]]] = {}
    for key, value in stats.items():
        match = _SITE_FIELDS.match(key)
        if match and isinstance(value, int):
            site, what, name = match.groups()
            entry = sites.setdefault(site, {"implausible": {}, "disagree": {}})
            entry[what][name] = value
    return {
        "implausible": counts_under(stats, "smn/fields/implausible"),
        "disagree": counts_under(stats, "smn/fields/disagree"),
        "sites": dict(sorted(sites.items())),
    }


def _fields_line(fields: Mapping[str, Any]) -> str:
    """``  fields: 5 written as null (spacewar.com: byline 3); sources disagree 14 (...)``."""

    def per_site(what: str) -> str:
        parts = [
            f"{site}: " + ", ".join(f"{name} {n}" for name, n in sorted(entry[what].items()))
            for site, entry in fields["sites"].items()
            if entry[what]
        ]
        return f" ({'; '.join(parts)})" if parts else ""

    nulls = sum(fields["implausible"].values())
    disagree = sum(fields["disagree"].values())
    return (
        f"  fields: {nulls} written as null{per_site('implausible')}; "
        f"sources disagree {disagree}{per_site('disagree')}"
    )


def _quarantine_line(quarantined: Sequence[Mapping[str, Any]], dataset: Any) -> str:
    """``  quarantined: <path> (<reason>), ...; moved to <dataset>.quarantine/``."""
    shown = ", ".join(f"{q['path']} ({q['reason']})" for q in quarantined[:_QUARANTINE_SHOWN])
    more = len(quarantined) - _QUARANTINE_SHOWN
    if more > 0:
        shown += f" and {more} more (see the report)"
    where = f"{quarantine_dir(Path(dataset))}/" if dataset else "<dataset>.quarantine/"
    return f"  quarantined: {shown}; moved to {where}"


def _other_faults(faults: Mapping[str, Any]) -> str:
    """The fault kinds the summary line does not already show, when there are any."""
    shown = {"timeout", "size_cap", "decompression_cap"}
    rest = {k: n for k, n in faults.get("by_kind", {}).items() if k not in shown}
    return "".join(f", {n} {kind.replace('_', ' ')}" for kind, n in sorted(rest.items()))


def _without_count(counts: dict[str, int]) -> dict[str, int]:
    return {k: n for k, n in counts.items() if k != "count"}


def _iso(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="seconds")
    return None if value is None else str(value)


def _seconds(value: Any) -> float | None:
    return round(float(value), 3) if isinstance(value, int | float) else None


def _relative(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.resolve().relative_to(root))
        except ValueError:
            pass
    return str(path)
