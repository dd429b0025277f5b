"""The outcome of validating one batch: plain records, free of any great_expectations object.

Flows store these in quality.validations / quality.quarantine and show ``markdown()`` as a
Prefect artifact; nothing here imports GX, so reading a report is cheap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

_MARKDOWN_SAMPLE = 3  # values shown per failed check in the artifact; the full sample is stored
_CELL_CHARS = 80


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One expectation's verdict on one batch."""

    suite: str
    expectation: str                # the check's name in its suite, e.g. "link_absolute_http"
    column: str | None
    success: bool
    blocking: bool
    observed_value: str | None
    element_count: int | None
    unexpected_count: int | None
    unexpected_sample: tuple[str, ...]      # up to 20 values, as strings
    why: str
    failing_event_ids: tuple[str, ...]      # row ids to quarantine (blocking row checks only)

    @property
    def severity(self) -> str:
        """"blocking" or "warning", as written in the policy table."""
        return "blocking" if self.blocking else "warning"


@dataclass(frozen=True, slots=True)
class StageReport:
    """All checks of one suite on one batch, with the policy applied."""

    stage: str
    table: str
    suite: str
    row_count: int
    results: tuple[CheckResult, ...]

    @property
    def success(self) -> bool:
        """True when every check passed, warnings included."""
        return all(r.success for r in self.results)

    @property
    def blocking_failed(self) -> bool:
        """True when any blocking check failed: the stage's status becomes validation_failed."""
        return any(r.blocking and not r.success for r in self.results)

    @property
    def warnings(self) -> tuple[CheckResult, ...]:
        """Failed warning checks (recorded; the run continues)."""
        return tuple(r for r in self.results if not r.blocking and not r.success)

    def quarantine(self) -> list[tuple[str, str]]:
        """(id, reason) for every row failing a blocking check; reason is ``suite.check``.

        A row failing several checks appears once per check, matching quality.quarantine's key
        (table_name, event_id, reason).
        """
        seen: set[tuple[str, str]] = set()
        out: list[tuple[str, str]] = []
        for r in self.results:
            if not r.blocking or r.success:
                continue
            reason = f"{r.suite}.{r.expectation}"
            for ident in r.failing_event_ids:
                if (ident, reason) not in seen:
                    seen.add((ident, reason))
                    out.append((ident, reason))
        return out

    def validation_rows(self, run_id: str, at: datetime) -> list[dict[str, Any]]:
        """quality.validations rows: one per check."""
        return [
            {
                "run_id": run_id, "stage": self.stage, "table_name": self.table,
                "suite": r.suite, "expectation": r.expectation, "column_name": r.column,
                "success": r.success, "blocking": r.blocking,
                "observed_value": r.observed_value, "element_count": r.element_count,
                "unexpected_count": r.unexpected_count,
                "unexpected_sample": json.dumps(list(r.unexpected_sample)), "why": r.why,
                "validated_at": at,
            }
            for r in self.results
        ]

    def quarantine_rows(self, run_id: str, at: datetime) -> list[dict[str, Any]]:
        """quality.quarantine rows: one per row failing a blocking check, with the reason."""
        return [
            {"run_id": run_id, "stage": self.stage, "table_name": self.table,
             "event_id": ident, "reason": reason, "quarantined_at": at}
            for ident, reason in self.quarantine()
        ]

    def markdown(self) -> str:
        """A compact table for a Prefect artifact or the CLI: failures first, then passes."""
        if self.blocking_failed:
            verdict = "**validation_failed**"
        elif not self.success:
            verdict = "passed with warnings"
        else:
            verdict = "passed"
        lines = [
            f"### {self.stage}: `{self.table}` ({self.suite}), {self.row_count} rows, {verdict}",
            "",
            "| check | column | result | policy | observed | sample |",
            "|---|---|---|---|---|---|",
        ]
        # failures first; clean passes (nothing unexpected) are listed on one line below
        clean = [r for r in self.results if r.success and not r.unexpected_count
                 and not r.unexpected_sample]
        shown = sorted((r for r in self.results if r not in clean),
                       key=lambda r: (r.success, not r.blocking))
        for r in shown:
            mark = "pass" if r.success else "FAIL"
            sample = ", ".join(r.unexpected_sample[:_MARKDOWN_SAMPLE])
            lines.append(
                f"| {r.expectation} | {_cell(r.column or '')} | {mark} | {r.severity} | "
                f"{_cell(r.observed_value or '')} | {_cell(sample)} |"
            )
        if clean:
            lines += ["", f"Passed cleanly: {', '.join(r.expectation for r in clean)}."]
        quarantined = len(self.quarantine())
        if quarantined:
            lines += ["", f"{quarantined} (row, check) pairs quarantined."]
        return "\n".join(lines)


def _cell(text: str) -> str:
    """Table cells stay on one line and short; pipes would break the markdown table."""
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= _CELL_CHARS else text[: _CELL_CHARS - 1] + "…"
