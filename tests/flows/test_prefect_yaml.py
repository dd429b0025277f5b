"""prefect.yaml: every entrypoint imports, its parameters fit the flow, and templates resolve."""

from __future__ import annotations

import inspect
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.cli.deploy._schedules import _schedule_config_to_deployment_schedule
from prefect.flows import load_flow_from_entrypoint
from prefect.utilities.templating import apply_values

from flows.cli.prefect_server import DEFAULT_INTERVAL_S, POOL, deploy_values, interval_setting, prefect_file

ROOT = Path(__file__).resolve().parents[2]
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
DEPLOYMENTS = {d["name"]: d for d in SPEC["deployments"]}
# Flows the issue wants deployed; colleagues add some of the files, so we check those that exist.
EXPECTED = {"pipeline": "flows/pipeline.py:pipeline", "backfill": "flows/backfill.py:backfill",
            "quality_report": "flows/quality_report.py:quality_report"}


def resolved(deployment: dict[str, Any], monkeypatch: pytest.MonkeyPatch, **env: str) -> Any:
    for key in ("NEWSFLOW_PROJECT_DIR", "NEWSFLOW_SCHEDULE_INTERVAL_S"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    outputs = {"newsflow": deploy_values()}
    return apply_values(deployment, outputs)


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_entrypoint_imports_and_parameters_match_signature(name: str) -> None:
    deployment = DEPLOYMENTS[name]
    path, _, func = deployment["entrypoint"].partition(":")
    assert (ROOT / path).is_file(), path
    assert path.startswith("flows/") and path.endswith(".py")
    flow = load_flow_from_entrypoint(str(ROOT / deployment["entrypoint"]))
    assert flow.name == func
    signature = inspect.signature(flow.fn)
    given = deployment.get("parameters") or {}
    unknown = set(given) - set(signature.parameters)
    assert not unknown, f"{name}: parameters not in {func}{signature}: {unknown}"
    required = {p for p, v in signature.parameters.items() if v.default is inspect.Parameter.empty}
    if deployment.get("schedules"):
        # A scheduled run has only the deployment's parameters: nothing may be left required.
        assert required <= set(given), f"{name}: scheduled but {required - set(given)} required"


def test_expected_flows_that_exist_are_deployed() -> None:
    for name, entrypoint in EXPECTED.items():
        if (ROOT / entrypoint.partition(":")[0]).exists():
            assert name in DEPLOYMENTS, f"{entrypoint} exists but has no deployment"
            assert DEPLOYMENTS[name]["entrypoint"] == entrypoint


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_every_deployment_uses_the_shared_process_pool(name: str) -> None:
    pool = DEPLOYMENTS[name]["work_pool"]
    assert pool == SPEC["definitions"]["work_pools"]["process_pool"]
    assert pool["name"] == POOL


def pipeline_interval(spec: dict[str, Any]) -> timedelta:
    (deployment,) = [d for d in spec["deployments"] if d["name"] == "pipeline"]
    (schedule,) = [_schedule_config_to_deployment_schedule(s) for s in deployment["schedules"]]
    return schedule["schedule"].interval  # type: ignore[no-any-return]


def test_pipeline_runs_every_15_minutes_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSFLOW_SCHEDULE_INTERVAL_S", raising=False)
    assert interval_setting() is None
    assert prefect_file(ROOT, ROOT / "unused", None) == ROOT / "prefect.yaml"
    assert pipeline_interval(SPEC) == timedelta(seconds=DEFAULT_INTERVAL_S) == timedelta(minutes=15)


def test_pipeline_interval_is_a_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEWSFLOW_SCHEDULE_INTERVAL_S", "20")
    copy = prefect_file(ROOT, tmp_path, interval_setting())
    spec = yaml.safe_load(copy.read_text(encoding="utf-8"))
    assert pipeline_interval(spec) == timedelta(seconds=20)
    # Only the pipeline's schedule changes; the rest of the file is the same.
    assert [d["name"] for d in spec["deployments"]] == [d["name"] for d in SPEC["deployments"]]
    others = [d for d in spec["deployments"] if d["name"] != "pipeline"]
    assert others == [d for d in SPEC["deployments"] if d["name"] != "pipeline"]
    assert interval_setting(45) == 45
    with pytest.raises(ValueError):
        interval_setting(0)


def test_backfill_has_no_schedule_and_report_is_daily() -> None:
    if "backfill" in DEPLOYMENTS:
        assert not DEPLOYMENTS["backfill"].get("schedules")
    if "quality_report" in DEPLOYMENTS:
        (daily,) = DEPLOYMENTS["quality_report"]["schedules"]
        minute, hour, *rest = daily["cron"].split()
        assert minute.isdigit() and hour.isdigit() and rest == ["*", "*", "*"]


def test_pull_step_works_in_the_project_dir(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    pull = resolved({"pull": SPEC["pull"]}, monkeypatch, NEWSFLOW_PROJECT_DIR=str(tmp_path))
    (step,) = pull["pull"]
    assert step == {"prefect.deployments.steps.set_working_directory":
                    {"directory": str(tmp_path.resolve())}}
    monkeypatch.delenv("NEWSFLOW_PROJECT_DIR")
    monkeypatch.chdir(ROOT)
    assert apply_values(SPEC["pull"], {"newsflow": deploy_values()})[0][
        "prefect.deployments.steps.set_working_directory"]["directory"] == str(ROOT)


def test_build_step_is_our_deploy_values() -> None:
    (step,) = SPEC["build"]
    assert list(step) == ["flows.cli.prefect_server.deploy_values"]
    assert step["flows.cli.prefect_server.deploy_values"]["id"] == "newsflow"
