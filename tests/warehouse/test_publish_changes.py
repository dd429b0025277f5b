"""Publish finds what changed from change tokens, not by hashing the history (issue 13).

Each test changes the store the way a writer does (a revisit, a backfill of an old day, a
quarantine, a finished check, a rebuild after a checkpoint, a feed updated in place, several
commits with no publish between them), publishes incrementally and checks two things: only the
days and tables touched were written (the others are hard links to the previous generation), and
the copy equals a full republish of the same store in another folder.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

import warehouse.publish as publish_module
from tests.warehouse.test_publish import DAY0, add, article
from warehouse import generations as gens
from warehouse.publish import UPDATED_IN_PLACE, analytics_db_path, current_dir, publish
from warehouse.search import update_index
from warehouse.store import Store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "newsflow.duckdb")
    yield s
    s.close()


def version(row: dict[str, Any], *, seen_days: int, content: str) -> dict[str, Any]:
    """A core.article_versions row of ``row``'s article, observed ``seen_days`` after DAY0."""
    return {
        "article_key": row["article_key"], "content_hash": content,
        "extractor_version": row["extractor_version"], "page_fetch_id": f"{content}-fetch",
        "observed_at": DAY0 + timedelta(days=seen_days), "url": row["url"], "final_url": None,
        "canonical_url": None, "title": row["title"], "authors": row["authors"],
        "page_published_at": None, "page_published_source": None, "modified_at": None,
        "language": "en", "declared_language": "en", "site_name": "Example",
        "description": None, "image": None, "tags": [], "text": f"{content} " * 50,
        "word_count": 50, "extractor": "trafilatura", "version_hash": content,
    }


def seed(store: Store) -> list[dict[str, Any]]:
    """Nine articles over three days, each with one version, and the search index."""
    rows = [article(i, i % 3) for i in range(9)]
    add(store, rows)
    with store.transaction("test"):
        store.insert("core.article_versions",
                     [_fit(store, version(r, seen_days=i % 3, content=r["content_hash"]))
                      for i, r in enumerate(rows)])
    update_index(store.con, [r["article_key"] for r in rows])
    return rows


def _fit(store: Store, row: dict[str, Any]) -> dict[str, Any]:
    """Only the columns core.article_versions has (it has gained some over the migrations)."""
    names = set(store.arrow_schema("core.article_versions").names)
    return {k: v for k, v in row.items() if k in names}


def digest(db: Path) -> dict[str, tuple[Any, ...]]:
    """Every table of a published copy: its row count and an order-free hash of its rows."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        views = con.execute("SELECT schema_name, view_name FROM duckdb_views() "
                            "WHERE NOT internal AND view_name <> 'published'").fetchall()
        return {f"{s}.{v}": con.execute(
            f"SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0) FROM {s}.{v} AS t").fetchone()
            for s, v in views}
    finally:
        con.close()


def same_as_full(store: Store, tmp_path: Path, out: Path) -> None:
    fresh = tmp_path / f"full-{len(list(tmp_path.iterdir()))}" / "published"
    full = publish(store, fresh, since_marker=None)
    assert full["files_linked"] == 0
    assert digest(analytics_db_path(out)) == digest(analytics_db_path(fresh))


def revise(store: Store, row: dict[str, Any]) -> dict[str, Any]:
    """A revisit of ``row``'s article finds a new version (title "Revised") on day 7; returns
    the article's new core.articles row."""
    changed = dict(row, title="Revised", content_hash="h4-v2", last_seen_at=DAY0
                   + timedelta(days=7), version_count=2)
    add(store, [changed])
    with store.transaction("test"):
        store.insert("core.article_versions",
                     [_fit(store, version(changed, seen_days=7, content="h4-v2"))])
    return changed


def written(result: dict[str, Any], table: str) -> list[str]:
    return sorted(re.sub(r"^.*=(\d{4}-\d{2}-\d{2}).*$", r"\1", p)
                  for p in result["written"] if p.startswith(f"{table}/"))


def test_a_revisit_of_an_old_article_rewrites_its_days_and_links_the_rest(
        store: Store, tmp_path: Path) -> None:
    rows = seed(store)
    out = tmp_path / "published"
    publish(store, out)
    before = {p.name: (p / "part.parquet").stat().st_ino
              for p in (current_dir(out) / "articles").resolve().iterdir()}
    changed = revise(store, rows[4])  # article 4, first seen on day 1, revised on day 7
    update_index(store.con, [changed["article_key"]])
    result = publish(store, out)
    assert written(result, "articles") == ["2026-11-02"]
    # The old version's row changes too (is_current), on its own day, and the new one's day.
    assert written(result, "article_versions") == ["2026-11-02", "2026-11-08"]
    assert written(result, "core.search_terms") == ["2026-11-02"]
    assert written(result, "core.search_docs") == ["2026-11-02"]
    after = {p.name: (p / "part.parquet").stat().st_ino
              for p in (current_dir(out) / "articles").resolve().iterdir()}
    assert {d for d in before if after[d] == before[d]} == {"first_seen_day=2026-11-01",
                                                          "first_seen_day=2026-11-03"}
    same_as_full(store, tmp_path, out)


def test_backfill_of_an_old_day_and_commits_without_a_publish_between(
        store: Store, tmp_path: Path) -> None:
    seed(store)
    out = tmp_path / "published"
    publish(store, out)
    # Two commits (the second after a checkpoint), then a crash before publish; the next
    # publish catches up with both.
    add(store, [article(50, -20)])  # a backfilled day before all others
    store.checkpoint()
    add(store, [article(51, 1)])
    result = publish(store, out)
    assert written(result, "articles") == ["2026-10-12", "2026-11-02"]
    same_as_full(store, tmp_path, out)


def hold(store: Store, row: dict[str, Any]) -> None:
    """A committed batch whose checks have not run yet: ``row``'s article is held back."""
    with store.transaction("test"):
        store.insert("quality.pending_checks", [{
            "run_id": "r1", "stage": "extract_articles", "table_name": "core.articles",
            "part": 0, "keys": [row["article_key"]], "created_at": DAY0}])


def finish_checks(store: Store, *, quarantined: dict[str, Any]) -> None:
    """The pending checks run: every held article passes but ``quarantined``'s."""
    with store.transaction("test"):
        store.con.execute("DELETE FROM quality.pending_checks")
        store.insert("quality.quarantine", [{
            "run_id": "r1", "stage": "extract_articles", "table_name": "core.articles",
            "event_id": quarantined["article_key"], "reason": "test", "quarantined_at": DAY0}])


def test_quarantine_and_finished_checks_change_only_their_days(store: Store,
                                                               tmp_path: Path) -> None:
    rows = seed(store)
    hold(store, rows[2])
    out = tmp_path / "published"
    first = publish(store, out)
    assert first["tables"]["articles"] == 8  # its checks have not run: held back
    # The checks run: article 2 (day 2) passes, article 3 (day 0) is quarantined.
    finish_checks(store, quarantined=rows[3])
    result = publish(store, out)
    assert result["tables"]["articles"] == 8
    assert written(result, "articles") == ["2026-11-01", "2026-11-03"]
    assert written(result, "article_versions") == ["2026-11-01", "2026-11-03"]
    same_as_full(store, tmp_path, out)


def test_a_publish_leaves_none_of_its_temp_tables_or_macros(store: Store, tmp_path: Path) -> None:
    """The writer's connection goes on after a publish: the temp tables and macros the tokens,
    the narrowing and the rows used (_publish_articles, _publish_keys, ...) are gone."""
    seed(store)
    publish(store, tmp_path / "published")
    assert store.con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary "
        "AND starts_with(table_name, '_publish')").fetchall() == []
    assert store.con.execute(
        "SELECT function_name FROM duckdb_functions() "
        "WHERE starts_with(function_name, '_publish')").fetchall() == []


def test_a_rebuild_after_a_checkpoint_is_seen_even_where_rowids_repeat(
        store: Store, tmp_path: Path) -> None:
    rows = seed(store)
    out = tmp_path / "published"
    publish(store, out)
    # A rebuild clears and re-derives; after a checkpoint the new rows may take the old rowids.
    store.con.execute("DELETE FROM core.articles")
    store.checkpoint()
    add(store, [dict(r, extractor_version="9.9", title=f"{r['title']} (re-extracted)")
                for r in rows])
    result = publish(store, out)
    assert written(result, "articles") == ["2026-11-01", "2026-11-02", "2026-11-03"]
    same_as_full(store, tmp_path, out)


def test_a_feed_updated_in_place_republishes_what_reads_feeds(store: Store,
                                                              tmp_path: Path) -> None:
    seed(store)
    with store.transaction("test"):
        store.insert("core.feeds", [{"feed_id": "f1", "url": "https://example.org/feed",
                                     "name": "Example", "outlet": "example",
                                     "consecutive_failures": 0, "entries_seen": 0,
                                     "status": "ok"}])
    out = tmp_path / "published"
    publish(store, out)
    store.con.execute("UPDATE core.feeds SET outlet = 'renamed' WHERE feed_id = 'f1'")
    result = publish(store, out)
    assert "sources/sources.parquet" in result["written"]
    assert not written(result, "articles")  # articles do not read core.feeds
    same_as_full(store, tmp_path, out)


def test_every_update_in_place_is_declared() -> None:
    """Change tokens trust rowids, which an UPDATE keeps: a table a writer updates in place must
    be in UPDATED_IN_PLACE (hashed whole), or its changes would not be published."""
    updated = set()
    for path in [*ROOT.glob("warehouse/sql/*.sql"), *ROOT.glob("warehouse/*.py"),
                 *ROOT.glob("flows/**/*.py"), *ROOT.glob("transforms/*.py")]:
        text = path.read_text(encoding="utf-8")
        updated |= {m.lower() for m in re.findall(
            r"\bUPDATE\s+((?:raw|core|quality)\.[a-z_]+)", text, re.IGNORECASE)}
    assert updated, "the scan found no UPDATE at all: is it still looking in the right place?"
    assert updated <= UPDATED_IN_PLACE


def test_damage_is_repaired_by_the_cheap_check_or_by_verify(store: Store,
                                                            tmp_path: Path) -> None:
    seed(store)
    out = tmp_path / "published"
    publish(store, out)
    now = current_dir(out).resolve()
    gone = next((now / "articles").glob("*/part.parquet"))
    gone.unlink()  # a deleted file: found by every publish (a stat)
    result = publish(store, out)
    assert result["damaged_rewritten"] == [str(gone.relative_to(now))]
    # A byte flipped with size and mtime put back: only the full verification sees it.
    now = current_dir(out).resolve()
    part = next((now / "article_versions").glob("*/part.parquet"))
    stat = part.stat()
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    os.utime(part, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert publish(store, out)["damaged_rewritten"] == []
    repaired = publish(store, out, verify=True)
    assert repaired["verified"] is True
    assert repaired["damaged_rewritten"] == [str(part.relative_to(now))]
    manifest = gens.read_manifest(out / gens.MANIFEST)
    good, damaged = gens.verified(out / gens.gen_name(manifest["generation"]), manifest["files"])
    assert not damaged and good
    same_as_full(store, tmp_path, out)


def test_newsflow_publish_verify_repairs_what_the_cheap_check_cannot_see(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from flows.cli import app

    db = tmp_path / "newsflow.duckdb"
    with Store.open(db) as store:
        seed(store)
    runner = CliRunner()
    first = runner.invoke(app, ["publish", "--db", str(db)])
    assert first.exit_code == 0, first.output
    out = tmp_path / "published"
    now = current_dir(out).resolve()
    part = next((now / "articles").glob("*/part.parquet"))
    stat = part.stat()
    part.write_bytes(part.read_bytes()[::-1])  # same size, every byte moved
    os.utime(part, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    plain = runner.invoke(app, ["publish", "--db", str(db)])
    assert plain.exit_code == 0 and "damaged" not in plain.output
    checked = runner.invoke(app, ["publish", "--db", str(db), "--verify"])
    assert checked.exit_code == 0, checked.output
    said = " ".join(checked.output.split())  # the console wraps long lines
    assert "every file verified" in said
    assert f"1 damaged or missing file(s) rewritten: {part.relative_to(now)}" in said
    missing = runner.invoke(app, ["publish", "--db", str(tmp_path / "nothing.duckdb")])
    assert missing.exit_code != 0 and "Traceback" not in missing.output


def test_search_terms_are_only_written_with_their_search_doc() -> None:
    """publish_days_search_docs.sql versions an article's terms by its core.search_docs row, which
    holds only while every writer of the terms writes the doc row in the same place."""
    writers = []
    for path in [*ROOT.glob("warehouse/sql/*.sql"), *ROOT.glob("warehouse/*.py"),
                 *ROOT.glob("flows/**/*.py"), *ROOT.glob("transforms/*.py")]:
        text = path.read_text(encoding="utf-8")
        if re.search(r"(INSERT\s+INTO|DELETE\s+FROM|UPDATE)\s+core\.search_terms\b", text,
                     re.IGNORECASE):
            writers.append(path.name)
            for verb in ("INSERT INTO", "DELETE FROM"):
                if re.search(rf"{verb}\s+core\.search_terms\b", text, re.IGNORECASE):
                    assert re.search(rf"{verb}\s+core\.search_docs\b", text, re.IGNORECASE), \
                        f"{path.name}: {verb} core.search_terms without core.search_docs"
    assert "search_index.sql" in writers


@pytest.mark.parametrize("key", ["articles", "article_versions",  # items: test_publish_items
                                 "core.search_docs", "core.search_terms"])
def test_a_narrowed_read_gives_the_views_rows_of_those_days(store: Store, key: str) -> None:
    """Each narrowed view (publish._NARROW) or search table read for some days holds exactly the
    rows the whole one has on those days, a revised article with versions on two days included."""
    rows = seed(store)
    revise(store, rows[4])
    narrowed_reads_match(store, key)


def narrowed_reads_match(store: Store, key: str) -> None:
    """The view ``key`` read narrowed (publish._narrowed) to one day, then to the first and last
    days, has exactly the rows the whole view has on those days."""
    source = next(s for s in publish_module._sources(store.con) if s.key == key)
    assert source.partition is not None
    at = f"v.{source.partition[1]}"
    writer = publish_module._GenerationWriter(store.con, Path("."), Path("."), {}, {})
    days = [str(d) for (d,) in store.con.execute(
        f"SELECT DISTINCT _publish_day({at}) FROM ({source.select}) v ORDER BY 1").fetchall()]
    assert len(days) >= 3
    for chosen in ({days[1]}, {days[0], days[-1]}):
        writer._select_parts(chosen)
        narrowed = writer._narrowed(source, chosen)
        assert narrowed is not None and "_publish_keys" in narrowed
        listed = ", ".join(f"DATE '{d}'" for d in sorted(chosen))

        def rows_of(select: str, listed: str = listed) -> list[Any]:
            return sorted(store.con.execute(
                f"SELECT hash(t) FROM (SELECT v.* FROM ({select}) v "
                f"WHERE _publish_day({at}) IN ({listed})) t").fetchall())

        whole = rows_of(source.select)
        assert whole and rows_of(narrowed) == whole, (key, chosen)


def test_the_span_of_the_parts_written_holds_their_times_and_leaves_out_far_ones() -> None:
    """``_publish_span`` (the narrowing queries' prefilter) is true for every time in the parts
    written, whatever the cuts and parts chosen, and false for times far outside them: the keys
    of those parts are all found, without splitting the whole history by day."""
    con = duckdb.connect()
    base = datetime(2026, 3, 10, tzinfo=UTC)
    cuts = [base + timedelta(hours=h) for h in (3, 9.5, 17)]
    writer = publish_module._GenerationWriter(con, Path("."), Path("."), {}, {}, cuts)
    con.execute("CREATE TABLE t AS SELECT NULL::TIMESTAMPTZ AS ts UNION ALL "
                "SELECT TIMESTAMPTZ '2026-03-10 00:00:00+00' + to_minutes(m::BIGINT) "
                "FROM range(-3 * 24 * 60, 3 * 24 * 60, 7) AS r(m)")
    keyed = con.execute("SELECT ts, _publish_day(ts)::VARCHAR, _publish_part(ts) FROM t").fetchall()
    keys = sorted({publish_module._part_key(day, part) for _, day, part in keyed})
    # the epoch day, 3 days before the cuts' day, its 4 parts, 2 days after (in part 3: later
    # than every cut)
    assert len(keys) == 1 + 3 + 4 + 2 and "2026-03-11.3" in keys
    choices = [{k} for k in keys] + [{keys[1], keys[-2]}, {keys[0], keys[3]}, set(keys[2:5])]
    for parts in choices:
        writer._select_parts(parts)
        inside = dict(con.execute("SELECT ts, _publish_span(ts) FROM t").fetchall())
        chosen = [at for at, day, part in keyed if publish_module._part_key(day, part) in parts]
        assert chosen and all(inside[at] for at in chosen), parts
        if publish_module._EPOCH_DAY not in parts:
            assert inside[None] is False or inside[None] is None, parts
        days = {publish_module._split_key(k)[0] for k in parts}
        if len(days) == 1 and publish_module._EPOCH_DAY not in days:
            day = datetime.fromisoformat(days.pop()).replace(tzinfo=UTC)
            far = [at for at in inside if at is not None and abs(at - day) > timedelta(days=2)]
            assert far and not any(inside[at] for at in far), parts


def test_a_days_later_runs_write_their_own_parts_and_the_next_day_joins_them(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each publish cuts the day it runs on: what a later run adds that day goes into a new part
    file, and the day's earlier parts are linked, not rewritten; on the next day the parts are
    written as one file again. The copy equals a full republish each time."""
    rows = seed(store)  # nine articles on days 0-2, the latest at day 2, 08:08
    out = tmp_path / "published"
    day2 = (DAY0 + timedelta(days=2)).date().isoformat()
    clock = [DAY0 + timedelta(days=2, hours=2)]
    monkeypatch.setattr(publish_module, "utcnow", lambda: clock[0])
    first = publish(store, out)
    assert f"articles/first_seen_day={day2}/part.parquet" in first["written"]
    later = [dict(article(i, 2), first_seen_at=clock[0] + timedelta(minutes=i),
                  content_hash=f"h{i}") for i in (20, 21)]
    add(store, later)
    update_index(store.con, [r["article_key"] for r in later])
    clock[0] += timedelta(hours=1)
    second = publish(store, out)
    for table in ("articles", "core.search_docs", "core.search_terms"):
        assert [p for p in second["written"] if p.startswith(f"{table}/")] == [
            f"{table}/first_seen_day={day2}/part-1.parquet"], second["written"]
    assert sorted(p.name for p in (current_dir(out) / "articles" / f"first_seen_day={day2}")
                  .iterdir()) == ["part-1.parquet", "part.parquet"]
    same_as_full(store, tmp_path, out)
    assert second["tables"]["articles"] == len(rows) + 2
    clock[0] = DAY0 + timedelta(days=3, hours=1)  # the next day: day 2 is one file again
    third = publish(store, out)
    assert f"articles/first_seen_day={day2}/part.parquet" in third["written"]
    assert [p.name for p in (current_dir(out) / "articles" / f"first_seen_day={day2}")
            .iterdir()] == ["part.parquet"]
    same_as_full(store, tmp_path, out)


def test_cuts_keep_the_days_earlier_publishes_up_to_the_cap() -> None:
    """A publish keeps the earlier cuts of its own UTC day (sorted, unreadable ones dropped) and
    adds its own; cuts of another day are dropped; at MAX_CUTS the day starts again as one part,
    which a 15-minute schedule (96 publishes a day) never reaches."""
    now = datetime(2026, 5, 2, 23, 50, tzinfo=UTC)
    today = [now - timedelta(minutes=15 * k) for k in range(1, 96)]
    yesterday = [now - timedelta(days=1, minutes=k) for k in range(3)]
    kept = publish_module._cuts([c.isoformat() for c in today + yesterday] + ["not a time"], now)
    assert kept == [*sorted(today), now]
    assert publish_module.MAX_CUTS >= 96
    full = [now - timedelta(seconds=k + 1) for k in range(publish_module.MAX_CUTS)]
    assert publish_module._cuts([c.isoformat() for c in full], now) == [now]
    assert publish_module._cuts([c.isoformat() for c in full[1:]], now) == [*sorted(full[1:]), now]
