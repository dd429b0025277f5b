"""`newsflow run` on a Prefect server that is already running pays no server start: with
PREFECT_API_URL answering, or with the server `newsflow server up` left running, the runner
uses it and never starts its temporary server (flows/cli/runner.py)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from flows.cli import prefect_server, runner
from flows.settings import Settings
from tests.localhttp import serving


class StartedServer(Exception):
    """Raised instead of starting a temporary server."""


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/api/health" else 404)
        self.send_header("Content-Length", "4")
        self.end_headers()
        self.wfile.write(b"true")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def api() -> Iterator[str]:
    """An API on 127.0.0.1 that answers Prefect's health check."""
    with serving(Health, "/api") as url:
        yield url


@pytest.fixture()
def no_temporary_server(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    started: list[str] = []

    def start(self: prefect_server.TemporaryServer) -> prefect_server.TemporaryServer:
        started.append(self.api_url)
        raise StartedServer(self.api_url)

    monkeypatch.setattr(prefect_server.TemporaryServer, "start", start)
    return started


def _state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api_url: str | None) -> Path:
    from flows.cli import server as cli_server

    state = tmp_path / "server"
    state.mkdir()
    if api_url:
        (state / "server.json").write_text(json.dumps({"api_url": api_url}), encoding="utf-8")
    monkeypatch.setattr(cli_server, "DEFAULT_STATE", state)
    return state


def test_an_answering_prefect_api_url_is_used_without_starting_a_server(
        tmp_path: Path, api: str, monkeypatch: pytest.MonkeyPatch,
        no_temporary_server: list[str]) -> None:
    monkeypatch.setenv("PREFECT_API_URL", api)
    _state(tmp_path, monkeypatch, None)
    said: list[str] = []
    with runner.prefect_api(Settings(db_path=tmp_path / "n.duckdb"), say=said.append) as used:
        assert used == api
    assert no_temporary_server == [] and said == []


def test_the_server_newsflow_server_up_left_running_is_used(
        tmp_path: Path, api: str, monkeypatch: pytest.MonkeyPatch,
        no_temporary_server: list[str]) -> None:
    from prefect.settings import PREFECT_API_URL

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    _state(tmp_path, monkeypatch, api)
    said: list[str] = []
    with runner.prefect_api(Settings(db_path=tmp_path / "n.duckdb"), say=said.append) as used:
        assert used == api
        assert PREFECT_API_URL.value() == api  # the flow runs talk to it
    assert no_temporary_server == []
    assert said == [f"Using the Prefect server `newsflow server up` started ({api})"]
    assert "PREFECT_API_URL" not in os.environ


def test_without_an_answering_server_a_temporary_one_is_started(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_temporary_server: list[str]) -> None:
    """The other side: a server.json whose API does not answer is not used."""
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        gone = f"http://127.0.0.1:{sock.getsockname()[1]}/api"
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    _state(tmp_path, monkeypatch, gone)
    assert runner.running_server_api() is None
    with pytest.raises(StartedServer), \
            runner.prefect_api(Settings(db_path=tmp_path / "n.duckdb"), say=lambda _: None):
        pass
    assert len(no_temporary_server) == 1
