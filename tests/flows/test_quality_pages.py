"""A checked run links its Data Docs and volume chart from a Prefect artifact."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest


def artifacts_of(state: Any) -> list[tuple[str, str]]:
    """(key, markdown) of every artifact of the flow run that ended in ``state``."""
    from prefect.client.orchestration import get_client

    async def read() -> list[tuple[str, str]]:
        async with get_client() as client:
            found = await client.read_artifacts()
            return [(a.key or "", str(a.data)) for a in found
                    if a.flow_run_id == state.state_details.flow_run_id]

    return asyncio.run(read())


@pytest.mark.usefixtures("prefect_harness")
def test_the_quality_pages_artifact_links_both_pages(tmp_path: Path) -> None:
    from prefect import flow

    from flows.quality_report import pages_artifact

    docs, chart = tmp_path / "index.html", tmp_path / "volume.html"
    docs.write_text("docs")
    chart.write_text("chart")

    @flow(name="pages-artifact-test")
    def run() -> None:
        pages_artifact(docs, chart)

    state = run(return_state=True)

    [(key, markdown)] = artifacts_of(state)
    assert key == "quality-pages"
    assert f"[Data Docs]({docs.resolve().as_uri()})" in markdown
    assert f"[Volume chart]({chart.resolve().as_uri()})" in markdown
    pages_artifact(docs, chart)  # outside a flow run: nothing, and no error


@pytest.mark.usefixtures("prefect_harness")
def test_check_artifacts_are_made_off_the_stage_and_waited_for_by_the_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stage's check report becomes a Prefect artifact of its flow run, created on a helper
    thread (the stage does not wait for the API) and waited for before the run returns."""
    import threading
    import time

    from prefect import flow

    from expectations.report import CheckResult, StageReport
    from flows import checks
    from flows.runs import run_as_writer
    from flows.settings import load_settings

    made_on: list[str] = []
    create = checks._create_artifact

    def slow_create(report: StageReport) -> None:
        time.sleep(0.5)  # an API that answers slowly: the stage must not wait for it
        made_on.append(threading.current_thread().name)
        create(report)

    monkeypatch.setattr(checks, "_create_artifact", slow_create)
    result = CheckResult("page_fetches", "event_id_unique", "event_id", True, True,
                         "0 of 3 unexpected", 3, 0, (), "why", ())
    report = StageReport("raw", "raw.page_fetches", "page_fetches", 3, (result,))
    settings = load_settings(db_path=tmp_path / "a.duckdb", run_checks=False)
    spent: list[float] = []

    def body(store: object) -> dict[str, str]:
        started = time.perf_counter()
        checks._artifact(report)
        spent.append(time.perf_counter() - started)
        return {"status": "ok"}

    @flow(name="check-artifact-test")
    def run() -> None:
        run_as_writer(settings, run_id="artifact-run", flow="test", parameters={}, body=body)
        assert made_on == ["newsflow-artifacts"]  # made, and before the run returned

    state = run(return_state=True)
    assert state.is_completed()
    assert spent[0] < 0.4

    [(key, markdown)] = artifacts_of(state)
    assert key == "checks-raw-raw-page-fetches"
    assert "event_id_unique" in markdown


@pytest.mark.usefixtures("prefect_harness")
def test_a_failing_run_does_not_wait_for_its_check_artifacts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The artifacts are a view: a run that fails (or is interrupted) ends without waiting for
    an API that may be gone, and the helper thread never keeps the process alive."""
    import threading
    import time

    from prefect import flow

    from expectations.report import StageReport
    from flows import checks
    from flows.runs import run_as_writer
    from flows.settings import load_settings

    release = threading.Event()
    monkeypatch.setattr(checks, "_create_artifact", lambda report: release.wait(30))
    report = StageReport("raw", "raw.page_fetches", "page_fetches", 0, ())
    settings = load_settings(db_path=tmp_path / "a.duckdb", run_checks=False)

    def body(store: object) -> dict[str, str]:
        checks._artifact(report)
        raise RuntimeError("the stage broke")

    @flow(name="check-artifact-failing-test")
    def run() -> float:
        started = time.perf_counter()
        with pytest.raises(RuntimeError, match="the stage broke"):
            run_as_writer(settings, run_id="artifact-fail", flow="test", parameters={},
                          body=body)
        return time.perf_counter() - started

    try:
        assert run() < 10
        [thread] = [t for t in threading.enumerate() if t.name == "newsflow-artifacts"]
        assert thread.daemon
    finally:
        release.set()
        checks.flush_artifacts(timeout_s=30)
