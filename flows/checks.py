"""Run a stage's checks on the batch it just wrote, and record the results where people look:
quality.validations and quality.quarantine (warehouse.checks), and a markdown artifact in
Prefect when inside a flow run."""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, wait
from contextlib import contextmanager
from typing import TYPE_CHECKING

from flows.alerts import emit_check_events
from warehouse.checks import batch_frame, pending_batches, record_checks
from warehouse.ledger import StageRun
from warehouse.store import Store, utcnow

if TYPE_CHECKING:
    from expectations import StageReport

log = logging.getLogger(__name__)

# Seconds this process spent in checks (reading each batch, computing its checks, recording the
# results and quarantines; GX's import and Data Docs where the daily report draws them): wall
# time, and the process's CPU time over the same intervals. The benchmark reports them as a
# share of the run.
SPENT: dict[str, float] = {"seconds": 0.0, "cpu_seconds": 0.0}


@contextmanager
def timed_as_checks() -> Iterator[None]:
    """Add the time spent inside to ``SPENT`` (nested use counts once)."""
    if _DEPTH[0]:
        yield
        return
    _DEPTH[0] += 1
    started, cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        _DEPTH[0] -= 1
        SPENT["seconds"] += time.perf_counter() - started
        SPENT["cpu_seconds"] += time.process_time() - cpu


_DEPTH = [0]


def check_batch(store: Store, *, run_id: str, stage: str, table: str, max_body_bytes: int,
                keys: Sequence[str] = (), expect_rows: bool = True) -> StageReport:
    """Validate this run's batch of ``table`` and record the outcome."""
    with timed_as_checks():
        from expectations import validate_batch  # pandas and the suites: where checks run

        batch = batch_frame(store, table, run_id=run_id, keys=keys)
        report = validate_batch(
            table, batch, stage=stage, expect_rows=expect_rows, max_body_bytes=max_body_bytes
        )
        record_report(store, run_id, report)
        return report


def record_report(store: Store, run_id: str, report: StageReport) -> None:
    """Write a report's results and quarantined rows, and show it in Prefect."""
    now = utcnow()
    record_checks(store, report.validation_rows(run_id, now), report.quarantine_rows(run_id, now),
                  run_id=run_id, table=report.table)
    _artifact(report)
    emit_check_events(report, run_id)  # a blocking failure or a volume anomaly is an alert
    failed = [r.expectation for r in report.results if not r.success]
    if failed:
        log.warning("%s checks failed on %s: %s", report.stage, report.table, ", ".join(failed))


def _artifact(report: StageReport) -> None:
    """Show the report as a Prefect artifact, from a helper thread: the API call (20-40 ms to a
    local server) is not the checks' work, and the stage goes on meanwhile. The thread creates
    them in order (a stage's batches share a key: the last one is the newest version), and
    ``flush_artifacts`` (at the end of every ledgered run that completes) waits for them, so a
    run's artifacts exist when it ends. The thread is a daemon: a run that crashes or is
    interrupted does not wait for an API that may be gone."""
    try:
        from prefect.context import FlowRunContext

        if FlowRunContext.get() is None:
            return
    except Exception as exc:  # an artifact is a view of the results, never a reason to fail a run
        log.debug("could not create Prefect artifact: %s", exc)
        return
    _ARTIFACTS.submit(report)


def _create_artifact(report: StageReport) -> None:
    try:
        from prefect.artifacts import create_markdown_artifact

        key = f"checks-{report.stage}-{report.table}".replace(".", "-").replace("_", "-")
        create_markdown_artifact(markdown=report.markdown(), key=key,
                                 description=f"Checks on {report.table}")
    except Exception as exc:  # an artifact is a view of the results, never a reason to fail a run
        log.debug("could not create Prefect artifact: %s", exc)


class _ArtifactThread:
    """One daemon thread that creates the reports' artifacts in the order they came, each in
    the context (flow and task run) of the stage that checked it."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[contextvars.Context, StageReport, Future[None]]] \
            = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pending: list[Future[None]] = []

    def submit(self, report: StageReport) -> None:
        done: Future[None] = Future()
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="newsflow-artifacts",
                                                daemon=True)
                self._thread.start()
            self._pending.append(done)
        self._queue.put((contextvars.copy_context(), report, done))

    def _run(self) -> None:
        while True:
            context, report, done = self._queue.get()
            try:
                # looked up on each call, so a test may replace it
                context.run(_create_artifact, report)
            finally:
                done.set_result(None)

    def flush(self, timeout_s: float) -> int:
        with self._lock:
            pending, self._pending = self._pending, []
        if pending:
            _, late = wait(pending, timeout=timeout_s)
            if late:
                log.debug("%d check artifacts still being created after %.0f s", len(late),
                          timeout_s)
        return len(pending)


_ARTIFACTS = _ArtifactThread()


def flush_artifacts(timeout_s: float = 30.0) -> int:
    """Wait (at most ``timeout_s``) for the artifacts handed to the helper thread; returns how
    many were waited for."""
    return _ARTIFACTS.flush(timeout_s)


def check_unchecked(store: Store, *, max_body_bytes: int) -> list[StageReport]:
    """Check every committed batch whose checks never ran (a process died between a stage's
    commit and its checks), as its own run would have: results and quarantines under that run,
    and its stage flagged validation_failed when a blocking check fails. A run calls this
    before its own stages, so nothing unchecked is fetched from, built on or published."""
    reports = []
    for batch in pending_batches(store):
        log.warning("checking %s of run %s: its checks never ran", batch.table, batch.run_id)
        report = check_batch(store, run_id=batch.run_id, stage=_STAGE_OF[batch.table],
                             table=batch.table, max_body_bytes=max_body_bytes, keys=batch.keys,
                             expect_rows=batch.table != "raw.feed_entries")
        StageRun(batch.run_id, batch.flow, batch.stage, {}).flag_checks(store, [report], "ok")
        reports.append(report)
    return reports


# the suite's stage label of each checked table (as the stages pass it to check_batch)
_STAGE_OF = {"raw.feed_fetches": "raw", "raw.feed_entries": "raw", "raw.page_fetches": "raw",
             "core.articles": "core"}
