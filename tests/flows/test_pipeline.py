"""End to end: the pipeline flow on the offline sample, through Prefect, checked against gold."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows.cli.feeds import write_sample_feeds
from sample.server import SampleServer
from transforms.textmetric import score_page

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture(scope="module")
def sample() -> Iterator[SampleServer]:
    with SampleServer(n_articles=36) as server:
        yield server


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pipeline")


@pytest.fixture(scope="module")
def runs(sample: SampleServer, store_dir: Path) -> list[dict[str, Any]]:
    """Three pipeline runs over the unchanged sample, with the table counts after each."""
    mp = pytest.MonkeyPatch()
    mp.setenv("NEWSFLOW_ALLOW_PRIVATE_ADDRESSES", "true")
    mp.setenv("NEWSFLOW_PER_HOST_CONCURRENCY", "8")
    from flows.pipeline import pipeline

    feeds = write_sample_feeds(sample.site, store_dir)
    db = store_dir / "newsflow.duckdb"
    out = []
    try:
        for _ in range(3):
            result = pipeline(db_path=str(db), feeds_file=str(feeds), only_due=False)
            con = duckdb.connect(str(db), read_only=True)
            counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in (
                "raw.feed_fetches", "raw.feed_entries", "raw.page_fetches", "core.articles",
                "core.article_versions", "core.article_feeds", "quality.validations")}
            con.close()
            out.append({"result": result, "counts": counts, "db": db})
    finally:
        mp.undo()
    return out


def test_first_run_ingests_every_sample_article(runs: list[dict[str, Any]],
                                                sample: SampleServer) -> None:
    first = runs[0]
    assert first["result"]["status"] == "ok", first["result"]
    n = len(sample.site.articles)
    assert first["counts"]["raw.feed_entries"] == n
    assert first["counts"]["raw.page_fetches"] == n
    assert first["counts"]["core.articles"] == n
    assert first["counts"]["core.article_feeds"] == n


def test_extracted_text_matches_gold_without_clutter(runs: list[dict[str, Any]],
                                                    sample: SampleServer) -> None:
    con = duckdb.connect(str(runs[0]["db"]), read_only=True)
    texts = dict(con.execute("SELECT url, text FROM core.articles").fetchall())
    con.close()
    f1s = []
    for article in sample.site.articles:
        text = texts[article.url]
        s = score_page(text, article.gold_text)
        tp = s.tp
        p = tp / (tp + s.fp) if tp + s.fp else 0.0
        r = tp / (tp + s.fn) if tp + s.fn else 0.0
        f1s.append(2 * p * r / (p + r) if p + r else 0.0)
        for phrase in sample.site.clutter_phrases:
            assert phrase not in text, (article.path, phrase)
    assert sum(f1s) / len(f1s) >= 0.95, sorted(f1s)[:5]


def test_every_stage_was_checked_and_passed(runs: list[dict[str, Any]]) -> None:
    con = duckdb.connect(str(runs[0]["db"]), read_only=True)
    run_id = runs[0]["result"]["run_id"]
    rows = con.execute(
        "SELECT table_name, count(*), count(*) FILTER (WHERE NOT success) "
        "FROM quality.validations WHERE run_id = ? GROUP BY 1 ORDER BY 1", [run_id]).fetchall()
    con.close()
    tables = {r[0] for r in rows}
    assert tables == {"raw.feed_fetches", "raw.feed_entries", "raw.page_fetches", "core.articles",
                      "volume"}
    assert all(r[2] == 0 for r in rows), rows


def test_case_42_rerunning_an_unchanged_sample_adds_only_fetch_rows(
    runs: list[dict[str, Any]], sample: SampleServer
) -> None:
    first, *later = runs
    for run in later:
        assert run["result"]["status"] == "ok", run["result"]
        for table in ("raw.feed_entries", "raw.page_fetches", "core.articles",
                      "core.article_versions", "core.article_feeds"):
            assert run["counts"][table] == first["counts"][table], table
    n_feeds = len(sample.site.feeds)
    assert [r["counts"]["raw.feed_fetches"] for r in runs] == [n_feeds, 2 * n_feeds, 3 * n_feeds]


def test_run_ledger_records_every_stage(runs: list[dict[str, Any]]) -> None:
    con = duckdb.connect(str(runs[0]["db"]), read_only=True)
    rows = con.execute("SELECT stage, status, count(*) FROM analytics.runs GROUP BY ALL").fetchall()
    con.close()
    # each stage, and each run's own row (issue 18: the ledger knows a run ended)
    assert sorted(rows) == [("extract_articles", "ok", 3), ("fetch_pages", "ok", 3),
                            ("ingest_feeds", "ok", 3), ("run", "ok", 3), ("volume", "ok", 3)]
