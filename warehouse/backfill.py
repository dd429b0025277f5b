"""The storage side of a backfill: its ledger, raw.backfill_days (one row per source, origin and
day worked, so a re-run skips the days an earlier run settled as done), what is stored of a
day's URLs, and the stored pages a re-extraction reads."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from warehouse.projections import PERMANENT_PAGE_ERRORS, sql
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


@dataclass
class DayCounts:
    """Expected vs obtained for one day of one origin (mutable while the day is worked)."""

    expected: int = 0
    obtained: int = 0
    failed: int = 0
    new_rows: int = 0
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def pending(self) -> int:
        """Listed URLs neither stored OK nor settled as failures: worth another run."""
        return self.expected - self.obtained - self.failed


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


def stored_outcomes(store: Store, keys: Sequence[str]) -> tuple[set[str], set[str]]:
    """Of ``keys``: those with a page stored OK, and those settled by a permanent failure."""
    if not keys:
        return set(), set()
    rows = store.con.execute(sql("backfill_stored_outcomes"),
                             {"keys": list(keys), "permanent": list(PERMANENT_PAGE_ERRORS)},
                             ).fetchall()
    ok = {k for k, good, _ in rows if good}
    return ok, {k for k, good, bad in rows if bad and not good}


def count_day(store: Store, keys: Sequence[str]) -> DayCounts:
    """Expected (the listed keys) vs obtained (stored OK) and failed (permanently) so far."""
    ok, permanent = stored_outcomes(store, keys)
    return DayCounts(expected=len(keys), obtained=len(ok), failed=len(permanent))


def day_pages(store: Store, *, version: str, lo: datetime, hi: datetime,
              by: str = "fetched") -> list[dict[str, Any]]:
    """The stored pages fetched in [lo, hi) (``by="published"``: of articles published then):
    event id, URL, and whether extractor ``version`` already projected it."""
    name = "backfill_day_pages" if by == "fetched" else "backfill_day_pages_published"
    return _rows(store, name, {"version": version, "lo": lo, "hi": hi})


def page_bodies(store: Store, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Stored page rows (bodies still compressed) by event id."""
    return {r["event_id"]: r for r in _rows(store, "backfill_page_bodies", {"ids": list(ids)})}


def previous_extractions(store: Store, ids: Sequence[str], *, version: str
                         ) -> dict[str, dict[str, Any]]:
    """What each page became under an extractor other than ``version`` (the latest wins)."""
    return {r["page_fetch_id"]: r for r in _rows(
        store, "backfill_previous_extractions", {"ids": list(ids), "version": version})}


def new_rows_by_day(store: Store, run_id: str, lo: datetime, hi: datetime) -> dict[date, int]:
    """Page rows ``run_id`` stored from WARC captures in [lo, hi), per capture day."""
    rows = store.con.execute(sql("backfill_new_rows_by_day"),
                             {"run": run_id, "lo": lo, "hi": hi}).fetchall()
    return {day: int(n) for day, n in rows}


def _rows(store: Store, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cur = store.con.execute(sql(name), params)
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
