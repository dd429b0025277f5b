"""The revisit plan read from the store: pages_to_revisit.sql, given the clock, returns only the
due pages and of each host only as many as the plan may take, and the plan made from those is
the plan made from every candidate (transforms.revisits holds the rule; the SQL only narrows).

The store: one sample run (pages fetched, entries polled, articles extracted), then its pages
copied many times under other hosts, keys and times (a second attempt, an error, a feed entry
with a later version), so due, not yet due, past the schedule, feed-changed and failed pages of
several hosts lie side by side."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from flows.extract_articles import extract
from flows.fetch_pages import fetch, plan
from flows.ingest_feeds import ingest
from flows.settings import Settings, load_feed_list
from sample.server import SampleServer
from tests.flows.test_revisits import InlinePool
from tests.sample_mode import sample_settings
from transforms.revisits import plan_revisits, revisit_due, schedule_of
from warehouse.projections import revisit_candidates
from warehouse.store import Store

SCHEDULE = schedule_of([1, 6, 24, 72])
COPIES = 40


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Settings]]:
    folder = tmp_path_factory.mktemp("revisit-plan")
    with SampleServer(n_articles=6) as server:
        settings = sample_settings(server, Path(folder))
        with Store.open(settings.db_path) as s:
            ingest(s, settings, load_feed_list(settings.feeds_file), run_id="r1", only_due=False)
            fetch(s, settings, run_id="r1")
            extract(s, settings, run_id="r1", pool=InlinePool())
    with Store.open(settings.db_path) as s:
        rng = random.Random(7)
        for i in range(COPIES):
            host = f"h{i % 5}.example"
            shift = timedelta(hours=-rng.uniform(0, 100))
            # every page of the run copied under another host and key, fetched ``shift`` earlier
            params = {"host": host, "i": f"c{i}", "shift": shift}
            s.con.execute(
                "INSERT INTO raw.page_fetches BY NAME SELECT * REPLACE ("
                "event_id || $i AS event_id, 'copy' AS run_id, url_key || $i AS url_key, "
                "regexp_replace(url, '//[^/]+', '//' || $host) AS url, "
                "occurred_at + $shift AS occurred_at) "
                "FROM raw.page_fetches WHERE run_id = 'r1' AND source = 'feed'", params)
            s.con.execute(
                "INSERT INTO core.page_extractions BY NAME SELECT * REPLACE ("
                "page_fetch_id || $i AS page_fetch_id) FROM core.page_extractions "
                "WHERE page_fetch_id IN (SELECT event_id FROM raw.page_fetches WHERE run_id = 'r1')",
                {"i": f"c{i}"})
            s.con.execute(
                "INSERT INTO raw.feed_entries BY NAME SELECT * REPLACE ("
                "event_id || $i AS event_id, 'copy' AS run_id, entry_key || $i AS entry_key, "
                "link_key || $i AS link_key, occurred_at + $shift AS occurred_at) "
                "FROM raw.feed_entries WHERE run_id = 'r1'", {"i": f"c{i}", "shift": shift})
            later = timedelta(hours=rng.uniform(0, 80))
            if i % 3 == 0:  # asked again later (a revisit, or an error on every third of those)
                s.con.execute(
                    "INSERT INTO raw.page_fetches BY NAME SELECT * REPLACE ("
                    "event_id || 'again' AS event_id, occurred_at + $later AS occurred_at, "
                    "CASE WHEN $err THEN 'not_found' END AS error_class) "
                    "FROM raw.page_fetches WHERE event_id LIKE '%' || $i AND run_id = 'copy'",
                    {"i": f"c{i}", "later": later, "err": i % 9 == 0})
            if i % 4 == 1:  # the feed entry got a new version later
                s.con.execute(
                    "INSERT INTO raw.feed_entries BY NAME SELECT * REPLACE ("
                    "event_id || 'v2' AS event_id, content_hash || 'v2' AS content_hash, "
                    "occurred_at + $later AS occurred_at) "
                    "FROM raw.feed_entries WHERE event_id LIKE '%' || $i AND run_id = 'copy'", {"i": f"c{i}",
                                                                             "later": later})
        yield s, settings


def test_the_plan_from_the_narrowed_rows_equals_the_plan_from_every_candidate(
        store: tuple[Store, Settings]) -> None:
    s, _ = store
    newest = s.scalar("SELECT max(occurred_at) FROM raw.page_fetches")
    narrowed_somewhere = cut_by_host = False
    for hours in (-90, -40, -5, 0.5, 3, 12, 30, 60, 100, 200):
        now = newest + timedelta(hours=hours)
        horizon = now - SCHEDULE[-1]
        every = revisit_candidates(s, horizon=horizon)
        due = [c for c in every if revisit_due(c, now, SCHEDULE) is not None]
        for per_host in (1, 3, 1000):
            narrowed = revisit_candidates(s, horizon=horizon, now=now, schedule=SCHEDULE,
                                          per_host=per_host)
            # only due pages come back, each as it is among all candidates
            assert set(narrowed) <= set(due)
            if per_host == 1000:
                assert sorted(narrowed, key=lambda c: c.key) == sorted(due, key=lambda c: c.key)
            else:
                cut_by_host |= len(narrowed) < len(due)
            narrowed_somewhere |= len(narrowed) < len(every)
            for budget in (2, 7, 1000):
                assert plan_revisits(narrowed, now=now, schedule=SCHEDULE, budget=budget,
                                     per_host=per_host) == plan_revisits(
                    every, now=now, schedule=SCHEDULE, budget=budget, per_host=per_host)
    assert narrowed_somewhere and cut_by_host  # the store does exercise both cuts


def test_the_fetch_stages_plan_is_the_rule_applied_to_every_candidate(
        store: tuple[Store, Settings]) -> None:
    s, settings = store
    newest = s.scalar("SELECT max(occurred_at) FROM raw.page_fetches")
    schedule = schedule_of(settings.revisit_hours)
    for hours in (2, 30, 80):
        now = newest + timedelta(hours=hours)
        every = revisit_candidates(s, horizon=now - schedule[-1])
        expected = plan_revisits(every, now=now, schedule=schedule,
                                 budget=settings.revisit_budget, per_host=3)
        got = plan(s, settings.model_copy(update={"revisit_per_host": 3}), now,
                   settings.revisit_budget)
        assert got == expected and got
