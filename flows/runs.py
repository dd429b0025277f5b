"""What every flow shares: its run id, the writer door with its refusals, the run's own ledger
rows, and calling a task with or without a Prefect flow run around it."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from warehouse.access import open_writer
from warehouse.ledger import cancellable_stage, fold_journal, journal_skipped, mark_died, open_run
from warehouse.lock import LockedError
from warehouse.store import Store

if TYPE_CHECKING:
    from flows.settings import Settings

log = logging.getLogger(__name__)


def current_run_id() -> str:
    """The Prefect flow run id when inside one, else a fresh uuid."""
    try:
        from prefect.runtime import flow_run

        run_id = flow_run.get_id()
    except Exception:  # outside Prefect, or an older runtime API: not an error
        run_id = None
    return str(run_id) if run_id else str(uuid.uuid4())


@contextmanager
def writer(settings: Settings, *, wait_s: float = 0.0, migrate: bool = True,
           heal: bool = True) -> Iterator[Store]:
    """The one writer door, with this run's settings (lock, free disk, WAL, migrations); then,
    unless told not to, the checks of any batch an earlier run committed but never checked."""
    with open_writer(settings.db_path, min_free_mb=settings.min_free_mb, wait_s=wait_s,
                     migrate=migrate) as store:
        if heal and settings.run_checks:
            from flows.checks import check_unchecked

            check_unchecked(store, max_body_bytes=settings.max_body_bytes)
        yield store


def run_as_writer(settings: Settings, *, run_id: str, flow: str, parameters: dict[str, Any],
                  body: Callable[[Store], dict[str, Any]]) -> dict[str, Any]:
    """Run ``body`` on the store as one ledgered run: through the writer door, between a
    run-level 'running' row and a closing row with the run's status (an error or interruption
    closes it 'failed' or 'cancelled'). On the way in, the run records the runs that could not
    get in (skipped_locked) and those that died without closing, and checks what an earlier run
    left unchecked. A store held by another writer gives the skipped result, noted for the next
    writer to record."""
    try:
        with writer(settings, heal=False) as store:
            return _ledgered(store, settings, run_id=run_id, flow=flow, parameters=parameters,
                             body=body)
    except LockedError as exc:
        journal_skipped(settings.db_path, run_id, flow, str(exc))
        return skipped(exc, run_id)


@cancellable_stage
def _ledgered(store: Store, settings: Settings, *, run_id: str, flow: str,
              parameters: dict[str, Any], body: Callable[[Store], dict[str, Any]]
              ) -> dict[str, Any]:
    run = open_run(store, run_id, flow, parameters)
    fold_journal(store, settings.db_path)
    mark_crashed(mark_died(store, run_id))
    healed = []
    if settings.run_checks:
        from flows.checks import check_unchecked

        healed = check_unchecked(store, max_body_bytes=settings.max_body_bytes)
    result = body(store)
    if healed:  # batches of an earlier run that died before its checks
        result.setdefault("stages", {})["unchecked"] = {
            "status": "ok", "batches": len(healed),
            "blocking_failed": sum(r.blocking_failed for r in healed)}
    # a write that cannot reach the disk must fail this run, not a later one's first write
    store.checkpoint()
    status = str(result.get("status", "ok"))
    stages = result.get("stages", {})
    run.counts = {"stages": len(stages), "published": int("publish" in stages)}
    store.insert("raw.runs", [run.final_row(status, _problems(stages) or None)])
    return result


def _problems(stages: dict[str, Any]) -> str:
    return "; ".join(f"{name}: {stage['status']}" for name, stage in stages.items()
                     if isinstance(stage, dict) and stage.get("status") not in (None, "ok"))


def mark_crashed(run_ids: list[str]) -> None:
    """Set the Prefect flow runs of runs that died to Crashed (a killed flow run otherwise stays
    Running forever). Only with a Prefect API at hand; never a reason to fail a run."""
    if not run_ids or not (os.environ.get("PREFECT_API_URL") or _in_flow_run()):
        return
    try:
        from prefect.client.orchestration import get_client
        from prefect.states import Crashed

        with get_client(sync_client=True) as client:
            for run_id in run_ids:
                try:
                    flow_run = uuid.UUID(run_id)
                except ValueError:
                    continue  # a run started outside Prefect
                client.set_flow_run_state(flow_run, Crashed(
                    message="newsflow: the process ended without closing the run"), force=True)
    except Exception as exc:
        log.warning("could not mark %d died run(s) as Crashed in Prefect: %s", len(run_ids), exc)


def _in_flow_run() -> bool:
    from prefect.context import FlowRunContext

    return FlowRunContext.get() is not None


def skipped(exc: LockedError, run_id: str) -> dict[str, Any]:
    """The result of a run that found the store held by another writer."""
    log.warning("%s", exc)
    return {"status": "skipped_locked", "run_id": run_id, "message": str(exc), "stages": {}}


def flow_result(result: dict[str, Any]) -> Any:
    """A flow's return value: a skipped run shows as "Skipped" in the Prefect UI; the caller
    still gets the result dict as the state's data."""
    if result.get("status") != "skipped_locked":
        return result
    from prefect.states import Completed

    return Completed(name="Skipped", message=result.get("message"), data=result)


def run_task(task: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a Prefect task as a task inside a flow run, and as a plain function outside one
    (the CLI's rebuild, tests, benchmarks), so no Prefect API is needed there."""
    from prefect.context import FlowRunContext

    if FlowRunContext.get() is not None:
        return task(*args, **kwargs)
    return task.fn(*args, **kwargs)
