"""The Parquet schema is derived from the Article dataclass and round-trips every type."""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crawler.dataset.schema import (
    SchemaError,
    article_schema,
    attribute_docstrings,
    check_row,
    rows_to_table,
    to_row,
)
from crawler.items import NOT_STORED, Article, RelatedLink

UTC_TS = pa.timestamp("us", tz="UTC")


def full_article() -> Article:
    return Article(
        url="https://www.spacewar.com/reports/Zürich_北京_999.html",
        canonical_url="https://www.spacewar.com/reports/x_999.html",
        site="spacewar.com",
        title="Ünïcode — 北京 🚀 “quotes”",
        text="First paragraph.\n\nSecond — with émoji 🚀.",
        section="Military Space News",
        category="WAR REPORT",
        byline="Sebastian Smith",
        authors=["Sebastian Smith", "Jörg Müller"],
        agency="AFP",
        dateline="Beijing",
        published_date=dt.date(2026, 11, 21),
        description="desc",
        image_url="https://www.spacewar.com/images/x.jpg",
        related_links=[
            RelatedLink(url="https://www.nasa.gov/", text="NASA"),
            RelatedLink(url="https://esa.int/", text="ESA — Europe"),
        ],
        language="en",
        word_count=7,
        content_hash="abc123",
        duplicate_of="https://www.spacedaily.com/reports/x.html",
        fetched_at=dt.datetime(2026, 11, 23, 19, 15, 30, 123456, tzinfo=ZoneInfo("Europe/Paris")),
        crawl_id="20261123T181500Z-ab12cd",
        extractor_version="1.2.0",
    )


def test_schema_has_the_article_fields_in_order() -> None:
    stored = [f.name for f in dataclasses.fields(Article) if not f.metadata.get(NOT_STORED)]
    assert article_schema().names == stored


def test_schema_types_follow_the_annotations() -> None:
    s = article_schema()
    assert s.field("url").type == pa.string()
    assert s.field("word_count").type == pa.int32()
    assert s.field("published_date").type == pa.date32()
    assert s.field("fetched_at").type == UTC_TS
    assert s.field("authors").type == pa.list_(pa.field("element", pa.string(), nullable=False))
    link = s.field("related_links").type.value_type
    assert pa.types.is_struct(link)
    assert [link.field(i).name for i in range(link.num_fields)] == [
        f.name for f in dataclasses.fields(RelatedLink)
    ]
    assert all(link.field(i).type == pa.string() for i in range(link.num_fields))


def test_nullability_follows_optional_annotations() -> None:
    hints = typing.get_type_hints(Article)
    for field in article_schema():
        optional = type(None) in typing.get_args(hints[field.name])
        assert field.nullable is optional, field.name


def test_every_field_has_its_docstring_as_description() -> None:
    docs = attribute_docstrings(Article)
    assert set(docs) == {f.name for f in dataclasses.fields(Article)}
    for field in article_schema():
        assert field.metadata[b"description"].decode() == docs[field.name]
    assert article_schema().field("title").metadata[b"description"] == b"The headline."
    link = article_schema().field("related_links").type.value_type
    assert link.field("url").metadata[b"description"] == b"Absolute URL the link points to."


def test_to_row_converts_nested_dataclasses_and_makes_timestamps_utc() -> None:
    row = to_row(full_article())
    assert row["related_links"][0] == {"url": "https://www.nasa.gov/", "text": "NASA"}
    assert row["fetched_at"] == dt.datetime(2026, 11, 23, 18, 15, 30, 123456, tzinfo=dt.UTC)
    assert row["fetched_at"].utcoffset() == dt.timedelta(0)
    naive = to_row(dataclasses.replace(full_article(), fetched_at=dt.datetime(2026, 1, 1, 12)))
    assert naive["fetched_at"] == dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)


def test_to_row_accepts_dicts_and_fills_defaults() -> None:
    row = to_row({"url": "u", "canonical_url": "u", "site": "s", "title": "t", "text": "x"})
    assert row["authors"] == [] and row["language"] == "en" and row["duplicate_of"] is None
    check_row(row)


@pytest.mark.parametrize(
    "change",
    [
        {"word_count": "7"},
        {"word_count": True},
        {"word_count": 2**40},
        {"published_date": "2026-11-21"},
        {"fetched_at": "yesterday"},
        {"title": None},
        {"authors": ["a", None]},
        {"authors": "Sebastian Smith"},
        {"related_links": [{"url": None, "text": "x"}]},
        {"related_links": [{"url": "u"}]},
    ],
)
def test_check_row_rejects_what_does_not_fit(change: dict[str, object]) -> None:
    row = {**to_row(full_article()), **change}
    with pytest.raises(SchemaError):
        check_row(row)


def test_to_row_rejects_unknown_and_missing_fields() -> None:
    with pytest.raises(SchemaError, match="unknown"):
        to_row({**to_row(full_article()), "extra": 1})
    with pytest.raises(SchemaError, match="missing"):
        to_row({"url": "u"})
    with pytest.raises(SchemaError):
        to_row("not an item")


def test_round_trip_all_readers(tmp_path: pytest.TempPathFactory) -> None:
    rows = [to_row(full_article()), to_row(Article("u2", "u2", "spacedaily.com", "T", "x"))]
    path = f"{tmp_path}/a.parquet"
    pq.write_table(rows_to_table(rows), path, compression="zstd")

    table = pq.read_table(path)
    assert table.schema.equals(article_schema(), check_metadata=True)
    back = table.to_pylist()
    assert back == rows
    assert back[0]["fetched_at"].utcoffset() == dt.timedelta(0)
    assert back[0]["related_links"][1]["text"] == "ESA — Europe"
    assert back[1]["published_date"] is None and back[1]["related_links"] == []

    df = pd.read_parquet(path)
    assert str(df["fetched_at"].dtype) == "datetime64[us, UTC]"
    assert df.loc[0, "title"] == "Ünïcode — 北京 🚀 “quotes”"

    con = duckdb.connect()
    got = con.execute(
        "select typeof(fetched_at), typeof(published_date), related_links[2].text, authors[2]"
        f" from read_parquet('{path}') where site = 'spacewar.com'"
    ).fetchone()
    assert got == ("TIMESTAMP WITH TIME ZONE", "DATE", "ESA — Europe", "Jörg Müller")
