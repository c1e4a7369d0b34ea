"""Damaged dataset files, moved out of the dataset where no reader lists them.

A file under the dataset that is not a readable article file (truncated, empty, not
Parquet at all, a foreign Parquet file, a damaged data page) would make every reader of the
whole dataset fail (pyarrow.dataset, pandas, DuckDB) and every crawl stop at its dedup seed.
Such a file is *quarantined*: moved, never deleted, to ``<dataset>.quarantine`` beside the
dataset directory (``output/articles`` -> ``output/articles.quarantine``), under the same
relative path, and a line saying when and why is appended to ``README.txt`` there. The
crawler never reads nor deletes the quarantine: what to do with a file there (repair it,
delete it) is a human's decision. Its rows are gone from the dataset, so the incremental
state forgets its articles and a later crawl fetches them again when the sites still have
them.

Two checks, both returning a reason or None:

* :func:`check_file`, cheap, at every crawl (dedup seed, state sync, through
  :mod:`crawler.dataset.keys`): the Parquet footer opens and the schema fits the dataset's
  (:func:`schema_problem`);
* :func:`verify_file`, full, by ``scrapy verify``: also decodes every column of every row
  group, so damage inside a data page is found (with the page checksums the writer stores,
  any damaged byte of a page is).

A reason starts with what is wrong: ``empty file``, ``not Parquet``, ``truncated or damaged
Parquet file``, ``foreign schema``, ``damaged data``.
"""

from __future__ import annotations

import datetime as dt
import errno
import itertools
import logging
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from crawler.dataset.generations import stable_path
from crawler.dataset.schema import article_schema

logger = logging.getLogger(__name__)

QUARANTINE_SUFFIX = ".quarantine"
LOG_NAME = "README.txt"
REQUIRED_COLUMNS: tuple[str, ...] = ("url", "canonical_url", "content_hash", "duplicate_of")
"""The columns every dataset file must have, as strings: the key columns
(:data:`crawler.dataset.keys.KEY_COLUMNS`, which imports this module)."""

STAT_COUNT = "smn/dataset/quarantined"
"""Stats: files this run quarantined."""
STAT_FILES = "smn/dataset/quarantined_files"
"""Stats: the list of them, ``{"path", "reason", "moved_to"}`` each (the run report's
``quarantined``)."""

_PARQUET_MAGIC = b"PAR1"
_REASON_MAX = 240
# os.link cannot make a hard link here (no support, another file system, a protected link):
# the file is copied instead.
_NO_LINK = frozenset(
    e
    for e in (
        errno.EPERM,
        errno.EXDEV,
        errno.EMLINK,
        errno.ENOSYS,
        getattr(errno, "ENOTSUP", None),
        getattr(errno, "EOPNOTSUPP", None),
    )
    if e is not None
)

_README_HEADER = """\
Dataset files the crawler moved out of the dataset {dataset} because no reader could use
them (truncated, empty, not Parquet, a foreign schema, damaged data). Each keeps its path
relative to the dataset. The crawler never reads nor deletes this directory: repair a file
and move it back, or delete it. Its articles are fetched again by a later crawl while the
sites still have them. One line per file below: when (UTC), the file, why.

"""


class DamagedFile(Exception):
    """A file's content is not a readable dataset file; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A file moved to the quarantine."""

    path: str
    """Relative to the dataset, ``/`` separators: ``year=2026/month=1/part-x-00001.parquet``."""
    reason: str
    moved_to: Path

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason, "moved_to": str(self.moved_to)}


class StatsLike(Protocol):
    def get_value(self, key: str, default: Any = None) -> Any: ...
    def set_value(self, key: str, value: Any) -> None: ...
    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None: ...


def record_in_stats(stats: StatsLike, entries: Iterable[Quarantined]) -> None:
    """Count ``entries`` (:data:`STAT_COUNT`) and list them (:data:`STAT_FILES`)."""
    added = [entry.as_dict() for entry in entries]
    if not added:
        return
    stats.inc_value(STAT_COUNT, len(added))
    stats.set_value(STAT_FILES, [*(stats.get_value(STAT_FILES) or []), *added])


# -- where ------------------------------------------------------------------------------


def quarantine_dir(dataset: Path) -> Path:
    """``<parent>/<name>.quarantine`` of the dataset's stable path: beside it, never in it
    nor in a generation, so no reader of the dataset lists it and it outlives generations."""
    resolved = stable_path(dataset)
    return resolved.parent / f"{resolved.name or 'dataset'}{QUARANTINE_SUFFIX}"


def quarantine(dataset: Path, relative_path: str | PurePosixPath, reason: str) -> Path:
    """Move ``dataset/relative_path`` to the same path under :func:`quarantine_dir` and
    note when and why in its ``README.txt``; return where it went.

    A name taken there already gets a numeric suffix (``part-x.1.parquet``): nothing in the
    quarantine is ever overwritten. FileNotFoundError when the file is gone (another
    process moved it first); another OSError when it cannot be moved.
    """
    relative = PurePosixPath(relative_path)
    if relative.is_absolute() or ".." in relative.parts:
        raise ValueError(f"not a path inside the dataset: {relative_path}")
    directory = quarantine_dir(dataset)
    moved_to = _move_exclusive(
        dataset.joinpath(*relative.parts), directory.joinpath(*relative.parts)
    )
    _note(directory, dataset, relative, moved_to, reason)
    return moved_to


def _numbered(path: Path, n: int) -> Path:
    """``part-x.parquet`` -> ``part-x.<n>.parquet``."""
    return path.with_name(f"{path.stem}.{n}{path.suffix}")


def _move_exclusive(source: Path, wanted: Path) -> Path:
    """Move ``source`` to ``wanted`` or the first free numbered name beside it.

    A hard link then an unlink: a link never replaces an existing name (a rename would),
    and of two processes moving the same file only one unlinks it; the other removes its
    own link and gets FileNotFoundError."""
    wanted.parent.mkdir(parents=True, exist_ok=True)
    for n in itertools.count():
        target = wanted if n == 0 else _numbered(wanted, n)
        try:
            os.link(source, target)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in _NO_LINK:
                raise  # FileNotFoundError: the source is gone
            if not _copy_exclusive(source, target):
                continue
        try:
            os.unlink(source)
        except FileNotFoundError:
            target.unlink(missing_ok=True)  # another process moved it: its copy stands
            raise
        return target
    raise AssertionError("unreachable")  # pragma: no cover


def _copy_exclusive(source: Path, target: Path) -> bool:
    """Copy ``source`` to a new file ``target``; False when ``target`` exists."""
    with source.open("rb") as src:
        try:
            dst = target.open("xb")
        except FileExistsError:
            return False
        try:
            with dst:
                shutil.copyfileobj(src, dst)
                dst.flush()
                os.fsync(dst.fileno())
        except BaseException:
            target.unlink(missing_ok=True)
            raise
    return True


def _note(
    directory: Path, dataset: Path, relative: PurePosixPath, moved_to: Path, reason: str
) -> None:
    """Append a line to the quarantine's README.txt (created with a header)."""
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    kept = moved_to.relative_to(directory).as_posix()
    renamed = f" (kept as {kept}: the name was taken)" if kept != relative.as_posix() else ""
    line = f"{when}  {relative.as_posix()}{renamed}: {_one_line(reason)}\n"
    readme = directory / LOG_NAME
    try:
        try:
            with readme.open("x", encoding="utf-8") as out:
                out.write(_README_HEADER.format(dataset=dataset.resolve()))
        except FileExistsError:
            pass
        # one write of one short line in append mode: lines of two processes never mix
        with readme.open("a", encoding="utf-8") as out:
            out.write(line)
    except OSError as exc:
        # the file is moved already: the note is for humans, the log says it too
        logger.warning("Cannot note %s in %s: %s", relative, readme, exc)


# -- checks -----------------------------------------------------------------------------


def _one_line(text: str) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= _REASON_MAX else flat[: _REASON_MAX - 3] + "..."


def _first_sentence(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    head, _dot, _rest = text.partition(". ")
    return _one_line(head)


def is_io_error(exc: BaseException) -> bool:
    """An operating-system error (permissions, I/O, a vanished file), not bad content:
    pyarrow's own errors about what it read carry no errno."""
    return isinstance(exc, OSError) and exc.errno is not None


def open_parquet(path: Path) -> pq.ParquetFile:
    """The Parquet file at ``path``, its schema checked; DamagedFile when it is not a
    readable dataset file, OSError when it cannot be opened (FileNotFoundError: gone).

    Opened by path, so pyarrow reads it with its own file and threads: a Python file object
    would have pyarrow's I/O threads call back into Python, which can abort the process at
    exit (apache/arrow#34314). Page checksums (written by
    :class:`crawler.dataset.files.PartFile`) are verified on every page read through it."""
    try:
        parquet = pq.ParquetFile(str(path), page_checksum_verification=True)
    except Exception as exc:
        if is_io_error(exc):
            raise
        raise DamagedFile(_not_parquet(path, exc)) from exc
    problem = schema_problem(parquet.schema_arrow)
    if problem is not None:
        parquet.close()
        raise DamagedFile(problem)
    return parquet


def _not_parquet(path: Path, exc: BaseException) -> str:
    try:
        with path.open("rb") as source:
            size = os.fstat(source.fileno()).st_size
            head = source.read(4)
    except OSError:
        size, head = -1, b""
    if size == 0:
        return "empty file (0 bytes)"
    if head == _PARQUET_MAGIC:
        return f"truncated or damaged Parquet file ({size} bytes): {_first_sentence(exc)}"
    return f"not Parquet: {_first_sentence(exc)}"


def damaged_data(exc: BaseException) -> str:
    return f"damaged data: {_first_sentence(exc)}"


def check_file(path: Path) -> str | None:
    """The cheap check: why ``path`` is not a readable dataset file judged by its footer
    and schema, or None. Reads the footer only. OSError when it cannot be opened at all."""
    try:
        with open_parquet(path):
            return None
    except DamagedFile as exc:
        return exc.reason


def verify_file(path: Path) -> str | None:
    """The full check: :func:`check_file`, then every column of every row group decoded
    (one row group in memory at a time) and counted against the footer; the reason, or
    None. OSError when it cannot be opened or read (permissions, I/O)."""
    try:
        with open_parquet(path) as parquet:
            metadata = parquet.metadata
            for i in range(parquet.num_row_groups):
                try:
                    table = parquet.read_row_group(i)
                except Exception as exc:
                    if is_io_error(exc):
                        raise
                    return damaged_data(exc) + f" (row group {i})"
                expected = metadata.row_group(i).num_rows
                if table.num_rows != expected:
                    return (
                        f"damaged data: row group {i} has {table.num_rows} rows, "
                        f"its footer says {expected}"
                    )
    except DamagedFile as exc:
        return exc.reason
    return None


# -- schema -----------------------------------------------------------------------------


def _kind(type_: pa.DataType) -> str:
    """The family of a type: readers cast between members of one family (an int64
    word_count reads as int32; a timestamp in ns as one in us), never across families."""
    t = pa.types
    for name, test in (
        ("string", lambda x: t.is_string(x) or t.is_large_string(x) or t.is_string_view(x)),
        ("binary", lambda x: t.is_binary(x) or t.is_large_binary(x) or t.is_fixed_size_binary(x)),
        ("bool", t.is_boolean),
        ("integer", t.is_integer),
        ("float", t.is_floating),
        ("decimal", t.is_decimal),
        ("date", t.is_date),
        ("timestamp", t.is_timestamp),
        ("list", lambda x: t.is_list(x) or t.is_large_list(x) or t.is_list_view(x)),
        ("struct", t.is_struct),
    ):
        if test(type_):
            return name
    return str(type_)


def _type_problem(name: str, found: pa.DataType, expected: pa.DataType) -> str | None:
    if pa.types.is_dictionary(found):
        found = found.value_type
    # null is a family of its own: a reader that takes this file's schema first cannot cast
    # the other files' values to null
    kind = _kind(found)
    if kind != _kind(expected):
        return f"{name} is {found}, not {expected}"
    if kind == "list":
        return _type_problem(f"{name}[]", found.value_type, expected.value_type)
    if kind == "struct":
        for field in found:
            index = expected.get_field_index(field.name)
            if index >= 0:
                problem = _type_problem(
                    f"{name}.{field.name}", field.type, expected.field(index).type
                )
                if problem:
                    return problem
    return None


def schema_problem(schema: pa.Schema) -> str | None:
    """Why a file with this schema cannot sit in the dataset, or None.

    The key columns must be there as strings (a file without them names no article); a
    column of the article schema must be of its type's family, since a reader of the whole
    dataset casts every file to one schema (pyarrow and pandas take the first file's): an
    int64 ``url`` or a string ``word_count`` fails the whole read. Extra columns are
    ignored by readers and columns missing (an older schema) read as nulls: both fit.
    """
    names = set(schema.names)
    if len(names) != len(schema.names):
        duplicated = sorted({n for n in schema.names if schema.names.count(n) > 1})
        return f"foreign schema: duplicate columns {', '.join(duplicated)}"
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        shown = ", ".join(schema.names[:6]) + (", ..." if len(schema.names) > 6 else "")
        return f"foreign schema: no column {', '.join(missing)} (columns: {shown or 'none'})"
    expected = article_schema()
    for field in schema:
        index = expected.get_field_index(field.name)
        if index < 0:
            continue
        problem = _type_problem(field.name, field.type, expected.field(index).type)
        if problem is not None:
            return f"foreign schema: {problem}"
    return None
