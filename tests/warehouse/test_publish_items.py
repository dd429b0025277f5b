"""analytics.items is published by day, each day compared by a change token (issue 13).

Each test changes the store the way a writer does for one input of an item's row of an old day
(a revisit of its page, a quarantine or finished check, a feed renamed in feeds.yaml, a second
feed announcing an old link, a quarantined feed entry), publishes incrementally and checks that
only the days it touched were written, that an untouched day's file is the previous generation's
(same inode), and that the copy equals a full republish and the store's own view.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.warehouse.test_publish import DAY0, add, article
from tests.warehouse.test_publish_changes import finish_checks, hold, same_as_full, written
from warehouse import publish as publish_module
from warehouse.publish import analytics_db_path, current_dir, publish
from warehouse.store import Store

FEEDS = {"f1": "Example", "f2": "Other"}


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "newsflow.duckdb")
    yield s
    s.close()


def entry(i: int, *, feed: str, day: int, title: str | None = None) -> dict[str, Any]:
    """A raw.feed_entries row announcing article ``i``'s link on ``day`` after DAY0."""
    when = DAY0 + timedelta(days=day, minutes=i)
    link = f"https://example.org/a/{i}"
    return {"event_id": f"entry-{i}-{feed}-{day}", "run_id": "r1", "occurred_at": when,
            "recorded_at": when, "schema_version": 1, "fetch_event_id": f"ff-{feed}-{day}",
            "feed_id": feed, "entry_key": f"{feed}:{i}", "key_source": "guid",
            "content_hash": f"c{i}{feed}{day}", "parse_quality": "ok", "link_status": "ok",
            "date_suspect": False, "truncated": False,
            "link": link, "link_key": link, "title": title or f"Feed title {i}",
            "summary": f"summary {i} from {feed}", "authors": [], "tags": [], "position": i}


def fetch(i: int, *, day: int, status: int = 200, event: str | None = None) -> dict[str, Any]:
    """A raw.page_fetches row of article ``i``'s page (``p<i>``, the article's page_fetch_id)."""
    when = DAY0 + timedelta(days=day, minutes=i, seconds=30)
    url = f"https://example.org/a/{i}"
    return {"event_id": event or f"p{i}", "run_id": "r1", "occurred_at": when,
            "recorded_at": when, "schema_version": 1, "url": url, "url_key": url,
            "source": "feed", "attempt": 1, "status": status,
            "error_class": None if status < 400 else "http_error", "headers": "{}",
            "body_bytes": 0, "elapsed_ms": 5}


def extraction(i: int, *, day: int) -> dict[str, Any]:
    return {"page_fetch_id": f"p{i}", "article_key": f"https://example.org/a/{i}",
            "page_class": "article", "content_hash": f"h{i}", "extractor": "trafilatura",
            "extractor_version": "2.3.1", "occurred_at": DAY0 + timedelta(days=day, minutes=i),
            "title": f"T{i}", "site_name": "Example", "access": "free"}


def seed(store: Store) -> list[dict[str, Any]]:
    """Nine items over three days: articles 0-7 fetched and extracted, item 8 never fetched;
    feed f1 announces the items of days 0 and 1, feed f2 those of day 2."""
    rows = [article(i, i % 3) for i in range(8)]
    add(store, rows)
    with store.transaction("test"):
        store.insert("core.feeds", [{"feed_id": f, "url": f"https://example.org/{f}.xml",
                                     "name": name, "outlet": name.lower(),
                                     "consecutive_failures": 0, "entries_seen": 0,
                                     "status": "ok"} for f, name in FEEDS.items()])
        store.insert("raw.feed_entries", [entry(i, feed="f2" if i % 3 == 2 else "f1", day=i % 3)
                                          for i in range(9)])
        store.insert("raw.page_fetches", [fetch(i, day=i % 3) for i in range(8)])
        store.insert("core.page_extractions", [extraction(i, day=i % 3) for i in range(8)])
    return rows


def inodes(out: Path) -> dict[str, int]:
    return {p.name: (p / "part.parquet").stat().st_ino
            for p in (current_dir(out) / "items").resolve().iterdir()}


def same_as_store(store: Store, out: Path) -> None:
    """The copy's items are the store's analytics.items, row for row."""
    mine = store.con.execute("SELECT count(*), sum(hash(t)::HUGEINT) FROM analytics.items AS t"
                             ).fetchone()
    con = duckdb.connect(str(analytics_db_path(out)), read_only=True)
    try:
        copy = con.execute("SELECT count(*), sum(hash(t)::HUGEINT) FROM "
                           "(SELECT * EXCLUDE (first_seen_day) FROM items) AS t").fetchone()
        days = con.execute("SELECT count(*) FROM items WHERE first_seen_day <> "
                           "timezone('UTC', first_seen_at)::DATE").fetchone()
    finally:
        con.close()
    assert mine == copy
    assert days == (0,)


def republish(store: Store, tmp_path: Path, out: Path, days: list[str]) -> dict[str, Any]:
    """Publish; only ``days`` of items are written, every other day is linked (same inode)."""
    before = inodes(out)
    result = publish(store, out)
    assert written(result, "items") == days
    after = inodes(out)
    assert {d for d in before if after.get(d) == before[d]} == {
        d for d in before if d.removeprefix("first_seen_day=") not in days}
    same_as_full(store, tmp_path, out)
    same_as_store(store, out)
    return result


def status_of(out: Path, i: int) -> tuple[Any, ...]:
    con = duckdb.connect(str(analytics_db_path(out)), read_only=True)
    try:
        return con.execute("SELECT status, outlet, feeds, http_status FROM items WHERE link = ?",
                           [f"https://example.org/a/{i}"]).fetchone()
    finally:
        con.close()


def test_items_are_written_by_day_and_a_run_that_touches_none_links_them(
        store: Store, tmp_path: Path) -> None:
    seed(store)
    out = tmp_path / "published"
    first = publish(store, out)
    assert first["tables"]["items"] == 9
    assert written(first, "items") == ["2026-11-01", "2026-11-02", "2026-11-03"]
    same_as_store(store, out)
    assert status_of(out, 8) == ("not_fetched", "other", 1, None)
    # A feed's health is updated in place every poll: items read only its outlet, so nothing.
    store.con.execute("UPDATE core.feeds SET entries_seen = 9, status = 'ok', "
                      "last_attempt_at = now()")
    republish(store, tmp_path, out, [])
    # A run announces and extracts a new item on a new day: only that day is written.
    add(store, [article(20, 5)])
    with store.transaction("test"):
        store.insert("raw.feed_entries", [entry(20, feed="f1", day=5)])
        store.insert("raw.page_fetches", [fetch(20, day=5)])
        store.insert("core.page_extractions", [extraction(20, day=5)])
    republish(store, tmp_path, out, ["2026-11-06"])


def test_a_revisit_of_an_old_link_rewrites_only_its_day(store: Store, tmp_path: Path) -> None:
    seed(store)
    out = tmp_path / "published"
    publish(store, out)
    # Item 4 (day 1) is fetched again on day 9 and fails: its latest fetch changes.
    with store.transaction("test"):
        store.insert("raw.page_fetches", [fetch(4, day=9, status=503, event="p4-again")])
    republish(store, tmp_path, out, ["2026-11-02"])
    assert status_of(out, 4) == ("article", "example", 1, 503)
    # Item 8 (day 2), never fetched, is fetched on day 9 but not extracted yet.
    with store.transaction("test"):
        store.insert("raw.page_fetches", [fetch(8, day=9)])
    republish(store, tmp_path, out, ["2026-11-03"])
    assert status_of(out, 8)[0] == "not_extracted"


def test_a_quarantine_or_a_finished_check_changes_the_status_of_its_day(
        store: Store, tmp_path: Path) -> None:
    rows = seed(store)
    hold(store, rows[2])
    out = tmp_path / "published"
    publish(store, out)
    assert status_of(out, 2)[0] == "held"
    # The checks finish: article 2 (day 2) passes; article 3 (day 0) is quarantined.
    finish_checks(store, quarantined=rows[3])
    republish(store, tmp_path, out, ["2026-11-01", "2026-11-03"])
    assert status_of(out, 2)[0] == "article"
    assert status_of(out, 3)[0] == "held"


def test_a_renamed_feed_rewrites_the_days_of_its_items(store: Store, tmp_path: Path) -> None:
    seed(store)
    out = tmp_path / "published"
    publish(store, out)
    # feeds.yaml renames f2's outlet (an UPDATE in place): f2 announced only the items of day 2.
    store.con.execute("UPDATE core.feeds SET outlet = 'renamed' WHERE feed_id = 'f2'")
    republish(store, tmp_path, out, ["2026-11-03"])
    assert status_of(out, 8)[1] == "renamed"


def test_a_second_feed_announcing_an_old_link_rewrites_its_first_day(
        store: Store, tmp_path: Path) -> None:
    seed(store)
    out = tmp_path / "published"
    publish(store, out)
    # f2 announces item 0 (first seen on day 0 by f1) on day 8 with a new title.
    with store.transaction("test"):
        store.insert("raw.feed_entries", [entry(0, feed="f2", day=8, title="Newer title")])
    republish(store, tmp_path, out, ["2026-11-01"])
    assert status_of(out, 0)[2] == 2


def test_a_quarantined_feed_entry_moves_or_removes_its_item(store: Store,
                                                            tmp_path: Path) -> None:
    seed(store)
    with store.transaction("test"):
        store.insert("raw.feed_entries", [entry(1, feed="f2", day=2)])  # item 1 again, day 2
    out = tmp_path / "published"
    publish(store, out)
    # Item 1's first entry (day 1) and item 8's only entry (day 2) are quarantined: item 1 is
    # now first seen on day 2, item 8 is gone.
    with store.transaction("test"):
        store.insert("quality.quarantine", [{
            "run_id": "r1", "stage": "ingest_feeds", "table_name": "raw.feed_entries",
            "event_id": e, "reason": "test", "quarantined_at": DAY0}
            for e in ("entry-1-f1-1", "entry-8-f2-2")])
    result = republish(store, tmp_path, out, ["2026-11-02", "2026-11-03"])
    assert result["tables"]["items"] == 8


def test_items_are_read_narrowed_to_the_days_written(store: Store, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The narrowed read finds the view's source (else every publish would evaluate the whole
    view again), and a view whose SQL no longer matches is read whole, with the same result."""
    seed(store)
    out = tmp_path / "published"
    writer = publish_module._GenerationWriter(store.con, tmp_path, tmp_path, {}, {})
    source = next(s for s in publish_module._sources(store.con) if s.key == "items")
    writer._select_parts({"2026-11-02"})
    narrowed = writer._narrowed(source, {"2026-11-02"})
    assert narrowed is not None and "_publish_keys" in narrowed
    links = {r[0] for r in store.con.execute(f"SELECT link FROM ({narrowed})").fetchall()}
    assert links == {f"https://example.org/a/{i}" for i in (1, 4, 7)}
    publish(store, out)
    monkeypatch.setitem(publish_module._NARROW, "items",
                        (publish_module.re.compile(r"\b(nothing)\.(here)\b"), 1,
                         "publish_items_links", "link_key"))
    with store.transaction("test"):
        store.insert("raw.page_fetches", [fetch(4, day=9, status=503, event="p4-again")])
    republish(store, tmp_path, out, ["2026-11-02"])
