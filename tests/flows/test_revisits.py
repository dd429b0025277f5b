"""Issue 12, revisits and versions, against the offline sample server on 127.0.0.1.

Cases: FAULTS 12 (304 Not Modified with validators: an unchanged page costs one small row) and
43 (an updated item: a retitled feed entry is a new version of the entry, which sends us back to
its page). The clock is injected into the fetch stage (``now``), which also dates the attempts.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows.extract_articles import extract
from flows.fetch_pages import fetch
from flows.ingest_feeds import ingest
from flows.pipeline import run_pipeline
from flows.settings import Settings, load_feed_list
from sample.server import SampleServer
from sample.site import CORRECTION_TITLE
from tests.sample_mode import sample_settings
from transforms.extraction import extract_page
from warehouse.publish import analytics_db_path
from warehouse.store import Store, utcnow


class InlinePool:
    """The ExtractionPool interface in-process (no spawn start-up in tests)."""

    def extract_many(self, items: Any) -> Iterator[tuple[Any, Any]]:
        for key, body, content_type, url in items:
            yield key, extract_page(body, content_type, url)


@pytest.fixture()
def server() -> Iterator[SampleServer]:
    with SampleServer(n_articles=6, correction="original") as server:
        yield server


def run(settings: Settings, run_id: str, *, poll: bool = True, now: Any = None
        ) -> dict[str, Any]:
    """Poll (optional), fetch with the clock at ``now``, extract: the pipeline's stages."""
    with Store.open(settings.db_path) as store:
        if poll:
            ingest(store, settings, load_feed_list(settings.feeds_file), run_id=run_id,
                   only_due=False)
        fetched = fetch(store, settings, run_id=run_id, now=now)
        extract(store, settings, run_id=run_id, pool=InlinePool())
    return fetched


def rows(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    with Store.open(settings.db_path) as store:
        return store.con.execute(sql).fetchall()


def corrected_key(settings: Settings) -> str:
    return rows(settings, "SELECT article_key FROM core.articles WHERE url LIKE '%harbour%'")[0][0]


def test_schedule_revisits_a_changed_page_and_an_unchanged_one_costs_a_small_row(
        server: SampleServer, tmp_path: Path) -> None:
    settings = sample_settings(server, tmp_path)
    first = run(settings, "r1")
    n_pages = first["pages_requested"]
    assert n_pages == len(server.site.articles) == 7 and first["revisits"] == 0
    t0 = utcnow()
    server.set_correction("corrected")  # the page changes; its feed is not polled again

    # 2 h later: the 1 h point passed, every page is asked again with its validators
    second = run(settings, "r2", poll=False, now=t0 + timedelta(hours=2))
    assert second["revisits"] == n_pages and second["pages_requested"] == n_pages
    assert second["revisits_unchanged"] == n_pages - 1  # the same body hash: kept without body
    key = corrected_key(settings)
    versions = rows(settings, f"SELECT title FROM core.article_versions WHERE article_key = "
                              f"'{key}' ORDER BY observed_at")
    assert versions == [(CORRECTION_TITLE[0],), (CORRECTION_TITLE[1],)]
    assert rows(settings, f"SELECT title, version_count FROM core.articles "
                          f"WHERE article_key = '{key}'") == [(CORRECTION_TITLE[1], 2)]
    assert rows(settings, "SELECT count(*) FROM core.article_versions") == [(n_pages + 1,)]

    # a minute later nothing is due; 7 h after first seen, the 6 h point sends us back
    assert run(settings, "r3", poll=False, now=t0 + timedelta(hours=2, minutes=1))[
        "pages_requested"] == 0
    fourth = run(settings, "r4", poll=False, now=t0 + timedelta(hours=7))
    assert fourth["revisits"] == n_pages
    page = server.site.articles[-1].url
    got = rows(settings, f"SELECT run_id, status, NOT has_body, body_bytes, revisit, "
                         f"(SELECT count(*) FROM core.page_extractions x "
                         f" WHERE x.page_fetch_id = p.event_id) "
                         f"FROM raw.page_fetches p WHERE url = '{page}' ORDER BY occurred_at")
    # FAULTS 12: the unchanged page (validators match its ETag) answers 304: no body, no
    # extraction, no new version
    assert got[0][:2] == ("r1", 200) and got[0][4] is None
    assert got[1][:3] == ("r2", 200, False) and got[1][4] == "schedule" and got[1][5] == 1
    assert got[2] == ("r4", 304, True, None, "schedule", 0)
    assert rows(settings, "SELECT count(*) FROM core.article_versions") == [(n_pages + 1,)]
    # the requests carried the validators the page sent
    asked = [h for m, p, h in server.request_log if p == server.site.articles[-1].path]
    assert "If-None-Match" in asked[-1] and "If-None-Match" not in asked[0]

    # after the last point (72 h) was met, never again
    run(settings, "r5", poll=False, now=t0 + timedelta(hours=80))
    assert run(settings, "r6", poll=False, now=t0 + timedelta(days=30))["pages_requested"] == 0


def test_a_retitled_feed_entry_triggers_a_revisit(server: SampleServer, tmp_path: Path) -> None:
    settings = sample_settings(server, tmp_path)
    run(settings, "r1")
    assert run(settings, "r2")["pages_requested"] == 0  # nothing changed: nothing asked
    server.set_correction("retitled")  # FAULTS 43: same guid, new title; the page unchanged
    third = run(settings, "r3")
    assert (third["pages_requested"], third["revisits"], third["revisits_unchanged"]) == (1, 1, 1)
    assert rows(settings, "SELECT status, revisit FROM raw.page_fetches WHERE run_id = 'r3'") == [
        (304, "feed_changed")]
    assert run(settings, "r4")["pages_requested"] == 0  # the change was answered once
    # the page follows later, its feed entry already says so: the schedule finds it
    server.set_correction("corrected")
    assert run(settings, "r5")["pages_requested"] == 0
    sixth = run(settings, "r6", poll=False, now=utcnow() + timedelta(hours=2))
    assert sixth["revisits_unchanged"] == sixth["revisits"] - 1
    assert rows(settings, "SELECT count(*) FROM core.article_changes") == [(1,)]


def test_revisits_are_bounded_per_run_and_per_host_after_new_pages(
        server: SampleServer, tmp_path: Path) -> None:
    settings = sample_settings(server, tmp_path, revisit_budget=3, revisit_per_host=2)
    run(settings, "r1")
    second = run(settings, "r2", poll=False, now=utcnow() + timedelta(hours=2))
    assert second["revisits"] == 2  # one host (127.0.0.1:port): two a run
    off = settings.model_copy(update={"revisit_budget": 0})
    assert run(off, "r3", poll=False, now=utcnow() + timedelta(hours=2))["pages_requested"] == 0


def test_a_correction_between_two_runs_reaches_the_analyst_copy_with_its_diff(
        server: SampleServer, tmp_path: Path) -> None:
    settings = sample_settings(server, tmp_path, extract_workers=1)
    first = run_pipeline(settings, run_id="p1", only_due=False)
    assert first["status"] == "ok", first
    server.set_correction("corrected")
    second = run_pipeline(settings, run_id="p2", only_due=False)
    assert second["status"] == "ok", second
    assert second["stages"]["fetch_pages"]["revisits"] == 1
    versions = rows(settings, "SELECT count(*) FROM core.article_versions")
    # idempotent: a run with nothing changed adds no fetch, no version, no change
    third = run_pipeline(settings, run_id="p3", only_due=False)
    assert third["stages"]["fetch_pages"]["pages_requested"] == 0
    assert rows(settings, "SELECT count(*) FROM core.article_versions") == versions

    con = duckdb.connect(str(analytics_db_path(settings.published_dir)), read_only=True)
    try:
        found = con.execute(
            "SELECT title_before, title_after, changed, words_added, words_removed, diff, outlet "
            "FROM article_changes").fetchall()
    finally:
        con.close()
    assert len(found) == 1
    before, after, changed, added, removed, diff, outlet = found[0]
    assert (before, after) == CORRECTION_TITLE and outlet == server.site.feeds[0].outlet
    assert changed == ["title", "body", "dates"]
    assert diff.splitlines() == [
        "- The city engineering office said the repairs cost 2.4 million euros, most of it paid "
        "from the regional transport fund.",
        "+ The city engineering office said the repairs cost 4.2 million euros, most of it paid "
        "from the regional transport fund.",
        "",
        "+ Correction: an earlier version of this article gave the cost of the repairs as 2.4 "
        "million euros.",
    ]
    assert (added, removed) == (1 + 17, 1)  # 4.2 for 2.4, and the 17 words of the note
