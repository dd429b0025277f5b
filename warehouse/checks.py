"""The storage side of the checks: each stage's batch as a frame, and the results recorded.

Results go to quality.validations; rows failing a blocking check go to quality.quarantine (raw
rows are never deleted, analyst views leave quarantined rows out).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from warehouse.projections import load_keys, sql
from warehouse.store import Store, utcnow

if TYPE_CHECKING:  # pandas is imported by .df(), where a caller asks for a DataFrame
    import pandas as pd

# How each checked table's batch is found: by the run that wrote it, or (core) by its keys.
_BATCH = {
    "raw.feed_fetches": "batch_feed_fetches",
    "raw.feed_entries": "batch_feed_entries",
    "raw.page_fetches": "batch_page_fetches",
    "core.articles": "batch_articles",
}


def batch_frame(store: Store, table: str, *, run_id: str, keys: Sequence[str] = ()
                ) -> pd.DataFrame:
    """The rows of ``table`` that one batch wrote: this run's raw rows, or the core rows of
    ``keys``."""
    if table == "core.articles":
        load_keys(store, keys)
        return store.con.execute(sql(_BATCH[table])).df()
    return store.con.execute(sql(_BATCH[table]), {"run": run_id}).df()


def record_checks(store: Store, validations: Sequence[Mapping[str, Any]],
                  quarantined: Sequence[Mapping[str, Any]], *, run_id: str, table: str) -> None:
    """Write a batch's check results and its quarantined rows, and close its pending row, in
    one transaction."""
    with store.transaction("checks"):
        store.insert("quality.validations", validations)
        store.insert("quality.quarantine", quarantined)
        store.con.execute(sql("pending_checks_done"), {"run": run_id, "table": table})


def mark_pending(store: Store, *, run_id: str, stage: str, table: str,
                 keys: Sequence[str] | None = None) -> None:
    """Name a batch whose checks are still to run; call inside the batch's own transaction, so
    a batch is never committed without it (issue 18: checks that cannot be skipped)."""
    part = store.con.execute(sql("pending_checks_next_part"),
                             {"run": run_id, "table": table}).fetchone()
    store.insert("quality.pending_checks", [{
        "run_id": run_id, "stage": stage, "table_name": table, "part": part[0] if part else 0,
        "keys": None if keys is None else list(keys), "created_at": utcnow()}])


@dataclass(frozen=True, slots=True)
class PendingBatch:
    """A committed batch whose checks never ran."""

    run_id: str
    flow: str
    stage: str
    table: str
    keys: tuple[str, ...]


def pending_batches(store: Store) -> list[PendingBatch]:
    """Every committed batch still waiting for its checks, oldest first."""
    rows = store.con.execute(sql("pending_checks")).fetchall()
    return [PendingBatch(run, flow, stage, table, tuple(keys or ()))
            for run, stage, table, keys, flow in rows]


def newest_validations(store: Store) -> list[dict[str, Any]]:
    """Every check of each suite's newest recorded report (quality.validations rows)."""
    cursor = store.con.execute(sql("newest_validations"))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def volume_history(store: Store, day: date, window: int) -> pd.DataFrame:
    """Articles per source per day for the ``window`` days ending at ``day`` (zero-filled)."""
    return store.con.execute(sql("volume_history"), {"day": day, "window": window}).df()


def latest_data_day(store: Store) -> date | None:
    """The newest day the articles cover."""
    value = store.scalar(sql("latest_data_day"))
    return value if isinstance(value, date) else None
