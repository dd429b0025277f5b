"""The policy is declared once, in code; docs/quality.md must show the same table."""

from __future__ import annotations

from pathlib import Path

import pytest

from expectations import SUITES, Severity
from expectations import volume as volume_suite
from expectations.runner import policy_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "quality.md"
START = "<!-- policy-table:start"
END = "<!-- policy-table:end -->"

ALL_SUITES = [(m.SUITE, m.checks()) for m in SUITES.values()] + [
    (volume_suite.SUITE, volume_suite.checks())]


def test_quality_doc_carries_the_generated_policy_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    body = text.split(START, 1)[1].split("\n", 1)[1].split(END, 1)[0]
    assert body.strip() == policy_markdown().strip(), (
        "docs/quality.md is stale: regenerate the table with "
        "`python -c 'from expectations.runner import policy_markdown; print(policy_markdown())'`")


@pytest.mark.parametrize(("suite", "checks"), ALL_SUITES, ids=[s for s, _ in ALL_SUITES])
def test_every_check_is_named_once_and_explained(suite: str, checks: tuple) -> None:
    names = [c.name for c in checks]
    assert len(names) == len(set(names)), suite
    assert all(len(c.why) > 20 for c in checks)
    assert all(c.severity in set(Severity) for c in checks)
    assert checks[0].name == "batch_not_empty" and checks[0].blocking


@pytest.mark.usefixtures("gx_ready")
def test_every_declared_expectation_exists_in_gx() -> None:
    import great_expectations as gx

    for _, checks in ALL_SUITES:
        for check in checks:
            assert hasattr(gx.expectations, check.expectation), check.expectation
