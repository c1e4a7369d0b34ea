"""The Parquet schema of the article dataset, derived from :class:`crawler.items.Article`.

The schema is built by introspecting the dataclass type hints, never from data, so every
file of every run has the same column types whatever a given batch happens to contain, and
a field added to ``Article`` appears in the dataset with the type its annotation gives.

Type mapping (an annotation ``X | None`` makes the column nullable, anything else is
``not null``):

=========================  ===========================================
``str``                    ``string``
``int``                    ``int32``
``float``                  ``float64``
``bool``                   ``bool``
``datetime.date``          ``date32``
``datetime.datetime``      ``timestamp[us, tz=UTC]``
``list[X]``                ``list<element: X not null>``
a dataclass (RelatedLink)  ``struct<...>`` of its own fields
=========================  ===========================================

A field whose metadata marks it ``NOT_STORED`` (the story signature) is no column.

Each field carries its attribute docstring from ``items.py`` as ``description`` metadata,
which pyarrow stores in the file and gives back on read.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import functools
import inspect
import itertools
import textwrap
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa
from itemadapter import ItemAdapter

from crawler.items import NOT_STORED, Article

# Parquet writers (pyarrow included) name list items "element"; using the same name here
# makes the schema read back from a file equal to the one written.
_LIST_ITEM = "element"

_SCALARS: dict[Any, pa.DataType] = {
    str: pa.string(),
    bool: pa.bool_(),
    int: pa.int32(),
    float: pa.float64(),
    dt.date: pa.date32(),
    dt.datetime: pa.timestamp("us", tz="UTC"),
}


class SchemaError(ValueError):
    """A record does not fit the article schema (wrong type, missing or unknown field)."""


def attribute_docstrings(cls: type) -> dict[str, str]:
    """Return ``{field: docstring}`` for the string literals that follow annotated fields.

    Python drops attribute docstrings at runtime, so they are read from the class source.
    """
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    classdef = tree.body[0]
    assert isinstance(classdef, ast.ClassDef)
    docs: dict[str, str] = {}
    body = classdef.body
    for stmt, nxt in itertools.pairwise(body):
        if (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            docs[stmt.target.id] = inspect.cleandoc(nxt.value.value)
    return docs


def _split_optional(hint: Any) -> tuple[Any, bool]:
    """``(X, True)`` for ``X | None`` or ``Optional[X]``, else ``(hint, False)``."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"unsupported union annotation {hint!r}: only X | None is")
        return args[0], True
    return hint, False


def _arrow_type(hint: Any) -> pa.DataType:
    if hint in _SCALARS:
        return _SCALARS[hint]
    if typing.get_origin(hint) is list:
        (item_hint,) = typing.get_args(hint)
        inner, nullable = _split_optional(item_hint)
        return pa.list_(pa.field(_LIST_ITEM, _arrow_type(inner), nullable=nullable))
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return pa.struct(list(_fields_of(hint)))
    raise TypeError(f"no Parquet type for annotation {hint!r}")


def _fields_of(cls: type) -> Iterable[pa.Field]:
    hints = typing.get_type_hints(cls)
    docs = attribute_docstrings(cls)
    for f in dataclasses.fields(cls):
        if f.metadata.get(NOT_STORED):
            continue
        inner, nullable = _split_optional(hints[f.name])
        metadata = {"description": docs[f.name]} if f.name in docs else None
        yield pa.field(f.name, _arrow_type(inner), nullable=nullable, metadata=metadata)


@functools.cache
def article_schema() -> pa.Schema:
    """The explicit schema every dataset file and feed file is written with."""
    doc = inspect.cleandoc(Article.__doc__ or "")
    return pa.schema(list(_fields_of(Article)), metadata={"description": doc})


# Columns whose row-group statistics (min/max) are written: the short ones readers filter
# on. A string column's statistics are its smallest and largest values in full: for
# text, description or title they would double a small row group's size on disk and keep
# kilobytes a row group in the writer's memory until the file is closed, and no query
# prunes on them.
STATISTICS_COLUMNS = (
    "site",
    "section",
    "category",
    "agency",
    "language",
    "published_date",
    "word_count",
    "fetched_at",
    "crawl_id",
    "extractor_version",
)


@functools.cache
def _defaults() -> dict[str, Any]:
    """Field name -> zero-argument factory for the fields that have a default."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(Article):
        if f.default is not dataclasses.MISSING:
            out[f.name] = lambda v=f.default: v
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory
    return out


def _plain(value: Any) -> Any:
    """Turn nested dataclass instances (RelatedLink) into dicts, which pyarrow converts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _utc(value: Any) -> Any:
    """Make a datetime tz-aware UTC; naive ones are taken to be UTC already."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)
    return value


def to_row(item: Any) -> dict[str, Any]:
    """Return the item as a dict with exactly the schema's columns, in schema order.

    Accepts an ``Article`` or any item type itemadapter knows (dict, scrapy.Item, ...).
    Missing fields take the ``Article`` default; a missing field without a default or a
    field the schema does not know raises :class:`SchemaError`.
    """
    schema = article_schema()
    nested, timestamps = _conversions()
    if type(item) is Article:
        # The crawl's own records: every field is there by construction (no adapter needed).
        row = {name: getattr(item, name) for name in schema.names}
    else:
        row = _row_of_any(item, schema)
    for name in nested:
        row[name] = _plain(row[name])
    for name in timestamps:
        row[name] = _utc(row[name])
    return row


@functools.cache
def _conversions() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Fields whose values may hold dataclasses or tuples (lists, structs), and timestamps."""
    schema = article_schema()
    nested = tuple(f.name for f in schema if pa.types.is_list(f.type) or pa.types.is_struct(f.type))
    return nested, tuple(f.name for f in schema if pa.types.is_timestamp(f.type))


@functools.cache
def _not_stored() -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(Article) if f.metadata.get(NOT_STORED))


def _row_of_any(item: Any, schema: pa.Schema) -> dict[str, Any]:
    try:
        adapter = ItemAdapter(item)
    except TypeError as exc:
        raise SchemaError(f"not an item: {type(item).__name__}") from exc
    unknown = set(adapter.keys()) - set(schema.names) - _not_stored()
    if unknown:
        raise SchemaError(f"unknown fields: {sorted(unknown)}")
    defaults = _defaults()
    row: dict[str, Any] = {}
    for name in schema.names:
        if name in adapter:
            value = adapter[name]
        elif name in defaults:
            value = defaults[name]()
        else:
            raise SchemaError(f"missing field: {name}")
        row[name] = _plain(value)
    return row


def _null_violations(array: pa.Array, field: pa.Field, path: str) -> list[str]:
    """Non-nullable (nested) fields holding nulls: pyarrow converts them without complaint
    and only fails when the row group is written, which would lose the whole group."""
    out: list[str] = []
    if not field.nullable and array.null_count:
        out.append(path)
    if isinstance(array, pa.ListArray):
        out += _null_violations(array.flatten(), field.type.value_field, f"{path}[]")
    elif isinstance(array, pa.StructArray):
        for i, child in enumerate(array.flatten()):
            sub = field.type.field(i)
            out += _null_violations(child, sub, f"{path}.{sub.name}")
    return out


def _string_as_list(value: Any, type_: pa.DataType, path: str) -> list[str]:
    """Strings where lists belong: pyarrow would silently store them as lists of characters."""
    if pa.types.is_list(type_):
        if isinstance(value, str | bytes):
            return [path]
        if isinstance(value, list | tuple):
            return [p for v in value for p in _string_as_list(v, type_.value_type, f"{path}[]")]
    elif pa.types.is_struct(type_) and isinstance(value, Mapping):
        return [
            p for f in type_ for p in _string_as_list(value.get(f.name), f.type, f"{path}.{f.name}")
        ]
    return []


Check = typing.Callable[[Any], bool]


def _utf8(value: str) -> bool:
    if value.isascii():
        return True
    try:
        value.encode("utf-8")  # a lone surrogate would fail the whole row group
    except UnicodeEncodeError:
        return False
    return True


def _checker(type_: pa.DataType, nullable: bool) -> Check:
    """A plain-Python test that a value converts to ``type_`` exactly (a few microseconds,
    against a hundred for converting a one-row batch); False means "not sure"."""
    check: Check
    if pa.types.is_string(type_):
        check = lambda v: isinstance(v, str) and _utf8(v)  # noqa: E731
    elif pa.types.is_boolean(type_):
        check = lambda v: isinstance(v, bool)  # noqa: E731
    elif pa.types.is_float64(type_):
        check = lambda v: type(v) is float  # noqa: E731
    elif pa.types.is_int32(type_):
        check = lambda v: type(v) is int and -(2**31) <= v < 2**31  # noqa: E731
    elif pa.types.is_date32(type_):
        check = lambda v: type(v) is dt.date  # noqa: E731
    elif pa.types.is_timestamp(type_):
        check = lambda v: isinstance(v, dt.datetime) and v.tzinfo is not None  # noqa: E731
    elif pa.types.is_list(type_):
        item = _checker(type_.value_type, type_.value_field.nullable)
        check = lambda v: isinstance(v, list) and all(map(item, v))  # noqa: E731
    elif pa.types.is_struct(type_):
        fields = [(f.name, _checker(f.type, f.nullable)) for f in type_]
        names = frozenset(f.name for f in type_)
        check = lambda v: (  # noqa: E731
            isinstance(v, dict) and v.keys() <= names and all(c(v.get(name)) for name, c in fields)
        )
    else:
        return lambda v: False
    if nullable:
        return lambda v: v is None or check(v)
    return check


@functools.cache
def _row_checks() -> tuple[tuple[str, Check], ...]:
    return tuple((f.name, _checker(f.type, f.nullable)) for f in article_schema())


def check_row(row: Mapping[str, Any]) -> None:
    """Raise :class:`SchemaError` unless ``row`` converts to the schema exactly."""
    if row.keys() == _names() and all(check(row[name]) for name, check in _row_checks()):
        return
    _check_row_by_conversion(row)


@functools.cache
def _names() -> frozenset[str]:
    return frozenset(article_schema().names)


def _check_row_by_conversion(row: Mapping[str, Any]) -> None:
    """The thorough check, which also says what is wrong: convert the row to a batch."""
    schema = article_schema()
    strings = [p for f in schema for p in _string_as_list(row.get(f.name), f.type, f.name)]
    if strings:
        raise SchemaError(f"string where a list is expected: {', '.join(strings)}")
    try:
        batch = pa.RecordBatch.from_pylist([row], schema=schema)
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
        raise SchemaError(str(exc)) from exc
    nulls = [
        v
        for field, col in zip(schema, batch.columns, strict=True)
        for v in _null_violations(col, field, field.name)
    ]
    if nulls:
        raise SchemaError(f"null in non-nullable field(s): {', '.join(nulls)}")


def rows_to_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Rows from :func:`to_row` as a table with the article schema."""
    return pa.Table.from_pylist(list(rows), schema=article_schema())


def is_current(schema: pa.Schema) -> bool:
    """A file of this schema has exactly the article schema's columns and types: every
    reader of the dataset gets every column from it, whichever file it sees first."""
    return schema.equals(article_schema(), check_metadata=False)


def conform(table: pa.Table) -> pa.Table:
    """``table`` (a dataset file's rows, of any schema :mod:`crawler.dataset.quarantine`
    accepts) with the article schema: a column an older crawler did not write is null,
    one the record no longer has is dropped, each column cast to its type (int64 ->
    int32 and the like: same family). ValueError when a column does not fit."""
    schema = article_schema()
    columns = []
    for target in schema:
        if target.name in table.column_names:
            column = table.column(target.name)
            if not column.type.equals(target.type):
                try:
                    column = column.cast(target.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                    raise ValueError(f"{target.name}: {exc}") from exc
        elif target.nullable:
            column = pa.nulls(table.num_rows, target.type)
        else:
            raise ValueError(f"{target.name} is missing and may not be null")
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema)
