"""The combined view of a distributed run from its workers' run reports."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crawler.distributed.config import WORKER_SUFFIX


def _worker_number(crawl_id: str) -> int | None:
    match = WORKER_SUFFIX.search(crawl_id)
    return int(match.group(1)) if match else None


def run_of(crawl_id: str) -> str:
    """The run a worker's crawl id belongs to: ``<run>-w3`` -> ``<run>``."""
    return WORKER_SUFFIX.sub("", crawl_id)


def load_reports(directory: Path) -> list[dict[str, Any]]:
    reports = []
    for path in sorted(directory.glob("*.json")):
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"skipping {path}: {exc}", file=sys.stderr)
            continue
        if isinstance(report, dict) and report.get("crawl_id"):
            reports.append(report)
    return reports


def _get(report: Mapping[str, Any], *path: str) -> Any:
    value: Any = report
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


_COUNTERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("requests", ("requests", "total")),
    ("responses", ("responses", "total")),
    ("extracted", ("articles", "extracted")),
    ("written", ("articles", "written")),
    ("duplicates", ("articles", "duplicates")),
    ("syndicated", ("articles", "syndicated")),
    ("known_skipped", ("articles", "known_skipped")),
    ("lost", ("articles", "lost")),
    ("errors", ("errors", "count")),
)


def combine(reports: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The combined view of one run's worker reports: per-worker lines and the sums."""
    workers = sorted(reports, key=lambda r: _worker_number(str(r["crawl_id"])) or 0)
    rows = []
    for report in workers:
        row: dict[str, Any] = {
            "crawl_id": report["crawl_id"],
            "finish_reason": report.get("finish_reason"),
            "exit_code": report.get("exit_code"),
            "elapsed_seconds": report.get("elapsed_seconds"),
            "files": len(report.get("files_written") or []),
        }
        for name, path in _COUNTERS:
            row[name] = _int(_get(report, *path))
        rows.append(row)
    totals: dict[str, Any] = {name: sum(r[name] for r in rows) for name, _ in _COUNTERS}
    totals["files"] = sum(r["files"] for r in rows)
    dropped: dict[str, int] = {}
    for report in workers:
        for reason, n in (_get(report, "articles", "dropped") or {}).items():
            dropped[reason] = dropped.get(reason, 0) + _int(n)
    totals["dropped"] = dict(sorted(dropped.items()))
    # Each worker reports the crawl's count (any worker may fetch any entry point).
    totals["entry_points_fetched"] = max(
        (_int(_get(r, "requests", "entry_points_fetched")) for r in workers), default=0
    )
    elapsed = [r["elapsed_seconds"] for r in rows if isinstance(r["elapsed_seconds"], int | float)]
    numbers = sorted(n for n in (_worker_number(str(r["crawl_id"])) for r in rows) if n)
    missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers)) if numbers else []
    failed = [r["crawl_id"] for r in rows if r["exit_code"] not in (0, None)]
    started = sorted(str(r["started_at"]) for r in workers if r.get("started_at"))
    finished = sorted(str(r["finished_at"]) for r in workers if r.get("finished_at"))
    return {
        "run": run_of(str(workers[0]["crawl_id"])) if workers else None,
        "workers": rows,
        "totals": totals,
        "started_at": started[0] if started else None,
        "finished_at": finished[-1] if finished else None,
        "longest_worker_seconds": max(elapsed) if elapsed else None,
        "missing_workers": missing,
        "failed_workers": failed,
        "ok": not failed and not missing and bool(rows),
    }


def runs_of(reports: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    runs: dict[str, list[Mapping[str, Any]]] = {}
    for report in reports:
        runs.setdefault(run_of(str(report["crawl_id"])), []).append(report)
    return runs


def format_combined(view: Mapping[str, Any]) -> list[str]:
    headers = ["worker", "reason", "exit", "seconds", "requests", "written", "files", "errors"]
    count = len(view["workers"])
    lines = [f"Run {view['run']}: {count} worker{'' if count == 1 else 's'}"]
    table = [headers]
    for row in view["workers"]:
        seconds = row["elapsed_seconds"]
        table.append(
            [
                str(row["crawl_id"]),
                str(row["finish_reason"]),
                str(row["exit_code"]),
                f"{seconds:.1f}" if isinstance(seconds, int | float) else "-",
                str(row["requests"]),
                str(row["written"]),
                str(row["files"]),
                str(row["errors"]),
            ]
        )
    totals = view["totals"]
    table.append(
        [
            "total",
            "",
            "",
            "",
            str(totals["requests"]),
            str(totals["written"]),
            str(totals["files"]),
            str(totals["errors"]),
        ]
    )
    widths = [max(len(r[i]) for r in table) for i in range(len(headers))]
    for row in table:
        cells = [
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  " + "  ".join(cells).rstrip())
    dropped = ", ".join(f"{k} x{n}" for k, n in totals["dropped"].items()) or "none"
    lines.append(
        f"  articles: {totals['extracted']} extracted, {totals['written']} written, "
        f"{totals['lost']} lost; syndicated {totals['syndicated']}; dropped: {dropped}; "
        f"entry points fetched {totals['entry_points_fetched']}"
    )
    if view["missing_workers"]:
        numbers = ", ".join(f"w{n}" for n in view["missing_workers"])
        lines.append(f"  no report from {numbers} (killed? its requests were requeued)")
    verdict = "OK" if view["ok"] else "NOT OK"
    lines.append(f"{verdict}: {totals['written']} articles written by the run's workers")
    return lines
