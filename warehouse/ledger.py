"""The run ledger (raw.runs): who ran what, with which versions, and how it ended.

A stage opens with a 'running' row and closes with its final row, committed with its batch.
``cancellable_stage`` makes an interrupted or failed stage close with 'cancelled' or 'failed'
after its transaction rolled back; only a process that died leaves 'running' (shown as
'incomplete' by analytics.runs).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from typing import Any, ParamSpec, TypeVar

from transforms.vocab import RunStatus
from transforms.vocab import worst as worst
from warehouse.store import Store, event_id, schema_version, utcnow

log = logging.getLogger(__name__)

# Where a 'cancelled' row goes: the stage's store, or (a stage whose store is closed by the time
# it unwinds, like a backfill's per-chunk stores) a callable opening one.
LedgerTarget = Store | Callable[[], AbstractContextManager[Store]]
_PACKAGES = ("newsflow", "prefect", "duckdb", "feedparser", "trafilatura", "great-expectations",
             "httpx", "lxml")


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape the data, recorded with every stage."""
    found = {}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


@dataclass
class StageRun:
    """One stage of one run, from its 'running' row to its final row."""

    run_id: str
    flow: str
    stage: str
    parameters: dict[str, Any]
    started_at: datetime = field(default_factory=utcnow)
    counts: dict[str, int] = field(default_factory=dict)

    def begin(self, store: Store, *,
              reopen: Callable[[], AbstractContextManager[Store]] | None = None) -> StageRun:
        """Record that the stage started (its own tiny transaction).

        Inside a ``@cancellable_stage`` function, an interruption before that function returns
        appends a 'cancelled' row: to ``store``, or to the store ``reopen()`` opens when
        ``store`` will be closed by then.
        """
        store.insert("raw.runs", [self._row("running", None, None)])
        begun = _BEGUN.get()
        if begun is not None:
            begun.append((self, reopen or store))
        return self

    def record_end(self, target: LedgerTarget, exc: BaseException) -> None:
        """Append the closing row of a stage cut short: 'cancelled' after an interruption,
        'failed' after an error. Never raises: the caller is propagating ``exc``, which must
        not be replaced by a ledger error."""
        try:
            interrupted = not isinstance(exc, Exception)
            detail = f"{type(exc).__name__}" + (f": {exc}" if str(exc) else "")
            row = (self.final_row("cancelled", f"interrupted: {detail}") if interrupted
                   else self.final_row("failed", f"error: {detail}"[:1000]))
            if isinstance(target, Store):
                target.rollback_quietly()
                target.insert("raw.runs", [row])
            else:
                with target() as store:
                    store.insert("raw.runs", [row])
        except BaseException as err:  # even a second interrupt: the first one wins
            log.warning("%s of run %s: could not record its end after %r: %r", self.stage,
                        self.run_id, exc, err)

    def flag_checks(self, store: Store, reports: list[Any], status: str) -> str:
        """After the checks ran: append a validation_failed row if a blocking check failed."""
        failed = [f"{r.table}: {r.suite}" for r in reports if r.blocking_failed]
        if not failed:
            return status
        store.insert("raw.runs", [self.final_row("validation_failed", "; ".join(failed))])
        return "validation_failed"

    def final_row(self, status: str, message: str | None = None) -> dict[str, Any]:
        """The stage's closing ledger row; commit it with the stage's batch."""
        return self._row(str(RunStatus(status)), utcnow(), message)  # ValueError if unknown

    def _row(self, status: str, finished: datetime | None, message: str | None) -> dict[str, Any]:
        now = utcnow()
        return {
            # A stage may be flagged after its batch committed (validation_failed), so the
            # status is part of the identity; the latest row is the stage's status.
            "event_id": event_id("run", self.run_id, self.stage, status),
            "run_id": self.run_id,
            "flow": self.flow,
            "stage": self.stage,
            "status": status,
            "parameters": json.dumps(self.parameters, default=str),
            "counts": json.dumps(self.counts),
            "versions": json.dumps(library_versions()),
            "message": message,
            "started_at": self.started_at,
            "finished_at": finished,
            "occurred_at": finished or self.started_at,
            "recorded_at": now,
            "schema_version": schema_version(),
        }


# The stages begun inside the innermost @cancellable_stage call (None outside any).
_BEGUN: ContextVar[list[tuple[StageRun, LedgerTarget]] | None] = ContextVar(
    "newsflow_begun_stages", default=None)
P = ParamSpec("P")
R = TypeVar("R")


def cancellable_stage(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorate a stage function: if it is interrupted (KeyboardInterrupt, SystemExit, Prefect's
    TerminationSignal on cancellation, a cancelled task: any BaseException that is not an
    Exception), every stage it began gets a 'cancelled' row, written once the exception has
    unwound the stage (so its open transaction has rolled back and its pool has stopped); then
    the interruption propagates. An ordinary error is not a cancellation: it gets a 'failed'
    row with the error, after the same rollback. Only a process that died (kill -9, power cut)
    leaves a stage at its 'running' row, shown as 'incomplete'."""

    @functools.wraps(fn)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        begun: list[tuple[StageRun, LedgerTarget]] = []
        token = _BEGUN.set(begun)
        try:
            return fn(*args, **kwargs)
        except BaseException as exc:
            for stage, target in reversed(begun):
                stage.record_end(target, exc)
            raise
        finally:
            _BEGUN.reset(token)

    return guarded


def stage_status(failed: int, total: int) -> RunStatus:
    """A fetching stage's status from its failures: ok, partial, or failed when all failed."""
    if failed == 0:
        return RunStatus.OK
    return RunStatus.FAILED if failed == total else RunStatus.PARTIAL
