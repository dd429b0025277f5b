"""Exports: date-partitioned Parquet rewritten only where a day changed; CSV and JSONL."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from warehouse.export import MANIFEST, export, fingerprints
from warehouse.store import Store

from .test_search import TEXTS, article


@pytest.fixture
def store() -> Store:
    s = Store.open(None)
    s.insert("core.articles", [article(k, t, x, day=i) for i, (k, (t, x)) in
                               enumerate(TEXTS.items())])
    return s


def inodes(folder: Path) -> dict[str, int]:
    return {p.parent.name: p.stat().st_ino for p in folder.glob("date=*/*.parquet")}


def read(folder: Path) -> list[tuple[object, ...]]:
    con = duckdb.connect()
    try:
        return con.execute(
            f"SELECT date::VARCHAR, article_key, title FROM read_parquet('{folder}/*/*.parquet', "
            "hive_partitioning = true) ORDER BY ALL").fetchall()
    finally:
        con.close()


def test_parquet_is_partitioned_by_day(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "export"
    result = export(store.con, "parquet", out)
    assert result["partitions_written"] == 4 and result["rows_written"] == 4
    assert sorted(inodes(out)) == [f"date=2024-11-0{d}" for d in range(1, 5)]
    assert read(out)[0] == ("2024-11-01", "k/pyongyang", "Kim Jong Un meets Russian envoy")
    assert (out / MANIFEST).exists()


def test_second_export_rewrites_only_changed_days(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "export"
    export(store.con, "parquet", out)
    before = inodes(out)
    unchanged = export(store.con, "parquet", out)
    assert unchanged["partitions_written"] == 0 and inodes(out) == before
    store.con.execute("UPDATE core.articles SET title = 'Moldova counts' "
                      "WHERE article_key = 'k/moldova'")
    changed = export(store.con, "parquet", out)
    assert changed["written"] == ["2024-11-03"] and changed["partitions_unchanged"] == 3
    after = inodes(out)
    assert [d for d in before if after[d] != before[d]] == ["date=2024-11-03"]
    assert ("2024-11-03", "k/moldova", "Moldova counts") in read(out)


def test_since_until_select_days_and_keep_other_partitions(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "export"
    export(store.con, "parquet", out)
    store.con.execute("DELETE FROM core.articles WHERE article_key = 'k/moscow'")  # 2024-11-02
    store.con.execute("UPDATE core.articles SET title = 'x' WHERE article_key = 'k/weather'")
    ranged = export(store.con, "parquet", out, since=date(2024, 11, 1), until=date(2024, 11, 2))
    assert ranged["partitions_removed"] == 1 and ranged["partitions_written"] == 0
    assert not (out / "date=2024-11-02").exists()
    # 2024-11-04 changed but lies outside the range: left as it was, and still in the manifest.
    assert ("2024-11-04", "k/weather", "Storm warning") in read(out)
    manifest = json.loads((out / MANIFEST).read_text())
    assert sorted(manifest["partitions"]) == ["2024-11-01", "2024-11-03", "2024-11-04"]
    assert export(store.con, "parquet", out)["written"] == ["2024-11-04"]


def test_full_export_rewrites_everything(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "export"
    export(store.con, "parquet", out)
    assert export(store.con, "parquet", out, full=True)["partitions_written"] == 4


def test_csv_and_jsonl_hold_the_same_selection(store: Store, tmp_path: Path) -> None:
    since, until = date(2024, 11, 2), date(2024, 11, 3)
    csv_result = export(store.con, "csv", tmp_path / "a.csv", since=since, until=until)
    jsonl_result = export(store.con, "jsonl", tmp_path / "a.jsonl", since=since, until=until)
    assert csv_result["rows"] == jsonl_result["rows"] == 2
    with (tmp_path / "a.csv").open(encoding="utf-8") as f:
        from_csv = [r["article_key"] for r in csv.DictReader(f)]
    lines = (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()
    from_jsonl = [json.loads(line)["article_key"] for line in lines]
    assert from_csv == from_jsonl == ["k/moscow", "k/moldova"]
    assert json.loads(lines[0])["date"] == "2024-11-02"


def test_fingerprint_ignores_row_order_but_sees_content(store: Store) -> None:
    first = fingerprints(store.con)
    assert fingerprints(store.con) == first
    store.con.execute("UPDATE core.articles SET word_count = word_count + 1 "
                      "WHERE article_key = 'k/weather'")
    second = fingerprints(store.con)
    assert {d for d in first if first[d] != second[d]} == {"2024-11-04"}
