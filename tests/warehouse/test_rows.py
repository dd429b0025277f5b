"""warehouse.rows: query results without pandas, and parameters written as SQL literals that
give the same answers as DuckDB's own binding."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import pytest

from warehouse.rows import Rows, inline

QUERY = """-- $q in a comment stays
SELECT $q AS q, $n AS n, $x AS x, $d AS d, $t AS t, $naive AS naive, $none AS none,
       $flag AS flag, $words AS words, '$q stays' AS literal"""
PARAMS = {"q": "it's a \"quote\" -- not a comment; DROP TABLE x", "n": 12, "x": 2.5,
          "d": date(2026, 11, 20), "t": datetime(2026, 11, 20, 8, 30, tzinfo=UTC),
          "naive": datetime(2026, 11, 20, 8, 30), "none": None, "flag": True,
          "words": ["a'b", "c"]}


def test_inlined_literals_answer_as_bound_parameters() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    text, kept = inline(QUERY, PARAMS)
    assert kept == {}
    assert "$" not in text.replace("$q in a comment", "").replace("'$q stays'", "")
    assert con.execute(text).fetchall() == con.execute(QUERY, PARAMS).fetchall()


@pytest.mark.parametrize("value", [float("nan"), "nul\x00byte", [], Decimal("1.5"), object()])
def test_values_without_a_safe_literal_stay_bound(value: object) -> None:
    text, kept = inline("SELECT $v, $n", {"v": value, "n": 1})
    assert text == "SELECT $v, 1"
    assert list(kept) == ["v"] and kept["v"] is value


def test_rows_keep_names_types_and_values() -> None:
    con = duckdb.connect()
    rows = Rows.of(con.execute("SELECT 1::BIGINT AS n, 'x' AS s, DATE '2026-11-20' AS d, "
                               "TRUE AS b FROM range(2)"))
    assert rows.columns == ("n", "s", "d", "b") and len(rows) == 2 and not rows.empty
    assert [rows.numeric(i) for i in range(4)] == [True, False, False, False]
    assert [rows.moment(i) for i in range(4)] == [False, False, True, False]
    assert rows.records()[0] == {"n": 1, "s": "x", "d": date(2026, 11, 20), "b": True}
    assert rows.column("s") == ["x", "x"]
    assert Rows.of(con.execute("SELECT 1 WHERE false")).empty
