"""The offline sample with its planted defects, through the whole pipeline (no Prefect server).

The sample's defects (sample/site.py ``_add_defects``) and what the suites make of them:

- a feed repeating one guid with one link on every item: the blocking
  ``guid_link_unique_per_fetch`` check on raw.feed_entries fails, the entries are quarantined,
  and their link is never fetched as a page;
- a boilerplate page ("Subscribe to continue reading. We use cookies ...") that extracts to a
  long enough text: the blocking ``not_mostly_boilerplate`` check on core.articles fails, the
  article is quarantined and left out of ``analytics.articles``;
- an outlet (Quiet Herald) with five articles a day on the eight days before the sample's latest
  day and none on it: the ``volume_not_too_low`` warning fails and names it; its articles are
  good data, so nothing of it is quarantined.

The run ends ``validation_failed`` and ``newsflow quality`` lists the failed checks and the
quarantine reasons.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.sample_mode import sample_settings

# One pipeline run on the sample with its planted defects (~35 s): in the default suite, because
# it is issue 5's acceptance (matching checks fail, rows quarantined, run validation_failed).

QUIET = "Quiet Herald"


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from flows.pipeline import run_pipeline
    from sample.server import SampleServer

    folder = tmp_path_factory.mktemp("defects")
    with SampleServer(n_articles=18, defects=True) as server:
        settings = sample_settings(server, folder, run_checks=True, extract_workers=2)
        result = run_pipeline(settings, run_id="defects-1", only_due=False)
        defects = dict(server.site.defects)
        requested = [path for _, path, _ in server.request_log]
    con = duckdb.connect(str(settings.db_path), read_only=True)
    failed = con.execute(
        "SELECT table_name, expectation, blocking, unexpected_sample FROM quality.validations "
        "WHERE NOT success").fetchall()
    tables = {r[0] for r in con.execute("SELECT DISTINCT table_name FROM quality.validations")
              .fetchall()}
    # Each quarantined row with what it points at: the entry's link or the article's URL.
    quarantined = con.execute(
        "SELECT q.table_name, q.reason, coalesce(e.link, a.url) AS target "
        "FROM quality.quarantine AS q "
        "LEFT JOIN raw.feed_entries AS e ON q.table_name = 'raw.feed_entries' "
        "AND e.event_id = q.event_id "
        "LEFT JOIN core.articles AS a ON q.table_name = 'core.articles' "
        "AND a.article_key = q.event_id").fetchall()
    repeat_entries = con.execute(
        "SELECT e.event_id FROM raw.feed_entries AS e JOIN core.feeds AS f USING (feed_id) "
        "WHERE f.url LIKE '%' || ?", [defects["duplicate_keys_feed"]]).fetchall()
    boilerplate_key = con.execute(
        "SELECT article_key FROM core.articles WHERE url LIKE '%' || ?", [defects[
            "boilerplate_page"]]).fetchone()
    analytics = con.execute(
        "SELECT url, outlet FROM analytics.articles").fetchall()
    con.close()
    # the pages are drawn by the daily report from what the run recorded, not by the run
    pages = _daily_report(settings)
    yield {"result": result, "failed": failed, "tables": tables, "defects": defects,
           "quarantined": quarantined, "repeat_entries": {r[0] for r in repeat_entries},
           "boilerplate_key": boilerplate_key, "analytics": analytics, "requested": requested,
           "db": settings.db_path, "docs": folder / "docs", "pages": pages}


def _daily_report(settings: Any) -> dict[str, Any]:
    """What the scheduled quality_report flow does, without Prefect."""
    from flows.quality_report import report_day
    from flows.runs import run_as_writer
    from warehouse.checks import latest_data_day
    from warehouse.store import Store

    def body(store: Store) -> dict[str, Any]:
        day = latest_data_day(store)
        assert day is not None
        return report_day(store, settings, run_id="report-1", day=day)

    return run_as_writer(settings, run_id="report-1", flow="quality_report", parameters={},
                         body=body)


def _failed(outcome: dict[str, Any], expectation: str) -> tuple[Any, ...]:
    (row,) = [r for r in outcome["failed"] if r[1] == expectation]
    return row


def test_the_run_ends_validation_failed(outcome: dict[str, Any]) -> None:
    result = outcome["result"]
    assert result["status"] == "validation_failed", result
    stages = result["stages"]
    assert stages["ingest_feeds"]["status"] == "validation_failed"
    assert stages["extract_articles"]["status"] == "validation_failed"
    assert stages["volume"]["status"] == "ok"       # a volume drop warns, it does not block


def test_repeated_keys_fail_a_blocking_check_and_are_quarantined(outcome: dict[str, Any]) -> None:
    table, _, blocking, sample = _failed(outcome, "guid_link_unique_per_fetch")
    assert table == "raw.feed_entries" and blocking
    assert "/repeat-wire/story.html" in sample
    entries = [r for r in outcome["quarantined"] if r[0] == "raw.feed_entries"]
    assert len(entries) == len(outcome["repeat_entries"]) == 5
    assert {r[1] for r in entries} == {"raw_feed_entries.guid_link_unique_per_fetch"}
    assert all("/repeat-wire/" in r[2] for r in entries)
    # The link only quarantined entries carry is not fetched as a page.
    assert "/repeat-wire/story.html" not in outcome["requested"]


def test_boilerplate_page_fails_a_blocking_check_and_is_quarantined(
        outcome: dict[str, Any]) -> None:
    table, _, blocking, sample = _failed(outcome, "not_mostly_boilerplate")
    assert table == "core.articles" and blocking
    assert float(json.loads(sample)[0]) > 0.3                  # its boilerplate share
    assert outcome["boilerplate_key"] is not None              # it did become an article ...
    articles = [r for r in outcome["quarantined"] if r[0] == "core.articles"]
    assert [(r[1], r[2].endswith(outcome["defects"]["boilerplate_page"])) for r in articles] \
        == [("core_articles.not_mostly_boilerplate", True)]
    urls = [url for url, _ in outcome["analytics"]]                # ... kept from analysts
    assert urls and not any(u.endswith(outcome["defects"]["boilerplate_page"]) for u in urls)


def test_volume_drop_is_a_failed_warning_naming_the_source(outcome: dict[str, Any]) -> None:
    table, _, blocking, sample = _failed(outcome, "volume_not_too_low")
    assert table == "volume" and not blocking
    assert QUIET in sample and "n=0" in sample
    # Only that source is flagged, and its earlier articles stay: good data is not quarantined.
    assert [s for s in json.loads(sample) if QUIET not in s] == []
    assert sum(1 for _, outlet in outcome["analytics"] if outlet == QUIET) == 40


def test_only_the_planted_defects_fail_blocking_checks(outcome: dict[str, Any]) -> None:
    assert sorted(r[1] for r in outcome["failed"] if r[2]) == [
        "guid_link_unique_per_fetch", "not_mostly_boilerplate"]
    assert {r[1] for r in outcome["quarantined"]} == {
        "raw_feed_entries.guid_link_unique_per_fetch", "core_articles.not_mostly_boilerplate"}


def test_newsflow_quality_lists_the_reasons(outcome: dict[str, Any],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console
    from typer.testing import CliRunner

    from flows.cli import app
    from flows.cli import quality as cli_quality

    # Wide enough that rich does not fold the names inside their cells.
    monkeypatch.setattr(cli_quality, "console", Console(width=400))
    run = CliRunner().invoke(app, ["quality", "--db", str(outcome["db"])])
    assert run.exit_code == 0, run.output
    for text in ("guid_link_unique_per_fetch", "not_mostly_boilerplate", "volume_not_too_low",
                 "raw_feed_entries.guid_link_unique_per_fetch",
                 "core_articles.not_mostly_boilerplate", "blocking", "warning"):
        assert text in run.output, text


def test_every_stage_and_the_volume_were_checked_and_documented(outcome: dict[str, Any]) -> None:
    assert outcome["tables"] >= {"raw.feed_fetches", "raw.feed_entries", "raw.page_fetches",
                                 "core.articles", "volume"}
    index = Path(outcome["docs"]) / "index.html"
    html = index.read_text()
    for suite in ("raw_feed_fetches", "raw_feed_entries", "raw_page_fetches", "core_articles",
                  "volume"):
        assert f"validations/{suite}/" in html, suite
    # the Data Docs render what the run recorded: the planted defect's check shows as failed
    entries = next(Path(outcome["docs"]).glob("validations/raw_feed_entries/**/*.html"))
    page = entries.read_text()
    assert "Status: Failed" in " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "unexpected values found" in page and "fetch_event_id" in page


def test_the_daily_report_draws_the_pages_the_run_left_to_it(outcome: dict[str, Any]) -> None:
    assert "docs" not in outcome["result"]["stages"]["volume"]   # the run drew no pages
    pages = outcome["pages"]
    docs, chart = Path(outcome["docs"]) / "index.html", Path(outcome["docs"]) / "volume.html"
    assert Path(pages["docs"]) == docs and Path(pages["chart"]) == chart
    page = chart.read_text(encoding="utf-8")
    assert "<svg" in page and QUIET in page  # its drop is marked as an anomaly


# The checks the stages ran (expectations.engine) against GX itself, on the very batches the run
# wrote: the same results row for row in quality.validations, the same quarantine.
_BATCHES = {"raw.feed_fetches": ("raw", True), "raw.feed_entries": ("raw", False),
            "raw.page_fetches": ("raw", True), "core.articles": ("core", True)}
_COMPARED = ("run_id", "stage", "table_name", "suite", "expectation", "column_name", "success",
             "blocking", "observed_value", "element_count", "unexpected_count",
             "unexpected_sample", "why")


def test_gx_gives_the_recorded_results_on_the_same_batches(outcome: dict[str, Any]) -> None:
    from datetime import UTC, datetime

    from expectations import validate_batch, validate_volume
    from flows.quality_report import WINDOW_DAYS
    from warehouse.checks import _BATCH
    from warehouse.projections import sql

    run = outcome["result"]["run_id"]
    con = duckdb.connect(str(outcome["db"]), read_only=True)
    try:
        def rows(query: str, *args: Any) -> list[tuple[Any, ...]]:
            cur = con.execute(query, list(args))
            return sorted(tuple(json.loads(v) if c[0] == "unexpected_sample" else v
                                for v, c in zip(r, cur.description, strict=True))
                          for r in cur.fetchall())

        at = datetime.now(UTC)
        # The articles batch is the articles of the run's keys, read as the checks read them:
        # joined on the temp table _batch_keys (projections.load_keys).
        con.execute("CREATE TEMP TABLE _batch_keys AS SELECT article_key FROM core.articles")
        compared = 0
        for table, (stage, expect_rows) in _BATCHES.items():
            params = {} if table == "core.articles" else {"run": run}
            batch = con.execute(sql(_BATCH[table]), params).df()
            native = validate_batch(table, batch, stage=stage, expect_rows=expect_rows,
                                    engine="native")
            gx = validate_batch(table, batch, stage=stage, expect_rows=expect_rows, engine="gx")
            assert native.results == gx.results, table
            recorded = rows(f"SELECT {', '.join(_COMPARED)} FROM quality.validations "
                            "WHERE run_id = ? AND table_name = ?", run, table)
            assert recorded == sorted(tuple(json.loads(v) if k == "unexpected_sample" else v
                                            for k, v in r.items() if k in _COMPARED)
                                      for r in gx.validation_rows(run, at)), table
            quarantined = rows("SELECT event_id, reason FROM quality.quarantine "
                               "WHERE run_id = ? AND table_name = ?", run, table)
            assert quarantined == sorted(gx.quarantine()), table
            compared += len(recorded)
        # the volume check of the run, on the window it judged
        day = date.fromisoformat(outcome["result"]["stages"]["volume"]["day"])
        daily = con.execute(sql("volume_history"), {"day": day, "window": WINDOW_DAYS}).df()
        native = validate_volume(daily, engine="native")
        gx = validate_volume(daily, engine="gx")
        assert native.results == gx.results
        recorded = rows(f"SELECT {', '.join(_COMPARED)} FROM quality.validations "
                        "WHERE run_id = ? AND table_name = 'volume'", run)
        assert recorded == sorted(tuple(json.loads(v) if k == "unexpected_sample" else v
                                        for k, v in r.items() if k in _COMPARED)
                                  for r in gx.validation_rows(run, at))
        assert any(not r.success for r in gx.results)   # the quiet outlet's drop
    finally:
        con.close()
    assert compared > 60
