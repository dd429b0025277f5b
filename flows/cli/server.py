"""``newsflow server up|down|status``: the Prefect server side on this machine.

Registered in flows/cli/__init__.py as the ``server`` group.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from flows.cli import prefect_server as server
from flows.cli.errors import reports_errors
from flows.cli.options import settings

app = typer.Typer(help="Run newsflow on a Prefect server: server, work pool, deployments, worker.",
                  no_args_is_help=True, add_completion=False)
console = Console()

StateOption = Annotated[Path, typer.Option("--state-dir", help="Where PID files and logs go.")]
DEFAULT_STATE = Path("data/server")


@app.command()
@reports_errors
def up(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 4200,
    interval: Annotated[int | None, typer.Option(
        help="Seconds between scheduled pipeline runs (default NEWSFLOW_SCHEDULE_INTERVAL_S, "
             "else 900).")] = None,
    wait: Annotated[float | None, typer.Option(
        help="Seconds to wait for the server's API to answer (default NEWSFLOW_PREFECT_WAIT_S, "
             "240).", min=1)] = None,
    project_dir: Annotated[Path, typer.Option(help="The newsflow checkout.")] = Path("."),
    state_dir: StateOption = DEFAULT_STATE,
) -> None:
    """Start the Prefect server, create the work pool, deploy prefect.yaml, create the alert
    automations and start a worker; each step is printed as it starts."""
    config = settings()  # the worker's flow runs read the same NEWSFLOW_* variables: check them
    cfg = server.ServerConfig(
        project_dir=project_dir.resolve(), state_dir=state_dir.resolve(),
        port=port or server.free_port(), interval_s=interval,
        startup_timeout_s=wait or config.prefect_wait_s, alert_block=config.alert_block,
        alert_webhook_url=config.alert_webhook_url)
    try:
        info = server.up(cfg, say=lambda step: console.print(f"- {step}"))
    except server.ServerError as exc:
        raise server.ServerError(
            str(exc), advice=exc.advice or f"`newsflow server down --state-dir {state_dir}` "
                                           "stops what was started") from exc
    console.print(f"Prefect UI: [bold]{info['ui_url']}[/bold]   "
                  f"(server pid {info['server_pid']}, worker pid {info['worker_pid']}, "
                  f"pool {info['pool']})")
    if info["alerts"]:
        console.print(f"Alerts: {len(info['alerts'])} automations notify through "
                      f"{config.alert_block}")
    console.print(f"Use it from a shell: export PREFECT_API_URL={info['api_url']}")
    console.print(f"Logs and PID files: {cfg.state_dir}.  Stop: newsflow server down")


@app.command()
@reports_errors
def alerts(
    interval: Annotated[int | None, typer.Option(
        help="Seconds between scheduled pipeline runs: a run not completed within twice this "
             "alerts (default NEWSFLOW_SCHEDULE_INTERVAL_S, else 900).")] = None,
) -> None:
    """Create (or replace) the alert automations on the Prefect API of PREFECT_API_URL (the
    systemd path; `server up` does this itself)."""
    from flows.alerts import install_automations

    config = settings()
    api = os.environ.get("PREFECT_API_URL")
    if not api or not server.is_healthy(api):
        raise server.ServerError(f"no Prefect API answers at {api or '(PREFECT_API_URL unset)'}",
                                 advice="export PREFECT_API_URL=http://127.0.0.1:4200/api")
    names = install_automations(
        config.alert_block, config.alert_webhook_url,
        interval_s=server.interval_setting(interval) or server.DEFAULT_INTERVAL_S)
    if not names:
        raise server.ServerError(f"no notification block {config.alert_block} on {api}",
                                 advice="set NEWSFLOW_ALERT_WEBHOOK_URL, or create the block "
                                        "(docs/operations.md, 'Alerts') and name it in "
                                        "NEWSFLOW_ALERT_BLOCK")
    for name in names:
        console.print(f"- {name}")
    console.print(f"{len(names)} automations notify through {config.alert_block}")


@app.command()
@reports_errors
def down(state_dir: StateOption = DEFAULT_STATE) -> None:
    """Stop the worker and the server that ``up`` started (their whole process trees)."""
    stopped = server.down(state_dir.resolve())
    if not any(stopped.values()):
        console.print(f"nothing running from {state_dir}")
        return
    for name, pids in stopped.items():
        if pids:
            console.print(f"stopped {name}: {len(pids)} process(es) ({', '.join(map(str, pids))})")


@app.command()
@reports_errors
def status(state_dir: StateOption = DEFAULT_STATE,
           limit: Annotated[int, typer.Option(help="Runs to show.")] = 10) -> None:
    """Processes, the UI address, the latest runs and the next scheduled ones."""
    info = server.status(state_dir.resolve())
    api = reachable_api(state_dir)
    console.print(f"server: {'running' if info['server_running'] else 'stopped'}, "
                  f"worker: {'running' if info['worker_running'] else 'stopped'}"
                  + (f", UI {info['ui_url']}" if info.get("ui_url") else ""))
    if api is None and info["server_running"]:
        raise server.ServerError("the Prefect server process runs but its API does not answer",
                                 advice=f"see {state_dir / 'server.log'}; `newsflow server down` "
                                        "then `up` restarts it")
    if api is None:
        console.print("no Prefect API reachable; `newsflow server up` starts one")
        return
    print_runs(console, api, limit)


def reachable_api(state_dir: Path = DEFAULT_STATE) -> str | None:
    """The Prefect API to report on: PREFECT_API_URL, else the one ``up`` started; None if it
    does not answer (used by ``newsflow status``)."""
    api = os.environ.get("PREFECT_API_URL") or server.status(state_dir.resolve()).get("api_url")
    return str(api) if api and server.is_healthy(str(api)) else None


def print_runs(out: Console, api_url: str, limit: int = 10) -> None:
    """The latest runs and the next scheduled ones as two tables (used by ``newsflow status``)."""
    for title, upcoming in (("latest runs", False), ("next scheduled runs", True)):
        table = Table(title=title)
        for column in ("deployment", "run", "state", "start"):
            table.add_column(column)
        for row in server.flow_runs(api_url, upcoming=upcoming, limit=limit):
            table.add_row(row["deployment"], row["run"], str(row["state"]),
                          str(row["start"] or "")[:19])
        out.print(table)
