"""Finding a page in the archive without reading the archive.

Beside each published WARC file, ``<name>.cdxj`` lists its response records, one line each
in the order written (CDXJ lines: a key, a 14-digit timestamp, a JSON object)::

    https://spacewar.com/reports/x_999.html 20261205101500 {"url": "https://www.spacewar.com/
    reports/x_999.html", "date": "2026-12-05T10:15:00.123456Z", "status": 200, "mime":
    "text/html; charset=iso-8859-1", "filename": "2026/12/05/<crawl_id>-00000.warc.gz",
    "offset": 1234, "length": 5678}

The key is the crawl's own :func:`crawler.network.urls.url_key`, so http/https, ``www.`` and
tracking parameters find the same page. It is written before its WARC file is renamed into
place, so every published WARC file has one (an index without its WARC file is ignored).

:class:`ArchiveIndex` is a lookup cache of all of them in ``<archive>/index.sqlite``: each
lookup first ingests the indexes published since (a directory listing, no WARC file read) and
forgets those gone; delete it and the next lookup builds it again. :func:`read_record` reads
one record by filename, offset and length (the row's ``warc_*`` fields).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import sqlite3
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord

from crawler.network.urls import url_key

INDEX_SUFFIX = ".cdxj"
WARC_SUFFIX = ".warc.gz"
CACHE_NAME = "index.sqlite"


def index_name(warc_name: str) -> str:
    """``<crawl_id>-00000.warc.gz`` -> ``<crawl_id>-00000.cdxj``."""
    return warc_name.removesuffix(WARC_SUFFIX) + INDEX_SUFFIX


def _key(url: str) -> str:
    try:
        return url_key(url)
    except ValueError:
        return url


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One response record of the archive."""

    key: str
    """:func:`~crawler.network.urls.url_key` of the URL."""
    date: str
    """``WARC-Date``: ``2026-12-05T10:15:00.123456Z`` (sorts as time does)."""
    url: str
    status: int
    mime: str | None
    filename: str
    """Relative to the archive directory."""
    offset: int
    length: int

    @classmethod
    def of(
        cls,
        url: str,
        fetched_at: dt.datetime,
        status: int,
        mime: str | None,
        filename: str,
        offset: int,
        length: int,
    ) -> IndexEntry:
        date = fetched_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return cls(_key(url), date, url, status, mime, filename, offset, length)

    def line(self) -> str:
        stamp = "".join(c for c in self.date[:19] if c.isdigit())
        fields = {
            "url": self.url,
            "date": self.date,
            "status": self.status,
            "mime": self.mime,
            "filename": self.filename,
            "offset": self.offset,
            "length": self.length,
        }
        return f"{self.key} {stamp} {json.dumps(fields, ensure_ascii=False)}\n"

    @classmethod
    def parse(cls, line: str) -> IndexEntry:
        key, _stamp, fields = line.split(" ", 2)
        f = json.loads(fields)
        return cls(
            key,
            f["date"],
            f["url"],
            f["status"],
            f["mime"],
            f["filename"],
            f["offset"],
            f["length"],
        )


def read_index(path: Path) -> Iterator[IndexEntry]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield IndexEntry.parse(line)


def published_warc_files(root: Path) -> list[str]:
    """Every published WARC file under ``root``, relative, sorted (oldest day first): what a
    re-extraction iterates."""
    found = []
    for dirpath, dirnames, files in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in files:
            if name.endswith(WARC_SUFFIX) and not name.startswith("."):
                found.append(Path(dirpath, name).relative_to(root).as_posix())
    return sorted(found)


def _published_indexes(root: Path) -> dict[str, tuple[int, int]]:
    """Indexes whose WARC file is published: relative path -> (size, mtime_ns)."""
    found: dict[str, tuple[int, int]] = {}
    for dirpath, dirnames, files in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        names = set(files)
        for name in files:
            if name.startswith(".") or not name.endswith(INDEX_SUFFIX):
                continue
            if name.removesuffix(INDEX_SUFFIX) + WARC_SUFFIX not in names:
                continue
            path = Path(dirpath, name)
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            found[path.relative_to(root).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return found


def _row(e: IndexEntry) -> tuple[str, str, str, int, str | None, str, int, int]:
    return (e.key, e.date, e.url, e.status, e.mime, e.filename, e.offset, e.length)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS indexes (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER);
CREATE TABLE IF NOT EXISTS records (
    key TEXT NOT NULL, date TEXT NOT NULL, url TEXT NOT NULL, status INTEGER, mime TEXT,
    filename TEXT NOT NULL, offset INTEGER NOT NULL, length INTEGER NOT NULL,
    source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_key ON records (key, date);
CREATE INDEX IF NOT EXISTS records_source ON records (source);
"""


class ArchiveIndex:
    """The lookup cache (``index.sqlite`` in the archive directory)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.db = sqlite3.connect(root / CACHE_NAME, timeout=60, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def refresh(self) -> int:
        """Ingest the indexes published since the last refresh, forget those gone; how many
        were ingested."""
        on_disk = _published_indexes(self.root)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            known = {
                path: (size, mtime)
                for path, size, mtime in self.db.execute("SELECT path, size, mtime_ns FROM indexes")
            }
            for path in known.keys() - on_disk.keys():
                self._forget(path)
            fresh = [p for p, stat in on_disk.items() if known.get(p) != stat]
            for path in fresh:
                self._forget(path)
                self.db.executemany(
                    "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        (
                            e.key,
                            e.date,
                            e.url,
                            e.status,
                            e.mime,
                            e.filename,
                            e.offset,
                            e.length,
                            path,
                        )
                        for e in read_index(self.root / path)
                    ),
                )
                self.db.execute("INSERT INTO indexes VALUES (?, ?, ?)", (path, *on_disk[path]))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return len(fresh)

    def _forget(self, path: str) -> None:
        self.db.execute("DELETE FROM records WHERE source = ?", (path,))
        self.db.execute("DELETE FROM indexes WHERE path = ?", (path,))

    def lookup(self, url: str) -> list[IndexEntry]:
        """Every response record of the page, newest first (after a refresh)."""
        rows = self.db.execute(
            "SELECT key, date, url, status, mime, filename, offset, length FROM records"
            " WHERE key = ? ORDER BY date DESC, filename DESC, offset DESC",
            (_key(url),),
        )
        return [IndexEntry(*row) for row in rows if (self.root / row[5]).is_file()]


@dataclass(frozen=True, slots=True)
class ArchivedPage:
    """A response record read back."""

    url: str
    date: str
    status_line: str
    """``HTTP/1.1 200 OK``."""
    headers: list[tuple[str, str]]
    body: bytes
    """Decoded (the Content-Encoding undone) when :attr:`decoded`; else as it came off the
    wire."""
    decoded: bool = True


class DamagedRecord(ValueError):
    """The bytes at a record's place are no complete, intact record (a truncated or
    corrupted WARC file)."""


def inflate_member(member: bytes, where: str) -> bytes:
    """One gzip member, whole and intact (its CRC checked), inflated.

    DamagedRecord when it is cut short, followed by other bytes, or corrupted: warcio reads
    a damaged member as far as it can and hands over what it got."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(member)
    except zlib.error as exc:
        raise DamagedRecord(f"damaged record at {where}: {exc}") from None
    if not inflater.eof:
        raise DamagedRecord(f"truncated record at {where}")
    if inflater.unused_data:
        raise DamagedRecord(f"record at {where} is followed by other bytes")
    return data


def read_record(root: Path, filename: str, offset: int, length: int) -> ArchivedPage:
    """The response record at ``offset`` (``length`` bytes) of ``root/filename``.

    ValueError when the bytes there are no response record (DamagedRecord when they are
    truncated or corrupted); OSError when the file cannot be read."""
    with RecordReader(root) as reader:
        return reader.read(filename, offset, length)


class RecordReader:
    """Reads records of one archive, keeping the last :data:`OPEN_FILES` files open (a
    re-extraction reads its records file by file: an ``open`` each cost a third of the read).

    The records this crawler writes are parsed directly (:func:`parse_record`); any other
    form (continued or non-ASCII header lines, a body encoding other than gzip or deflate,
    a body that does not decode) goes through warcio, as before."""

    OPEN_FILES = 8

    def __init__(self, root: Path) -> None:
        self.root = root
        self._open: dict[str, int] = {}

    def read(self, filename: str, offset: int, length: int, *, decode: bool = True) -> ArchivedPage:
        """The response record there. ``decode``: the body's Content-Encoding undone (by
        warcio's rules); else the body as it came off the wire (:attr:`ArchivedPage.decoded`
        False), for a reader that decodes it as the crawl did (a re-extraction: Scrapy's
        decompression middleware). A body stored chunked (another tool's record) is always
        decoded whole."""
        where = f"{filename}:{offset}"
        member = os.pread(self._fd(filename), length, offset)
        if len(member) != length:
            raise DamagedRecord(f"truncated record at {where}: {len(member)} of {length} bytes")
        data = inflate_member(member, where)
        page = parse_record(data, decode=decode)
        if page is None:
            page = parse_record_warcio(data, where, decode=decode)
        return page

    def _fd(self, filename: str) -> int:
        fd = self._open.pop(filename, None)
        if fd is None:
            if len(self._open) >= self.OPEN_FILES:
                oldest = next(iter(self._open))
                os.close(self._open.pop(oldest))
            fd = os.open(self.root / filename, os.O_RDONLY | os.O_CLOEXEC)
        self._open[filename] = fd  # the newest last
        return fd

    def close(self) -> None:
        while self._open:
            os.close(self._open.popitem()[1])

    def __enter__(self) -> RecordReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_HEAD_END = b"\r\n\r\n"
_HTTP_STATUS = re.compile(r"(HTTP/1\.[01]) +(\d{3}(?: .*)?)", re.IGNORECASE)
_PLAIN_ENCODINGS = frozenset({"", "identity"})
_INFLATED_ENCODINGS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def _header_lines(block: bytes) -> list[tuple[str, str]] | None:
    """``Name: value`` lines (ASCII, none continued), or None for any other form."""
    if not block.isascii():
        return None
    headers = []
    for line in block.decode("ascii").split("\r\n"):
        name, sep, value = line.partition(":")
        if not sep or line[:1] in (" ", "\t"):
            return None
        headers.append((name.rstrip(" \t"), value.strip()))
    return headers


def parse_record(data: bytes, *, decode: bool = True) -> ArchivedPage | None:
    """A response record (one inflated WARC record) in the form this crawler writes; None
    for any other form (read it with warcio). The same page :func:`parse_record_warcio`
    gives (tests/unit/test_warc_writer.py compares them)."""
    warc_end = data.find(_HEAD_END)
    if warc_end < 0:
        return None
    version, _, warc_block = data[:warc_end].partition(b"\r\n")
    if not version.startswith(b"WARC/"):
        return None
    warc = _header_lines(warc_block)
    if warc is None:
        return None
    fields = {name.lower(): value for name, value in warc}
    if fields.get("warc-type") != "response":
        return None
    try:
        size = int(fields["content-length"])
        url, date = fields["warc-target-uri"], fields["warc-date"]
    except (KeyError, ValueError):
        return None
    start = warc_end + 4
    block = data[start : start + size]
    if len(block) != size:
        return None
    http_end = block.find(_HEAD_END)
    if http_end < 0:
        return None
    status, _, http_block = block[:http_end].partition(b"\r\n")
    if not status.isascii():
        return None
    match = _HTTP_STATUS.fullmatch(status.decode("ascii").rstrip())
    headers = _header_lines(http_block) if http_block else []
    if match is None or headers is None:
        return None
    encoding = ""
    for name, value in headers:
        lowered = name.lower()
        if lowered == "transfer-encoding":
            return None
        if lowered == "content-encoding":
            encoding = value.strip().lower()
    body = block[http_end + 4 :]
    if decode and encoding not in _PLAIN_ENCODINGS:
        wbits = _INFLATED_ENCODINGS.get(encoding)
        if wbits is None:
            return None
        inflater = zlib.decompressobj(wbits)
        try:
            body = inflater.decompress(body)
        except zlib.error:
            return None
        if not inflater.eof or inflater.unused_data:
            return None
    return ArchivedPage(
        url=url,
        date=date,
        status_line=f"{match.group(1)} {match.group(2).strip()}",
        headers=headers,
        body=body,
        decoded=decode or encoding in _PLAIN_ENCODINGS,
    )


def parse_record_warcio(data: bytes, where: str, *, decode: bool = True) -> ArchivedPage:
    """One inflated response record read with warcio (any form it reads)."""
    records = ArchiveIterator(io.BytesIO(data))
    record: ArcWarcRecord | None = next(iter(records), None)
    if record is None or record.rec_type != "response" or record.http_headers is None:
        raise ValueError(f"no response record at {where}")
    http = record.http_headers
    chunked = "chunked" in (http.get_header("Transfer-Encoding") or "").lower()
    if decode or chunked:
        body = record.content_stream().read()  # de-chunked, the Content-Encoding undone
        decoded = True
    else:
        body = record.raw_stream.read()
        decoded = not (http.get_header("Content-Encoding") or "").strip()
    return ArchivedPage(
        url=record.rec_headers.get_header("WARC-Target-URI"),
        date=record.rec_headers.get_header("WARC-Date"),
        status_line=f"{http.protocol} {http.statusline}".strip(),
        headers=list(http.headers),
        body=body,
        decoded=decoded,
    )


def warcinfo_fields(path: Path) -> dict[str, str]:
    """The ``warcinfo`` fields of a WARC file (its first record): software, crawl id,
    ``extractor-version``; empty when it has none or it cannot be read."""
    try:
        with path.open("rb") as warc:
            record = next(iter(ArchiveIterator(warc)), None)
            if record is None or record.rec_type != "warcinfo":
                return {}
            text = record.content_stream().read(1 << 16).decode("utf-8", "replace")
    except Exception:  # a damaged file: its records are judged one by one
        return {}
    fields: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip()] = value.strip()
    return fields
