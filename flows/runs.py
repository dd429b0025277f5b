"""What every flow shares: its run id, the writer door with its refusals, SIGTERM as an
interruption, and calling a task with or without a Prefect flow run around it."""

from __future__ import annotations

import logging
import os
import signal
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from warehouse.access import open_writer
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


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as an interruption (see ``sigterm_as_interrupt``)."""


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises ``Terminated`` (a KeyboardInterrupt), so open transactions
    roll back and interrupted stages record 'cancelled'; once unwound to here, the signal is
    delivered again with its default action, so the process still ends as killed by SIGTERM.

    Only in the main thread (signals cannot be handled elsewhere), and only over the default
    action: a handler someone else installed is kept. Prefect's flow engine installs one that
    raises TerminationSignal, which @cancellable_stage already records as 'cancelled'.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise Terminated(f"signal {signal.Signals(signum).name}")

    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    except Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        raise
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def run_task(task: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a Prefect task as a task inside a flow run, and as a plain function outside one
    (the CLI's rebuild, tests, benchmarks), so no Prefect API is needed there."""
    from prefect.context import FlowRunContext

    if FlowRunContext.get() is not None:
        return task(*args, **kwargs)
    return task.fn(*args, **kwargs)
