"""The WARC writer: HTTP exchanges in, published ``.warc.gz`` files (and their index) out.

A file is ``<archive>/<YYYY>/<MM>/<DD>/<crawl_id>-<n>.warc.gz`` (the UTC day it was started),
written as ``.<crawl_id>-<n>.warc.gz.tmp`` (hidden: a ``*.warc.gz`` glob, ``warcio`` and
every reader here skip it) while a ``flock`` is held on it, and renamed when complete. It
starts with a ``warcinfo`` record (software, crawl id, extractor version); then, per
exchange, a ``response`` record and a ``request`` record concurrent to it. Each record is
its own gzip member, so a record is read alone from its offset and length.

What a response record holds is what the server sent, as far as the downloader tells: the
status line, the headers, and the body still content-encoded (gzip, ...). The downloader
hands over the body de-chunked, so a ``Transfer-Encoding`` header is kept as
``X-Crawler-Transfer-Encoding`` (Common Crawl's convention) and a ``Content-Length`` that
disagrees with the body stored (a truncated answer) as ``X-Crawler-Content-Length``, the true
length taking its place: the stored headers describe the stored bytes, as ``warcio check``
and every WARC reader expect.

Publication (:meth:`WarcArchive.publish`): the file and its index (``<name>.cdxj``, written
alongside as ``.<name>.cdxj.tmp``, one line per response in the order written) are flushed
and fsynced, the index renamed into place, then the file, then the directory fsynced. A
killed run leaves only hidden files, removed by the next run (those no live writer holds).
A published ``.cdxj`` whose WARC file is missing (killed between the two renames) is
ignored by readers and removed by the next run.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import re
import secrets
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.archive.index import IndexEntry, index_name
from crawler.crawl_id import filename_safe
from crawler.dataset.files import fsync_dir, remove_stale_tmp, try_lock

logger = logging.getLogger(__name__)

SUFFIX = ".warc.gz"
HIDDEN_RE = re.compile(r"^\..*\.(warc\.gz|cdxj)\.tmp$")
MAX_MB_LIMIT = 2000
"""Offsets must fit the int32 ``warc_record_offset`` column (Common Crawl's type)."""
# Level 6: zlib's default; 9 (warcio's) costs twice the CPU for 1-2% less disk on pages
# that mostly arrive gzipped already.
_GZIP_LEVEL = 6
_WRITE_BUFFER = 1 << 20


@dataclass(frozen=True, slots=True)
class RecordLocation:
    """Where a record is: Common Crawl's ``warc_filename``, ``warc_record_offset``,
    ``warc_record_length``."""

    filename: str
    """Relative to the archive directory, ``/`` separators."""
    offset: int
    length: int
    """Of the record's gzip member."""


@dataclass(frozen=True, slots=True)
class Exchange:
    """One HTTP request and its response, as the downloader saw them."""

    url: str
    status: int
    headers: Sequence[tuple[str, str]]
    """The response headers, in order, repeated names repeated."""
    body: bytes
    """As received: de-chunked, still content-encoded."""
    fetched_at: dt.datetime
    protocol: str = "HTTP/1.1"
    method: str = "GET"
    request_headers: Sequence[tuple[str, str]] = ()
    request_body: bytes = b""
    ip_address: str | None = None
    truncated: bool = False
    """The connection ended before the body did (``WARC-Truncated: disconnect``)."""


def final_name(crawl_id: str, counter: int) -> str:
    return f"{filename_safe(crawl_id)}-{counter:05d}{SUFFIX}"


def hidden_name(name: str) -> str:
    return f".{name}.tmp"


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    lowered = name.lower()
    return next((v for k, v in headers if k.lower() == lowered), None)


def stored_headers(headers: Sequence[tuple[str, str]], body_length: int) -> list[tuple[str, str]]:
    """The response headers as stored: they must describe the stored body (see the module
    docstring)."""
    out: list[tuple[str, str]] = []
    length_seen = False
    for raw_name, value in headers:
        name = _token(raw_name)
        lowered = name.lower()
        if lowered == "transfer-encoding":
            out.append(("X-Crawler-Transfer-Encoding", value))
        elif lowered == "content-length":
            if value.strip() == str(body_length) and not length_seen:
                out.append((name, value))
            else:
                out.append(("X-Crawler-Content-Length", value))
            length_seen = True
        else:
            out.append((name, value))
    if _header(out, "content-length") is None and (
        length_seen or _header(headers, "transfer-encoding")
    ):
        out.append(("Content-Length", str(body_length)))
    return out


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _token(name: str) -> str:
    """A header name as HTTP allows it: a server's name with other bytes (``X-Café``) has
    them percent-encoded (warcio cannot write them, and a record must not be lost for it)."""
    if _TOKEN.fullmatch(name):
        return name
    return "".join(
        chr(byte) if _TOKEN.fullmatch(chr(byte)) and byte != 0x25 else f"%{byte:02X}"
        for byte in name.encode("latin-1", "replace")
    )


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class _WarcFile:
    """One WARC file being written: a locked hidden file and the index of its responses."""

    def __init__(self, root: Path, relative_dir: str, name: str) -> None:
        self.directory = root / relative_dir
        self.directory.mkdir(parents=True, exist_ok=True)
        self.relative = f"{relative_dir}/{name}"
        self.final_path = self.directory / name
        self.tmp_path = self.directory / hidden_name(name)
        # O_EXCL: never take over a file another writer has.
        self._fd = os.open(self.tmp_path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        try_lock(self._fd)
        self._out: BinaryIO = open(self._fd, "wb", buffering=_WRITE_BUFFER, closefd=False)  # noqa: SIM115
        self.size = 0
        # The index is written as the records are (memory stays flat however big the file),
        # hidden beside it, and published just before it.
        self.index_path = self.directory / index_name(name)
        self.index_tmp = self.directory / hidden_name(self.index_path.name)
        self._index = self.index_tmp.open("x", encoding="utf-8")
        try_lock(self._index.fileno())  # the stale-file cleaner leaves a held file alone

    def add(self, entry: IndexEntry) -> None:
        self._index.write(entry.line())

    def append(self, member: bytes) -> tuple[int, int]:
        offset = self.size
        self._out.write(member)
        self.size += len(member)
        return offset, len(member)

    def finish(self) -> Path:
        """Flush, fsync, write the index, rename; the final path. On failure the hidden file
        stays (a later run removes it)."""
        try:
            self._out.flush()
            os.fsync(self._fd)
            if self.final_path.exists():
                raise FileExistsError(f"refusing to overwrite {self.final_path}")
            self._index.flush()
            os.fsync(self._index.fileno())
            os.replace(self.index_tmp, self.index_path)
            os.replace(self.tmp_path, self.final_path)
            fsync_dir(self.directory)
        finally:
            self._release(unlink=False)
        return self.final_path

    def abort(self) -> None:
        self._release(unlink=True)

    def _release(self, unlink: bool) -> None:
        if self._fd < 0:
            return
        for stream in (self._out, self._index):
            try:
                stream.close()
            except OSError:
                logger.debug("Closing %s failed", self.tmp_path, exc_info=True)
        fd, self._fd = self._fd, -1
        os.close(fd)
        if unlink:
            self.tmp_path.unlink(missing_ok=True)
            self.index_tmp.unlink(missing_ok=True)


class WarcArchive:
    """Writes exchanges as WARC/1.1 records into files of at most about ``max_bytes``, and
    publishes them."""

    def __init__(
        self,
        root: Path,
        crawl_id: str,
        *,
        max_bytes: int = 1000 * 2**20,
        info: Mapping[str, str] | None = None,
    ) -> None:
        if not 0 < max_bytes <= MAX_MB_LIMIT * 2**20:
            raise ValueError(f"SMN_ARCHIVE_MAX_MB must be between 1 and {MAX_MB_LIMIT}")
        self.root = root
        self.crawl_id = crawl_id
        self.max_bytes = max_bytes
        self.info = dict(info or {})
        """The ``warcinfo`` fields of every file (software, crawl id, extractor version)."""
        self.files_written: list[Path] = []
        self.records = 0
        self._file: _WarcFile | None = None
        self._counter = 0
        self._started_at = time.time()
        self._warc = WARCWriter(None, gzip=False, warc_version="1.1")

    @property
    def pending(self) -> bool:
        """Whether a file holds records not yet published."""
        return self._file is not None

    def open(self, *, clean_stale: bool = True) -> list[Path]:
        """Create the archive directory and prove it writable (OSError otherwise); remove
        the hidden files of killed runs and orphan indexes. The files removed."""
        self.root.mkdir(parents=True, exist_ok=True)
        probe = self.root / f".smn-write-probe-{os.getpid()}-{secrets.token_hex(4)}"
        probe.write_bytes(b"")
        probe.unlink()
        if not clean_stale:
            return []
        removed = remove_stale_tmp(self.root, older_than=self._started_at, pattern=HIDDEN_RE)
        removed += remove_orphan_indexes(self.root, older_than=self._started_at)
        for path in removed:
            logger.info("Removed stale archive file %s", path)
        return removed

    def write(self, exchange: Exchange) -> RecordLocation:
        """Append the exchange's response and request records; where the response is."""
        file = self._file or self._new_file(exchange.fetched_at)
        response, record_id = self._response_record(exchange)
        offset, length = file.append(response)
        file.append(self._request_record(exchange, record_id))
        location = RecordLocation(file.relative, offset, length)
        file.add(
            IndexEntry.of(
                exchange.url,
                exchange.fetched_at,
                exchange.status,
                _header(exchange.headers, "content-type"),
                location.filename,
                offset,
                length,
            )
        )
        self.records += 1
        if file.size >= self.max_bytes:
            self.publish()
        return location

    def publish(self) -> Path | None:
        """Publish the current file if it holds records (the next record starts a new one);
        its final path. Raises when it cannot: rows pointing into it must not be published."""
        file, self._file = self._file, None
        if file is None:
            return None
        try:
            path = file.finish()
        except Exception:
            file.abort()
            raise
        self.files_written.append(path)
        logger.info("Published %s (%d bytes)", path, file.size)
        return path

    def close(self) -> None:
        """Publish the current file."""
        self.publish()

    def abort(self) -> None:
        """Give up the current file (its records were never readable)."""
        file, self._file = self._file, None
        if file is not None:
            file.abort()

    # -- records -------------------------------------------------------------------------

    def _new_file(self, now: dt.datetime) -> _WarcFile:
        day = now.astimezone(dt.UTC)
        relative_dir = f"{day:%Y}/{day:%m}/{day:%d}"
        directory = self.root / relative_dir
        # A reused SMN_CRAWL_ID must not collide with files of the earlier run.
        while (directory / (name := final_name(self.crawl_id, self._counter))).exists() or (
            directory / hidden_name(name)
        ).exists():
            self._counter += 1
        file = _WarcFile(self.root, relative_dir, name)
        self._counter += 1
        try:
            info = self._warc.create_warcinfo_record(name, self.info)
            file.append(self._member(info))
        except Exception:
            file.abort()
            raise
        self._file = file
        return file

    def _member(self, record: object) -> bytes:
        """The record as one gzip member."""
        buffer = io.BytesIO()
        self._warc.out = buffer
        self._warc.write_record(record)
        packer = zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        return packer.compress(buffer.getvalue()) + packer.flush()

    def _warc_date(self, exchange: Exchange) -> str:
        when = exchange.fetched_at.astimezone(dt.UTC)
        return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def _response_record(self, exchange: Exchange) -> tuple[bytes, str]:
        headers = stored_headers(exchange.headers, len(exchange.body))
        http = StatusAndHeaders(
            f"{exchange.status} {_reason(exchange.status)}".rstrip(),
            headers,
            protocol=exchange.protocol,
        )
        warc_headers = {"WARC-Date": self._warc_date(exchange)}
        if exchange.ip_address:
            warc_headers["WARC-IP-Address"] = exchange.ip_address
        if exchange.truncated:
            warc_headers["WARC-Truncated"] = "disconnect"
        record = self._warc.create_warc_record(
            exchange.url,
            "response",
            payload=io.BytesIO(exchange.body),
            length=len(exchange.body),
            http_headers=http,
            warc_headers_dict=warc_headers,
        )
        return self._member(record), record.rec_headers.get_header("WARC-Record-ID")

    def _request_record(self, exchange: Exchange, response_id: str) -> bytes:
        parts = urlsplit(exchange.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = list(exchange.request_headers)
        if _header(headers, "host") is None:
            headers.insert(0, ("Host", parts.netloc))
        http = StatusAndHeaders(
            f"{exchange.method} {target} HTTP/1.1", headers, is_http_request=True
        )
        record = self._warc.create_warc_record(
            exchange.url,
            "request",
            payload=io.BytesIO(exchange.request_body),
            length=len(exchange.request_body),
            http_headers=http,
            warc_headers_dict={
                "WARC-Date": self._warc_date(exchange),
                "WARC-Concurrent-To": response_id,
            },
        )
        return self._member(record)


def remove_orphan_indexes(root: Path, older_than: float) -> list[Path]:
    """Remove published indexes whose WARC file is missing (a run killed between the two
    renames), last modified before ``older_than``."""
    removed: list[Path] = []
    for dirpath, _dirs, files in os.walk(root):
        names = set(files)
        for name in files:
            if name.startswith(".") or not name.endswith(".cdxj"):
                continue
            if name.removesuffix(".cdxj") + SUFFIX in names:
                continue
            path = Path(dirpath, name)
            try:
                if path.stat().st_mtime >= older_than:
                    continue
                path.unlink()
            except FileNotFoundError:
                continue
            removed.append(path)
    return removed
