"""The run ledger (raw.runs): who ran what, with which versions, and how it ended."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from typing import Any

from warehouse.store import Store, event_id, schema_version, utcnow

log = logging.getLogger(__name__)

STATUSES = ("running", "ok", "partial", "failed", "validation_failed", "skipped_locked", "cancelled")
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


def current_run_id() -> str:
    """The Prefect flow run id when inside one, else a fresh uuid."""
    try:
        from prefect.runtime import flow_run

        run_id = flow_run.get_id()
    except Exception:  # outside Prefect, or an older runtime API: not an error
        run_id = None
    return str(run_id) if run_id else str(uuid.uuid4())


@dataclass
class StageRun:
    """One stage of one run, from its 'running' row to its final row."""

    run_id: str
    flow: str
    stage: str
    parameters: dict[str, Any]
    started_at: datetime = field(default_factory=utcnow)
    counts: dict[str, int] = field(default_factory=dict)

    def begin(self, store: Store) -> StageRun:
        """Record that the stage started (its own tiny transaction)."""
        store.insert("raw.runs", [self._row("running", None, None)])
        return self

    def flag_checks(self, store: Store, reports: list[Any], status: str) -> str:
        """After the checks ran: append a validation_failed row if a blocking check failed."""
        failed = [f"{r.table}: {r.suite}" for r in reports if r.blocking_failed]
        if not failed:
            return status
        store.insert("raw.runs", [self.final_row("validation_failed", "; ".join(failed))])
        return "validation_failed"

    def final_row(self, status: str, message: str | None = None) -> dict[str, Any]:
        """The stage's closing ledger row; commit it with the stage's batch."""
        if status not in STATUSES:
            raise ValueError(f"unknown run status {status!r}")
        return self._row(status, utcnow(), message)

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


def run_task(task: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a Prefect task as a task inside a flow run, and as a plain function outside one
    (the CLI's rebuild, tests, benchmarks), so no Prefect API is needed there."""
    from prefect.context import FlowRunContext

    if FlowRunContext.get() is not None:
        return task(*args, **kwargs)
    return task.fn(*args, **kwargs)


def worst(statuses: list[str]) -> str:
    """The run status of several stages: the most serious one wins."""
    order = ["ok", "partial", "validation_failed", "failed", "cancelled"]
    known = [s for s in statuses if s in order] or ["ok"]
    return max(known, key=order.index)
