"""Pages a crawl published while a re-extraction built the next generation: once each.

Cron crawls go on while a re-extraction builds (no lock held). At the switch, under the
lock, :meth:`crawler.dataset.generations.GenerationBuild.commit` links in the files a crawl
published in the current generation meanwhile (the catch-up). A page of such a file may
have a row among the re-extraction's new files too: its record was in the archive when the
re-extraction read it (a crawl publishes a page's WARC file before the Parquet file with its
row; a WARC file is also published when it rotates, long before the rows). Linked as they
are, the two rows would both be read.

:func:`drop_caught_up_pages`, called under the lock just before the commit, drops those
pages' rows from the re-extraction's new files (rewritten without them: they are not
published yet). The crawl's row wins: its file is linked unchanged, as the incremental state
knows it (by path, size and mtime), and it is the newer fetch or the same one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from crawler.dataset.files import DatasetFile, published_files
from crawler.dataset.generations import GenerationBuild
from crawler.dataset.rows import read_rows, read_url_columns
from crawler.reextract.output import carry_writer
from crawler.reextract.source import row_key

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)


def drop_caught_up_pages(
    build: GenerationBuild,
    new_files: Iterable[str],
    scratch: Path,
    crawl_id: str,
    settings: BaseSettings,
) -> int:
    """Drop from ``new_files`` (relative paths of the build's own files, each registered
    with :meth:`GenerationBuild.merged`) every row whose page has a row in a file published
    in the build's base since the build began; the rows dropped. The files are written
    again without them in ``scratch`` (a directory outside the generations: a writer given
    a path inside them writes into the current one) and moved into the build. Call under
    the dataset lock. OSError on a read or write failure (the build is then abandoned)."""
    added = published_files(build.base) - build.base_files
    if not added:
        return 0
    keys: set[str] = set()
    for file in added:
        for rows in read_url_columns(build.base / file.path):
            keys.update(row_key(row) for row in rows)
    touched = [
        relative
        for relative in sorted(new_files)
        if any(
            row_key(row) in keys
            for rows in read_url_columns(build.directory / relative)
            for row in rows
        )
    ]
    if not touched:
        return 0
    # its own file names: the run's are taken in the build already
    writer = carry_writer(scratch, f"{crawl_id}-again", settings)
    dropped = 0
    sources: set[DatasetFile] = set()
    try:
        for relative in touched:
            sources |= build.sources.get(relative, set())
            for rows in read_rows(build.directory / relative):
                for row in rows:
                    if row_key(row) in keys:
                        dropped += 1
                    elif not writer.write(row):
                        raise OSError("the dataset writer failed (see the errors above)")
        writer.close()
        if writer.failed:
            raise OSError("the dataset writer failed (see the errors above)")
    except BaseException:
        writer.abort_all()
        raise
    for relative in touched:
        build.replace_merged(relative)
    for file in published_files(scratch):
        target = build.directory / file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(scratch / file.path, target)
        build.merged(file.path, sources)
    logger.info(
        "%d re-extracted rows left out: a crawl published rows of those pages meanwhile "
        "(%d files caught up)",
        dropped,
        len(added),
    )
    return dropped
