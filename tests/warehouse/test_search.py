"""Full-text search: the incremental BM25 index, the analytics.search macro, read-only use."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from transforms.tokens import STOPWORDS, words
from warehouse.search import has_search, load_fts, rebuild_index, search, update_index
from warehouse.store import Store

T0 = datetime(2024, 11, 1, 9, tzinfo=UTC)
TEXTS = {
    "k/pyongyang": ("Kim Jong Un meets Russian envoy",
                    "North Korean leader Kim Jong Un met a Russian delegation in Pyongyang as "
                    "Russia and North Korea deepen military ties, state media said."),
    "k/moscow": ("Talks in Moscow",
                 "Russia said talks with a North Korean delegation went well. Kim Jong-un is "
                 "expected to visit Russia next year, officials added."),
    "k/moldova": ("Moldova votes",
                  "Observers watched the elections in Moldova closely; the election result was "
                  "contested by the opposition."),
    "k/weather": ("Storm warning", "Heavy rain is expected across the region this weekend."),
}


def article(key: str, title: str, text: str, day: int = 0, **extra: Any) -> dict[str, Any]:
    at = T0 + timedelta(days=day)
    row = {
        "article_key": key, "url": f"https://{key}", "canonical_url": None, "feed_id": "f1",
        "outlet": key.split("/")[1], "title": title, "authors": [], "published_at": at,
        "published_source": "meta", "date_suspect": False, "feed_page_date_disagree": False,
        "modified_at": None, "language": "en", "declared_language": None, "site_name": None,
        "description": None, "image": None, "tags": [], "text": text,
        "word_count": len(text.split()), "content_hash": f"h-{hash(text)}",
        "extractor": "trafilatura", "extractor_version": "2.3.1", "page_fetch_id": f"p-{key}",
        "first_seen_at": at, "last_seen_at": at, "version_count": 1,
    }
    row.update(extra)
    return row


@pytest.fixture
def store() -> Store:
    s = Store.open(None)
    s.insert("core.articles", [article(k, t, x, day=i) for i, (k, (t, x)) in
                               enumerate(TEXTS.items())])
    update_index(s.con, list(TEXTS))
    return s


def terms(store: Store) -> list[tuple[Any, ...]]:
    return store.con.execute("SELECT * FROM core.search_terms ORDER BY ALL").fetchall()


def test_sql_stopwords_equal_the_python_list(store: Store) -> None:
    assert set(store.scalar("SELECT core.search_stopwords()")) == STOPWORDS


@pytest.mark.parametrize("text", ["Zürich\u2019s Kim Jong-un met Путин in 2024; state_of art",
                                  "  ÉLECTIONS -- in Moldova!  ", ""])
def test_sql_tokenizer_agrees_with_transforms_tokens(store: Store, text: str) -> None:
    sql = store.scalar("SELECT core.search_tokens(?)", [text])
    expected = [store.scalar("SELECT stem(?, 'porter')", [w]) for w in words(text)
                if w not in STOPWORDS]
    assert sql == expected


def test_ranked_results_put_the_best_match_first(store: Store) -> None:
    hits = search(store.con, "kim jong un russia")
    assert [h.article_key for h in hits] == ["k/pyongyang", "k/moscow"]
    assert hits[0].score > hits[1].score > 0
    assert hits[0].matched_terms == hits[0].query_terms == 4
    assert "Kim Jong Un" in hits[0].snippet


def test_stemming_matches_other_forms_of_a_word(store: Store) -> None:
    assert [h.article_key for h in search(store.con, "elections")] == ["k/moldova"]
    assert [h.article_key for h in search(store.con, "ELECTION")] == ["k/moldova"]


def test_stopwords_only_query_finds_nothing(store: Store) -> None:
    assert search(store.con, "the and of") == []


def test_date_and_outlet_filters(store: Store) -> None:
    assert [h.article_key for h in search(store.con, "russia", since=date(2024, 11, 2))] == [
        "k/moscow"]
    assert [h.article_key for h in search(store.con, "russia", until=date(2024, 11, 2))] == [
        "k/pyongyang"]
    assert [h.article_key for h in search(store.con, "russia", outlet="moscow")] == ["k/moscow"]


def test_the_macro_is_usable_from_sql(store: Store) -> None:
    rows = store.con.execute(
        "SELECT rank, article_key FROM analytics.search('moldova') ORDER BY rank").fetchall()
    assert rows == [(1, "k/moldova")]


def test_update_touches_only_changed_keys(store: Store) -> None:
    before = terms(store)
    again = update_index(store.con, list(TEXTS))
    assert again["indexed"] == 0 and terms(store) == before
    store.con.execute("UPDATE core.articles SET text = 'Typhoon batters the coast', "
                      "content_hash = 'changed' WHERE article_key = 'k/weather'")
    changed = update_index(store.con, list(TEXTS))
    assert changed["indexed"] == 1
    assert [h.article_key for h in search(store.con, "typhoon")] == ["k/weather"]
    assert search(store.con, "rain") == []


def test_new_articles_cost_their_own_count_not_the_store(store: Store) -> None:
    store.insert("core.articles", [article("k/new", "Kim visits Vladivostok",
                                           "Kim Jong Un arrived in Vladivostok by train.", 3)])
    result = update_index(store.con, ["k/new"])
    assert result["indexed"] == 1 and result["removed"] == 0
    assert search(store.con, "vladivostok")[0].article_key == "k/new"


def test_vanished_article_is_removed_from_the_index(store: Store) -> None:
    store.con.execute("DELETE FROM core.articles WHERE article_key = 'k/moldova'")
    assert update_index(store.con, ["k/moldova"])["removed"] == 1
    assert search(store.con, "moldova") == []
    assert store.scalar("SELECT count(*) FROM core.search_docs WHERE article_key = 'k/moldova'") \
        == 0


def test_incremental_index_equals_a_rebuild(store: Store) -> None:
    store.con.execute("UPDATE core.articles SET title = 'Moldova counts votes', "
                      "content_hash = 'c2' WHERE article_key = 'k/moldova'")
    update_index(store.con, ["k/moldova"])
    incremental = terms(store)
    rebuild_index(store.con)
    assert terms(store) == incremental


def test_quarantined_articles_are_not_returned(store: Store) -> None:
    store.con.execute("INSERT INTO quality.quarantine VALUES ('r', 'core', 'core.articles', "
                      "'k/moldova', 'test', now())")
    assert search(store.con, "moldova") == []


def test_search_on_a_read_only_connection(tmp_path: Path) -> None:
    db = tmp_path / "news.duckdb"
    with Store.open(db) as s:
        s.insert("core.articles", [article(k, t, x) for k, (t, x) in TEXTS.items()])
        update_index(s.con, list(TEXTS))
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert has_search(con)
        load_fts(con)
        assert search(con, "pyongyang")[0].article_key == "k/pyongyang"
    finally:
        con.close()
