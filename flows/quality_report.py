"""quality_report: daily volume per source against its history, Data Docs, and a volume chart.

A pipeline run ends with the volume check only (``run_checks``); the pages (Data Docs from the
newest recorded result of every suite, and the volume chart) are drawn here, by the daily
report: drawing them costs seconds (GX's import and renderer, altair and vl-convert) that a run
checking its batches in milliseconds should not pay (docs/quality.md, "Speed and footprint")."""

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
from warehouse.checks import latest_data_day, newest_validations, volume_history
from warehouse.ledger import StageRun, cancellable_stage
from warehouse.store import Store

log = logging.getLogger(__name__)
WINDOW_DAYS = 29  # the day judged plus a trailing 28-day history


@cancellable_stage
def run_checks(store: Store, settings: Settings, *, run_id: str) -> dict[str, Any]:
    """End of a pipeline run: the volume check on the newest day (the pages are drawn by the
    daily report, ``report_day``)."""
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
        return {"status": status, "day": str(day), **stage.counts}


def check_volume(store: Store, *, run_id: str, day: date) -> Any:
    """Run the volume suite on the window ending at ``day`` and record it."""
    from expectations import validate_volume

    report = validate_volume(volume_history(store, day, WINDOW_DAYS), stage="volume")
    record_report(store, run_id, report)
    return report


def write_chart(daily: pd.DataFrame, out_dir: Path) -> Path | None:
    """Articles per source per day with the expected band and anomalies, as a static page
    (expectations.chart); None when it could not be drawn (a view, never a reason to fail)."""
    from expectations.chart import write_volume_chart

    try:
        return write_volume_chart(daily, out_dir)
    except Exception as exc:
        log.warning("volume chart not drawn: %s", exc)
        return None


def pages_artifact(docs: Path | None, chart: Path | None) -> None:
    """Link the run's Data Docs and volume chart from its Prefect artifacts (files on disk)."""
    try:
        from prefect.artifacts import create_markdown_artifact
        from prefect.context import FlowRunContext

        if FlowRunContext.get() is None or (docs is None and chart is None):
            return
        lines = ["# Quality pages", "", "Static pages that open without internet access:", ""]
        lines += [f"- [{what}]({path.resolve().as_uri()}) `{path.resolve()}`"
                  for what, path in (("Data Docs", docs), ("Volume chart", chart)) if path]
        create_markdown_artifact(markdown="\n".join(lines), key="quality-pages",
                                 description="Data Docs and the volume chart of this run")
    except Exception as exc:  # an artifact is a view of the results, never a reason to fail a run
        log.debug("could not create the quality pages artifact: %s", exc)


def build_docs(store: Store, settings: Settings) -> Path | None:
    """Rebuild Data Docs from the newest recorded result of every suite; None on failure."""
    from expectations import build_data_docs
    from expectations.docs import stored_validations

    try:
        return build_data_docs(settings.docs_folder, stored_validations(newest_validations(store)))
    except Exception as exc:  # docs are a view of stored results: never fail a run for them
        log.warning("Data Docs not rebuilt: %s", exc)
        return None


@cancellable_stage
def report_day(store: Store, settings: Settings, *, run_id: str, day: date) -> dict[str, Any]:
    """The report itself, callable without Prefect."""
    stage = StageRun(run_id, "quality_report", "volume", {"day": day}).begin(store)
    with timed_as_checks():
        report = check_volume(store, run_id=run_id, day=day)
        chart = write_chart(volume_history(store, day, WINDOW_DAYS), settings.docs_folder)
        docs = build_docs(store, settings)
    pages_artifact(docs, chart)
    failed = [r.expectation for r in report.results if not r.success]
    stage.counts = {"checks": len(report.results), "failed": len(failed)}
    status = "validation_failed" if report.blocking_failed else "ok"
    store.insert("raw.runs", [stage.final_row(status, "; ".join(failed) or None)])
    return {"status": status, "chart": str(chart) if chart else None, "docs": str(docs) if docs else None,
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
