"""The next dataset, built beside ``--into DIR`` under a hidden name and renamed once whole.

``<parent>/.<name>.reextract-<crawl_id>.tmp`` is where the re-extraction's crawl writes its
rows (it is the run's ``SMN_OUTPUT``); then :func:`carry_over` adds every row of the current
dataset whose page got no new row, a manifest (``_reextract.json``: every Parquet reader
skips names starting with ``_``) says what was read, and :func:`publish` renames the
directory to ``DIR``. A run killed at any moment leaves at most the hidden directory, which
the next run into ``DIR`` removes (it holds ``DIR``'s lock, so no live run owns one): ``DIR``
is never half there, and the current dataset is only ever read.

The manifest lists the current dataset's files read (path, size, mtime): a later step that
switches the dataset to this one (the generation switch) catches up any file published in
the current dataset after them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.crawl_id import filename_safe
from crawler.dataset.files import DatasetFile, fsync_dir, published_files
from crawler.dataset.rows import read_rows, read_url_columns
from crawler.dataset.writer import DatasetWriter
from crawler.network.urls import url_key
from crawler.reextract.source import row_key
from crawler.util.scratch import ScratchDb

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

MANIFEST = "_reextract.json"
_TMP_INFIX = ".reextract-"


def building_dir(into: Path, crawl_id: str) -> Path:
    """The hidden directory the next dataset is built in, beside ``into``."""
    return into.parent / f".{into.name}{_TMP_INFIX}{filename_safe(crawl_id)}.tmp"


def remove_stale_builds(into: Path) -> list[Path]:
    """Remove the hidden directories killed runs into ``into`` left (call with ``into``'s
    lock held: no live run owns one)."""
    removed: list[Path] = []
    prefix = f".{into.name}{_TMP_INFIX}"
    if not into.parent.is_dir():
        return removed
    for path in into.parent.iterdir():
        if path.name.startswith(prefix) and path.name.endswith(".tmp") and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def usable_target(into: Path) -> str | None:
    """Why ``into`` cannot be the output (None when it can): it must not exist, or be an
    empty directory (the rename replaces it)."""
    if into.is_symlink() or (into.exists() and not into.is_dir()):
        return f"--into {into} exists and is not a directory"
    if into.is_dir() and any(into.iterdir()):
        return f"--into {into} exists and is not empty: name a new directory"
    return None


@dataclass
class CarryCounts:
    """The current dataset's rows carried over unchanged, by why their page has no new row."""

    no_longer_read: int = 0
    """Read again, and no article any more (or dropped by validation): kept as they were."""
    not_judged: int = 0
    """Read again, but the extraction could not judge the page (a worker's time limit)."""
    damaged: int = 0
    """Their record is damaged (truncated, corrupted)."""
    not_reextracted: int = 0
    """Not selected, not in the archive, or written before the archive existed."""

    @property
    def kept(self) -> int:
        return self.no_longer_read + self.not_judged + self.damaged + self.not_reextracted


class _Stats:
    """The carry-over writer's counters (kept apart from the crawl's: its rows were not
    extracted by this run)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None:
        self.values[key] = self.values.get(key, start) + count

    def set_value(self, key: str, value: Any) -> None:
        self.values[key] = value

    def get_value(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


def written_keys(directory: Path, scratch: ScratchDb) -> Any:
    """The page keys of the rows in ``directory``'s published files (a scratch set)."""
    keys = scratch.key_set()
    for file in published_files(directory):
        for rows in read_url_columns(directory / file.path):
            keys.update(row_key(row) for row in rows)
    return keys


def carry_over(
    source: Path,
    files: Iterable[DatasetFile],
    into: Path,
    writer: DatasetWriter,
    outcome_of: Callable[[str], str | None],
) -> CarryCounts:
    """Write every row of ``files`` (of the current dataset ``source``) whose page key has
    no row in ``into`` yet, once per key, through ``writer``; ``outcome_of(url_key)`` says
    what the re-extraction made of the page (``no_article``, ``not_judged``, ``damaged``,
    ``article`` or None: not read). Raises OSError when a file cannot be read or written."""
    counts = CarryCounts()
    scratch = ScratchDb()
    try:
        done = written_keys(into, scratch)
        for file in files:
            for rows in read_rows(source / file.path):
                for row in rows:
                    # one row per page key: a re-extracted one, else the first carried
                    if not done.add(row_key(row)):
                        continue
                    _count(counts, outcome_of(_url_key(row.get("url") or "")))
                    if not writer.write(row):
                        raise OSError("the dataset writer failed (see the errors above)")
        writer.close()
        if writer.failed:
            raise OSError("the dataset writer failed (see the errors above)")
    finally:
        scratch.close()
    return counts


def _url_key(url: str) -> str:
    try:
        return url_key(url)
    except ValueError:
        return url


def _count(counts: CarryCounts, outcome: str | None) -> None:
    if outcome in ("no_article", "article", "not_html"):
        # "article": extracted, then dropped by validation (no title or text)
        counts.no_longer_read += 1
    elif outcome == "not_judged":
        counts.not_judged += 1
    elif outcome == "damaged":
        counts.damaged += 1
    else:
        counts.not_reextracted += 1


def carry_writer(into: Path, crawl_id: str, settings: BaseSettings) -> DatasetWriter:
    """A writer into the building directory with the crawl's limits (``SMN_ROW_GROUP_SIZE``
    ...), counting apart from the crawl."""
    writer = DatasetWriter.from_settings(into, _Stats(), settings)
    writer.crawl_id = crawl_id
    writer.open(clean_stale_tmp=False)
    return writer


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    path = directory / MANIFEST
    tmp = directory / f".{MANIFEST}.tmp"
    with tmp.open("w", encoding="utf-8") as out:
        json.dump(manifest, out, indent=2, sort_keys=True, default=str)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def manifest(
    *,
    crawl_id: str,
    extractor_version: str,
    source: Path | None,
    source_files: Iterable[DatasetFile],
    archive: Path,
    selection: str,
    counts: dict[str, Any],
) -> dict[str, Any]:
    return {
        "crawl_id": crawl_id,
        "extractor_version": extractor_version,
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "source": str(source.resolve()) if source is not None else None,
        "source_files": [asdict(f) for f in source_files],
        "archive": str(archive.resolve()),
        "selection": selection,
        "counts": counts,
    }


def publish(building: Path, into: Path) -> None:
    """Rename the finished directory to ``into`` (replacing an empty directory) and make
    it durable. OSError when it cannot."""
    if into.is_dir() and not any(into.iterdir()):
        into.rmdir()
    os.rename(building, into)
    fsync_dir(into.parent)
