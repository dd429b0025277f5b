"""The backfill's ledger, raw.backfill_days: one row per source, origin and day worked, so a
re-run skips the days an earlier run settled as done."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from warehouse.projections import sql
from warehouse.store import Store, event_id, schema_version, utcnow


@dataclass(frozen=True, slots=True)
class DayReport:
    """One line of the expected-vs-obtained table."""

    source: str
    origin: str
    day: date
    status: str        # done | partial | failed
    expected: int
    obtained: int
    failed: int
    new_rows: int
    skipped: bool      # settled by an earlier run; nothing was done now
    detail: dict[str, Any] = field(default_factory=dict)


def finished(store: Store, source: str, origin: str, span: Sequence[date]
             ) -> dict[date, DayReport]:
    """Days of ``span`` an earlier run settled as done, with their counts."""
    if not span:
        return {}
    rows = store.con.execute(
        sql("backfill_days_done"), {"s": source, "o": origin, "a": span[0], "b": span[-1]},
    ).fetchall()
    return {d: DayReport(source, origin, d, "done", e, o, f, 0, True) for d, e, o, f, _ in rows}


def record_day(store: Store, run_id: str, report: DayReport) -> int:
    """Append the day's ledger row (commit it with the day's rows)."""
    row = {
        "event_id": event_id("backfill_day", run_id, report.source, report.origin,
                             report.day.isoformat(), report.status),
        "run_id": run_id, "occurred_at": utcnow(), "recorded_at": utcnow(),
        "schema_version": schema_version(), "source": report.source, "origin": report.origin,
        "day": report.day, "status": report.status, "expected": report.expected,
        "obtained": report.obtained, "failed": report.failed, "new_rows": report.new_rows,
        "detail": json.dumps(report.detail, default=str),
    }
    return store.insert("raw.backfill_days", [row])


def unprojected_pages(store: Store) -> int:
    """Successful page fetches not projected yet (a killed run may have left some)."""
    return int(store.scalar(sql("unprojected_pages")))
