"""What every flow shares: its run id, the writer door with its refusals, the run's own ledger
rows, and calling a task with or without a Prefect flow run around it."""

from __future__ import annotations

import logging
import os
import sys
import threading
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
                     migrate=migrate, memory_limit=settings.memory_limit,
                     threads=settings.duckdb_threads) as store:
        if heal and settings.run_checks:
            from flows.checks import check_unchecked

            check_unchecked(store, max_body_bytes=settings.max_body_bytes)
        yield store


# The id of the run this process started last (the CLI names it when a Ctrl-C ends the run).
LAST_RUN: dict[str, str] = {}


def run_as_writer(settings: Settings, *, run_id: str, flow: str, parameters: dict[str, Any],
                  body: Callable[[Store], dict[str, Any]]) -> dict[str, Any]:
    """Run ``body`` on the store as one ledgered run: through the writer door, between a
    run-level 'running' row and a closing row with the run's status (an error or interruption
    closes it 'failed' or 'cancelled'). On the way in, the run records the runs that could not
    get in (skipped_locked) and those that died without closing, and checks what an earlier run
    left unchecked. A store held by another writer gives the skipped result, noted for the next
    writer to record."""
    LAST_RUN["run_id"] = run_id
    try:
        with writer(settings, heal=False) as store:
            result = _ledgered(store, settings, run_id=run_id, flow=flow, parameters=parameters,
                               body=body)
    except LockedError as exc:
        journal_skipped(settings.db_path, run_id, flow, str(exc))
        return skipped(exc, run_id)
    if "flows.checks" in sys.modules:  # the run's check artifacts, made on a helper thread
        sys.modules["flows.checks"].flush_artifacts()
    return result


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
    """A flow's return value, as a Prefect state that tells the truth about the run (the caller
    still gets the result dict as the state's data, see ``result_of``): ok -> Completed;
    partial -> Completed named "Partial"; failed, validation_failed and cancelled -> Failed
    with the reason as message; skipped_locked -> Completed named "Skipped"."""
    return state_of(result)


def state_of(result: dict[str, Any]) -> Any:
    """The Prefect state for a run's (or a stage's) result dict (see ``flow_result``)."""
    from prefect.states import Completed, Failed

    status = str(result.get("status", "ok"))
    if status == "ok":
        return Completed(data=result)
    if status == "skipped_locked":
        return Completed(name="Skipped", message=result.get("message"), data=result)
    counts = ", ".join(f"{k}={v}" for k, v in result.items() if isinstance(v, int | float)
                       and not isinstance(v, bool))
    reason = result.get("message") or _problems(result.get("stages", {})) or counts or status
    if status == "partial":
        return Completed(name="Partial", message=f"partial: {reason}", data=result)
    return Failed(message=f"{status}: {reason}", data=result)


def result_of(state: Any) -> dict[str, Any]:
    """The result dict a flow or stage returned, whatever state it ended in; the error
    itself when it raised one (a Failed state without a result)."""
    data = state.result(raise_on_failure=False)
    if isinstance(data, BaseException):
        raise data
    return data  # type: ignore[no-any-return]


def run_stage(name: str, fn: Callable[..., dict[str, Any]], *args: Any,
              retries: int = 1, **kwargs: Any) -> dict[str, Any]:
    """Call a stage as its own Prefect task inside a flow run (own state, duration, logs,
    retries: the stages are idempotent), and as a plain function outside one. The task's
    state follows the stage's status (``state_of``); the stage's result comes back either
    way. Deliberate errors (low disk, another writer) and interruptions are not retried."""
    from prefect.context import FlowRunContext

    if FlowRunContext.get() is None:
        return fn(*args, **kwargs)
    from prefect import task
    from prefect.cache_policies import NO_CACHE

    stage_task = task(name=name, task_run_name=name, cache_policy=NO_CACHE,
                      persist_result=False, retries=retries, retry_delay_seconds=1,
                      retry_condition_fn=_retry_worth_it, log_prints=False)(_stage_body)
    return result_of(stage_task(*_quoted(fn, args, kwargs), return_state=True))


def _quoted(*values: Any) -> list[Any]:
    """Task arguments Prefect passes through as they are: without ``quote`` it walks every
    element of every argument (a page stage's thousand requests, the feed list) looking for
    futures to wait on, before the task starts. Stages take no futures; the task gets the
    plain values."""
    from prefect.utilities.annotations import quote

    return [quote(v) for v in values]


def _stage_body(fn: Callable[..., dict[str, Any]], args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> Any:
    with stage_logs_to_prefect():
        return state_of(fn(*args, **kwargs))


def _retry_worth_it(task: Any, task_run: Any, state: Any) -> bool:
    from transforms.errors import NewsflowError

    raised = state.result(raise_on_failure=False)
    # a stage that returned its status (failed included) is not retried, nor a deliberate
    # error (the same again would fail the same way); an unexpected error is, once
    return isinstance(raised, Exception) and not isinstance(raised, NewsflowError)


# newsflow's own loggers, whose records a stage sends to the Prefect API while it runs
NEWSFLOW_LOGGERS = ("flows", "warehouse", "expectations", "workers", "web", "transforms")


@contextmanager
def stage_logs_to_prefect() -> Iterator[None]:
    """While inside (a stage task), newsflow's INFO-and-above log records also go to the Prefect
    API, attached to the task run; the console sees only what it saw before."""
    try:
        from prefect.logging.handlers import APILogHandler
    except Exception:  # pragma: no cover - a Prefect without it: logs stay local
        yield
        return
    api = APILogHandler(level=logging.INFO)
    # only the stage's own thread knows its run (a pool thread would log "no flow run id")
    here = threading.get_ident()
    api.addFilter(lambda record: record.thread == here)
    console = _AsBefore()
    saved = []
    for name in NEWSFLOW_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.setLevel(min(logger.getEffectiveLevel(), logging.INFO))
        logger.propagate = False
        logger.addHandler(api)
        logger.addHandler(console)
    console.levels = {logger.name: level for logger, level, _ in saved}
    try:
        yield
    finally:
        for logger, level, propagate in saved:
            logger.removeHandler(api)
            logger.removeHandler(console)
            logger.setLevel(level)
            logger.propagate = propagate


class _AsBefore(logging.Handler):
    """Pass a record on to the parent loggers' handlers only if the logger would have let it
    through before ``stage_logs_to_prefect`` lowered its level."""

    levels: dict[str, int]

    def emit(self, record: logging.LogRecord) -> None:
        top = record.name.split(".", 1)[0]
        logger = logging.getLogger(top)
        before = self.levels.get(top, logging.NOTSET) or (
            logger.parent.getEffectiveLevel() if logger.parent else logging.WARNING)
        if record.levelno >= before and logger.parent is not None:
            logger.parent.handle(record)


def run_task(task: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a Prefect task as a task inside a flow run, and as a plain function outside one
    (the CLI's rebuild, tests, benchmarks), so no Prefect API is needed there."""
    from prefect.context import FlowRunContext

    if FlowRunContext.get() is not None:
        return task(*_quoted(*args), **dict(zip(kwargs, _quoted(*kwargs.values()), strict=True)))
    return task.fn(*args, **kwargs)
