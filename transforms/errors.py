"""The errors newsflow raises on purpose: one base, a few kinds, each with its exit code.

Every module that raises a deliberate error subclasses one of these (keeping its older base,
such as ``RuntimeError``, as a second parent so existing ``except`` clauses still match). The
CLI maps them to exit codes in one place (``flows/cli/errors.py``) and prints one line: what
happened, where, and what to do. The message of an error is that line; a class's ``advice`` is
added when the message does not say what to do itself.

Exit codes follow BSD ``sysexits`` where one fits: 2 for a usage or input problem (as click
uses for a bad option), 75 (``EX_TEMPFAIL``) for "try again later", 77 (``EX_NOPERM``) for a
statement the read-only analyst copy refuses, 1 for everything else.

Pure: no imports beyond the standard library, so every package may raise these.
"""

from __future__ import annotations

from typing import ClassVar


class NewsflowError(Exception):
    """Base of every deliberate newsflow error; exit code 1 unless a kind says otherwise."""

    exit_code: ClassVar[int] = 1
    kind: ClassVar[str] = "error"  # the line's first words, e.g. "configuration error"
    advice: str = ""  # what to do, when the message does not say it (per class or per error)

    def __init__(self, *args: object, advice: str | None = None) -> None:
        super().__init__(*args)
        if advice is not None:
            self.advice = advice

    def user_message(self) -> str:
        """One line for a person: the kind, the first line of the message, and the advice."""
        lines = str(self).strip().splitlines()
        text = lines[0].strip() if lines else (type(self).__doc__ or type(self).__name__)
        if self.advice:
            text = f"{text}; {self.advice}"
        return f"{self.kind}: {text}"


class ConfigError(NewsflowError, ValueError):
    """A setting is misspelt, of the wrong type or out of range."""

    exit_code = 2
    kind = "configuration error"
    advice = "fix the NEWSFLOW_* variable, the .env file or the option"


class InputError(NewsflowError):
    """An input the user gave (a file, a date, an option value) cannot be used."""

    exit_code = 2
    kind = "bad input"


class MissingStoreError(InputError):
    """The store (or the part of it a command reads) does not exist yet."""

    kind = "no store"
    advice = "run `newsflow run` first, or pass --db"


class StoreBusyError(NewsflowError):
    """Another process holds the store; nothing was done, and trying again later will work."""

    exit_code = 75  # EX_TEMPFAIL; a skipped_locked run exits with it
    kind = "store busy"


class ResourceError(NewsflowError):
    """The machine lacks something a run needs (disk space); refused before starting."""

    exit_code = 2
    kind = "low on resources"


class StoreDamagedError(NewsflowError):
    """The store's files need a person's decision before anything writes to them again."""

    kind = "store damaged"


class NetworkError(NewsflowError):
    """One network attempt failed; the fetcher turns these into data (an error class)."""

    kind = "network error"


class ServiceError(NewsflowError):
    """A process newsflow drives (Prefect server, worker, extraction pool) did not answer."""

    kind = "service error"


class QueryError(NewsflowError):
    """A query the user wrote failed."""

    kind = "query failed"


class RefusedError(NewsflowError):
    """A statement the read-only analyst copy does not run (a write, a file, another database)."""

    exit_code = 77  # EX_NOPERM: not allowed, as opposed to failed
    kind = "refused"
    advice = ("the analyst copy is read-only; operators query the store with `newsflow sql "
              "--store`")


class NothingFoundError(NewsflowError):
    """A search or lookup ran and found nothing."""

    kind = "nothing found"


class IncompleteError(NewsflowError):
    """A run finished, but not everything it was asked to do succeeded (failed or partial)."""

    kind = "incomplete"


class RunFailedError(IncompleteError):
    """A pipeline run ended ``failed``: a stage could not do its work (every feed or page
    failed, or a stage raised), or what follows the stages (publish, checkpoint) failed."""

    exit_code = 69  # EX_UNAVAILABLE
    kind = "run failed"


class ValidationFailedError(IncompleteError):
    """A pipeline run ended ``validation_failed``: a blocking check failed and its rows were
    quarantined; the rest was kept and published."""

    exit_code = 65  # EX_DATAERR
    kind = "checks failed"


class RunCancelledError(NewsflowError):
    """A run was interrupted (Ctrl-C, SIGTERM) and recorded ``cancelled``."""

    exit_code = 130  # 128 + SIGINT, what a shell reports for a Ctrl-C
    kind = "interrupted"
