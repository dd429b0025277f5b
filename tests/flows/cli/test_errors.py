"""flows/cli/errors.py: every error becomes one line and the exit code of its kind."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest
import typer
from pydantic import BaseModel, ValidationError
from typer.testing import CliRunner

from flows.cli import app
from flows.cli.errors import describe, input_file, quiet_prefect_tracebacks, reports_errors
from flows.cli.prefect_server import ServerError
from transforms.dates import InvalidDate
from transforms.errors import (
    ConfigError,
    IncompleteError,
    InputError,
    MissingStoreError,
    NetworkError,
    NewsflowError,
    NothingFoundError,
    QueryError,
    ResourceError,
    RunCancelledError,
    RunFailedError,
    ServiceError,
    StoreBusyError,
    StoreDamagedError,
    ValidationFailedError,
)
from warehouse.health import LowDiskSpaceError, WalRecoveryError
from warehouse.lock import LockedError
from web.decode import DecodeError, UnsupportedEncoding
from web.guard import BlockedAddress, DeadlineExceeded, ResolutionFailed
from web.warc import WarcReadError
from workers.extraction import PoolStalledError

KIND_CODES = [
    (ConfigError, 2), (InputError, 2), (MissingStoreError, 2), (ResourceError, 2),
    (StoreBusyError, 75), (StoreDamagedError, 1), (NetworkError, 1), (ServiceError, 1),
    (QueryError, 1), (NothingFoundError, 1), (IncompleteError, 1), (NewsflowError, 1),
    (RunFailedError, 69), (ValidationFailedError, 65), (RunCancelledError, 130),
]


@pytest.mark.parametrize(("kind", "code"), KIND_CODES, ids=[k.__name__ for k, _ in KIND_CODES])
def test_each_kind_has_its_exit_code_and_a_one_line_message(kind: type[NewsflowError],
                                                            code: int) -> None:
    described = describe(kind("first line\nsecond line"))
    assert described is not None
    exit_code, line = described
    assert exit_code == code
    assert line.startswith(f"{kind.kind}: first line") and "second line" not in line


# The deliberate errors that existed before the hierarchy, as each module raises them.
RAISED = [
    (LockedError(Path("s.duckdb"), "pid 4242"), 75, "pid 4242"),
    (LowDiskSpaceError(Path("s.duckdb"), 10 * 2**20, 256 * 2**20), 2, "need at least 256.0 MiB"),
    (WalRecoveryError(Path("s.wal"), Path("s.wal.kept"), "the last run", "bad checksum"), 1,
     "s.wal.kept"),
    (WarcReadError("truncated at offset 12"), 2, "truncated at offset 12"),
    (PoolStalledError("no extraction worker answered"), 1, "no extraction worker answered"),
    (ServerError("deploy failed (exit 1); log x.log:\ntail of the log"), 1, "log x.log"),
    (InvalidDate("2024-02-30"), 2, "2024-02-30"),
    (BlockedAddress("10.0.0.1"), 1, "10.0.0.1"),
    (ResolutionFailed("nx.example"), 1, "nx.example"),
    (DeadlineExceeded("30 s"), 1, "30 s"),
    (DecodeError("bad gzip"), 1, "bad gzip"),
    (UnsupportedEncoding("compress"), 1, "compress"),
]


@pytest.mark.parametrize(("error", "code", "text"), RAISED,
                         ids=[type(e).__name__ for e, _, _ in RAISED])
def test_existing_errors_belong_to_the_hierarchy(error: Exception, code: int, text: str) -> None:
    assert isinstance(error, NewsflowError)
    described = describe(error)
    assert described is not None and described[0] == code
    assert text in described[1] and "\n" not in described[1]


def test_older_bases_still_match() -> None:
    # callers that caught RuntimeError / ValueError keep working
    assert isinstance(LockedError(Path("s"), "pid 1"), RuntimeError)
    assert isinstance(LowDiskSpaceError(Path("s"), 1, 2), RuntimeError)
    assert isinstance(InvalidDate("x"), ValueError)
    assert isinstance(ConfigError("x"), ValueError)


def test_locked_error_names_the_holder_and_exits_as_skipped_locked() -> None:
    described = describe(LockedError(Path("s.duckdb"), "PID 4242 holds it"))
    assert described == (75, "store busy: another newsflow writer holds s.duckdb "
                             "(PID 4242 holds it); skipping this run")


def test_advice_is_added_once_and_can_be_given_per_error() -> None:
    assert MissingStoreError("no database at x").user_message() == (
        "no store: no database at x; run `newsflow run` first, or pass --db")
    assert InputError("bad day", advice="use YYYY-MM-DD").user_message() == (
        "bad input: bad day; use YYYY-MM-DD")
    assert ConfigError("x", advice="").user_message() == "configuration error: x"


class _Model(BaseModel):
    n: int


def _validation_error() -> ValidationError:
    try:
        _Model(n="many")  # type: ignore[arg-type]
    except ValidationError as exc:
        return exc
    raise AssertionError("no validation error")


def _decode_error() -> UnicodeDecodeError:
    try:
        b"caf\xe9 au lait".decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc
    raise AssertionError("decoded")


@pytest.mark.parametrize(("error", "code", "text"), [
    (_validation_error(), 2, "configuration error: n: Input should be a valid integer"),
    (_decode_error(), 2, "bad input: a file is not UTF-8 text"),
    (RecursionError("maximum recursion depth exceeded"), 2, "bad input: a file nests too deeply"),
    (FileNotFoundError(2, "No such file or directory", "feeds.yaml"), 2,
     "bad input: feeds.yaml: No such file or directory"),
    (PermissionError(13, "Permission denied", "x.opml"), 2, "bad input: x.opml: Permission denied"),
], ids=["ValidationError", "UnicodeDecodeError", "RecursionError", "FileNotFoundError",
        "PermissionError"])
def test_library_errors_about_the_users_input(error: Exception, code: int, text: str) -> None:
    described = describe(error)
    assert described is not None
    assert described[0] == code and described[1].startswith(text)


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyError("k"), ValueError("v"),
                                   OSError(5, "Input/output error")])
def test_anything_else_is_a_bug(error: Exception) -> None:
    assert describe(error) is None


def _app_with(command: object) -> typer.Typer:
    demo = typer.Typer()
    demo.command()(command)
    demo.command("other")(lambda: None)  # two commands, so the name is an argument
    return demo


def test_a_deliberate_error_is_one_line_on_stderr_with_its_code() -> None:
    @reports_errors
    def busy() -> None:
        raise LockedError(Path("s.duckdb"), "pid 7")

    result = CliRunner().invoke(_app_with(busy), ["busy"])
    assert result.exit_code == 75
    assert result.stderr.splitlines() == [
        "store busy: another newsflow writer holds s.duckdb (pid 7); skipping this run"]
    assert result.stdout == "" and "Traceback" not in result.output


def test_a_bug_prints_one_line_and_keeps_the_traceback_in_a_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))

    @reports_errors
    def broken() -> None:
        {}["missing"]  # a real bug: KeyError

    result = CliRunner().invoke(_app_with(broken), ["broken"])
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("unexpected error: KeyError: 'missing'") and "Traceback" not in line
    [log] = tmp_path.glob("newsflow-crash-*.log")
    assert str(log) in line
    text = log.read_text(encoding="utf-8")
    assert text.startswith("Traceback") and "KeyError: 'missing'" in text and "broken" in text


def test_typer_exits_and_usage_errors_pass_through() -> None:
    @reports_errors
    def done(code: int) -> None:
        raise typer.Exit(code)

    assert CliRunner().invoke(_app_with(done), ["done", "3"]).exit_code == 3
    usage = CliRunner().invoke(_app_with(done), ["done", "not-a-number"])
    assert usage.exit_code == 2 and "unexpected error" not in usage.output


def test_the_wrapper_keeps_the_commands_options() -> None:
    @reports_errors
    def greet(name: str, loud: bool = False) -> None:
        typer.echo(name.upper() if loud else name)

    result = CliRunner().invoke(_app_with(greet), ["greet", "ada", "--loud"])
    assert result.exit_code == 0 and result.stdout == "ADA\n"


def _commands(group: typer.Typer, prefix: str = "") -> dict[str, object]:
    found = {f"{prefix}{c.name or getattr(c.callback, '__name__', '?')}": c.callback
             for c in group.registered_commands}
    for sub in group.registered_groups:
        assert sub.typer_instance is not None
        found |= _commands(sub.typer_instance, f"{prefix}{sub.name} ")
    return found


def test_every_command_reports_its_errors() -> None:
    commands = _commands(app)
    assert {"run", "sql", "status", "rebuild", "extract", "quality", "backfill", "export-warc",
            "search", "export", "stories", "reindex", "feeds list", "feeds import",
            "feeds export", "server up", "server down", "server status"} <= set(commands)
    missing = sorted(n for n, cb in commands.items() if not getattr(cb, "reports_errors", False))
    assert not missing, missing


def test_input_file_names_the_file_and_what_it_is(tmp_path: Path) -> None:
    latin = tmp_path / "feeds.yaml"
    latin.write_bytes(b"feeds:\n  - url: https://caf\xe9.example/\n")
    with pytest.raises(InputError, match=r"feed list .*feeds\.yaml is not UTF-8 text"), \
            input_file(latin, "feed list"):
        latin.read_text(encoding="utf-8")
    with pytest.raises(InputError, match=r"OPML file .*gone\.opml: No such file"), \
            input_file(tmp_path / "gone.opml", "OPML file"):
        (tmp_path / "gone.opml").read_bytes()
    with pytest.raises(InputError, match=r"feed list .*feeds\.yaml: feeds.yaml: 'feeds' must be"), \
            input_file(latin, "feed list"):
        raise ValueError("feeds.yaml: 'feeds' must be a list")
    with pytest.raises(InputError, match="nests too deeply"), input_file(latin, "OPML file"):
        raise RecursionError
    with pytest.raises(LockedError), input_file(latin, "feed list"):  # already ours: untouched
        raise LockedError(latin, "pid 1")


def test_prefect_logs_a_deliberate_error_without_its_traceback() -> None:
    quiet_prefect_tracebacks()
    quiet_prefect_tracebacks()  # idempotent: one filter
    logger = logging.getLogger("prefect.flow_runs")
    assert sum(type(f).__name__ == "_DropDeliberateTracebacks" for f in logger.filters) == 1

    def record(exc: BaseException) -> logging.LogRecord:
        rec = logger.makeRecord(logger.name, logging.ERROR, __file__, 1, "failed: %s", (exc,),
                                (type(exc), exc, None))
        for f in logger.filters:
            f.filter(rec)
        return rec

    assert record(LowDiskSpaceError(Path("s"), 1, 2)).exc_info is None
    assert record(KeyError("bug")).exc_info is not None  # a bug keeps its traceback


def test_a_date_option_that_is_not_a_date_is_bad_input() -> None:
    from flows.cli.options import day

    assert day("2024-03-01") == date(2024, 3, 1) and day(None) is None
    with pytest.raises(InputError, match="not a date: '03/01/2024'"):
        day("03/01/2024")
