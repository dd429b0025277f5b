"""The one place where an error becomes a line on stderr and an exit code.

Every command carries ``@reports_errors``. Errors newsflow raises on purpose
(``transforms.errors.NewsflowError`` and its kinds) print their own one-line message and exit
with their class's code; a few library errors that are really the user's input (a file that
cannot be read, a feed list that is not UTF-8, an OPML outline nested without end, settings
that do not validate) are described the same way. Anything else is a bug: one short line, and
the full traceback in a log file whose path the line gives. No traceback reaches the terminal.

Exit statuses (each kind's ``exit_code`` in transforms/errors.py; README, "Errors and exit
codes"): 0 done (a run ok or partial); 1 a bug or an error without a better code; 2 bad input or
settings; 65 a run ended validation_failed; 69 a run ended failed; 75 the store is busy
(skipped_locked); 130 interrupted, the run recorded cancelled.
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import ParamSpec, TypeVar

import click
import typer
from pydantic import ValidationError

from transforms.errors import ConfigError, InputError, NewsflowError

P = ParamSpec("P")
R = TypeVar("R")

# typer (which carries its own copy of click) and click: exits that are not errors to describe.
_WAYS_OUT = (typer.Exit, typer.Abort, typer.exceptions.TyperException, click.exceptions.Exit,
             click.exceptions.Abort, click.ClickException)
EXIT_BUG = 1  # what Python itself exits with on an uncaught exception
# OSErrors that mean "this path cannot be read as given", as opposed to a failing disk.
_PATH_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


def describe(exc: BaseException) -> tuple[int, str] | None:
    """The exit code and the one line for an error the user can act on; None for a bug."""
    if isinstance(exc, NewsflowError):
        return exc.exit_code, exc.user_message()
    if isinstance(exc, ValidationError):  # settings built without load_settings
        return describe(ConfigError("; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())))
    if isinstance(exc, UnicodeDecodeError):
        return describe(InputError(
            f"a file is not UTF-8 text ({exc.reason} at byte {exc.start})",
            advice="save it as UTF-8"))
    if isinstance(exc, RecursionError):
        return describe(InputError("a file nests too deeply to read (an outline inside itself?)",
                                   advice="flatten or fix the file"))
    if isinstance(exc, _PATH_ERRORS):
        return describe(InputError(f"{exc.filename or 'a file'}: {exc.strerror or exc}",
                                   advice="check the path"))
    return None


def crash_log(exc: BaseException) -> Path:
    """Write the full traceback of an unexpected error to a fresh log file; return its path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    fd, name = tempfile.mkstemp(prefix=f"newsflow-crash-{stamp}-", suffix=".log")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("".join(traceback.format_exception(exc)))
    return Path(name)


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Run a command; turn any error into one line on stderr and its exit code (see module)."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except _WAYS_OUT:
            raise  # typer's own: --help, a usage error (exit 2), a deliberate exit, Ctrl-C
        except Exception as exc:
            known = describe(exc)
            if known is None:
                log = crash_log(exc)
                known = EXIT_BUG, (f"unexpected error: {type(exc).__name__}: {exc}; the full "
                                   f"traceback is in {log} (please attach it to a bug report)")
            typer.echo(" ".join(known[1].split()), err=True)  # one line, whatever the message
            raise typer.Exit(known[0]) from None

    run.reports_errors = True  # type: ignore[attr-defined]  # checked by the CLI's tests
    return run


@contextmanager
def input_file(path: Path, what: str) -> Iterator[None]:
    """Read or parse ``path`` inside the block; any failure becomes an ``InputError`` naming it."""
    try:
        yield
    except NewsflowError:
        raise
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} {path} is not UTF-8 text ({exc.reason} at byte {exc.start})",
                         advice="save it as UTF-8") from exc
    except RecursionError as exc:
        raise InputError(f"{what} {path} nests too deeply to read",
                         advice="look for an outline inside itself") from exc
    except OSError as exc:  # unreadable, missing, or not what its name says (a bad .gz)
        if exc.strerror:
            raise InputError(f"{what} {path}: {exc.strerror}",
                             advice="check the path or the setting that names it") from exc
        said = str(exc)  # a message of our own, which may name the file and the fix already
        raise InputError(said if str(path) in said else f"{what} {path}: {said}") from exc
    except ValueError as exc:  # the parsers' own complaints (transforms.feedlist)
        raise InputError(f"{what} {path}: {exc}") from exc


def quiet_prefect_tracebacks() -> None:
    """Keep Prefect's run logger from printing a traceback for a deliberate error.

    A flow that raises a ``NewsflowError`` (low disk space, another writer) is logged by Prefect
    with its traceback before the command sees the error; the command prints the one line that
    matters, so the log record keeps its message and loses the traceback.
    """
    for name in ("prefect.flow_runs", "prefect.task_runs"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropDeliberateTracebacks) for f in logger.filters):
            logger.addFilter(_DropDeliberateTracebacks())


class _DropDeliberateTracebacks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, NewsflowError):
            record.exc_info = None
            record.exc_text = None
        return True
