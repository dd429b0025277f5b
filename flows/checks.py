"""Run a stage's checks on the batch it just wrote, and record the results where people look.

Results go to quality.validations, rows failing a blocking check to quality.quarantine (raw rows
are never deleted), and a markdown artifact to Prefect when inside a flow run.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

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

# How each table's batch is found, and the id column used for quarantine.
_BATCH_SQL = {
    "raw.feed_fetches": "SELECT * EXCLUDE (body) FROM raw.feed_fetches WHERE run_id = $run",
    "raw.feed_entries": "SELECT * FROM raw.feed_entries WHERE run_id = $run",
    "raw.page_fetches": "SELECT * EXCLUDE (body) FROM raw.page_fetches WHERE run_id = $run",
    "core.articles": "SELECT * FROM core.articles WHERE list_contains($keys, article_key)",
}


def check_batch(
    store: Store,
    *,
    run_id: str,
    stage: str,
    table: str,
    keys: Sequence[str] = (),
    expect_rows: bool = True,
    max_body_bytes: int = 15 * 1024 * 1024,
) -> StageReport:
    """Validate this run's batch of ``table`` and record the outcome."""
    with timed_as_checks():
        from expectations import validate_batch  # heavy (GX): import where checks run

        params = {"keys": list(keys)} if table == "core.articles" else {"run": run_id}
        batch = store.con.execute(_BATCH_SQL[table], params).df()
        report = validate_batch(
            table, batch, stage=stage, expect_rows=expect_rows, max_body_bytes=max_body_bytes
        )
        record_report(store, run_id, report)
        return report


def record_report(store: Store, run_id: str, report: StageReport) -> None:
    """Write a report's results and quarantined rows, in one transaction."""
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {
            "run_id": run_id,
            "stage": report.stage,
            "table_name": report.table,
            "suite": r.suite,
            "expectation": r.expectation,
            "column_name": r.column,
            "success": r.success,
            "blocking": r.blocking,
            "observed_value": r.observed_value,
            "element_count": r.element_count,
            "unexpected_count": r.unexpected_count,
            "unexpected_sample": json.dumps(list(r.unexpected_sample)),
            "why": r.why,
            "validated_at": now,
        }
        for r in report.results
    ]
    quarantined = [
        {
            "run_id": run_id,
            "stage": report.stage,
            "table_name": report.table,
            "event_id": ident,
            "reason": reason,
            "quarantined_at": now,
        }
        for ident, reason in report.quarantine()
    ]
    with store.transaction("checks"):
        store.insert("quality.validations", rows)
        store.insert("quality.quarantine", quarantined)
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
