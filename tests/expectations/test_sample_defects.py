"""The offline sample with its planted defects, through the whole pipeline (no Prefect server).

The sample's defects (sample/site.py ``_add_defects``) and what the suites make of them:

- a boilerplate page ("Subscribe to continue reading. We use cookies ...") that extracts to a
  long enough text: the ``boilerplate_absent`` warning names it; the run continues;
- a feed repeating one guid with one link: the parser keys the items apart (FAULTS 39), so the
  blocking ``entry_key_unique_per_feed_version`` check passes;
- an empty but valid feed (FAULTS 31): no entries and no error; its volume cannot be judged yet
  (no history), which the volume suite records instead of flagging.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

pytestmark = pytest.mark.slow   # spawns extraction workers: about a minute


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from flows.cli_feeds import write_sample_feeds
    from flows.pipeline import run_pipeline
    from flows.settings import Settings
    from sample.server import SampleServer

    folder = tmp_path_factory.mktemp("defects")
    with SampleServer(n_articles=18, defects=True) as server:
        settings = Settings(db_path=folder / "newsflow.duckdb",
                            feeds_file=write_sample_feeds(server.site, folder),
                            allow_private_addresses=True, per_host_concurrency=8,
                            extract_workers=2, docs_dir=folder / "docs")
        result = run_pipeline(settings, run_id="defects-1", only_due=False)
        defects = dict(server.site.defects)
    con = duckdb.connect(str(settings.db_path), read_only=True)
    failed = con.execute(
        "SELECT table_name, expectation, blocking, unexpected_sample FROM quality.validations "
        "WHERE NOT success").fetchall()
    tables = {r[0] for r in con.execute("SELECT DISTINCT table_name FROM quality.validations")
              .fetchall()}
    quarantined = con.execute("SELECT count(*) FROM quality.quarantine").fetchone()
    boilerplate_key = con.execute(
        "SELECT article_key FROM core.articles WHERE url LIKE '%' || ?", [defects[
            "boilerplate_page"]]).fetchone()
    con.close()
    yield {"result": result, "failed": failed, "tables": tables, "defects": defects,
           "quarantined": quarantined[0] if quarantined else None,
           "boilerplate_key": boilerplate_key, "docs": folder / "docs"}


def test_boilerplate_page_is_a_warning_not_a_failed_run(outcome: dict[str, Any]) -> None:
    assert outcome["result"]["status"] == "ok", outcome["result"]
    assert outcome["boilerplate_key"] is not None          # it did become an article
    (row,) = [r for r in outcome["failed"] if r[1] == "boilerplate_absent"]
    table, _, blocking, sample = row
    assert table == "core.articles" and not blocking
    assert "Subscribe to continue reading" in sample


def test_no_blocking_check_failed_and_nothing_was_quarantined(outcome: dict[str, Any]) -> None:
    assert [r for r in outcome["failed"] if r[2]] == []
    assert outcome["quarantined"] == 0


def test_every_stage_and_the_volume_were_checked_and_documented(outcome: dict[str, Any]) -> None:
    assert outcome["tables"] >= {"raw.feed_fetches", "raw.feed_entries", "raw.page_fetches",
                                 "core.articles", "volume"}
    index = Path(outcome["docs"]) / "index.html"
    html = index.read_text()
    for suite in ("raw_feed_fetches", "raw_feed_entries", "raw_page_fetches", "core_articles",
                  "volume"):
        assert f"validations/{suite}/" in html, suite
