"""The extract stage streams its backlog: ids first, bodies one batch at a time, and batch n+1
extracting while batch n commits (flows.extract_articles.extracted_ahead)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import flows.extract_articles as stage
from flows.extract_articles import extract
from flows.fetch_pages import fetch
from flows.ingest_feeds import ingest
from flows.settings import load_feed_list
from sample.server import SampleServer
from tests.sample_mode import sample_settings
from transforms.extraction import extract_page
from warehouse import projections
from warehouse.store import Store


class SignallingPool:
    """In-process extraction that says when each batch starts."""

    def __init__(self) -> None:
        self.calls = 0
        self.started = [threading.Event() for _ in range(100)]  # one per batch, in order

    def extract_many(self, items: Any) -> Iterator[tuple[Any, Any]]:
        self.started[self.calls].set()
        self.calls += 1
        for key, body, content_type, url in items:
            yield key, extract_page(body, content_type, url)


def test_backlog_is_read_a_batch_at_a_time_and_the_next_batch_extracts_during_a_commit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with SampleServer(n_articles=12) as server:
        settings = sample_settings(server, tmp_path)
        with Store.open(settings.db_path) as store:
            ingest(store, settings, load_feed_list(settings.feeds_file), run_id="r1",
                   only_due=False)
            fetched = fetch(store, settings, run_id="r1")
            pending = projections.pending_page_ids(store)
            assert len(pending) == fetched["pages_requested"] >= 12
            assert len(set(pending)) == len(pending)

            events: list[tuple[str, int]] = []
            reads: list[list[str]] = []
            real_read, real_apply = projections.pages_by_id, stage.apply_extractions
            pool = SignallingPool()
            overlapped: list[bool] = []

            def read(store: Store, ids: list[str]) -> list[dict[str, Any]]:
                reads.append(list(ids))
                events.append(("read", len(reads)))
                return real_read(store, ids)

            def apply(store: Store, batch: Any, **kwargs: Any) -> None:
                n = sum(1 for e in events if e[0] == "apply") + 1
                events.append(("apply", n))
                if n < len(reads_expected):
                    # batch n+1 is in the pool while batch n commits
                    overlapped.append(pool.started[n].wait(timeout=10))
                real_apply(store, batch, **kwargs)

            reads_expected = [pending[i:i + 5] for i in range(0, len(pending), 5)]
            monkeypatch.setattr(projections, "pages_by_id", read)
            monkeypatch.setattr(stage, "apply_extractions", apply)
            result = extract(store, settings, run_id="r1", batch_size=5, pool=pool)

            assert reads == reads_expected  # bodies one batch at a time, in pending order
            assert overlapped == [True] * (len(reads_expected) - 1)
            # never more than two batches read beyond the ones committed
            read_n = applied = 0
            for kind, _ in events:
                read_n += kind == "read"
                applied += kind == "apply"
                assert read_n - applied <= 2
            assert result["pages"] == len(pending)
            assert projections.pending_page_ids(store) == []
            assert store.con.execute(
                "SELECT count(*), count(DISTINCT page_fetch_id) FROM core.page_extractions"
            ).fetchone() == (len(pending), len(pending))


def test_fetch_offers_each_page_as_the_extract_stage_will_ask_for_it(tmp_path: Path) -> None:
    """The head start hits only when the body, content type and URL offered during the fetch
    are those the extract stage later reads from the store: every stored page must match."""
    from warehouse.events import extraction_inputs
    from workers.headstart import page_key

    offered: list[tuple[bytes, str | None, str, str | None]] = []
    with SampleServer(n_articles=8) as server:
        settings = sample_settings(server, tmp_path)
        with Store.open(settings.db_path) as store:
            ingest(store, settings, load_feed_list(settings.feeds_file), run_id="r1",
                   only_due=False)
            fetch(store, settings, run_id="r1",
                  on_page=lambda body, ctype, url, sha: offered.append((body, ctype, url, sha)))
            pages = projections.pages_by_id(store, projections.pending_page_ids(store))
    rows = {p["event_id"]: p for p in pages}
    # the key each side uses: the hashes the fetch and the store hand over, which are those of
    # the bodies themselves
    stored = {page_key(body, ctype, url, rows[k]["body_sha256"])
              for k, body, ctype, url in extraction_inputs(rows)}
    assert stored == {page_key(body, ctype, url) for _, body, ctype, url in extraction_inputs(rows)}
    assert len(pages) >= 8
    assert {page_key(*page) for page in offered} == stored
    assert {page_key(*page[:3]) for page in offered} == stored


WALL = " ".join(["All rights reserved.", "Subscribe now to keep reading.",
                 "We use cookies to improve your experience.", "This is the story."] * 20)


class PlantingPool(SignallingPool):
    """In-process extraction that gives the page whose URL contains ``marker`` a text of page
    chrome (a blocking check quarantines it)."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = marker

    def extract_many(self, items: Any) -> Iterator[tuple[Any, Any]]:
        import dataclasses

        items = list(items)
        urls = {key: url for key, _, _, url in items}
        for key, found in super().extract_many(items):
            url = urls[key]
            if self.marker in url and found.text:
                found = dataclasses.replace(found, text=WALL, word_count=len(WALL.split()))
            yield key, found


def test_each_batch_is_checked_after_its_own_commit_and_a_failure_blocks_its_articles(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stage checks every batch's articles right after that batch commits (the stage keeps
    no frame of the whole backlog for a check at its end); a blocking failure in one batch
    quarantines that article alone and flags the stage, as the end-of-stage check did."""
    with SampleServer(n_articles=12) as server:
        settings = sample_settings(server, tmp_path, run_checks=True)
        victim = server.site.articles[3]
        with Store.open(settings.db_path) as store:
            ingest(store, settings, load_feed_list(settings.feeds_file), run_id="r1",
                   only_due=False)
            fetch(store, settings, run_id="r1")
            pending = projections.pending_page_ids(store)
            checked: list[tuple[list[str], int, int]] = []
            seen: set[str] = set()
            real_check = stage.check_batch

            def check(store: Store, **kwargs: Any) -> Any:
                # the keys checked; the articles committed when the check ran, and how many of
                # them belong to the batches checked so far, this one included
                seen.update(kwargs["keys"])
                within = store.scalar("SELECT count(*) FROM core.articles WHERE "
                                      "list_contains($k, article_key)", {"k": sorted(seen)})
                checked.append((list(kwargs["keys"]), store.count("core.articles"), within))
                return real_check(store, **kwargs)

            monkeypatch.setattr(stage, "check_batch", check)
            result = extract(store, settings, run_id="r1", batch_size=5,
                             pool=PlantingPool(victim.path))

            batches = -(-len(pending) // 5)
            assert len(checked) == batches >= 3
            for n, (keys, articles, within) in enumerate(checked):
                assert 0 < len(keys) <= 5
                # checked after its own commit (its articles are there), before the next one's
                assert articles == within > (checked[n - 1][1] if n else 0)
            assert result["status"] == "validation_failed"
            assert store.scalar("SELECT status FROM analytics.runs WHERE run_id = 'r1' "
                                "AND stage = 'extract_articles'") == "validation_failed"
            key = store.scalar("SELECT article_key FROM core.articles WHERE url = $u",
                               {"u": victim.url})  # type: ignore[arg-type]
            assert store.rows("SELECT event_id, reason FROM quality.quarantine "
                              "WHERE table_name = 'core.articles'") == [
                {"event_id": key, "reason": "core_articles.not_mostly_boilerplate"}]
            # one recorded report per batch, the failing one among them; nothing left pending
            reports = store.rows(
                "SELECT validated_at, bool_and(success OR NOT blocking) AS passed "
                "FROM quality.validations WHERE run_id = 'r1' AND table_name = 'core.articles' "
                "GROUP BY 1 ORDER BY 1")
            assert [r["passed"] for r in reports].count(False) == 1
            assert len(reports) == batches
            assert store.count("quality.pending_checks") == 0
            assert store.scalar("SELECT count(*) FROM analytics.articles") == \
                store.count("core.articles") - 1
