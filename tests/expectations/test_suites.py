"""Each table's suite: clean batches pass, planted defects are caught with the right policy."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pandas as pd
import pytest

from expectations import SUITES, CheckResult, StageReport, validate_batch

pytestmark = pytest.mark.usefixtures("gx_ready")
Builders = dict[str, Callable[..., pd.DataFrame]]


@pytest.fixture(autouse=True, params=["native", "gx"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs on both engines: the pandas checks the stages use, and GX itself."""
    from expectations import runner

    monkeypatch.setattr(runner, "DEFAULT_ENGINE", request.param)
    return str(request.param)


def failed(report: StageReport) -> set[str]:
    return {r.expectation for r in report.results if not r.success}


def result(report: StageReport, name: str) -> CheckResult:
    (match,) = [r for r in report.results if r.expectation == name]
    return match


@pytest.mark.parametrize("table", sorted(SUITES))
def test_clean_batch_passes_every_check(build: Builders, table: str) -> None:
    report = validate_batch(table, build[table](), stage="test")
    assert report.success, [(r.expectation, r.observed_value) for r in report.results
                            if not r.success]
    assert not report.blocking_failed
    assert report.quarantine() == []
    assert report.row_count == len(build[table]())
    assert all(r.why for r in report.results)


@pytest.mark.parametrize("table", sorted(SUITES))
def test_case_31_empty_batch_fails_when_rows_were_expected(build: Builders, table: str) -> None:
    report = validate_batch(table, build[table]().iloc[0:0], stage="test")
    assert failed(report) == {"batch_not_empty"}
    assert report.blocking_failed
    assert result(report, "batch_not_empty").observed_value == "0"


@pytest.mark.parametrize("table", sorted(SUITES))
def test_case_31_empty_batch_passes_when_empty_is_legitimate(build: Builders, table: str) -> None:
    report = validate_batch(table, build[table]().iloc[0:0], stage="test", expect_rows=False)
    assert report.success
    assert report.row_count == 0


def test_empty_batch_without_columns_is_judged_by_row_count_alone() -> None:
    empty = pd.DataFrame([])     # what an empty list of row dicts becomes
    assert validate_batch("raw.feed_entries", empty, stage="test", expect_rows=False).success
    report = validate_batch("core.articles", empty, stage="test")
    assert {r.expectation for r in report.results if not r.success} == {"batch_not_empty"}


def test_case_79_vacuous_row_checks_cannot_hide_an_empty_batch(build: Builders) -> None:
    # every row-level check passes on zero rows; only the row-count guard stands between an
    # empty batch and a green run
    report = validate_batch("core.articles", build["core.articles"]().iloc[0:0], stage="core")
    others = [r for r in report.results if r.expectation != "batch_not_empty"]
    assert all(r.success for r in others)
    assert report.blocking_failed
    assert "validation_failed" in report.markdown()


# raw.feed_fetches -------------------------------------------------------------------------------

def test_feed_fetch_bad_status_and_error_class_are_blocking(build: Builders) -> None:
    df = build["raw.feed_fetches"]()
    df.loc[4, "status"] = 999
    df.loc[5, "error_class"] = "gremlins"
    report = validate_batch("raw.feed_fetches", df, stage="raw")
    assert {"status_is_http", "error_class_known"} <= failed(report)
    assert report.blocking_failed
    assert result(report, "error_class_known").unexpected_sample == ("gremlins",)
    assert set(report.quarantine()) == {
        (df.loc[4, "event_id"], "raw_feed_fetches.status_is_http"),
        (df.loc[5, "event_id"], "raw_feed_fetches.error_class_known"),
    }


def test_case_13_feed_success_without_body_is_quarantined(build: Builders) -> None:
    df = build["raw.feed_fetches"]()
    df.loc[0, ["body_sha256", "body_bytes"]] = [None, None]
    df.loc[1, "body_bytes"] = 0
    report = validate_batch("raw.feed_fetches", df, stage="raw")
    assert failed(report) == {"success_has_body_hash", "success_has_body"}
    ids = {ident for ident, _ in report.quarantine()}
    assert ids == {df.loc[0, "event_id"], df.loc[1, "event_id"]}


def test_feed_fetch_304_and_errors_need_no_body(build: Builders) -> None:
    df = build["raw.feed_fetches"](12)
    assert df["not_modified"].any() and df["error_class"].notna().any()
    assert validate_batch("raw.feed_fetches", df, stage="raw").success


def test_feed_fetch_negative_elapsed_and_duplicate_event(build: Builders) -> None:
    df = build["raw.feed_fetches"]()
    df.loc[2, "elapsed_ms"] = -5
    df = pd.concat([df, df.iloc[[3]]], ignore_index=True)
    report = validate_batch("raw.feed_fetches", df, stage="raw")
    assert {"elapsed_non_negative", "event_id_unique"} <= failed(report)
    assert (df.loc[3, "event_id"], "raw_feed_fetches.event_id_unique") in report.quarantine()


# raw.feed_entries -------------------------------------------------------------------------------

def test_case_39_duplicate_entry_key_per_feed_version_is_caught(build: Builders) -> None:
    df = build["raw.feed_entries"]()
    dup = df.iloc[[7]].copy()
    dup["event_id"] = "another-event-id"
    df = pd.concat([df, dup], ignore_index=True)
    report = validate_batch("raw.feed_entries", df, stage="raw")
    # the same row twice is also the same guid and link twice in one fetch
    assert failed(report) == {"entry_key_unique_per_feed_version", "guid_link_unique_per_fetch"}
    quarantined = {i for i, _ in report.quarantine()}
    assert quarantined == {df.loc[7, "event_id"], "another-event-id"}


def test_case_39_one_guid_and_one_link_for_different_items_in_a_fetch_is_caught(
        build: Builders) -> None:
    # Items 0, 4 and 8 come from one fetch: three different items (own titles, own keys) all
    # claiming guid "1" and the same link. Which of them the linked page is cannot be known.
    df = build["raw.feed_entries"]()
    rows = [0, 4, 8]
    df.loc[rows, "guid"] = "1"
    df.loc[rows, "link"] = "https://news0.example/story/0"
    report = validate_batch("raw.feed_entries", df, stage="raw")
    assert failed(report) == {"guid_link_unique_per_fetch"}
    assert report.blocking_failed
    assert {i for i, _ in report.quarantine()} == set(df.loc[rows, "event_id"])


def test_case_39_repeated_guid_with_different_links_is_legitimate(build: Builders) -> None:
    df = build["raw.feed_entries"]()
    df.loc[[0, 4, 8], "guid"] = "1"          # FAULTS 39: every item guid 1, different links
    assert validate_batch("raw.feed_entries", df, stage="raw").success


def test_same_key_in_two_feeds_or_two_versions_is_fine(build: Builders) -> None:
    df = build["raw.feed_entries"]()
    df.loc[1, "entry_key"] = df.loc[0, "entry_key"]        # other feed (feed1 vs feed0)
    df.loc[4, "entry_key"] = df.loc[0, "entry_key"]        # same feed, other content hash
    assert validate_batch("raw.feed_entries", df, stage="raw").success


def test_case_47_relative_link_is_caught(build: Builders) -> None:
    df = build["raw.feed_entries"]()
    df.loc[3, "link"] = "/post/1"
    df.loc[6, "link"] = "javascript:alert(1)"
    report = validate_batch("raw.feed_entries", df, stage="raw")
    assert failed(report) == {"link_absolute_http"}
    assert set(result(report, "link_absolute_http").unexpected_sample) == {
        "/post/1", "javascript:alert(1)"}
    assert {i for i, _ in report.quarantine()} == {df.loc[3, "event_id"], df.loc[6, "event_id"]}


def test_case_45_unflagged_future_date_blocks_flagged_one_warns(build: Builders) -> None:
    df = build["raw.feed_entries"]()
    df["published_at"] = df["published_at"].astype(object)
    df.at[2, "published_at"] = datetime(2099, 1, 1, tzinfo=df.loc[0, "occurred_at"].tzinfo)
    report = validate_batch("raw.feed_entries", df, stage="raw")
    assert failed(report) == {"published_not_future"}
    assert report.quarantine() == [(df.loc[2, "event_id"], "raw_feed_entries.published_not_future")]

    df.loc[2, "date_suspect"] = True
    assert validate_batch("raw.feed_entries", df, stage="raw").success
    df.loc[:9, "date_suspect"] = True     # a quarter of the batch suspect: warn, don't block
    report = validate_batch("raw.feed_entries", df, stage="raw")
    assert failed(report) == {"published_plausible_share"}
    assert not report.blocking_failed


def test_case_46_ancient_year_is_caught(build: Builders) -> None:
    df = build["raw.feed_entries"]()
    df["published_at"] = df["published_at"].astype(object)
    df.at[5, "published_at"] = datetime(1513, 6, 1)   # naive: taken as UTC
    report = validate_batch("raw.feed_entries", df, stage="raw")
    assert failed(report) == {"published_not_ancient"}


def test_missing_titles_warn_beyond_the_share(build: Builders) -> None:
    df = build["raw.feed_entries"]()
    df.loc[:2, "title"] = None
    df.loc[3, "title"] = "   "
    assert validate_batch("raw.feed_entries", df, stage="raw").success   # 4 of 40 = 10%: tolerated
    df.loc[:9, "title"] = ""
    report = validate_batch("raw.feed_entries", df, stage="raw")
    assert failed(report) == {"title_present"}
    assert set(result(report, "title_present").unexpected_sample) == {"null"}
    assert not report.blocking_failed and report.quarantine() == []


# raw.page_fetches -------------------------------------------------------------------------------

def test_page_fetch_success_without_final_url_or_over_cap(build: Builders) -> None:
    df = build["raw.page_fetches"]()
    df.loc[0, "final_url"] = None
    df.loc[3, "body_bytes"] = 2_000_000
    report = validate_batch("raw.page_fetches", df, stage="raw", max_body_bytes=1_000_000)
    assert failed(report) == {"success_final_url_present", "body_within_cap"}
    assert set(report.quarantine()) == {
        (df.loc[0, "event_id"], "raw_page_fetches.success_final_url_present"),
        (df.loc[3, "event_id"], "raw_page_fetches.body_within_cap"),
    }
    # the cap is a parameter: the same batch passes under the default 15 MiB cap
    assert failed(validate_batch("raw.page_fetches", df, stage="raw")) == {
        "success_final_url_present"}


def test_page_fetch_missing_content_type_only_warns(build: Builders) -> None:
    df = build["raw.page_fetches"]()
    df.loc[4, "content_type"] = None
    report = validate_batch("raw.page_fetches", df, stage="raw")
    assert failed(report) == {"content_type_recorded"}
    assert not report.blocking_failed


# core.articles ----------------------------------------------------------------------------------

def test_case_63_duplicate_canonical_url_is_quarantined(build: Builders) -> None:
    df = build["core.articles"]()
    df.loc[4, "canonical_url"] = df.loc[3, "canonical_url"]
    report = validate_batch("core.articles", df, stage="core")
    assert failed(report) == {"canonical_url_unique"}
    assert {i for i, _ in report.quarantine()} == {df.loc[3, "article_key"],
                                                   df.loc[4, "article_key"]}


def test_a_brief_kept_as_short_is_not_held_to_the_length_floors(build: Builders) -> None:
    brief = "Ukraine retrieves bodies of 502 fallen soldiers."  # a real two-line brief
    df = build["core.articles"]()
    df.loc[0, ["text", "word_count", "is_short"]] = [brief, len(brief.split()), True]
    assert validate_batch("core.articles", df, stage="core").success
    df.loc[0, "is_short"] = False  # the same text, not marked: a shell that slipped through
    report = validate_batch("core.articles", df, stage="core")
    assert failed(report) == {"text_length_in_bounds", "word_count_floor"}
    assert {i for i, _ in report.quarantine()} == {df.loc[0, "article_key"]}


def test_paywalled_share_is_tracked_per_outlet(build: Builders) -> None:
    df = build["core.articles"]()
    df["access"] = "free"
    df.loc[:1, "access"] = "paywalled"           # 2 of 20 teasers: fine
    assert validate_batch("core.articles", df, stage="core").success
    df.loc[15:19, "outlet"] = "Paper"            # 5 articles of another outlet, 3 of them teasers
    df.loc[15:17, "access"] = "paywalled"
    report = validate_batch("core.articles", df, stage="core")
    assert failed(report) == {"paywalled_share_per_outlet"}
    assert not report.blocking_failed            # tracked and warned, the teasers stay
    assert result(report, "paywalled_share_per_outlet").unexpected_count == 5
    df.loc[18:19, "outlet"] = "News"             # 3 of 3: too few articles to judge
    assert validate_batch("core.articles", df, stage="core").success


def test_boilerplate_text_beyond_a_small_share_warns(build: Builders) -> None:
    df = build["core.articles"]()
    chrome = " We use cookies to improve your experience. Sign up for our newsletter."
    df.loc[0, "text"] = df.loc[0, "text"] + chrome
    assert validate_batch("core.articles", df, stage="core").success   # 1 of 20: tolerated
    df.loc[:5, "text"] = df.loc[:5, "text"] + " © 2026 News Ltd. All rights reserved."
    report = validate_batch("core.articles", df, stage="core")
    assert failed(report) == {"boilerplate_absent"}
    assert "All rights reserved" in result(report, "boilerplate_absent").unexpected_sample[1]


def test_article_that_is_mostly_boilerplate_is_quarantined(build: Builders) -> None:
    from expectations.articles import boilerplate_share

    df = build["core.articles"]()
    df.loc[2, "text"] = ("Subscribe to continue reading. We use cookies to improve your experience. "
                         "Sign up for our newsletter. The council met on Monday. "
                         "© 2026 News Ltd. All rights reserved.")
    assert boilerplate_share(df.loc[2, "text"]) > 0.6       # all but "The council met ..."
    assert boilerplate_share(df.loc[3, "text"]) == 0.0
    # one chrome line under a real article weighs by its length: tolerated
    assert boilerplate_share(df.loc[3, "text"] + " Sign up for our newsletter.") < 0.1
    report = validate_batch("core.articles", df, stage="core")
    assert "not_mostly_boilerplate" in failed(report) and report.blocking_failed
    assert (df.loc[2, "article_key"], "core_articles.not_mostly_boilerplate") in report.quarantine()
    assert {i for i, r in report.quarantine() if r.endswith("not_mostly_boilerplate")} == {
        df.loc[2, "article_key"]}


def test_case_54_short_text_and_future_date_are_blocking(build: Builders) -> None:
    df = build["core.articles"]()
    df.loc[1, "text"] = "Subscribe to continue reading."
    df.loc[1, "word_count"] = 4
    df.loc[2, "published_at"] = df.loc[2, "last_seen_at"] + timedelta(days=30)
    report = validate_batch("core.articles", df, stage="core")
    assert failed(report) == {"text_length_in_bounds", "word_count_floor",
                              "published_not_after_fetch", "not_mostly_boilerplate"}
    assert sorted(report.quarantine()) == sorted([
        (df.loc[1, "article_key"], "core_articles.text_length_in_bounds"),
        (df.loc[1, "article_key"], "core_articles.word_count_floor"),
        (df.loc[1, "article_key"], "core_articles.not_mostly_boilerplate"),
        (df.loc[2, "article_key"], "core_articles.published_not_after_fetch"),
    ])


def test_article_without_extractor_or_language(build: Builders) -> None:
    df = build["core.articles"]()
    df.loc[0, "extractor_version"] = " "
    df.loc[:4, "language"] = None
    report = validate_batch("core.articles", df, stage="core")
    assert failed(report) == {"extractor_version_present", "language_present"}
    assert report.quarantine() == [(df.loc[0, "article_key"],
                                    "core_articles.extractor_version_present")]


# shape and reporting ----------------------------------------------------------------------------

def test_missing_column_fails_loudly_without_crashing(build: Builders) -> None:
    df = build["raw.feed_entries"]().drop(columns=["link"])
    report = validate_batch("raw.feed_entries", df, stage="raw")
    assert result(report, "columns_present").observed_value == "missing: link"
    assert report.blocking_failed
    broken = result(report, "link_absolute_http")
    assert not broken.success and broken.observed_value.startswith("error:")


def test_unknown_table_is_refused(build: Builders) -> None:
    with pytest.raises(ValueError, match="no suite"):
        validate_batch("raw.nope", build["core.articles"](), stage="x")


def test_markdown_lists_failures_first(build: Builders) -> None:
    df = build["raw.page_fetches"]()
    df.loc[0, "error_class"] = "gremlins"
    md = validate_batch("raw.page_fetches", df, stage="raw").markdown()
    lines = md.splitlines()
    assert "validation_failed" in lines[0] and "raw.page_fetches" in lines[0]
    assert lines[4].startswith("| error_class_known | error_class | FAIL | blocking |")
    assert "gremlins" in lines[4]
    assert "Passed cleanly: batch_not_empty, columns_present" in md   # clean passes: one line


def test_word_floor_spares_languages_written_without_spaces(build: Builders) -> None:
    df = build["core.articles"]()
    chinese = "市议会周二投票决定扩大受保护自行车道网络" * 12      # 240 characters, one "word"
    df.loc[0, ["text", "word_count", "language"]] = [chinese, 1, "zh"]
    df.loc[1, ["text", "word_count", "language"]] = [chinese, 1, None]
    report = validate_batch("core.articles", df, stage="core")
    assert report.quarantine() == [(df.loc[1, "article_key"], "core_articles.word_count_floor")]


def test_validation_writes_no_progress_bars(build: Builders, capfd: pytest.CaptureFixture[str]
                                            ) -> None:
    capfd.readouterr()
    validate_batch("raw.feed_fetches", build["raw.feed_fetches"](200), stage="raw")
    out, err = capfd.readouterr()
    assert "Calculating Metrics" not in err + out
    assert err == ""


def test_warm_up_in_a_thread_builds_the_shared_context(monkeypatch: pytest.MonkeyPatch) -> None:
    from expectations import runner, warm_up

    assert warm_up() is None                       # the session is already warm
    monkeypatch.setattr(runner, "_state", None)    # a cold process, reusing the imported GX
    thread = warm_up()
    assert thread is not None and thread.daemon
    thread.join(timeout=60)
    assert runner._state is not None and runner._state.context is not None


def test_a_crash_in_the_checks_becomes_a_blocking_failure_not_an_exception(
        build: Builders, monkeypatch: pytest.MonkeyPatch) -> None:
    from expectations import runner

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("metric graph exploded")

    monkeypatch.setattr(runner, "_suite_objects", broken)
    monkeypatch.setattr(runner.native, "evaluate", broken)
    report = validate_batch("raw.page_fetches", build["raw.page_fetches"](), stage="raw")
    assert report.blocking_failed and report.quarantine() == []
    (only,) = report.results
    assert only.expectation == "validator_error" and "metric graph exploded" in only.observed_value
