"""Defaults of the ``SMN_*`` settings read by the pipelines (documented in each module)."""

from __future__ import annotations

OUTPUT = "output/articles"
ROW_GROUP_SIZE = 1000
FILE_MAX_ROWS = 100_000
MAX_OPEN_FILES = 128
MAX_BUFFERED_ROWS = 1000
MAX_OPEN_ROW_GROUPS = 1024
COMPRESSION = "zstd"
CLEAN_STALE_TMP = True
