"""``python -m crawler.distributed report|status|reset``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import redis

from crawler.dataset.paths import REPORTS_NAME, default_dataset_dir
from crawler.distributed.config import URL_SETTING, CrawlKeys
from crawler.distributed.coordination import as_text
from crawler.distributed.reports import combine, format_combined, load_reports, runs_of
from crawler.distributed.store import state_counts


def _cmd_report(args: argparse.Namespace) -> int:
    reports = load_reports(Path(args.reports))
    runs = runs_of(reports)
    if not runs:
        print(f"no run report in {args.reports}", file=sys.stderr)
        return 1
    if args.run:
        if args.run not in runs:
            print(f"no report of run {args.run} in {args.reports}", file=sys.stderr)
            return 1
        chosen = [args.run]
    elif args.all:
        chosen = sorted(runs)
    else:
        chosen = [max(runs, key=lambda r: max(str(x.get("finished_at") or "") for x in runs[r]))]
    views = [combine(runs[run]) for run in chosen]
    if args.json:
        print(json.dumps(views if args.all else views[0], indent=2, default=str))
    else:
        for view in views:
            print("\n".join(format_combined(view)))
    return 0 if all(v["ok"] for v in views) else 3


def _client(url: str | None) -> redis.Redis:
    url = url or os.environ.get(URL_SETTING)
    if not url:
        raise SystemExit(f"give --redis URL or set {URL_SETTING}")
    return redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=10)


def _cmd_status(args: argparse.Namespace) -> int:
    client = _client(args.redis)
    keys = CrawlKeys(args.crawl)
    workers = sorted(as_text(w) for w in client.smembers(keys.workers))
    idle = client.hgetall(keys.idle)
    status: dict[str, Any] = {
        "crawl": args.crawl,
        "run": client.get(keys.run),
        "seed": client.get(keys.seed),
        "queued": client.zcard(keys.requests),
        "seen": client.scard(keys.dupefilter),
        "claims": client.hlen(keys.claims),
        "entry_points_fetched": int(client.get(keys.entry_fetched) or 0),
        "workers": [
            {
                "worker": w,
                "alive": bool(client.exists(keys.alive(w))),
                "info": json.loads(client.get(keys.alive(w)) or "null"),
                "idle": w in idle,
                "leases": client.hlen(keys.leases(w)),
                "pending_claims": client.scard(keys.pending_claims(w)),
            }
            for w in workers
        ],
    }
    status["state"] = state_counts(client, keys.state)
    print(json.dumps(status, indent=2))
    return 0


def _cmd_reset(args: argparse.Namespace) -> int:
    client = _client(args.redis)
    keys = CrawlKeys(args.crawl)
    members = [as_text(w) for w in client.smembers(keys.workers)]
    alive = [w for w in members if client.exists(keys.alive(w))]
    if alive and not args.force:
        print(
            f"workers alive: {', '.join(sorted(alive))}; stop them or use --force", file=sys.stderr
        )
        return 1
    state_prefix = f"{keys.state}:"
    doomed = [
        key
        for key in map(as_text, client.scan_iter(match=f"{keys.prefix}*", count=1000))
        if args.state or not key.startswith(state_prefix)
    ]
    for start in range(0, len(doomed), 500):
        client.delete(*doomed[start : start + 500])
    what = "crawl and incremental state" if args.state else "crawl (the incremental state stays)"
    print(f"deleted {len(doomed)} keys of {args.crawl!r}: {what}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crawler.distributed", description="Distributed crawls on Redis."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    report = sub.add_parser("report", help="combined view of a run's worker reports")
    default_reports = default_dataset_dir().parent / REPORTS_NAME
    report.add_argument("--reports", default=str(default_reports), help="reports directory")
    report.add_argument("--run", help="the run id (default: the last run to finish)")
    report.add_argument("--all", action="store_true", help="every run in the directory")
    report.add_argument("--json", action="store_true", help="print JSON")
    report.set_defaults(func=_cmd_report)
    for name, func, text in (
        ("status", _cmd_status, "what Redis holds for a crawl (JSON)"),
        ("reset", _cmd_reset, "delete a crawl's keys (frontier, claims; --state: the state)"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument("--redis", help=f"Redis URL (default: ${URL_SETTING})")
        command.add_argument("--crawl", default="smn", help="SMN_REDIS_CRAWL (default smn)")
        command.set_defaults(func=func)
        if name == "reset":
            command.add_argument("--state", action="store_true", help="the state too")
            command.add_argument("--force", action="store_true", help="even with live workers")
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
