"""Replay: rebuilding core from raw equals the incrementally built store, row for row (case 76),
revisits (a corrected article, unchanged pages kept without their body) and versions included."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from flows.extract_articles import extract
from flows.fetch_pages import fetch
from flows.pipeline import run_pipeline
from flows.rebuild import rebuild_core
from flows.settings import Settings
from sample.server import SampleServer
from tests.sample_mode import sample_settings
from warehouse.store import Store, utcnow

CORE = ("core.feeds", "core.articles", "core.article_versions", "core.article_feeds",
        "core.page_extractions", "core.article_changes")
# the analyst's surface: search index and stories, projections of core.articles
ANALYST = ("core.search_docs", "core.search_terms", "core.story_signatures", "core.story_edges",
           "core.stories", "core.story_articles", "core.story_bands", "core.story_names",
           "core.story_lead_words")


@pytest.fixture(scope="module")
def incremental(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Settings]]:
    folder = tmp_path_factory.mktemp("replay")
    with SampleServer(n_articles=18, correction="original") as server:
        settings = sample_settings(server, folder, "inc.duckdb", extract_workers=2)
        feeds = settings.feeds_file
        # Three incremental runs that each bring new data: the feed list grows by one feed a
        # run, so every run adds entries, pages and articles to what the last one built.
        config = feeds.read_text(encoding="utf-8")
        listed = [line for line in config.splitlines() if line.lstrip().startswith("- url:")]
        assert len(listed) == 3, config
        counts = []
        for n in range(3):
            subset = folder / f"feeds-{n}.yaml"
            kept = listed[: n + 1]
            subset.write_text(_only(config, kept), encoding="utf-8")
            step = settings.model_copy(update={"feeds_file": subset})
            result = run_pipeline(step, run_id=f"inc-{n}", only_due=False)
            assert result["status"] == "ok", result
            counts.append(result["stages"]["extract_articles"]["articles"])
            # issue 12: the first feed's article is corrected after the first run; the second
            # run's poll sees its entry retitled and revisits the page (a second version)
            server.set_correction("corrected")
        assert all(c > 0 for c in counts), counts
        # and a scheduled revisit of every page 2 h later (clock injected): all unchanged
        with Store.open(settings.db_path) as store:
            later = fetch(store, settings, run_id="inc-revisit", now=utcnow() + timedelta(hours=2))
            extract(store, settings, run_id="inc-revisit")
            assert later["revisits"] == later["revisits_unchanged"] > 0, later
            assert store.scalar("SELECT count(*) FROM core.article_changes") == 1
    yield settings.db_path, settings


def _only(config: str, kept: list[str]) -> str:
    """The YAML feed list with only the feeds whose `- url:` line is in ``kept``."""
    out, keep = [], True
    for line in config.splitlines():
        if line.lstrip().startswith("- url:"):
            keep = line in kept
        if keep or not line.startswith((" ", "-")):
            out.append(line)
    return "\n".join(out) + "\n"


def _except_both_ways(a: Path, b: Path, tables: tuple[str, ...] = CORE
                      ) -> dict[str, tuple[int, int]]:
    con = duckdb.connect()
    con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
    out = {}
    for t in tables:
        only_a = con.execute(f"SELECT count(*) FROM (FROM a.{t} EXCEPT ALL FROM b.{t})").fetchone()[0]
        only_b = con.execute(f"SELECT count(*) FROM (FROM b.{t} EXCEPT ALL FROM a.{t})").fetchone()[0]
        out[t] = (only_a, only_b)
    con.close()
    return out


def _copy_of(incremental: tuple[Path, Settings], folder: Path, name: str,
             **update: object) -> tuple[Path, Path, Settings]:
    """The incremental store copied to ``folder/name`` and settings pointing at the copy."""
    source, settings = incremental
    copy = folder / name
    shutil.copy(source, copy)
    return source, copy, settings.model_copy(update={"db_path": copy, **update})


@pytest.mark.parametrize("workers", [1, 2])
def test_full_rebuild_equals_incremental(incremental: tuple[Path, Settings], tmp_path: Path,
                                         workers: int) -> None:
    source, copy, rebuilt = _copy_of(incremental, tmp_path, "rebuilt.duckdb",
                                     extract_workers=workers)
    with Store.open(copy) as store:
        n_before = store.count("core.articles")
        result = rebuild_core(store, rebuilt, run_id=f"rebuild-{workers}")
    assert result["articles"] == n_before > 0
    assert _except_both_ways(source, copy, CORE + ANALYST) == {t: (0, 0) for t in CORE + ANALYST}


def test_rebuild_without_reextraction_equals_incremental(incremental: tuple[Path, Settings],
                                                         tmp_path: Path) -> None:
    source, copy, settings = _copy_of(incremental, tmp_path, "reprojected.duckdb")
    with Store.open(copy) as store:
        store.con.execute("DELETE FROM core.articles")  # projections are disposable
        store.con.execute("DELETE FROM core.article_feeds")
        result = rebuild_core(store, settings, run_id="reproject", reextract=False)
    assert result["pages_extracted"] == 0
    assert _except_both_ways(source, copy) == {t: (0, 0) for t in CORE}


def test_rebuild_restores_the_search_index_and_stories(incremental: tuple[Path, Settings],
                                                       tmp_path: Path) -> None:
    source, copy, settings = _copy_of(incremental, tmp_path, "surface.duckdb")
    with Store.open(copy) as store:
        assert store.scalar("SELECT count(*) FROM core.story_articles") > 0  # stories to restore
        for table in ANALYST:  # disposable like every projection
            store.con.execute(f"DELETE FROM {table}")
        rebuild_core(store, settings, run_id="surface", reextract=False)
    assert _except_both_ways(source, copy, CORE + ANALYST) == {t: (0, 0) for t in CORE + ANALYST}


def test_ranged_rebuild_outside_the_data_changes_nothing(incremental: tuple[Path, Settings],
                                                         tmp_path: Path) -> None:
    from datetime import date

    source, copy, settings = _copy_of(incremental, tmp_path, "ranged.duckdb")
    with Store.open(copy) as store:
        result = rebuild_core(store, settings, run_id="ranged", since=date(2001, 1, 1),
                              until=date(2001, 1, 2))
    assert result["keys"] == 0
    assert _except_both_ways(source, copy) == {t: (0, 0) for t in CORE}


def test_long_commands_show_their_progress(incremental: tuple[Path, Settings],
                                           tmp_path: Path) -> None:
    # rebuild, reindex and export-warc each name their steps (or count their records) as
    # backfill counts its days, so a person can follow a long one
    from typer.testing import CliRunner

    from flows.cli import app

    _, copy, _ = _copy_of(incremental, tmp_path, "progress.duckdb")
    runner = CliRunner()
    env = {"NEWSFLOW_EXTRACT_WORKERS": "1", "NEWSFLOW_RUN_CHECKS": "false"}
    rebuilt = runner.invoke(app, ["rebuild", "--db", str(copy)], env=env)
    assert rebuilt.exit_code == 0, rebuilt.output
    out = " ".join(rebuilt.output.split())
    for step in ("done: clearing the range", "done: re-extracting pages", "done: refreshing",
                 "done: publishing the analyst copy"):
        assert step in out, out
    pages = int(out.split("articles (")[1].split(" pages")[0])
    assert f"done: re-extracting pages ({pages}/{pages})" in out  # the pages bar ended full
    reindexed = runner.invoke(app, ["reindex", "--db", str(copy)], env=env)
    assert reindexed.exit_code == 0, reindexed.output
    out = " ".join(reindexed.output.split())
    assert "done: search index (1/3)" in out and "done: stories (2/3)" in out and "(3/3)" in out
    with Store.open(copy) as store:
        days = store.con.execute("SELECT min(occurred_at)::DATE, max(occurred_at)::DATE "
                                 "FROM raw.page_fetches").fetchone()
        stored = store.scalar("SELECT count(*) FROM raw.page_fetches WHERE error_class IS NULL "
                              "AND has_body AND status IS NOT NULL")
    warc = tmp_path / "all.warc.gz"
    exported = runner.invoke(app, ["export-warc", "--since", str(days[0]), "--until",
                                   str(days[1]), "--db", str(copy), "--out", str(warc)], env=env)
    assert exported.exit_code == 0, exported.output
    out = " ".join(exported.output.split())
    assert f"{stored}/{stored}" in out and f"wrote {stored} page(s)" in out, out


def test_a_rebuild_folds_the_wal_its_deletes_leave(incremental: tuple[Path, Settings],
                                                   tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB skips its automatic checkpoint at a commit that deleted rows; a rebuild's range
    delete and its closing refresh delete, so it folds their WAL itself once past the threshold
    (Store.checkpoint_if_due), rather than leaving it to whichever commit comes next."""
    import warehouse.store as store_module

    monkeypatch.setattr(store_module, "WAL_CHECKPOINT_BYTES", 1)  # any WAL is due
    _, copy, settings = _copy_of(incremental, tmp_path, "folded.duckdb")
    wal = store_module.wal_path(copy)
    with Store.open(copy) as store:
        rebuild_core(store, settings, run_id="folded", reextract=False)
        assert not wal.exists() or wal.stat().st_size == 0
