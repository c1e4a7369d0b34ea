"""Reading a dataset back as its users do: pandas, pyarrow and DuckDB through its path."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.dataset as ds


def whole(dataset: Path) -> list[str]:
    """Every row's URL as pandas, pyarrow and DuckDB read the dataset's stable path; they
    must agree, and no URL may be there twice."""
    by_pandas = sorted(pd.read_parquet(dataset, columns=["url"])["url"])
    by_arrow = sorted(
        ds.dataset(dataset, format="parquet").to_table(columns=["url"])["url"].to_pylist()
    )
    by_duckdb = sorted(
        u for (u,) in duckdb.sql(f"SELECT url FROM '{dataset}/**/*.parquet'").fetchall()
    )
    assert by_pandas == by_arrow == by_duckdb
    twice = sorted({u for u in by_pandas if by_pandas.count(u) > 1})
    assert twice == [], "rows read twice"
    return by_pandas
