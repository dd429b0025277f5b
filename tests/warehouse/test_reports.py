"""warehouse.reports (what `newsflow quality` shows): each page counted once, by its current
extraction."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from warehouse.reports import worst_sources
from warehouse.store import Store

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
OLD = "newsflow-extract/1 trafilatura/2.0.0"
NEW = "newsflow-extract/2 trafilatura/2.0.0"
OTHER = "newsflow-extract/10 trafilatura/2.0.0"  # newer than NEW, though "1..." < "2..." as text


def _store(path: Path) -> Store:
    """One outlet with two feeds, three pages; every page linked by two entry versions."""
    store = Store.open(path)
    con = store.con
    for feed in ("world", "politics"):
        con.execute("INSERT INTO core.feeds BY NAME SELECT ? AS feed_id, ? AS url, "
                    "'Daily' AS outlet, 0 AS consecutive_failures, 0 AS entries_seen, "
                    "'ok' AS status", [feed, f"https://daily.test/{feed}.xml"])
    for n in range(3):
        key = f"https://daily.test/{n}"
        con.execute("INSERT INTO raw.page_fetches BY NAME SELECT ? AS event_id, 'r' AS run_id, "
                    "? AS occurred_at, ? AS recorded_at, 1 AS schema_version, ? AS url, "
                    "? AS url_key, 'feed' AS source, 1 AS attempt, 0 AS elapsed_ms",
                    [f"p{n}", T0, T0, key, key])
        for feed in ("world", "politics"):
            for version in ("v1", "v2"):  # an updated entry: two rows, one link
                con.execute(
                    "INSERT INTO raw.feed_entries BY NAME SELECT ? AS event_id, 'r' AS run_id, "
                    "? AS occurred_at, ? AS recorded_at, 1 AS schema_version, 'f' AS "
                    "fetch_event_id, ? AS feed_id, ? AS entry_key, 'link' AS key_source, "
                    "? AS content_hash, 'ok' AS parse_quality, ? AS link, ? AS link_key, "
                    "'ok' AS link_status, false AS date_suspect, false AS truncated, "
                    "0 AS position", [f"e-{feed}-{n}-{version}", T0, T0, feed, key, version, key,
                                      key])
    # page 0: no content under the old extractor, an article after re-extraction
    # page 1: an article under the old extractor, no content under the newest
    # page 2: an article, extracted once
    for page, version, page_class in [("p0", OLD, "no_content"), ("p0", NEW, "article"),
                                      ("p1", NEW, "article"), ("p1", OTHER, "no_content"),
                                      ("p2", NEW, "article")]:
        con.execute("INSERT INTO core.page_extractions BY NAME SELECT ? AS page_fetch_id, "
                    "'k' AS article_key, ? AS page_class, 'trafilatura' AS extractor, "
                    "? AS extractor_version, ? AS occurred_at", [page, page_class, version, T0])
    return store


def test_worst_sources_count_each_page_once_by_its_current_extraction(tmp_path: Path) -> None:
    with _store(tmp_path / "q.duckdb") as store:
        rows = worst_sources(store.con, date(1970, 1, 1)).records()
    assert rows == [{"source": "Daily", "pages": 3, "not_articles": 1, "pct": 33.3,
                     "main_problem": "no_content"}]


def test_worst_sources_since_excludes_older_pages_and_an_empty_store_has_none(
        tmp_path: Path) -> None:
    with _store(tmp_path / "q.duckdb") as store:
        assert worst_sources(store.con, date(2027, 1, 1)).empty
    with Store.open(tmp_path / "empty.duckdb") as store:
        assert worst_sources(store.con, date(1970, 1, 1)).empty


def test_source_pages_pick_the_extraction_that_transforms_ranks_latest(tmp_path: Path) -> None:
    """analytics.source_pages orders extractor versions in SQL as extractor_version_key does in
    Python: for every pair of versions, the page's class is the one of the later version."""
    from itertools import combinations

    from transforms.articles import extractor_version_key

    versions = ["newsflow-extract/2 trafilatura/2.10.0", "newsflow-extract/2 trafilatura/2.9.1",
                "newsflow-extract/10 trafilatura/1.0", "newsflow-extract/9 trafilatura/3.0",
                "newsflow-extract/02 trafilatura/1.0", "legacy/99", "legacy/100",
                "newsflow-extract/3"]
    pairs = list(combinations(versions, 2))
    with Store.open(tmp_path / "v.duckdb") as store:
        con = store.con
        con.execute("INSERT INTO core.feeds BY NAME SELECT 'f' AS feed_id, 'https://v.test/f' "
                    "AS url, 'V' AS outlet, 0 AS consecutive_failures, 0 AS entries_seen, "
                    "'ok' AS status")
        expected = 0
        for n, (a, b) in enumerate(pairs):
            key = f"https://v.test/{n}"
            con.execute("INSERT INTO raw.page_fetches BY NAME SELECT ? AS event_id, 'r' AS "
                        "run_id, ? AS occurred_at, ? AS recorded_at, 1 AS schema_version, ? AS "
                        "url, ? AS url_key, 'feed' AS source, 1 AS attempt, 0 AS elapsed_ms",
                        [f"p{n}", T0, T0, key, key])
            con.execute(
                "INSERT INTO raw.feed_entries BY NAME SELECT ? AS event_id, 'r' AS run_id, ? AS "
                "occurred_at, ? AS recorded_at, 1 AS schema_version, 'x' AS fetch_event_id, "
                "'f' AS feed_id, ? AS entry_key, 'link' AS key_source, 'h' AS content_hash, "
                "'ok' AS parse_quality, ? AS link, ? AS link_key, 'ok' AS link_status, "
                "false AS date_suspect, false AS truncated, 0 AS position",
                [f"e{n}", T0, T0, key, key, key])
            later = max((a, b), key=extractor_version_key)
            expected += later == a
            for version in (a, b):  # the later version says no_content, the other article
                con.execute("INSERT INTO core.page_extractions BY NAME SELECT ? AS "
                            "page_fetch_id, 'k' AS article_key, ? AS page_class, 'x' AS "
                            "extractor, ? AS extractor_version, ? AS occurred_at",
                            [f"p{n}", "no_content" if version == later else "article", version,
                             T0])
        rows = con.execute("SELECT page_class, sum(pages) FROM analytics.source_pages "
                           "GROUP BY ALL").fetchall()
    assert dict(rows) == {"no_content": len(pairs)}
    assert 0 < expected < len(pairs)  # the later version is sometimes first, sometimes second
