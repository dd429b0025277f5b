"""How ``newsflow run`` runs the pipeline: on a Prefect API that answers, or without Prefect.

- ``PREFECT_API_URL`` set: that server, if it answers within 15 s (``NEWSFLOW_PREFECT_WAIT_S``
  if lower);
- else the server ``newsflow server up`` started (its ``data/server/server.json``), if its API
  answers now: a run on a machine that keeps a server pays no server start;
- else a temporary Prefect server, this process's child (``prefect_server.TemporaryServer``:
  its own session, dies with the run), waited for up to ``NEWSFLOW_PREFECT_WAIT_S``;
- if neither answers, the stages run as plain functions, and the ledger (the run row's
  parameters, ``orchestrator``) and the summary say so. Start-up never fails a run.

The run's status becomes the exit status (``run_outcome``): 0 for ok and partial, 69 for
failed, 65 for validation_failed, 75 for skipped_locked; a Ctrl-C (SIGINT) or SIGTERM ends the
run as ``cancelled`` with one line and exit 130.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flows.cli.errors import quiet_prefect_tracebacks
from flows.cli.prefect_server import TemporaryServer, is_healthy
from flows.settings import Settings, settings_for
from transforms.errors import (
    RunCancelledError,
    RunFailedError,
    StoreBusyError,
    ValidationFailedError,
)

log = logging.getLogger(__name__)
PREFECT_API_WAIT_S = 15.0  # for a PREFECT_API_URL someone set: it should already be up


@contextmanager
def prefect_api(settings: Settings, *, say: Any = print) -> Iterator[str | None]:
    """The Prefect API this run uses (None: none answered; the reason was said)."""
    import time

    given = os.environ.get("PREFECT_API_URL")
    if not given and (running := running_server_api()) is not None:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        say(f"Using the Prefect server `newsflow server up` started ({running})")
        with temporary_settings(updates={PREFECT_API_URL: running}):
            yield running
        return
    if given:
        deadline = time.monotonic() + min(PREFECT_API_WAIT_S, settings.prefect_wait_s)
        while not is_healthy(given):
            if time.monotonic() >= deadline:
                say(f"Prefect API {given} does not answer: running the stages without Prefect")
                yield None
                return
            time.sleep(0.5)
        yield given
        return
    from prefect.settings import PREFECT_API_URL, temporary_settings

    server = TemporaryServer(log_file=_server_log(settings)).start()
    try:
        say(f"Starting a temporary Prefect server on {server.api_url} "
            f"(waiting up to {settings.prefect_wait_s:.0f} s)")
        if not server.wait(settings.prefect_wait_s):
            say(f"The temporary Prefect server did not answer within "
                f"{settings.prefect_wait_s:.0f} s: running the stages without Prefect")
            server.stop(grace_s=2.0)
            yield None
            return
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            try:
                yield server.api_url
            except BaseException:  # an interrupted run: end within seconds, ledger written
                _drain_prefect_workers(timeout_s=1.0)
                server.stop(grace_s=1.0)
                raise
            _drain_prefect_workers()
    finally:
        server.stop()


def running_server_api(state_dir: Path | None = None) -> str | None:
    """The API of the server ``newsflow server up`` left running (``state_dir``, by default
    its own), if it answers its health check now; else None."""
    from flows.cli.prefect_server import status
    from flows.cli.server import DEFAULT_STATE

    info = status((state_dir or DEFAULT_STATE).resolve())
    return str(info["api_url"]) if info.get("healthy") else None


def _server_log(settings: Settings) -> Path | None:
    folder = settings.db_path.parent
    return folder / "prefect-server.log" if folder.is_dir() else None


def _drain_prefect_workers(timeout_s: float = 5.0) -> None:
    """Send the logs and events still queued before the server goes (else they are retried
    at exit against a server that is gone)."""
    try:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        for worker in (APILogWorker, EventsWorker):
            worker.drain_all(timeout=timeout_s)
    except Exception as exc:
        log.debug("could not drain Prefect's workers: %s", exc)


def run(settings: Settings, *, feeds_file: Path, only_due: bool, say: Any = print
        ) -> dict[str, Any]:
    """Run the pipeline once (see module); a Ctrl-C becomes ``RunCancelledError``."""
    from prefect.exceptions import TerminationSignal

    from flows import runs
    from flows.pipeline import pipeline, run_pipeline
    from flows.runs import result_of

    runs.LAST_RUN.clear()
    try:
        with prefect_api(settings, say=say) as api:
            if api is None:
                plain = settings_for(db_path=settings.db_path, feeds_file=feeds_file)
                return run_pipeline(plain, run_id=str(uuid.uuid4()), only_due=only_due,
                                    orchestrator="none: no Prefect API answered")
            quiet_prefect_tracebacks()
            try:
                state = pipeline(db_path=str(settings.db_path), feeds_file=str(feeds_file),
                                 only_due=only_due, return_state=True)
            except (KeyboardInterrupt, TerminationSignal):
                mark_cancelled(api, runs.LAST_RUN.get("run_id"))
                raise
            return result_of(state)
    except (KeyboardInterrupt, TerminationSignal):  # Ctrl-C; SIGTERM inside a flow run
        run_id = runs.LAST_RUN.pop("run_id", None)
        if run_id is None:
            raise RunCancelledError("interrupted before the run started; nothing was written",
                                    advice="") from None
        raise RunCancelledError(
            f"run {run_id} interrupted; recorded as cancelled in the ledger",
            advice="`newsflow status` shows how far it got; the next run resumes") from None


def mark_cancelled(api_url: str, run_id: str | None) -> None:
    """Set an interrupted flow run to Cancelled (Prefect's engine calls it Crashed): one
    bounded request, never a reason to hang an interrupted command."""
    if not run_id:
        return
    import httpx

    try:
        httpx.post(f"{api_url}/flow_runs/{run_id}/set_state", timeout=3.0, json={
            "state": {"type": "CANCELLED", "name": "Cancelled",
                      "message": "interrupted (Ctrl-C or SIGTERM); the ledger says cancelled"},
            "force": True})
    except (httpx.HTTPError, KeyboardInterrupt) as exc:
        log.debug("could not mark flow run %s cancelled: %r", run_id, exc)


def run_outcome(result: dict[str, Any]) -> None:
    """Raise the error whose exit status matches how the run ended (nothing for ok, partial)."""
    status = result.get("status")
    where = "`newsflow status` and `newsflow quality` show where"
    if status == "skipped_locked":
        raise StoreBusyError(result.get("message") or "the store is held by another writer")
    if status == "failed":
        raise RunFailedError(f"run {result['run_id']} failed", advice=where)
    if status == "validation_failed":
        raise ValidationFailedError(
            f"run {result['run_id']}: blocking checks failed and their rows were quarantined",
            advice=where)
    if status == "cancelled":
        raise RunCancelledError(f"run {result['run_id']} was cancelled")
