"""Each command, given a mistake, says so in one line on stderr with its exit code: no traceback.

The mistakes: a misspelt NEWSFLOW_* variable (exit 2), a feed list that is not UTF-8 or cannot
be read (exit 2), a hostile OPML file (exit 2), a store path where no store exists (exit 2, and
none is created: only `run` and `migrate` create one), too little disk space (exit 2), another
writer holding the store (exit 75, as skipped_locked). ``test_every_command_is_covered`` keeps
the tables below in step with ``newsflow --help``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from warehouse.store import Store

ROOT = Path(__file__).resolve().parents[3]
NEWSFLOW = Path(sys.executable).with_name("newsflow")
TYPO = {"NEWSFLOW_DB_PAHT": "data/x.duckdb"}
TYPO_LINE = ("configuration error: unknown setting NEWSFLOW_DB_PAHT "
             "(did you mean NEWSFLOW_DB_PATH?)")
LATIN_1 = "feeds:\n  - url: https://café.example/feed.xml\n    name: Café\n".encode("latin-1")
DAY = ["--since", "2024-03-01", "--until", "2024-03-01"]

# Every command that reads settings, with arguments that would otherwise get it going.
COMMANDS = {
    "run": ["run", "--db", "{db}", "--feeds", "{feeds}"],
    "sql": ["sql", "SELECT 1", "--db", "{db}"],
    "status": ["status", "--db", "{db}"],
    "rebuild": ["rebuild", "--db", "{db}"],
    "extract": ["extract", "{page}"],
    "quality": ["quality", "--db", "{db}"],
    "backfill": ["backfill", "--source", "sitemap", *DAY, "--db", "{db}"],
    "export-warc": ["export-warc", *DAY, "--db", "{db}", "--out", "{tmp}/out.warc.gz"],
    "search": ["search", "harbour", "--db", "{db}"],
    "export": ["export", "csv", "--db", "{db}", "--out", "{tmp}/a.csv"],
    "stories": ["stories", "--db", "{db}"],
    "reindex": ["reindex", "--db", "{db}"],
    "publish": ["publish", "--verify", "--db", "{db}"],
    "feeds list": ["feeds", "list", "--db", "{db}"],
    "feeds import": ["feeds", "import", "{opml}", "--into", "{feeds}"],
    "feeds export": ["feeds", "export", "--from", "{feeds}"],
    "server up": ["server", "up", "--port", "0", "--state-dir", "{tmp}/state"],
    "migrate": ["migrate", "--db", "{db}"],
    "store recover": ["store", "recover", "--db", "{db}"],
    "server alerts": ["server", "alerts"],
}
# Commands that read no NEWSFLOW_* setting (only their own --state-dir): nothing to misspell.
NO_SETTINGS = {"server down", "server status"}
# Every command that reads a store: each refuses a path where none exists.
STORE_READERS = {
    "store recover": ["store", "recover", "--db", "{db}"],
    "sql": ["sql", "SELECT 1", "--db", "{db}"],
    "sql --store": ["sql", "SELECT 1", "--store", "--db", "{db}"],
    "status": ["status", "--db", "{db}"],
    "rebuild": ["rebuild", "--db", "{db}"],
    "quality": ["quality", "--db", "{db}"],
    "backfill raw": ["backfill", "--source", "raw", *DAY, "--db", "{db}"],
    "backfill sitemap": ["backfill", "--source", "sitemap", *DAY, "--from",
                         "https://a.example/", "--db", "{db}"],
    "backfill warc": ["backfill", "--source", "warc", *DAY, "--from", "{page}", "--db", "{db}"],
    "export-warc": ["export-warc", *DAY, "--db", "{db}", "--out", "{tmp}/out.warc.gz"],
    "search": ["search", "harbour", "--db", "{db}"],
    "export": ["export", "csv", "--db", "{db}", "--out", "{tmp}/a.csv"],
    "stories": ["stories", "--db", "{db}"],
    "reindex": ["reindex", "--db", "{db}"],
    "publish": ["publish", "--db", "{db}"],
    "feeds list": ["feeds", "list", "--db", "{db}"],
}
# Every command that writes to an existing store: each refuses to start on a full disk.
STORE_WRITERS = {
    "rebuild": ["rebuild", "--db", "{db}"],
    "reindex": ["reindex", "--db", "{db}"],
    "publish": ["publish", "--db", "{db}"],
    "backfill raw": ["backfill", "--source", "raw", *DAY, "--db", "{db}"],
    "migrate": ["migrate", "--db", "{db}"],
}
# The commands that read the feed list, and so must reject one that is not UTF-8.
FEED_LIST_READERS = {
    "run": ["run", "--db", "{db}", "--feeds", "{feeds}"],
    "backfill sitemap": ["backfill", "--source", "sitemap", *DAY, "--db", "{db}"],
    "backfill archive-feed": ["backfill", "--source", "archive-feed", *DAY, "--db", "{db}"],
    "feeds import": ["feeds", "import", "{opml}", "--into", "{feeds}"],
    "feeds export": ["feeds", "export", "--from", "{feeds}"],
}


@pytest.fixture()
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)  # no .env, and nothing written beside the checkout
    for name in [k for k in os.environ if k.startswith("NEWSFLOW_")]:
        monkeypatch.delenv(name)
    (tmp_path / "feeds.yaml").write_bytes(LATIN_1)
    (tmp_path / "page.html").write_text("<html><body><p>Hello</p></body></html>")
    (tmp_path / "more.opml").write_text(
        '<opml version="2.0"><body><outline type="rss" xmlUrl="https://a.example/f.xml"/>'
        "</body></opml>")
    return {"db": str(tmp_path / "store.duckdb"), "feeds": str(tmp_path / "feeds.yaml"),
            "page": str(tmp_path / "page.html"), "opml": str(tmp_path / "more.opml"),
            "tmp": str(tmp_path)}


def invoke(args: list[str], files: dict[str, str], env: dict[str, str] | None = None) -> object:
    return CliRunner().invoke(app, [a.format(**files) for a in args], env=env)


def assert_one_line(result: object, code: int, starts: str) -> None:
    out = result.output  # type: ignore[attr-defined]  # stdout and stderr, interleaved
    assert result.exit_code == code, out  # type: ignore[attr-defined]
    lines = result.stderr.splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith(starts), lines
    assert "Traceback" not in out


@pytest.mark.parametrize("args", COMMANDS.values(), ids=COMMANDS.keys())
def test_a_misspelt_variable_is_one_line_and_exit_2(args: list[str],
                                                    files: dict[str, str]) -> None:
    result = invoke(args, files, env=TYPO)
    assert_one_line(result, 2, TYPO_LINE)
    assert not Path(files["db"]).exists()  # refused before anything was opened


@pytest.mark.parametrize("args", FEED_LIST_READERS.values(), ids=FEED_LIST_READERS.keys())
def test_a_feed_list_that_is_not_utf8_is_one_line_and_exit_2(args: list[str],
                                                             files: dict[str, str]) -> None:
    Store.open(Path(files["db"])).close()  # the store exists: the feed list is what is wrong
    result = invoke(args, files, env={"NEWSFLOW_FEEDS_FILE": files["feeds"]})
    assert_one_line(result, 2, f"bad input: feed list {files['feeds']} is not UTF-8 text")
    assert "save it as UTF-8" in result.stderr  # type: ignore[attr-defined]
    assert Path(files["feeds"]).read_bytes() == LATIN_1  # import did not rewrite it


@pytest.mark.parametrize("args", STORE_READERS.values(), ids=STORE_READERS.keys())
def test_a_missing_store_is_one_line_and_exit_2(args: list[str], files: dict[str, str]) -> None:
    db = Path(files["tmp"]) / "mistyped" / "stroe.duckdb"
    result = invoke(args, files | {"db": str(db)})
    assert_one_line(result, 2, f"no store: no database at {db}")
    assert not db.parent.exists()  # nothing created: no store, no lock file, no folder


def test_migrate_creates_the_store_the_readers_refused(files: dict[str, str]) -> None:
    result = invoke(["migrate", "--db", "{db}"], files)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    # whitespace dropped: rich wraps a long path mid-word (the xdist workers' tmp paths are longer)
    assert f"created{files['db']}" in "".join(result.output.split())  # type: ignore[attr-defined]
    status = invoke(["status", "--db", "{db}"], files)
    assert status.exit_code == 0, status.output  # type: ignore[attr-defined]
    again = invoke(["migrate", "--db", "{db}"], files)
    assert f"migrated{files['db']}" in "".join(again.output.split())  # type: ignore[attr-defined]


@pytest.mark.parametrize("args", STORE_WRITERS.values(), ids=STORE_WRITERS.keys())
def test_low_disk_is_one_line_and_exit_2(args: list[str], files: dict[str, str]) -> None:
    Store.open(Path(files["db"])).close()
    before = Path(files["db"]).stat().st_mtime_ns
    result = invoke(args, files, env={"NEWSFLOW_MIN_FREE_MB": str(2**40)})
    assert_one_line(result, 2, "low on resources: refusing to start:")
    assert "free some space" in result.stderr  # type: ignore[attr-defined]
    assert Path(files["db"]).stat().st_mtime_ns == before


@pytest.mark.parametrize("args", FEED_LIST_READERS.values(), ids=FEED_LIST_READERS.keys())
def test_an_unreadable_feed_list_is_one_line_and_exit_2(args: list[str],
                                                        files: dict[str, str]) -> None:
    # A folder where the file should be: unreadable even for root (chmod 000 is not).
    unreadable = Path(files["tmp"]) / "folder.yaml"
    unreadable.mkdir()
    Store.open(Path(files["db"])).close()
    result = invoke(args, files | {"feeds": str(unreadable)},
                    env={"NEWSFLOW_FEEDS_FILE": str(unreadable)})
    assert_one_line(result, 2, f"bad input: feed list {unreadable}: Is a directory")


HOSTILE_OPML = {
    "nested without end": ('<opml version="2.0"><body>' + '<outline text="x">' * 5000
                           + "</outline>" * 5000 + "</body></opml>", "nests too deeply to read"),
    "entity expansion": ('<?xml version="1.0"?><!DOCTYPE o [<!ENTITY a "aaaa">'
                         '<!ENTITY b "&a;&a;&a;&a;">]><opml version="2.0"><body>'
                         '<outline type="rss" xmlUrl="https://a.example/&b;"/></body></opml>',
                         "OPML with a DOCTYPE or ENTITY declaration is refused"),
    "not XML": ("<opml><body><outline", "OPML is not well-formed XML"),
    "binary": ("\x00\xff\xfe not xml at all", "OPML"),
}


@pytest.mark.parametrize("case", HOSTILE_OPML.values(), ids=HOSTILE_OPML.keys())
@pytest.mark.parametrize("command", ["run", "feeds import"])
def test_a_hostile_opml_is_one_line_and_exit_2(command: str, case: tuple[str, str],
                                               files: dict[str, str]) -> None:
    text, says = case
    hostile = Path(files["tmp"]) / "hostile.opml"
    hostile.write_text(text, encoding="utf-8")
    (Path(files["tmp"]) / "ok.yaml").write_text("feeds: []\n", encoding="utf-8")
    if command == "run":  # the feed list itself is the OPML; refused before Prefect starts
        args, what = ["run", "--db", "{db}", "--feeds", str(hostile)], "feed list"
    else:
        args, what = ["feeds", "import", str(hostile), "--into", "{tmp}/ok.yaml"], "OPML file"
    result = invoke(args, files)
    assert_one_line(result, 2, f"bad input: {what} {hostile}")
    assert says in result.stderr  # type: ignore[attr-defined]
    assert (Path(files["tmp"]) / "ok.yaml").read_text(encoding="utf-8") == "feeds: []\n"
    assert not Path(files["db"]).exists()


def test_backfill_refuses_a_missing_warc_and_a_reversed_range(files: dict[str, str]) -> None:
    Store.open(Path(files["db"])).close()
    missing = Path(files["tmp"]) / "nope.warc.gz"
    result = invoke(["backfill", "--source", "warc", "--from", str(missing), *DAY,
                     "--db", "{db}"], files)
    assert_one_line(result, 2, f"bad input: WARC file {missing}: no such file")
    result = invoke(["backfill", "--source", "raw", "--since", "2024-03-02", "--until",
                     "2024-03-01", "--db", "{db}"], files)
    assert_one_line(result, 2, "bad input: --since 2024-03-02 is after --until 2024-03-01")


def test_a_busy_sample_port_given_by_hand_is_one_line_and_exit_2(files: dict[str, str]) -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = invoke(["run", "--sample", "--port", str(port), "--db", "{db}"], files)
    assert_one_line(result, 2, f"bad input: cannot serve the sample on 127.0.0.1:{port}")


def _leaf_commands(group: object, prefix: str = "") -> set[str]:
    import typer.main

    command = typer.main.get_command(group) if not hasattr(group, "commands") else group
    names = set()
    for name, sub in command.commands.items():  # type: ignore[attr-defined]
        full = f"{prefix}{name}"
        names |= _leaf_commands(sub, full + " ") if hasattr(sub, "commands") else {full}
    return names


def test_every_command_is_covered() -> None:
    # A new command joins COMMANDS (and the other tables where its inputs apply) to be tested.
    assert _leaf_commands(app) == set(COMMANDS) | NO_SETTINGS


def test_a_bad_date_is_one_line_and_exit_2(files: dict[str, str]) -> None:
    Store.open(Path(files["db"])).close()
    for args in (["quality", "--since", "yesterday", "--db", "{db}"],
                 ["rebuild", "--since", "2024-13-01", "--db", "{db}"],
                 ["stories", "--since", "1/3/2024", "--db", "{db}"]):
        assert_one_line(invoke(args, files), 2, "bad input: not a date")


@pytest.fixture()
def held(files: dict[str, str]) -> Iterator[str]:
    """The store's writer lock held by another process, as a running pipeline would."""
    from warehouse.lock import lock_path

    Store.open(Path(files["db"])).close()
    lock = lock_path(Path(files["db"]))
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(lock)!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(120)\n")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield files["db"]
    finally:
        holder.kill()
        holder.wait()


def test_a_held_store_is_exit_75(files: dict[str, str], held: str) -> None:
    assert_one_line(invoke(["reindex", "--db", "{db}"], files), 75,
                    "store busy: another newsflow writer holds")


def newsflow(args: list[str], cwd: str, env: dict[str, str] | None = None,
             ) -> subprocess.CompletedProcess[str]:
    """The console script, as a user runs it; flows report to the tests' Prefect server."""
    from prefect.settings import PREFECT_API_URL

    base = {k: v for k, v in os.environ.items() if not k.startswith("NEWSFLOW_")}
    if PREFECT_API_URL.value():  # inside prefect_harness: no temporary server per run
        base["PREFECT_API_URL"] = str(PREFECT_API_URL.value())
    return subprocess.run([str(NEWSFLOW), *args], cwd=cwd, env=base | (env or {}),
                          capture_output=True, text=True, timeout=300)


def assert_ends_with_one_line(done: subprocess.CompletedProcess[str], code: int,
                              starts: str) -> None:
    """For ``run``: Prefect logs the flow run on stderr too; ours is the last line, alone."""
    assert done.returncode == code, done.stderr
    lines = done.stderr.splitlines()
    assert lines and lines[-1].startswith(starts), lines
    assert sum(line.startswith(starts) for line in lines) == 1
    assert "Traceback" not in done.stderr + done.stdout


@pytest.mark.usefixtures("prefect_harness")
def test_run_on_a_held_store_is_skipped_locked_and_exit_75(files: dict[str, str],
                                                           held: str) -> None:
    (Path(files["tmp"]) / "ok.yaml").write_text("feeds: []\n", encoding="utf-8")
    done = newsflow(["run", "--db", held, "--feeds", "ok.yaml"], files["tmp"])
    assert_ends_with_one_line(done, 75, "store busy: another newsflow writer holds")
    assert "skipped_locked" in done.stdout  # the summary still says what happened


@pytest.mark.usefixtures("prefect_harness")
def test_run_on_low_disk_is_one_line_and_exit_2(files: dict[str, str]) -> None:
    (Path(files["tmp"]) / "ok.yaml").write_text("feeds: []\n", encoding="utf-8")
    done = newsflow(["run", "--db", files["db"], "--feeds", "ok.yaml"], files["tmp"],
                    env={"NEWSFLOW_MIN_FREE_MB": str(2**40)})
    assert_ends_with_one_line(done, 2, "low on resources: refusing to start:")
    assert "free some space" in done.stderr.splitlines()[-1]
    assert not Path(files["db"]).exists()


@pytest.mark.parametrize("command", [["feeds", "list"], ["quality"]])
def test_the_console_script_prints_no_traceback(command: list[str], tmp_path: Path) -> None:
    # These two printed a traceback for a misspelt variable before errors had one place.
    done = newsflow(command, str(tmp_path), env=TYPO)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith(TYPO_LINE) and done.stdout == ""


def test_an_opml_nested_without_end_is_one_line_and_exit_2(files: dict[str, str]) -> None:
    deep = Path(files["tmp"]) / "deep.opml"
    depth = 3 * sys.getrecursionlimit()
    deep.write_text('<opml version="2.0"><body>' + '<outline text="x">' * depth
                    + '<outline type="rss" xmlUrl="https://a.example/f.xml"/>'
                    + "</outline>" * depth + "</body></opml>", encoding="utf-8")
    (Path(files["tmp"]) / "ok.yaml").write_text("feeds: []\n", encoding="utf-8")
    result = invoke(["feeds", "import", str(deep), "--into", "{tmp}/ok.yaml"], files)
    assert_one_line(result, 2, f"bad input: OPML file {deep} nests too deeply to read")
    assert (Path(files["tmp"]) / "ok.yaml").read_text(encoding="utf-8") == "feeds: []\n"
