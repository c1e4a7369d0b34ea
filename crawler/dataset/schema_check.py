"""Which files of the dataset are of an older schema than the record's.

Readers take the schema of the first file they meet: ``pandas.read_parquet(dir)`` silently
drops the newer columns when that file is old, and DuckDB's plain glob fails with a schema
mismatch (unless ``union_by_name=true``). ``scrapy compact`` rewrites such files; a crawl
counts them (stat :data:`OUTDATED_SCHEMA_STAT`) so its summary says so.

Reading every file's footer at every crawl would cost seconds on a year of cron files: what
was read is kept in ``.<dataset>.schemas.json`` beside the dataset, by relative path, size
and mtime (as the incremental state knows files), so a crawl reads the footers of new files
only. The cache is a convenience: lost or damaged, it is rebuilt.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path

import pyarrow.parquet as pq

from crawler.dataset.files import published_files
from crawler.dataset.generations import current, stable_path
from crawler.dataset.schema import is_current

logger = logging.getLogger(__name__)

OUTDATED_SCHEMA_STAT = "smn/dataset/outdated_schema_files"
CACHE_SUFFIX = ".schemas.json"


def cache_path(dataset: Path) -> Path:
    stable = stable_path(dataset)
    return stable.parent / f".{stable.name}{CACHE_SUFFIX}"


def outdated_files(dataset: Path) -> list[str]:
    """The relative paths of the current generation's files whose schema is not the
    article schema (a file that cannot be read is left to the quarantine's checks)."""
    root = current(dataset)
    if not root.is_dir():
        return []
    cache_file = cache_path(dataset)
    try:
        cached = json.loads(cache_file.read_text())
        if not isinstance(cached, dict):
            cached = {}
    except (OSError, ValueError):
        cached = {}
    known: dict[str, list[object]] = {}
    for file in published_files(root):
        hit = cached.get(file.path)
        if isinstance(hit, list) and hit[:2] == [file.size, file.mtime_ns]:
            known[file.path] = hit
            continue
        try:
            fits = is_current(pq.read_schema(root / file.path))
        except Exception:
            continue
        known[file.path] = [file.size, file.mtime_ns, fits]
    if known != cached:
        tmp = cache_file.with_name(f"{cache_file.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(known, separators=(",", ":")))
            os.replace(tmp, cache_file)
        except OSError as exc:
            logger.debug("Cannot write %s: %s", cache_file, exc)
            with contextlib.suppress(OSError):
                tmp.unlink()
    return sorted(path for path, entry in known.items() if not entry[2])
