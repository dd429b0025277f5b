"""Batches read back from DuckDB (real TIMESTAMPTZ, nullable ints, lists) validate like in-code ones.

This is the path the flows take: write the batch, read it with ``SELECT * EXCLUDE (body)``, and
hand the DataFrame over (GX's SQL datasource does not work with DuckDB).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import duckdb
import pandas as pd
import pytest

from expectations import validate_batch
from warehouse.migrate import migrate

pytestmark = [
    pytest.mark.usefixtures("gx_ready"),
    # raised inside duckdb's .df() with pandas 3.x, not by our code
    pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.drop"),
]
Builders = dict[str, Callable[..., pd.DataFrame]]


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(":memory:")
    migrate(connection)
    # a non-UTC session zone: the checks must not depend on it
    connection.execute("SET TimeZone = 'America/New_York'")
    yield connection
    connection.close()


def roundtrip(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> pd.DataFrame:
    if table == "raw.page_fetches":  # page bodies live in raw.page_bodies (migration 0012)
        df = df.assign(has_body=df["body"].notna()).drop(columns=["body"])
    con.register("batch", df)
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM batch")
    con.unregister("batch")
    exclude = " EXCLUDE (body)" if table == "raw.feed_fetches" else ""
    return con.execute(f"SELECT *{exclude} FROM {table}").df()


@pytest.mark.parametrize("table", ["raw.feed_fetches", "raw.feed_entries", "raw.page_fetches",
                                   "core.articles"])
def test_clean_batch_from_duckdb_passes(con: duckdb.DuckDBPyConnection, build: Builders,
                                        table: str) -> None:
    df = roundtrip(con, table, build[table]())
    report = validate_batch(table, df, stage="test")
    assert report.success, report.markdown()


def test_case_45_future_date_from_duckdb_is_caught(con: duckdb.DuckDBPyConnection,
                                                   build: Builders) -> None:
    articles = build["core.articles"]()
    articles.loc[3, "published_at"] = articles.loc[3, "last_seen_at"] + timedelta(days=3)
    df = roundtrip(con, "core.articles", articles)
    report = validate_batch("core.articles", df, stage="core")
    assert report.quarantine() == [(articles.loc[3, "article_key"],
                                    "core_articles.published_not_after_fetch")]


def test_null_status_from_duckdb_is_allowed(con: duckdb.DuckDBPyConnection,
                                            build: Builders) -> None:
    # NULL INTEGER columns come back as float NaN or pandas NA: neither is an unexpected status
    df = roundtrip(con, "raw.page_fetches", build["raw.page_fetches"]())
    assert df["status"].isna().any()
    assert validate_batch("raw.page_fetches", df, stage="raw").success
