"""The closed vocabularies: stored strings, the run-status ordering, and how the sets relate."""

from __future__ import annotations

import itertools

import pytest

from transforms import pageclass, vocab
from transforms.vocab import BackfillSource, ErrorClass, PageSource, RunStatus, Severity, worst

SERIOUSNESS = ["ok", "partial", "validation_failed", "failed", "cancelled", "died"]


def test_run_statuses_are_the_stored_words() -> None:
    assert [str(s) for s in RunStatus] == [
        "running", "ok", "partial", "failed", "validation_failed", "skipped_locked", "cancelled",
        "died"]


@pytest.mark.parametrize(("lower", "higher"), list(itertools.combinations(SERIOUSNESS, 2)))
def test_worst_picks_the_more_serious_status_in_either_order(lower: str, higher: str) -> None:
    assert worst([lower, higher]) is RunStatus(higher)
    assert worst([higher, lower, lower]) is RunStatus(higher)


def test_worst_ignores_stages_that_did_not_finish_and_defaults_to_ok() -> None:
    assert worst([]) is RunStatus.OK
    assert worst(["running", "skipped_locked"]) is RunStatus.OK
    assert worst(["skipped_locked", "partial", "running"]) is RunStatus.PARTIAL
    assert worst(iter([RunStatus.FAILED, "ok"])) is RunStatus.FAILED  # any iterable, enum or text
    assert worst(["no_such_status", "ok"]) is RunStatus.OK


def test_every_backfill_source_but_raw_stores_pages_under_its_own_name() -> None:
    assert BackfillSource.RAW.page_source is None
    fetched = [s for s in BackfillSource if s is not BackfillSource.RAW]
    assert [s.page_source for s in fetched] == [PageSource(str(s)) for s in fetched]
    # The scheduled pipeline is the one page source a backfill never is.
    assert {str(s) for s in PageSource} - {str(s) for s in BackfillSource} == {"feed"}
    assert str(BackfillSource.ARCHIVE_FEED) == "archive-feed"


def test_error_class_severity_is_the_closed_severity_and_hard_means_permanent() -> None:
    for error in ErrorClass:
        assert isinstance(error.severity, Severity)
        assert error.permanent == (error.severity == "hard")
    assert ErrorClass.UNAUTHORIZED.severity is Severity.HARD
    assert ErrorClass.FORBIDDEN.severity is Severity.SOFT


def test_each_vocabulary_has_one_definition() -> None:
    import web

    assert pageclass.PageClass is vocab.PageClass
    assert web.ErrorClass is vocab.ErrorClass
    assert web.FetchKind is vocab.FetchKind
