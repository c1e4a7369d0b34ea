"""ParquetItemExporter: the ``parquet`` feed format, for ``scrapy crawl smn -O articles.parquet``.

Enable with::

    FEED_EXPORTERS = {"parquet": "pipelines.feed_exporter.ParquetItemExporter"}

The file has the dataset's schema (:func:`crawler.dataset.schema.article_schema`), or the
``fields`` of the feed in that order, and gets a row group every ``SMN_ROW_GROUP_SIZE``
items as they arrive. Items that do not fit the schema are skipped with an error log
(stats ``feed/parquet/skipped``); the ValidationPipeline normally drops them earlier.

A Parquet file cannot be appended to (its footer is at the end), so only overwriting
feeds work: ``-O``, or ``"overwrite": True`` in FEEDS. Appending to a non-empty file
(``-o``) raises an error instead of corrupting the file.

Settings: ``SMN_ROW_GROUP_SIZE`` (int, default 1000), ``SMN_PARQUET_COMPRESSION``
(str, default ``zstd``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
from scrapy.exporters import BaseItemExporter

from crawler.dataset.pandas_probe import answer_pandas_probe
from crawler.dataset.schema import (
    STATISTICS_COLUMNS,
    SchemaError,
    article_schema,
    check_row,
    to_row,
)
from crawler.defaults import default, get_int, get_str

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class ParquetItemExporter(BaseItemExporter):
    """Write items to one Parquet file, a row group at a time."""

    def __init__(
        self,
        file: IO[bytes],
        *,
        row_group_size: int = default("SMN_ROW_GROUP_SIZE"),
        compression: str = default("SMN_PARQUET_COMPRESSION"),
        stats: StatsCollector | None = None,
        **kwargs: Any,
    ) -> None:
        # dont_fail: feed options such as encoding and indent mean nothing for Parquet
        super().__init__(dont_fail=True, **kwargs)
        self.file = file
        self.row_group_size = max(row_group_size, 1)
        self.compression = compression
        self.stats = stats
        self.schema, self._columns = self._feed_schema()
        self._rows: list[dict[str, Any]] = []
        self._writer: pq.ParquetWriter | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler, file: IO[bytes], **kwargs: Any) -> Self:
        answer_pandas_probe()  # a crawl: no pandas in this process
        s = crawler.settings
        return cls(
            file,
            row_group_size=get_int(s, "SMN_ROW_GROUP_SIZE"),
            compression=get_str(s, "SMN_PARQUET_COMPRESSION") or default("SMN_PARQUET_COMPRESSION"),
            stats=crawler.stats,
            **kwargs,
        )

    def _feed_schema(self) -> tuple[pa.Schema, dict[str, str]]:
        """The schema restricted to the feed's ``fields`` (renamed if given as a mapping),
        and the map article field -> column name."""
        full = article_schema()
        wanted = self.fields_to_export
        if wanted is None:
            return full, {name: name for name in full.names}
        columns = dict(wanted) if isinstance(wanted, Mapping) else {n: n for n in wanted}
        unknown = set(columns) - set(full.names)
        if unknown:
            raise ValueError(f"parquet feed: fields not in the article schema: {sorted(unknown)}")
        fields = [full.field(name).with_name(out) for name, out in columns.items()]
        return pa.schema(fields, metadata=full.metadata), columns

    def start_exporting(self) -> None:
        try:
            position = self.file.tell()
        except (OSError, AttributeError):
            position = 0  # a pipe or a post-processing wrapper: nothing to append to
        if position > 0:
            raise ValueError(
                "parquet feeds cannot be appended to: use -O (overwrite) instead of -o"
            )
        # Statistics of the feed's own column names (FEED_EXPORT_FIELDS may rename them).
        statistics = [out for name, out in self._columns.items() if name in STATISTICS_COLUMNS]
        self._writer = pq.ParquetWriter(
            self.file, self.schema, compression=self.compression, write_statistics=statistics
        )

    def export_item(self, item: Any) -> None:
        try:
            row = to_row(item)
            check_row(row)
        except SchemaError as exc:
            logger.error("Item skipped by the parquet feed, it does not fit the schema: %s", exc)
            if self.stats is not None:
                self.stats.inc_value("feed/parquet/skipped")
            return
        self._rows.append({out: row[name] for name, out in self._columns.items()})
        if len(self._rows) >= self.row_group_size:
            self._flush()

    def _flush(self) -> None:
        if not self._rows:
            return
        assert self._writer is not None, "start_exporting() was not called"
        table = pa.Table.from_pylist(self._rows, schema=self.schema)
        self._writer.write_table(table, row_group_size=table.num_rows)
        self._rows.clear()

    def finish_exporting(self) -> None:
        self._flush()
        if self._writer is not None:
            # Writes the footer; the file itself belongs to the feed storage, which closes it.
            self._writer.close()
            self._writer = None
        self.file.flush()
