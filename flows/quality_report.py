"""quality_report: daily volume per source against its history, Data Docs, and a volume chart."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow

from flows.checks import record_report, timed_as_checks
from flows.runs import current_run_id, flow_result, run_as_writer
from flows.settings import Settings, settings_for
from warehouse.checks import latest_data_day, volume_history
from warehouse.ledger import StageRun, cancellable_stage
from warehouse.store import Store

log = logging.getLogger(__name__)
WINDOW_DAYS = 29  # the day judged plus a trailing 28-day history


@cancellable_stage
def run_checks(store: Store, settings: Settings, *, run_id: str) -> dict[str, Any]:
    """End of a pipeline run: the volume check on the newest day, then Data Docs."""
    with timed_as_checks():
        stage = StageRun(run_id, "pipeline", "volume", {}).begin(store)
        day = latest_data_day(store)
        status = "ok"
        if day is not None:
            report = check_volume(store, run_id=run_id, day=day)
            stage.counts = {"checks": len(report.results),
                            "failed": sum(1 for r in report.results if not r.success)}
            status = "validation_failed" if report.blocking_failed else "ok"
        store.insert("raw.runs", [stage.final_row(status)])
        docs = build_docs(settings)
        return {"status": status, "day": str(day), "docs": str(docs) if docs else None, **stage.counts}


def check_volume(store: Store, *, run_id: str, day: date) -> Any:
    """Run the volume suite on the window ending at ``day`` and record it."""
    from expectations import validate_volume

    report = validate_volume(volume_history(store, day, WINDOW_DAYS), stage="volume")
    record_report(store, run_id, report)
    return report


def write_chart(daily: pd.DataFrame, out_dir: Path) -> Path:
    """Articles per source per day as an HTML chart (Vega-Lite through altair)."""
    import altair as alt

    out_dir.mkdir(parents=True, exist_ok=True)
    frame = daily.assign(day=pd.to_datetime(daily["day"]))
    chart = (
        alt.Chart(frame, title="Articles per source per day")
        .mark_line(point=True)
        .encode(x="day:T", y=alt.Y("n:Q", title="articles"), color="source:N",
                tooltip=["source", "day:T", "n"])
        .properties(width=720, height=320)
    )
    target = out_dir / "volume.html"
    chart.save(str(target))
    return target


def build_docs(settings: Settings) -> Path | None:
    """Rebuild Data Docs for the checks run in this process; None when none ran."""
    from expectations import build_data_docs

    try:
        return build_data_docs(settings.docs_dir)
    except Exception as exc:  # docs are a view of stored results: never fail a run for them
        log.warning("Data Docs not rebuilt: %s", exc)
        return None


@cancellable_stage
def report_day(store: Store, settings: Settings, *, run_id: str, day: date) -> dict[str, Any]:
    """The report itself, callable without Prefect."""
    stage = StageRun(run_id, "quality_report", "volume", {"day": day}).begin(store)
    report = check_volume(store, run_id=run_id, day=day)
    chart = write_chart(volume_history(store, day, WINDOW_DAYS), settings.docs_dir)
    docs = build_docs(settings)
    failed = [r.expectation for r in report.results if not r.success]
    stage.counts = {"checks": len(report.results), "failed": len(failed)}
    status = "validation_failed" if report.blocking_failed else "ok"
    store.insert("raw.runs", [stage.final_row(status, "; ".join(failed) or None)])
    return {"status": status, "chart": str(chart), "docs": str(docs) if docs else None,
            **stage.counts}


@flow(name="quality_report")
def quality_report(day: date | None = None, db_path: str | None = None) -> dict[str, Any]:
    """Daily: volume per source against its trailing 28 days, Data Docs and a volume chart."""
    settings = settings_for(db_path=db_path)
    run_id = current_run_id()
    day = day or datetime.now(UTC).date()
    result = run_as_writer(
        settings, run_id=run_id, flow="quality_report", parameters={"day": day},
        body=lambda store: report_day(store, settings, run_id=run_id, day=day))
    return flow_result(result)  # type: ignore[no-any-return]
