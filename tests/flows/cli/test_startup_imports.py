"""Commands that run no flow import neither Prefect nor Great Expectations nor pandas (issue 13):
``--help`` of the app and of every command, and the reading and housekeeping commands run for
real against a small published store.

The commands run in a fresh interpreter through the console script's entry point
(``flows.cli.main``), one after another; after each, the interpreter's ``sys.modules`` says
which of the heavy packages had been imported by then, so the command that first pulls one in
is named. The slow variant runs each command in a fresh interpreter of its own.

One exception, outside newsflow: DuckDB 1.5.5's Python client imports pandas itself the first
time it binds a non-NULL query parameter or registers an Arrow table (its checks for pandas
objects). The reading commands write their parameters as literals (warehouse.rows.inline) and
so import no pandas at all; ``reindex``, which registers the batch's keys as an Arrow table to
re-index them, is allowed pandas only through that DuckDB call: the probe records the line
that first imported each package, and it must be a DuckDB call, never an ``import`` of ours.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HEAVY = ("prefect", "great_expectations", "pandas")
ROOT = Path(__file__).resolve().parents[3]

# Runs each argv through flows.cli.main in this interpreter; prints one JSON line per command:
# its exit code and the heavy packages imported by then.
PROBE = r"""
import contextlib, io, json, linecache, sys
HEAVY = HEAVY_NAMES
FIRST = {}

class Watch:
    # records the line outside the import system that first imports each heavy package
    def find_spec(self, name, path=None, target=None):
        if name in HEAVY and name not in FIRST:
            frame = sys._getframe(1)
            while frame is not None and (frame.f_code.co_filename.startswith("<frozen")
                                         or "importlib" in frame.f_code.co_filename):
                frame = frame.f_back
            where = (frame.f_code.co_filename, frame.f_lineno) if frame else ("?", 0)
            FIRST[name] = [f"{where[0]}:{where[1]}", linecache.getline(*where).strip()]
        return None

sys.meta_path.insert(0, Watch())
from flows.cli import main
for argv in json.loads(sys.argv[1]):
    sys.argv = ["newsflow", *argv]
    out = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    print(json.dumps({"argv": argv, "code": code, "output": out.getvalue()[:20000],
                      "heavy": [m for m in HEAVY if m in sys.modules],
                      "first": {m: FIRST[m] for m in HEAVY if m in sys.modules and m in FIRST}}),
          file=sys.__stdout__)
""".replace("HEAVY_NAMES", repr(HEAVY))


def probe(commands: list[list[str]], cwd: Path) -> list[dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120"}
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(commands)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def help_commands() -> list[list[str]]:
    """``--help`` of the app, of each group and of each command in it."""
    import typer.main

    from flows.cli import app

    group = typer.main.get_group(app)
    found = [["--help"]]
    for name, command in sorted(group.commands.items()):
        found.append([name, "--help"])
        for sub in sorted(getattr(command, "commands", {}) or {}):
            found.append([name, sub, "--help"])
    return found


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small store with articles, feeds, stories and a search index, and its analyst copy."""
    from tests.flows.test_analyst_examples import handmade_store

    folder = tmp_path_factory.mktemp("startup")
    db = handmade_store(folder / "news.duckdb")
    (folder / "feeds.yaml").write_text("feeds:\n  - url: https://one.example/feed\n"
                                       "    name: One\n", encoding="utf-8")
    (folder / "more.opml").write_text(
        '<opml version="2.0"><body><outline type="rss" text="Two" '
        'xmlUrl="https://two.example/feed"/></body></opml>', encoding="utf-8")
    (folder / "page.html").write_text(
        "<html><head><title>A page</title></head><body><article><h1>A page</h1>"
        + "<p>Some words of an article body, long enough to extract.</p>" * 20
        + "</article></body></html>", encoding="utf-8")
    return db


def reading_commands(db: Path) -> list[tuple[list[str], int]]:
    """(argv, expected exit code) for the commands that run no flow, on ``db``."""
    d = ["--db", str(db)]
    folder = db.parent
    return [
        (["status", *d], 0),
        (["status", *d, "--store"], 0),
        (["sql", "SELECT count(*) AS n FROM analytics.articles", *d], 0),
        (["sql", "SELECT * FROM analytics.articles LIMIT 3", *d, "--format", "csv"], 0),
        (["sql", "SELECT * FROM analytics.articles LIMIT 3", *d, "--format", "json"], 0),
        (["search", "election results", *d], 0),
        (["search", "election results", *d, "--format", "json"], 0),
        (["stories", *d], 0),
        (["stories", *d, "--format", "csv"], 0),
        (["feeds", "list", *d], 0),
        (["feeds", "export", "--from", str(folder / "feeds.yaml")], 0),
        (["feeds", "import", str(folder / "more.opml"), "--into", str(folder / "feeds.yaml")], 0),
        (["quality", *d], 0),
        (["export", "csv", *d, "--out", str(folder / "articles.csv")], 0),
        (["extract", str(folder / "page.html"), "--format", "text"], 0),
        (["store", "recover", *d], 0),
        (["migrate", *d], 0),
        (["server", "status", "--state-dir", str(folder / "no-server")], 0),
        (["reindex", *d], 0),  # last: DuckDB imports pandas when it registers an Arrow table
    ]


# commands where DuckDB itself may import pandas (registering an Arrow table), not our code
DUCKDB_IMPORTS_PANDAS = {"reindex"}


def _assert_light(results: list[dict[str, Any]]) -> None:
    for r in results:
        heavy = set(r["heavy"])
        if r["argv"][0] in DUCKDB_IMPORTS_PANDAS and r["argv"][-1] != "--help" \
                and "pandas" in heavy:
            where, line = r["first"]["pandas"]
            assert "/site-packages/" not in where and ".register(" in line, \
                (r["argv"], where, line)
            heavy.discard("pandas")
        assert not heavy, f"first command that imported {sorted(heavy)}: {r['argv']} {r['first']}"


def test_help_of_every_command_imports_no_heavy_package(tmp_path: Path) -> None:
    commands = help_commands()
    assert ["run", "--help"] in commands and ["feeds", "list", "--help"] in commands
    results = probe(commands, tmp_path)
    assert [r["argv"] for r in results] == commands
    assert all(r["code"] == 0 for r in results), [r for r in results if r["code"] != 0][:1]
    assert all("Usage" in str(r["output"]) for r in results)
    _assert_light(results)


def test_commands_that_run_no_flow_import_no_heavy_package(published: Path) -> None:
    commands = reading_commands(published)
    results = probe([argv for argv, _ in commands], published.parent)
    codes = [(r["argv"], r["code"], r["output"]) for r in results]
    assert [c for _, c, _ in codes] == [code for _, code in commands], codes
    _assert_light(results)
    output = {" ".join(map(str, r["argv"])): str(r["output"]) for r in results}
    d = f"--db {published}"
    assert "analytics.articles" in output[f"status {d}"]  # the rows per view were shown
    assert "Election results" in output[f"search election results {d}"]
    assert output[f"sql SELECT count(*) AS n FROM analytics.articles {d}"].count("│") >= 2
    assert output[f"stories {d} --format csv"].startswith("story_id,headline,first_outlet")


def test_the_probe_sees_a_heavy_import(tmp_path: Path) -> None:
    """The check can fail: a command path that imports pandas is reported."""
    results = probe([["--help"]], tmp_path)
    assert results[0]["heavy"] == []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE.replace("from flows.cli import main",
                                             "from flows.cli import main; import pandas"),
         json.dumps([["--help"]])], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300, check=False)
    assert json.loads(done.stdout.splitlines()[-1])["heavy"] == ["pandas"]


@pytest.mark.slow
def test_each_command_in_a_fresh_interpreter_imports_no_heavy_package(published: Path) -> None:
    for argv, code in [*(([*h], 0) for h in help_commands()), *reading_commands(published)]:
        (result,) = probe([argv], published.parent)
        assert result["code"] == code, result
        _assert_light([result])
