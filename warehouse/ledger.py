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
import os
import socket
from collections.abc import Callable
from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from transforms.vocab import RunStatus
from transforms.vocab import worst as worst
from warehouse.projections import sql
from warehouse.store import Store, event_id, schema_version, utcnow

log = logging.getLogger(__name__)

# Where a 'cancelled' row goes: the stage's store, or (a stage whose store is closed by the time
# it unwinds, like a backfill's per-chunk stores) a callable opening one.
LedgerTarget = Store | Callable[[], AbstractContextManager[Store]]
_PACKAGES = ("newsflow", "prefect", "duckdb", "feedparser", "trafilatura", "great-expectations",
             "httpx", "lxml")


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape the data, recorded with every stage."""
    return dict(_installed_versions())


@functools.cache
def _installed_versions() -> tuple[tuple[str, str], ...]:
    """Read once per process: each lookup parses the package's metadata file (about 6 ms, and a
    run writes a dozen ledger rows), and the code a process runs does not change under it."""
    found = {}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return tuple(found.items())


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


# -- the run-level rows (stage 'run'): one when a run starts, one when it ends ----------------

RUN_STAGE = "run"


def open_run(store: Store, run_id: str, flow: str, parameters: dict[str, Any]) -> StageRun:
    """Begin a run's own ledger row (inside ``cancellable_stage``: an error or an interruption
    closes it 'failed' or 'cancelled'). The process id and host are kept, so a later run can
    tell a run that died from one still going."""
    where = {"pid": os.getpid(), "host": socket.gethostname()}
    return StageRun(run_id, flow, RUN_STAGE, {**parameters, **where}).begin(store)


def mark_died(store: Store, current: str) -> list[str]:
    """Close the run-level rows of runs whose process ended without closing them (killed,
    power cut) with 'died'; returns their run ids. A run whose process still lives on this
    host (a backfill between two chunks) is left alone."""
    died = []
    for run_id, flow, parameters in store.con.execute(sql("runs_died"),
                                                      {"current": current}).fetchall():
        params = json.loads(parameters or "{}")
        if params.get("host") == socket.gethostname() and _alive(params.get("pid")):
            continue
        run = StageRun(run_id, flow, RUN_STAGE, params)
        store.insert("raw.runs", [run.final_row(
            RunStatus.DIED, "the process ended without closing the run (killed or crashed); "
            "its stages show how far it got")])
        died.append(str(run_id))
    return died


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


# -- runs that could not reach the store (skipped_locked) -------------------------------------

def journal_path(db_path: Path) -> Path:
    """Where runs that found the store held note themselves, for the next writer to record."""
    return db_path.with_name(db_path.name + ".skipped.jsonl")


def journal_skipped(db_path: Path, run_id: str, flow: str, message: str) -> None:
    """Note a run that ended skipped_locked (the store belongs to another writer, so the row
    waits in a side file). One short line appended: safe beside a running writer."""
    line = json.dumps({"run_id": run_id, "flow": flow, "message": message[:1000],
                       "at": utcnow().isoformat()})
    try:
        with journal_path(db_path).open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
    except OSError as exc:  # a note about a run that did nothing: never a reason to fail
        log.warning("could not note the skipped run %s: %s", run_id, exc)


def fold_journal(store: Store, db_path: Path) -> int:
    """Record the skipped runs noted beside the store as ``skipped_locked`` run rows, then
    empty the note (call under the writer lock). Returns how many were recorded."""
    path = journal_path(db_path)
    folding = path.with_name(path.name + ".folding")
    try:  # notes appended from now on go to a new file, read by the next writer
        os.replace(path, folding)
    except FileNotFoundError:
        if not folding.exists():  # else: left by a writer killed while folding
            return 0
    rows = []
    for line in folding.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            note = json.loads(line)
            at = datetime.fromisoformat(note["at"])
        except (ValueError, KeyError, TypeError):
            continue  # a torn last line (the noting process was killed mid-write)
        run = StageRun(str(note["run_id"]), str(note["flow"]), RUN_STAGE, {}, started_at=at)
        row = run.final_row(RunStatus.SKIPPED_LOCKED, str(note.get("message") or ""))
        rows.append(row | {"finished_at": at, "occurred_at": at})
    store.insert("raw.runs", rows)  # ids are deterministic: folding twice adds nothing
    folding.unlink()
    return len(rows)
