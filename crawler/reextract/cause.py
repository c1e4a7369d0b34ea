"""Why a re-extraction could not write: a full disk, said on its last line.

The components that fail to write (the dataset writer, the run report, the carry-over) log
the error and count it (``smn/error/output``...); the outcome is judged from those counts,
which do not say why. A full disk is the usual why, and what the user must act on: a
handler on the ``crawler`` loggers notes the first error or warning that says so.
"""

from __future__ import annotations

import errno
import logging
import os

_FULL = tuple(os.strerror(code) for code in (errno.ENOSPC, errno.EDQUOT))


class FullDisk(logging.Handler):
    """Notes the first logged message that says a disk is full (``message``)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.message: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.message is not None:
            return
        try:
            text = record.getMessage()
        except Exception:  # a bad log call is not ours to fail on
            return
        if record.exc_info and record.exc_info[1] is not None:
            text += f" {record.exc_info[1]}"
        for message in _FULL:
            if message in text:
                self.message = message
                return

    def __enter__(self) -> FullDisk:
        logging.getLogger("crawler").addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("crawler").removeHandler(self)
