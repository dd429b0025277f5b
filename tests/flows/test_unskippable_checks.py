"""Checks that cannot be skipped (issue 18): a run killed between a stage's commit and its
checks leaves the batch in quality.pending_checks, hidden from analysts; the next run checks it
first, so the store, its quarantines and the published copy end up as a clean run leaves them.

Runs are subprocesses on the sample with its planted defects (a repeated-key feed, a boilerplate
page), with the checks on; each kill is a real SIGKILL at a named fault point.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from sample.server import SampleServer
from tests.flows.crashkit import SCRIPT, STABLE, diff
from warehouse.publish import analytics_db_path

pytestmark = pytest.mark.slow  # seven pipeline runs with great-expectations: about 4 minutes

ROOT = Path(__file__).resolve().parents[2]
QUARANTINE = ("SELECT table_name, event_id, reason FROM quality.quarantine "
              "ORDER BY ALL")


@pytest.fixture(scope="module")
def sample() -> Iterator[SampleServer]:
    with SampleServer(n_articles=18, defects=True) as server:
        yield server


def run(folder: Path, feeds: Path, run_id: str, fault: str | None = None
        ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NEWSFLOW_DB_PATH": str(folder / "newsflow.duckdb"),
           "NEWSFLOW_FEEDS_FILE": str(feeds), "NEWSFLOW_ALLOW_PRIVATE_ADDRESSES": "true",
           "NEWSFLOW_RUN_CHECKS": "true", "NEWSFLOW_EXTRACT_WORKERS": "1",
           "NEWSFLOW_PER_HOST_CONCURRENCY": "8", "NEWSFLOW_DOCS_DIR": str(folder / "docs")}
    env.pop("NEWSFLOW_FAULT_AT", None)
    env.pop("NEWSFLOW_PUBLISH_DIR", None)
    if fault:
        env["NEWSFLOW_FAULT_AT"] = fault
    return subprocess.run([sys.executable, "-c", SCRIPT, run_id], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def _feeds(sample: SampleServer, folder: Path) -> Path:
    from flows.cli.feeds import write_sample_feeds

    return write_sample_feeds(sample.site, folder)


def _published_keys(folder: Path) -> list[str]:
    con = duckdb.connect(str(analytics_db_path(folder / "published")), read_only=True)
    try:
        return [r[0] for r in con.execute(
            "SELECT article_key FROM analytics.articles ORDER BY 1").fetchall()]
    finally:
        con.close()


def _rows(db: Path, query: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def clean(sample: SampleServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clean")
    done = run(folder, _feeds(sample, folder), "clean-1")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "validation_failed"
    assert _rows(folder / "newsflow.duckdb", QUARANTINE), "the defects were not quarantined"
    return folder


@pytest.mark.parametrize(("fault", "table"), [
    ("ingest:after_commit", "raw.feed_entries"),   # entries committed, never checked
    ("fetch:after_commit", "raw.page_fetches"),    # pages committed, never checked
    ("extract:after_commit", "core.articles"),     # articles committed, never checked
])
def test_a_batch_killed_before_its_checks_is_checked_by_the_next_run(
        fault: str, table: str, sample: SampleServer, clean: Path, tmp_path: Path) -> None:
    feeds = _feeds(sample, tmp_path)
    db = tmp_path / "newsflow.duckdb"
    killed = run(tmp_path, feeds, "crash-1", fault)
    assert killed.returncode == -9, (killed.returncode, killed.stderr[-2000:])
    # the batch waits for its checks, and analysts do not see its articles meanwhile
    assert _rows(db, "SELECT DISTINCT table_name FROM quality.pending_checks "
                     f"WHERE run_id = 'crash-1' AND table_name = '{table}'") == [(table,)]
    hidden = _rows(db, "SELECT count(*) FROM analytics.articles WHERE article_key IN "
                       "(SELECT unnest(keys) FROM quality.pending_checks)")
    assert hidden == [(0,)]

    rerun = run(tmp_path, feeds, "crash-2")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert _rows(db, "SELECT count(*) FROM quality.pending_checks") == [(0,)]
    # checked under the run that wrote the batch, with the quarantines a clean run makes
    assert _rows(db, "SELECT count(*) FROM quality.validations WHERE run_id = 'crash-1' "
                     f"AND table_name = '{table}'")[0][0] > 0
    assert _rows(db, QUARANTINE) == _rows(clean / "newsflow.duckdb", QUARANTINE)
    assert diff(clean / "newsflow.duckdb", db) == {t: (0, 0) for t in STABLE}
    assert _published_keys(tmp_path) == _published_keys(clean)
