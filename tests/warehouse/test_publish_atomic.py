"""The published copy is atomic, repaired when damaged, survives kills, and carries search().

A "state" of the store is a number k: 4 + 2k articles over four days, paired into stories, each
article with 1 + k % 2 versions, and every article and story titled ``gen{k}``. Any answer that
mixes two states (new articles with old stories, a story link to an article not in the view,
versions that disagree with version_count) is caught by ``CONSISTENCY``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from warehouse.publish import MANIFEST, analytics_db_path, current_dir, publish
from warehouse.search import has_search, load_fts, search, update_index
from warehouse.store import Store

ROOT = Path(__file__).resolve().parents[2]
DAY0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)

CONSISTENCY = """
WITH a AS (SELECT * FROM analytics.articles),
v AS (SELECT article_key, count(*) AS n FROM analytics.article_versions GROUP BY ALL)
SELECT
    (SELECT count(*) FROM a) AS articles,
    (SELECT count(*) FROM analytics.stories) AS stories,
    (SELECT list(DISTINCT title ORDER BY title) FROM (SELECT title FROM a UNION ALL
        SELECT title FROM analytics.stories UNION ALL SELECT title FROM analytics.story_articles))
        AS titles,
    (SELECT count(*) FROM analytics.story_articles AS sa ANTI JOIN a USING (article_key))
        AS orphan_links,
    (SELECT count(*) FROM a LEFT JOIN v USING (article_key)
        WHERE coalesce(v.n, 0) <> a.version_count) AS version_mismatch,
    (SELECT articles FROM analytics.published) AS published_articles
"""


def consistent(row: tuple[Any, ...]) -> bool:
    """Whether one answer of CONSISTENCY is a whole state k."""
    articles, stories, titles, orphans, mismatch, published = row
    k = (articles - 4) // 2
    return (articles == 4 + 2 * k and stories == articles // 2 and titles == [f"gen{k}"]
            and orphans == 0 and mismatch == 0 and published == articles)


def state_rows(k: int) -> dict[str, list[dict[str, Any]]]:
    """core.articles, core.article_versions, core.stories and core.story_articles of state k."""
    title = f"gen{k}"
    articles, versions, stories, members = [], [], [], []
    for i in range(4 + 2 * k):
        seen = DAY0 + timedelta(days=i % 4, minutes=i)
        key = f"https://example.org/a/{i}"
        n_versions = 1 + k % 2
        text = f"{title} article {i} about harbour strike number {i} " * 20
        articles.append({
            "article_key": key, "url": key, "canonical_url": None, "feed_id": "f1",
            "outlet": f"outlet{i % 2}", "title": title, "authors": ["A"], "published_at": seen,
            "published_source": "meta", "date_suspect": False, "feed_page_date_disagree": False,
            "modified_at": None, "language": "en", "declared_language": "en",
            "site_name": "Example", "description": None, "image": None, "tags": [],
            "text": text, "word_count": 200, "content_hash": f"h{i}-{k}",
            "extractor": "trafilatura", "extractor_version": "2.3.1", "page_fetch_id": f"p{i}",
            "first_seen_at": seen, "last_seen_at": seen, "version_count": n_versions,
        })
        for v in range(n_versions):
            versions.append({
                "article_key": key, "content_hash": f"h{i}-{k}-{v}", "extractor_version": "2.3.1",
                "page_fetch_id": f"p{i}-{v}", "observed_at": seen + timedelta(hours=v), "url": key,
                "final_url": key, "canonical_url": None, "title": title, "authors": ["A"],
                "page_published_at": seen, "page_published_source": "meta", "modified_at": None,
                "language": "en", "declared_language": "en", "site_name": "Example",
                "description": None, "image": None, "tags": [], "text": text, "word_count": 200,
                "extractor": "trafilatura", "version_hash": f"v{i}-{k}-{v}",
            })
        story = f"s{i // 2}"
        members.append({"article_key": key, "story_id": story, "outlet": f"outlet{i % 2}",
                        "published_at": seen, "position": 1 + i % 2, "similarity": 0.9,
                        "link_kind": "same_event", "is_syndicated": False,
                        "syndicated_from": None})
        if i % 2 == 0:
            stories.append({"story_id": story, "title": title, "first_article_key": key,
                            "first_outlet": "outlet0", "first_published_at": seen,
                            "last_published_at": seen + timedelta(minutes=1),
                            "article_count": 2, "outlet_count": 2,
                            "outlets": ["outlet0", "outlet1"], "syndicated_count": 0})
    return {"core.articles": articles, "core.article_versions": versions,
            "core.stories": stories, "core.story_articles": members}


def write_state(store: Store, k: int) -> None:
    """Replace the four tables with state k in one transaction, as a run's commit would."""
    with store.transaction("test"):
        for table, rows in state_rows(k).items():
            schema = store.con.execute(f"SELECT * FROM {table} LIMIT 0").to_arrow_table().schema
            store.con.register("_rows", pa.Table.from_pylist(rows, schema=schema))
            store.con.execute(f"DELETE FROM {table}")
            store.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _rows")
            store.con.unregister("_rows")


# One reader process per kind of session (in one process DuckDB hands a new connect() the
# database already open under that path, so a "new" session there would be the held one).
READER = textwrap.dedent("""
    import json, sys, time, duckdb
    from pathlib import Path
    db, stop, sql, mode = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    answers, errors = [], []
    held = duckdb.connect(db, read_only=True) if mode == "held" else None
    while not stop.exists():
        try:
            if held is not None:  # a session kept open across publishes
                answers.append(held.execute(sql).fetchone())
                time.sleep(0.01)
                continue
            con = duckdb.connect(db, read_only=True)  # a new session: the latest generation
            try:
                answers.append(con.execute(sql).fetchone())
            finally:
                con.close()
        except Exception as exc:  # every failure counts; the test asserts there are none
            errors.append(f"{type(exc).__name__}: {exc}")
    print(json.dumps({"answers": answers, "errors": errors}))
""")


def test_readers_never_see_a_torn_or_broken_copy(tmp_path: Path) -> None:
    out = tmp_path / "published"
    store = Store.open(tmp_path / "newsflow.duckdb")
    try:
        write_state(store, 0)
        publish(store, out)
        stop = tmp_path / "stop"
        readers = {mode: subprocess.Popen(
            [sys.executable, "-c", READER, str(analytics_db_path(out)), str(stop), CONSISTENCY,
             mode], stdout=subprocess.PIPE, text=True) for mode in ("new", "held")}
        try:
            time.sleep(1.0)  # both sessions open on generation 1
            for k in range(1, 7):
                write_state(store, k)
                # Enough generations kept for the held session (the bound has its own test).
                publish(store, out, keep=10)
        finally:
            time.sleep(0.5)
            stop.touch()
            seen = {mode: json.loads(proc.communicate(timeout=60)[0])
                    for mode, proc in readers.items()}
    finally:
        store.close()
    new = [tuple(a) for a in seen["new"]["answers"]]
    held = [tuple(a) for a in seen["held"]["answers"]]
    torn = [a for a in new + held if not consistent(a)]
    errors = seen["new"]["errors"] + seen["held"]["errors"]
    states = {(a[0] - 4) // 2 for a in new}
    print(f"{len(new)} new-session and {len(held)} held-session answers over states "
          f"{sorted(states)}: {len(torn)} inconsistent, {len(errors)} errors")
    assert errors == []
    assert torn == []
    assert len(new) >= 20 and len(states) >= 4  # the reader really ran during the publishes
    # The held session answers from the generation it opened, all along.
    assert held and all(h == new[0] for h in held)


KILLED = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from test_publish_atomic import write_state
    from warehouse.publish import publish
    from warehouse.store import Store
    db = Path(sys.argv[1])
    with Store.open(db) as store:
        write_state(store, 3)
        publish(store, db.parent / "published")
    print("not killed")
""").format(tests=str(ROOT / "tests" / "warehouse"))


def copy_answer(db: Path) -> tuple[Any, ...]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute(CONSISTENCY).fetchone()
    finally:
        con.close()
    assert row is not None
    return tuple(row)


@pytest.mark.parametrize("point", ["publish:generation_written", "publish:views_written",
                                   "publish:switched"])
def test_a_kill_inside_publish_leaves_a_whole_generation(tmp_path: Path, point: str) -> None:
    db = tmp_path / "newsflow.duckdb"
    out = tmp_path / "published"
    with Store.open(db) as store:
        write_state(store, 1)
        publish(store, out)
    before = copy_answer(analytics_db_path(out))
    killed = subprocess.run([sys.executable, "-c", KILLED, str(db)], cwd=ROOT, text=True,
                            capture_output=True, timeout=120, check=False,
                            env={**os.environ, "NEWSFLOW_FAULT_AT": point})
    assert killed.returncode == -9, killed.stdout + killed.stderr
    after = copy_answer(analytics_db_path(out))
    assert consistent(after)
    # Killed before the switch: the previous generation, untouched; after it: the new one, whole.
    assert after == (before if point != "publish:switched" else (10, 5, ["gen3"], 0, 0, 10))
    assert (out / "gen-000001").is_dir()
    with Store.open(db) as store:
        result = publish(store, out)
    assert copy_answer(analytics_db_path(out)) == (10, 5, ["gen3"], 0, 0, 10)
    assert not list(out.glob(".*.tmp")) and not list(tmp_path.glob(".analytics.duckdb.*"))
    # A generation folder that was complete but never switched to is not reused as a number.
    assert result["generation"] == (2 if point == "publish:generation_written" else 3)


def test_damaged_published_files_are_rewritten(tmp_path: Path) -> None:
    out = tmp_path / "published"
    with Store.open(tmp_path / "newsflow.duckdb") as store:
        write_state(store, 2)
        publish(store, out)
        expected = copy_answer(analytics_db_path(out))
        now = current_dir(out).resolve()
        stories = next((now / "stories").glob("*/part.parquet"))  # a day of a partitioned view
        with stories.open("r+b") as handle:  # truncated
            handle.truncate(stories.stat().st_size // 2)
        (now / "daily_volume" / "daily_volume.parquet").write_bytes(b"")  # emptied
        part = next((now / "articles").glob("*/part.parquet"))
        data = bytearray(part.read_bytes())  # one byte flipped, same size
        data[len(data) // 2] ^= 0xFF
        part.write_bytes(bytes(data))
        (now / "runs" / "runs.parquet").unlink()  # missing
        analytics_db_path(out).write_bytes(b"garbage" * 1000)  # garbage views file
        result = publish(store, out)
        store_volume = store.con.execute("SELECT count(*) FROM analytics.daily_volume").fetchone()
    assert result["damaged_rewritten"] == sorted([
        str(stories.relative_to(now)), "daily_volume/daily_volume.parquet",
        str(part.relative_to(now)), "runs/runs.parquet"])
    assert result["files_linked"] > 0  # the intact files are reused, not rewritten
    assert copy_answer(analytics_db_path(out)) == expected
    con = duckdb.connect(str(analytics_db_path(out)), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM analytics.daily_volume").fetchone() == store_volume
        assert con.execute("SELECT count(*) FROM analytics.runs").fetchone() == (0,)
    finally:
        con.close()
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["generation"] == 2 and str(stories.relative_to(now)) in manifest["files"]


def test_search_in_the_published_copy_ranks_like_the_store(tmp_path: Path) -> None:
    out = tmp_path / "published"
    queries = ["harbour strike", "gen2 article", "number 7", "strikes", "nothing matches this"]
    with Store.open(tmp_path / "newsflow.duckdb") as store:
        write_state(store, 2)
        extra = state_rows(2)["core.articles"][0] | {
            "article_key": "https://example.org/x", "title": "Election results in the harbour",
            "text": "The election results were counted at the harbour late at night. " * 5,
            "first_seen_at": DAY0 + timedelta(days=6)}
        with store.transaction("test"):
            store.insert("core.articles", [extra])
        keys = [r[0] for r in store.con.execute("SELECT article_key FROM core.articles").fetchall()]
        update_index(store.con, keys)
        publish(store, out)
        load_fts(store.con)
        theirs = {q: store.con.execute("SELECT rank, article_key, score, matched_terms, "
                                       "query_terms, snippet FROM analytics.search(?)",
                                       [q]).fetchall() for q in queries}
        store_hits = [search(store.con, q) for q in queries]
    copy = duckdb.connect(str(analytics_db_path(out)), read_only=True)
    try:
        load_fts(copy)  # stem(), for the query's words; as in the store
        assert has_search(copy)
        mine = {q: copy.execute("SELECT rank, article_key, score, matched_terms, query_terms, "
                                "snippet FROM analytics.search(?)", [q]).fetchall()
                for q in queries}
        assert [search(copy, q) for q in queries] == store_hits and store_hits[0]
    finally:
        copy.close()
    assert mine == theirs
    assert len(mine["harbour strike"]) == 9 and mine["harbour strike"][0][1].endswith("/x")
    assert mine["nothing matches this"] == []


def test_freshness_record_says_when_and_by_which_run(tmp_path: Path) -> None:
    out = tmp_path / "published"
    with Store.open(tmp_path / "newsflow.duckdb") as store:
        write_state(store, 0)
        first = publish(store, out, run_id="run-a")
        second = publish(store, out, run_id="run-b")
    con = duckdb.connect(str(analytics_db_path(out)), read_only=True)
    try:
        row = con.execute("SELECT published_at, run_id, generation, marker, articles "
                          "FROM analytics.published").fetchone()
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall()}
    finally:
        con.close()
    assert row is not None
    assert row[1:] == ("run-b", 2, second["marker"], 4)
    assert row[0] == datetime.fromisoformat(second["marker"].split(":", 1)[1])
    assert first["generation"] == 1
    assert {"articles", "stories", "story_articles", "article_versions", "daily_volume",
            "published", "search_terms", "search_docs"} <= tables
