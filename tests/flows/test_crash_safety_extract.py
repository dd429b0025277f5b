"""Crash safety of the extract stage and the migrations: a run killed at each named point, then
re-run, equals a clean run (see test_crash_safety.py and tests/flows/crashkit.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sample.server import SampleServer
from tests.flows.crashkit import (  # noqa: F401 (the two fixtures)
    clean_store_fixture,
    kill_then_rerun,
    sample_fixture,
)


@pytest.mark.parametrize(("case", "fault"), [
    ("65", "extract:before_commit"),    # killed with the core batch uncommitted
    ("66", "extract:after_commit"),     # the commit landed, then the process died
    ("70", "migration:after_commit"),   # killed right after the first migration's commit
])
def test_kill_point_then_rerun_equals_clean_run(case: str, fault: str, sample: SampleServer,
                                                clean_store: Path, tmp_path: Path) -> None:
    kill_then_rerun(fault, case, sample, clean_store, tmp_path)
