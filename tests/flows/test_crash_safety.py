"""Crash safety: a run killed at each named point, then re-run, equals a clean run.

Each run is a subprocess (so SIGKILL is real); the store is reopened and compared with a clean
run's store using EXCEPT both ways over the columns that do not depend on when fetches happened
(tests/flows/crashkit.py). This file kills the feed and fetch stages;
test_crash_safety_extract.py the extract stage and the migrations.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flows.cli.feeds import write_sample_feeds
from sample.server import SampleServer
from tests.flows.crashkit import (  # noqa: F401 (the two fixtures)
    STABLE,
    clean_store_fixture,
    diff,
    kill_then_rerun,
    run,
    sample_fixture,
)


@pytest.mark.parametrize(("case", "fault"), [
    ("64", "ingest:before_commit"),     # killed mid raw batch, before COMMIT
    ("65", "ingest:after_commit"),      # killed after the raw commit, before the core commit
    ("65", "fetch:before_commit"),      # killed with the page batch uncommitted
])
def test_kill_point_then_rerun_equals_clean_run(case: str, fault: str, sample: SampleServer,
                                                clean_store: Path, tmp_path: Path) -> None:
    kill_then_rerun(fault, case, sample, clean_store, tmp_path)


def test_case_73_74_rerun_after_success_writes_nothing(sample: SampleServer,
                                                       clean_store: Path, tmp_path: Path) -> None:
    """A retried run after everything committed adds no entries, pages or articles."""
    db = tmp_path / "again.duckdb"
    shutil.copy(clean_store, db)
    feeds = write_sample_feeds(sample.site, tmp_path)
    before = diff(clean_store, db)
    again = run(db, feeds, "clean-retry")
    assert again.returncode == 0, again.stderr[-3000:]
    assert before == diff(clean_store, db) == {t: (0, 0) for t in STABLE}
