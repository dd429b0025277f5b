"""Date ranges are validated at the edge (issue 18): every command that takes --since/--until
refuses a reversed range, a range longer than NEWSFLOW_MAX_RANGE_DAYS and the calendar's ends
(9999-12-31, 0001-01-01) with one line and exit 2, before any work and without a traceback."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from warehouse.store import Store

RANGE_COMMANDS = {
    "backfill": ["backfill", "--source", "raw"],
    "rebuild": ["rebuild"],
    "export-warc": ["export-warc", "--out", "{tmp}/out.warc.gz"],
}
TOMORROW_PLUS_2 = (datetime.now(UTC) + timedelta(days=2)).date()
CASES = {
    "the calendar's ends": ("0001-01-01", "9999-12-31", "bad input: --since 0001-01-01 is before"),
    "the last day": ("2024-03-01", "9999-12-31", "bad input: --until 9999-12-31 is in the future"),
    "reversed": ("2024-03-02", "2024-03-01", "bad input: --since 2024-03-02 is after --until"),
    "too long": ("1990-01-01", "2024-03-01", "bad input: 1990-01-01 to 2024-03-01 is 12,479 days"),
    "after tomorrow": ("2024-03-01", str(TOMORROW_PLUS_2 + timedelta(days=1)),
                       "bad input: --until"),
}


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.startswith("NEWSFLOW_")]:
        monkeypatch.delenv(name)
    db = tmp_path / "store.duckdb"
    Store.open(db).close()
    return {"db": str(db), "tmp": str(tmp_path)}


@pytest.mark.parametrize("command", RANGE_COMMANDS, ids=RANGE_COMMANDS.keys())
@pytest.mark.parametrize("case", CASES, ids=CASES.keys())
def test_an_out_of_range_date_is_refused_in_one_line_with_exit_2(
        command: str, case: str, store: dict[str, str]) -> None:
    since, until, starts = CASES[case]
    before = Path(store["db"]).stat().st_mtime_ns
    args = [a.format(**store) for a in RANGE_COMMANDS[command]]
    result = CliRunner().invoke(app, [*args, "--since", since, "--until", until,
                                      "--db", store["db"]])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(starts), lines
    assert "Traceback" not in result.output
    assert Path(store["db"]).stat().st_mtime_ns == before  # refused before the store was opened
    assert not (Path(store["tmp"]) / "out.warc.gz").exists()


def test_the_longest_range_is_a_setting(store: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["rebuild", "--since", "2024-03-01", "--until", "2024-03-31",
                                      "--db", store["db"]], env={"NEWSFLOW_MAX_RANGE_DAYS": "7"})
    assert result.exit_code == 2
    assert "is 31 days, more than the 7 one command takes" in result.stderr
    assert "NEWSFLOW_MAX_RANGE_DAYS" in result.stderr
