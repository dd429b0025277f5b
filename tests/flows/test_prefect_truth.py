"""Issue 15: Prefect tells the truth. The pipeline flow run ends in the state its status says,
each stage is its own task run with its own state, and the stages' logs reach the Prefect API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flows.runs import result_of, state_of
from sample.server import SampleServer
from tests.sample_mode import sample_settings


@pytest.mark.parametrize(("status", "type_", "name"), [
    ("ok", "COMPLETED", "Completed"),
    ("partial", "COMPLETED", "Partial"),
    ("skipped_locked", "COMPLETED", "Skipped"),
    ("validation_failed", "FAILED", "Failed"),
    ("failed", "FAILED", "Failed"),
    ("cancelled", "FAILED", "Failed"),
])
def test_the_state_follows_the_status(status: str, type_: str, name: str) -> None:
    result = {"status": status, "run_id": "r", "stages": {
        "ingest_feeds": {"status": "ok"}, "extract_articles": {"status": status}}}
    state = state_of(result)
    assert (state.type.value, state.name) == (type_, name)
    assert result_of(state) == result  # the caller gets its result dict whatever the state
    if status not in ("ok", "skipped_locked"):
        assert f"extract_articles: {status}" in state.message


def test_a_stage_that_raised_gives_back_its_error() -> None:
    from prefect.states import Failed

    with pytest.raises(ValueError, match="boom"):
        result_of(Failed(data=ValueError("boom")))


@pytest.fixture(scope="module")
def defects() -> Iterator[SampleServer]:
    with SampleServer(n_articles=8, defects=True) as server:
        yield server


def _api_runs(flow_run_id: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The task runs (name, state) and the log messages of a flow run, from the Prefect API."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas import filters

    with get_client(sync_client=True) as client:
        tasks = client.read_task_runs(flow_run_filter=filters.FlowRunFilter(
            id=filters.FlowRunFilterId(any_=[flow_run_id])))
        logs = client.read_logs(log_filter=filters.LogFilter(
            flow_run_id=filters.LogFilterFlowRunId(any_=[flow_run_id])), limit=200)
    return ([{"name": t.name, "state": t.state.name if t.state else None} for t in tasks],
            [entry.message for entry in logs])


def test_a_run_whose_checks_fail_is_failed_with_a_task_run_per_stage(
        prefect_harness: None, defects: SampleServer, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.logging.handlers import APILogHandler

    from flows.pipeline import pipeline

    settings = sample_settings(defects, tmp_path, run_checks=True, extract_workers=1)
    monkeypatch.setenv("NEWSFLOW_ALLOW_PRIVATE_ADDRESSES", "true")
    monkeypatch.setenv("NEWSFLOW_PER_HOST_CONCURRENCY", "8")
    state = pipeline(db_path=str(settings.db_path), feeds_file=str(settings.feeds_file),
                     only_due=False, return_state=True)
    result = result_of(state)
    assert result["status"] == "validation_failed", result
    assert state.is_failed() and state.message.startswith("validation_failed: "), state
    APILogHandler().flush()
    tasks, logs = _api_runs(str(state.state_details.flow_run_id))
    stages = {t["name"]: t["state"] for t in tasks}
    for stage in ("ingest", "fetch", "extract", "checks", "publish"):
        assert stage in stages, tasks
    assert stages["publish"] == "Completed"
    assert "Failed" in {stages[s] for s in ("ingest", "fetch", "extract", "checks")}, stages
    # the stages' own log lines reach the API (not only Prefect's engine messages)
    assert any(m.startswith("extract_articles ") for m in logs), logs[:20]
