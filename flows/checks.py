"""Run a stage's checks on the batch it just wrote, and record the results where people look:
quality.validations and quality.quarantine (warehouse.checks), and a markdown artifact in
Prefect when inside a flow run."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from warehouse.checks import batch_frame, record_checks
from warehouse.store import Store, utcnow

if TYPE_CHECKING:
    from expectations import StageReport

log = logging.getLogger(__name__)

# Wall seconds this process spent in checks (GX import, validation, recording): the benchmark
# reports them as a share of the run.
SPENT: dict[str, float] = {"seconds": 0.0}


@contextmanager
def timed_as_checks() -> Iterator[None]:
    """Add the time spent inside to ``SPENT``."""
    started = time.perf_counter()
    try:
        yield
    finally:
        SPENT["seconds"] += time.perf_counter() - started


def check_batch(store: Store, *, run_id: str, stage: str, table: str, max_body_bytes: int,
                keys: Sequence[str] = (), expect_rows: bool = True) -> StageReport:
    """Validate this run's batch of ``table`` and record the outcome."""
    with timed_as_checks():
        from expectations import validate_batch  # heavy (GX): import where checks run

        batch = batch_frame(store, table, run_id=run_id, keys=keys)
        report = validate_batch(
            table, batch, stage=stage, expect_rows=expect_rows, max_body_bytes=max_body_bytes
        )
        record_report(store, run_id, report)
        return report


def record_report(store: Store, run_id: str, report: StageReport) -> None:
    """Write a report's results and quarantined rows, and show it in Prefect."""
    now = utcnow()
    record_checks(store, report.validation_rows(run_id, now), report.quarantine_rows(run_id, now))
    _artifact(report)
    failed = [r.expectation for r in report.results if not r.success]
    if failed:
        log.warning("%s checks failed on %s: %s", report.stage, report.table, ", ".join(failed))


def _artifact(report: StageReport) -> None:
    try:
        from prefect.artifacts import create_markdown_artifact
        from prefect.context import FlowRunContext

        if FlowRunContext.get() is None:
            return
        key = f"checks-{report.stage}-{report.table}".replace(".", "-").replace("_", "-")
        create_markdown_artifact(markdown=report.markdown(), key=key,
                                 description=f"Checks on {report.table}")
    except Exception as exc:  # an artifact is a view of the results, never a reason to fail a run
        log.debug("could not create Prefect artifact: %s", exc)
