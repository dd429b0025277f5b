"""Shared by the crash-safety tests: run the pipeline in a subprocess (optionally killed at a
named fault point) and compare two stores on the columns that do not depend on when fetches
happened. The kill points are split over two test files so that pytest-xdist runs them on both
workers (each file pays one clean run of its own)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from flows.cli.feeds import write_sample_feeds
from sample.server import SampleServer

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = (
    "import sys\n"
    "from flows.pipeline import run_pipeline\n"
    "from flows.settings import load_settings\n"
    "r = run_pipeline(load_settings(), run_id=sys.argv[1], only_due=False)\n"
    "print(r['status'])\n"
)

# Stable projections of each table: what must be identical between a clean and a crashed store.
STABLE = {
    "raw.feed_entries": "SELECT event_id, feed_id, entry_key, content_hash, link FROM raw.feed_entries",
    "raw.page_fetches": "SELECT url, url_key, status, body_sha256 FROM raw.page_fetches "
                        "WHERE error_class IS NULL",
    "core.articles": "SELECT * EXCLUDE (first_seen_at, last_seen_at, page_fetch_id) FROM core.articles",
    "core.article_versions": "SELECT * EXCLUDE (page_fetch_id, observed_at) FROM core.article_versions",
    "core.article_feeds": "SELECT article_key, feed_id, entry_key FROM core.article_feeds",
    "core.page_extractions": "SELECT article_key, page_class, content_hash, extractor_version "
                             "FROM core.page_extractions",
}


def run(db: Path, feeds: Path, run_id: str, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NEWSFLOW_DB_PATH": str(db), "NEWSFLOW_FEEDS_FILE": str(feeds),
           "NEWSFLOW_ALLOW_PRIVATE_ADDRESSES": "true", "NEWSFLOW_RUN_CHECKS": "false",
           "NEWSFLOW_EXTRACT_WORKERS": "1", "NEWSFLOW_PER_HOST_CONCURRENCY": "8"}
    env.pop("NEWSFLOW_FAULT_AT", None)
    if fault:
        env["NEWSFLOW_FAULT_AT"] = fault
    return subprocess.run([sys.executable, "-c", SCRIPT, run_id], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def diff(a: Path, b: Path) -> dict[str, tuple[int, int]]:
    """Rows only in a, only in b, per table (all zeros means identical)."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
    out = {}
    for table, query in STABLE.items():
        qa = query.replace(table, f"a.{table}")
        qb = query.replace(table, f"b.{table}")
        only_a = con.execute(f"SELECT count(*) FROM ({qa} EXCEPT ALL {qb})").fetchone()[0]
        only_b = con.execute(f"SELECT count(*) FROM ({qb} EXCEPT ALL {qa})").fetchone()[0]
        out[table] = (only_a, only_b)
    con.close()
    return out


def clean_run(sample: SampleServer, folder: Path) -> Path:
    """A store written by one uninterrupted run over the sample."""
    feeds = write_sample_feeds(sample.site, folder)
    done = run(folder / "clean.duckdb", feeds, "clean-1")
    assert done.returncode == 0, done.stderr[-3000:]
    return folder / "clean.duckdb"


# The two module-scoped fixtures of the crash-safety modules, imported by them under these names
# (pytest knows them as ``sample`` and ``clean_store``).
@pytest.fixture(scope="module", name="sample")
def sample_fixture() -> Iterator[SampleServer]:
    """The sample site, one per test module that imports this fixture."""
    with SampleServer(n_articles=12) as server:
        yield server


@pytest.fixture(scope="module", name="clean_store")
def clean_store_fixture(sample: SampleServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean run's store, what every killed-then-rerun store must equal."""
    return clean_run(sample, tmp_path_factory.mktemp("clean"))


def kill_then_rerun(fault: str, case: str, sample: SampleServer, clean_store: Path,
                    tmp_path: Path) -> None:
    """Kill a run at ``fault``, check the store opens with the stage incomplete, re-run, and
    compare with the clean store."""
    feeds = write_sample_feeds(sample.site, tmp_path)
    db = tmp_path / "crash.duckdb"
    killed = run(db, feeds, "crash-1", fault)
    assert killed.returncode == -9, (case, killed.returncode, killed.stderr[-2000:])
    # The store opens after the kill; the killed stage shows as incomplete.
    con = duckdb.connect(str(db))
    if fault != "migration:after_commit":
        statuses = dict(con.execute(
            "SELECT stage, status FROM analytics.runs WHERE run_id = 'crash-1'").fetchall())
        assert "incomplete" in statuses.values() or fault.endswith("after_commit"), statuses
    con.close()
    rerun = run(db, feeds, "crash-2")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert rerun.stdout.strip().splitlines()[-1] == "ok"
    assert diff(clean_store, db) == {t: (0, 0) for t in STABLE}
