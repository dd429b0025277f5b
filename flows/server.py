"""The server side on one machine: Prefect server, work pool, deployments, worker; and back down.

``up`` starts ``prefect server start`` on 127.0.0.1, waits for its health endpoint, creates the
process work pool, deploys everything in ``prefect.yaml`` and starts a worker. Each long-lived
process is started in its own session and its PID written to ``<state_dir>/<name>.pid``, so
``down`` stops exactly what ``up`` started (the whole process tree, with the second signal a
Prefect worker needs to stop promptly, and a kill for anything left) and nothing else.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

log = logging.getLogger(__name__)

POOL = "newsflow-process"
DEFAULT_INTERVAL_S = 900
PROCESSES = ("worker", "server")  # stop order: the worker first, so it can report its runs
# Quiet, offline-friendly Prefect defaults for every process we start (the caller may override).
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "60",
    "PREFECT_UI_ENABLED": "true",
}


class ServerError(RuntimeError):
    """A step of bringing the server side up failed; the message says which and where the log is."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """What ``up`` starts and where it keeps its PID files and logs."""

    project_dir: Path
    state_dir: Path
    host: str = "127.0.0.1"
    port: int = 4200
    pool: str = POOL
    interval_s: int | None = None
    # Extra environment for the worker and the flow runs it starts (NEWSFLOW_* settings).
    worker_env: Mapping[str, str] = field(default_factory=dict)
    startup_timeout_s: float = 90.0

    @property
    def api_url(self) -> str:
        """The Prefect API address that every process we start is pointed at."""
        return f"http://{self.host}:{self.port}/api"

    @property
    def ui_url(self) -> str:
        """The Prefect UI address."""
        return f"http://{self.host}:{self.port}"


def deploy_values() -> dict[str, Any]:
    """prefect.yaml build step: values resolved once, at deploy time.

    ``project_dir``: NEWSFLOW_PROJECT_DIR, else the directory the deploy runs in.
    ``pipeline_interval_s``: NEWSFLOW_SCHEDULE_INTERVAL_S, else every 15 minutes.
    """
    project = os.environ.get("NEWSFLOW_PROJECT_DIR") or os.getcwd()
    raw = os.environ.get("NEWSFLOW_SCHEDULE_INTERVAL_S") or str(DEFAULT_INTERVAL_S)
    interval = int(raw)
    if interval < 1:
        raise ValueError(f"NEWSFLOW_SCHEDULE_INTERVAL_S must be positive, not {raw!r}")
    return {"project_dir": str(Path(project).resolve()), "pipeline_interval_s": interval}


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (for tests and a second instance)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def prefect_env(api_url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for Prefect CLI processes talking to ``api_url``."""
    env = {**PREFECT_DEFAULTS, **os.environ, "PREFECT_API_URL": api_url, **(extra or {})}
    env.pop("PREFECT_API_KEY", None)  # a local server needs none; never send a cloud key to it
    return env


def up(cfg: ServerConfig) -> dict[str, Any]:
    """Start server, pool, deployments and worker; return the addresses and PIDs.

    A process already running from an earlier ``up`` (its PID file alive) is kept, so ``up`` can
    be repeated to redeploy.
    """
    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    env = prefect_env(cfg.api_url)
    server_pid = running_pid(cfg.state_dir, "server")
    if server_pid is None:
        server_pid = _spawn(cfg, "server", [
            _prefect(), "server", "start", "--host", cfg.host, "--port", str(cfg.port)], env)
    wait_healthy(cfg.api_url, cfg.startup_timeout_s, log_file=cfg.state_dir / "server.log")
    _run(cfg, "work-pool", [_prefect(), "work-pool", "create", cfg.pool, "--type", "process",
                            "--overwrite"], env)
    deploy_env = dict(env, NEWSFLOW_PROJECT_DIR=str(cfg.project_dir.resolve()))
    if cfg.interval_s is not None:
        deploy_env["NEWSFLOW_SCHEDULE_INTERVAL_S"] = str(cfg.interval_s)
    _run(cfg, "deploy", [_prefect(), "--no-prompt", "deploy", "--all",
                         "--prefect-file", str(cfg.project_dir / "prefect.yaml")], deploy_env)
    worker_pid = running_pid(cfg.state_dir, "worker")
    if worker_pid is None:
        worker_env = {k: v for k, v in env.items()
                      if k not in {"NEWSFLOW_PROJECT_DIR", "NEWSFLOW_SCHEDULE_INTERVAL_S"}}
        worker_env.update(cfg.worker_env)
        worker_pid = _spawn(cfg, "worker", [
            _prefect(), "worker", "start", "--pool", cfg.pool, "--type", "process"], worker_env)
    info = {"api_url": cfg.api_url, "ui_url": cfg.ui_url, "server_pid": server_pid,
            "worker_pid": worker_pid, "pool": cfg.pool, "state_dir": str(cfg.state_dir),
            "started_at": datetime.now(UTC).isoformat()}
    (cfg.state_dir / "server.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
    return info


def down(state_dir: Path, *, grace_s: float = 20.0) -> dict[str, list[int]]:
    """Stop what ``up`` started (worker, then server), whole process trees; return the PIDs."""
    stopped: dict[str, list[int]] = {}
    for name in PROCESSES:
        pid = running_pid(state_dir, name)
        stopped[name] = stop_tree(pid, grace_s=grace_s) if pid is not None else []
        (state_dir / f"{name}.pid").unlink(missing_ok=True)
    (state_dir / "server.json").unlink(missing_ok=True)
    return stopped


def stop_tree(pid: int, *, grace_s: float = 20.0) -> list[int]:
    """SIGTERM a process and its descendants, a second SIGTERM after a pause (a Prefect worker
    stops its loop on the first and exits on the second), then SIGKILL what is left."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
    pids = [p.pid for p in procs]
    deadline = time.monotonic() + grace_s
    for attempt in range(2):
        for p in procs:
            _signal(p, signal.SIGTERM)
        wait = min(grace_s / 2, max(0.0, deadline - time.monotonic())) if attempt == 0 else \
            max(0.0, deadline - time.monotonic())
        _, alive = psutil.wait_procs(procs, timeout=wait)
        # Children started after the first look (a flow run, uvicorn) are caught on the next pass.
        procs = _with_children(alive)
        if not procs:
            return pids
    for p in procs:
        log.warning("pid %s did not stop on SIGTERM; killing it", p.pid)
        _signal(p, signal.SIGKILL)
    psutil.wait_procs(procs, timeout=5)
    return pids + [p.pid for p in procs if p.pid not in pids]


def status(state_dir: Path) -> dict[str, Any]:
    """What ``up`` left running: PIDs alive, addresses, and whether the API answers."""
    info: dict[str, Any] = {}
    path = state_dir / "server.json"
    if path.exists():
        info = json.loads(path.read_text(encoding="utf-8"))
    for name in PROCESSES:
        info[f"{name}_running"] = running_pid(state_dir, name) is not None
    api = info.get("api_url")
    info["healthy"] = bool(api) and is_healthy(str(api))
    return info


def running_pid(state_dir: Path, name: str) -> int | None:
    """The PID in ``<state_dir>/<name>.pid`` if that process still runs (and is ours)."""
    path = state_dir / f"{name}.pid"
    try:
        pid, created = path.read_text(encoding="utf-8").split()
        proc = psutil.Process(int(pid))
        # A recycled PID belongs to another process: the start time tells them apart.
        if abs(proc.create_time() - float(created)) > 1.0 or proc.status() == psutil.STATUS_ZOMBIE:
            return None
    except (FileNotFoundError, ValueError, psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return int(pid)


def is_healthy(api_url: str) -> bool:
    """Whether the Prefect API at ``api_url`` answers its health check."""
    try:
        return httpx.get(f"{api_url}/health", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def wait_healthy(api_url: str, timeout_s: float, *, log_file: Path | None = None) -> None:
    """Wait until the API answers; raise ``ServerError`` (naming the log) after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if is_healthy(api_url):
            return
        time.sleep(0.5)
    raise ServerError(f"Prefect API at {api_url} not healthy after {timeout_s:.0f}s"
                      + (f"; see {log_file}" if log_file else ""))


def _prefect() -> str:
    # The prefect entry point of the interpreter we run in, not whatever is first on PATH.
    candidate = Path(sys.executable).with_name("prefect")
    return str(candidate) if candidate.exists() else "prefect"


def _spawn(cfg: ServerConfig, name: str, argv: list[str], env: Mapping[str, str]) -> int:
    log_path = cfg.state_dir / f"{name}.log"
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(argv, cwd=cfg.project_dir, env=dict(env), stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    created = psutil.Process(proc.pid).create_time()
    (cfg.state_dir / f"{name}.pid").write_text(f"{proc.pid} {created}", encoding="utf-8")
    log.info("started %s (pid %s, log %s)", name, proc.pid, log_path)
    return proc.pid


def _run(cfg: ServerConfig, name: str, argv: list[str], env: Mapping[str, str]) -> None:
    log_path = cfg.state_dir / f"{name}.log"
    with open(log_path, "wb") as out:
        done = subprocess.run(argv, cwd=cfg.project_dir, env=dict(env), stdout=out,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              timeout=cfg.startup_timeout_s * 2, check=False)
    if done.returncode != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise ServerError(f"{' '.join(argv[1:4])} failed (exit {done.returncode}); "
                          f"log {log_path}:\n{tail}")


def _signal(proc: psutil.Process, sig: int) -> None:
    with contextlib.suppress(psutil.NoSuchProcess, ProcessLookupError):
        proc.send_signal(sig)


def _with_children(procs: list[psutil.Process]) -> list[psutil.Process]:
    found: dict[int, psutil.Process] = {}
    for p in procs:
        try:
            for q in [p, *p.children(recursive=True)]:
                found[q.pid] = q
        except psutil.NoSuchProcess:
            continue
    return [p for p in found.values() if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def flow_runs(api_url: str, *, upcoming: bool, limit: int = 10) -> list[dict[str, Any]]:
    """The latest finished-or-running flow runs, or the next scheduled ones, from the API.

    Each row: deployment, run name, state, and start (expected start for scheduled runs).
    """
    scheduled = {"type": {"any_": ["SCHEDULED"]}}
    body: dict[str, Any] = {
        "limit": limit,
        "sort": "EXPECTED_START_TIME_ASC" if upcoming else "START_TIME_DESC",
        "flow_runs": {"state": scheduled} if upcoming else
        {"state": {"type": {"not_any_": ["SCHEDULED"]}}},
    }
    with httpx.Client(base_url=api_url, timeout=10.0) as client:
        runs = client.post("/flow_runs/filter", json=body).raise_for_status().json()
        ids = sorted({r["deployment_id"] for r in runs if r.get("deployment_id")})
        names: dict[str, str] = {}
        if ids:
            deployments = client.post("/deployments/filter", json={
                "deployments": {"id": {"any_": ids}}}).raise_for_status().json()
            names = {d["id"]: d["name"] for d in deployments}
    return [{
        "deployment": names.get(r.get("deployment_id") or "", "-"),
        "run": r["name"],
        "state": (r.get("state") or {}).get("name") or r.get("state_type"),
        "start": r.get("expected_start_time") if upcoming else
        (r.get("start_time") or r.get("expected_start_time")),
        "id": r["id"],
    } for r in runs]
