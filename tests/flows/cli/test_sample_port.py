"""`make run` (`newsflow run --sample`) works when the sample's usual port is taken: the sample is
served on a free port instead, and the run completes."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

import flows.cli as cli


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_run_sample_with_its_port_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.startswith("NEWSFLOW_")]:
        monkeypatch.delenv(name)
    with socket.socket() as holder:  # stands in for whatever holds 8765 on a real machine
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        monkeypatch.setattr(cli, "SAMPLE_PORT", taken)
        db = tmp_path / "data" / "newsflow.duckdb"
        result = CliRunner().invoke(cli.app, ["run", "--sample", "--articles", "6", "--db",
                                              str(db)], env={"NEWSFLOW_RUN_CHECKS": "false"})
    out = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert f"Port {taken} is taken: serving the sample on http://127.0.0.1:" in out
    assert "Traceback" not in result.output and db.is_file()
