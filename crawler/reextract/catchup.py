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
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from crawler.dataset.files import PartFile, published_files
from crawler.dataset.generations import GenerationBuild
from crawler.dataset.rows import read_url_columns
from crawler.reextract.source import row_key

logger = logging.getLogger(__name__)


def drop_caught_up_pages(
    build: GenerationBuild,
    new_files: Iterable[str],
    *,
    name: str,
    row_group_size: int,
    compression: str,
) -> int:
    """Drop from ``new_files`` (relative paths of the build's own files, each registered
    with :meth:`GenerationBuild.merged`) every row whose page has a row in a file published
    in the build's base since the build began; the rows dropped. Rewritten files are named
    ``part-<name>-<n>.parquet``. Call under the dataset lock. OSError on a read or write
    failure (the build is then abandoned)."""
    added = published_files(build.base) - build.base_files
    if not added:
        return 0
    keys: set[str] = set()
    for file in added:
        for rows in read_url_columns(build.base / file.path):
            keys.update(row_key(row) for row in rows)
    dropped = 0
    counter = 0
    for relative in sorted(new_files):
        path = build.directory / relative
        keep = [row_key(row) not in keys for rows in read_url_columns(path) for row in rows]
        if all(keep):
            continue
        table = pq.ParquetFile(path).read()
        kept = table.filter(pa.array(keep, pa.bool_()))
        dropped += table.num_rows - kept.num_rows
        sources = build.sources.get(relative, set())
        if kept.num_rows:
            part = PartFile(path.parent, name, counter, kept.schema, compression)
            counter += 1
            try:
                for offset in range(0, kept.num_rows, row_group_size):
                    part.write(kept.slice(offset, row_group_size))
                written = part.finish()
            except BaseException:
                part.abort()
                raise
            build.merged(written.relative_to(build.directory).as_posix(), sources)
        build.replace_merged(relative)
    if dropped:
        logger.info(
            "%d re-extracted rows left out: a crawl published rows of those pages meanwhile "
            "(%d files caught up)",
            dropped,
            len(added),
        )
    return dropped
