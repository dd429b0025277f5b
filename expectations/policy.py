"""What a check is, and what happens when it fails: the policy that lives beside every suite.

A check is declared as data (the GX expectation class name plus its arguments), so the suites, the
policy table in docs/quality.md and the tests all read one declaration, and so that importing
``expectations`` never imports great_expectations (~7 s, ~220 MB): the GX objects are built from
these declarations only inside the functions that run checks.

Policy:

- ``BLOCKING``: a failure quarantines the rows that failed (their ids go to quality.quarantine;
  raw rows are never deleted) and the stage's run status becomes ``validation_failed``.
- ``WARNING``: a failure is recorded (quality.validations, the Prefect artifact, Data Docs) and the
  run continues with its status unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """What a failed check does to the run."""

    BLOCKING = "blocking"
    WARNING = "warning"


BLOCKING = Severity.BLOCKING
WARNING = Severity.WARNING

# Suite parameters filled in at validation time, so one suite per table serves every caller.
MIN_ROWS = {"$PARAMETER": "min_rows"}
MAX_BODY_BYTES = {"$PARAMETER": "max_body_bytes"}

# A URL we will fetch or link to: absolute http(s) with a host, no whitespace anywhere.
ABSOLUTE_HTTP_URL = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#@]+[^\s]*$"
SHA256_HEX = r"^[0-9a-f]{64}$"


@dataclass(frozen=True, slots=True)
class Check:
    """One expectation of a suite, with its policy and the reason it exists.

    ``expectation`` names a class in ``great_expectations.expectations``; ``kwargs`` are passed to it
    unchanged. ``when`` restricts the check to rows matching ``column op value`` (a GX row
    condition; ``op`` is one of == != < <= > >= in, not in). ``sample_ids`` makes the report's sample show
    the failing rows' ids (used where the id, such as a source name, is more telling than the
    value).
    """

    name: str
    expectation: str
    kwargs: Mapping[str, Any]
    severity: Severity
    why: str
    when: tuple[str, str, Any] | None = None   # (column, operator, value): rows the check sees
    sample_ids: bool = False
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        """True when a failure quarantines rows and fails the stage."""
        return self.severity is Severity.BLOCKING

    @property
    def condition(self) -> str:
        """The row filter as text, for the policy table ('' when the check sees every row)."""
        if self.when is None:
            return ""
        column, op, value = self.when
        return f"{column} {op} {value!r}"

    @property
    def column(self) -> str | None:
        """The column (or columns, comma-joined) the check looks at; None for table-level checks."""
        if "column" in self.kwargs:
            return str(self.kwargs["column"])
        if "column_A" in self.kwargs:
            # derived helper columns (a leading underscore) are bounds, not the data judged
            pair = [self.kwargs["column_A"], self.kwargs["column_B"]]
            return ",".join(c for c in pair if not str(c).startswith("_"))
        if "column_list" in self.kwargs:
            return ",".join(self.kwargs["column_list"])
        return None


def row_count_check(why: str = "a stage that should have written rows wrote none: GX passes every "
                    "row-level check on zero rows, so an empty batch must fail here") -> Check:
    """The guard against vacuous success on an empty batch (FAULTS 31/79)."""
    return Check("batch_not_empty", "ExpectTableRowCountToBeBetween", {"min_value": MIN_ROWS},
                 BLOCKING, why)


def columns_check(columns: tuple[str, ...]) -> Check:
    """The batch carries the table's columns (a missing one would make other checks error out)."""
    return Check("columns_present", "ExpectTableColumnsToMatchSet",
                 {"column_set": list(columns), "exact_match": False}, BLOCKING,
                 "the batch must carry the table's columns; a renamed or dropped column means the "
                 "writer and the schema disagree")


def unique_check(column: str, why: str) -> Check:
    """A column whose values must not repeat within the batch."""
    return Check(f"{column}_unique", "ExpectColumnValuesToBeUnique", {"column": column}, BLOCKING,
                 why)
