"""Times a page gives (``article:published_time``, JSON-LD ``datePublished``, ``<time
datetime>``): ISO 8601 with a zone, read as an instant in UTC.

A time without a zone is not read: the network's servers do not agree on one (the classic
pages say ``+10:00``, their feeds ``AEST``, the newer platform ``+00:00``), so any assumed zone
would be up to eleven hours off on part of the archive; its calendar date already reaches
``published_date``. A date alone is no time either.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

_ISO_TIME = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)"
    r"(?:[Tt ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?"
    r"\s*(?:([Zz]|UTC|GMT)|([+-])(\d\d)(?::?(\d\d))?)?)?"
)
_MAX_OFFSET = dt.timedelta(hours=14)
_MAX_CHARS = 64

NO_ZONE = "no time zone"
DATE_ONLY = "a date, no time"
NOT_A_TIME = "not an ISO 8601 time"


def parse_time(text: str | None) -> tuple[dt.datetime | None, str | None]:
    """``(instant in UTC, None)``, or ``(None, why not)``; ``(None, None)`` for no text.

    Forms read: ``2026-01-12T09:30:00+00:00``, ``...Z``, ``...+08:00``, ``+0800``, ``+08``,
    fractional seconds (any digits, kept to the microsecond), no seconds, a space for the
    ``T``. Why not: :data:`NO_ZONE`, :data:`DATE_ONLY`, :data:`NOT_A_TIME`."""
    if text is None or not text.strip():
        return None, None
    text = text.strip()
    m = _ISO_TIME.fullmatch(text) if len(text) <= _MAX_CHARS else None
    if m is None:
        return None, NOT_A_TIME
    year, month, day, hour, minute, second, fraction, utc, sign, off_h, off_m = m.groups()
    if hour is None:
        try:
            dt.date(int(year), int(month), int(day))
        except ValueError:
            return None, NOT_A_TIME
        return None, DATE_ONLY
    if utc is None and sign is None:
        return None, NO_ZONE
    if utc is not None:
        zone = dt.UTC
    else:
        offset = dt.timedelta(hours=int(off_h), minutes=int(off_m or 0))
        if offset > _MAX_OFFSET or int(off_m or 0) >= 60:
            return None, NOT_A_TIME
        zone = dt.timezone(-offset if sign == "-" else offset)
    try:
        local = dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=zone,
        )
        return local.astimezone(dt.UTC), None
    except (ValueError, OverflowError):  # 25:00, Feb 30, a year 1 instant moved before 1
        return None, NOT_A_TIME


def jsonld_time(value: Any) -> str | None:
    """A JSON-LD date property as text: a string, or the first string of a list."""
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str)), None)
    return value if isinstance(value, str) else None
