"""One analyst surface, read-only for real (issues 14 and 18).

Every analyst command reads the published copy, never the private store; ``newsflow sql`` there
runs only statements that read, and DuckDB itself keeps it inside the copy's files: COPY, ATTACH,
EXPORT, INSTALL/LOAD, SET and reads of any other file are refused in one line with exit 77, and
nothing on disk changes.
"""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flows.cli import analyst as cli_analyst
from flows.cli import app
from tests.flows.test_analyst_examples import handmade_store
from transforms.errors import RefusedError
from warehouse import generations as gens
from warehouse.analyst import connect_published, run
from warehouse.store import Store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with stories, feeds and an edited article, and its published copy beside it."""
    return handmade_store(tmp_path_factory.mktemp("surface") / "newsflow.duckdb")


@pytest.fixture()
def copy(store: Path) -> Iterator[Any]:
    con = connect_published(store.parent / "published")
    yield con
    con.close()


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def published_state(store: Path) -> tuple[dict[str, Any], list[str], bytes]:
    """What a refused statement must leave alone: every published file intact (against the
    manifest's checksums), the list of files, and the views database itself."""
    out = store.parent / "published"
    manifest = gens.read_manifest(out / gens.MANIFEST)
    folder = out / gens.gen_name(int(manifest["generation"]))
    good, damaged = gens.verified(folder, manifest["files"])
    assert not damaged
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    return {k: v.sha256 for k, v in good.items()}, files, (store.parent / "analytics.duckdb"
                                                           ).read_bytes()


@pytest.mark.parametrize("example", cli_analyst.EXAMPLES)
def test_each_banner_example_answers_on_the_copy(copy: Any, example: str) -> None:
    result = run(copy, example)
    assert result is not None
    assert result.fetchall(), example


def test_the_banner_says_how_fresh_the_copy_is(copy: Any) -> None:
    text = cli_analyst.banner(copy, on_store=False)
    assert "published analyst copy" in text and "by run handmade (generation 1)" in text
    assert all(example in text for example in cli_analyst.EXAMPLES)


def test_search_and_ordinary_queries_run_through_the_command(store: Path) -> None:
    counted = cli("sql", "SELECT count(*) AS n FROM analytics.articles", "--db", str(store),
                  "--format", "csv")
    assert counted.exit_code == 0, counted.output
    assert counted.stdout.splitlines() == ["n", "68"]
    found = cli("sql", "SELECT title FROM analytics.search('election results') LIMIT 3",
                "--db", str(store), "--format", "csv")
    assert found.exit_code == 0, found.output
    assert found.stdout.splitlines()[1].startswith("Election results")
    fresh = cli("sql", "SELECT run_id, generation FROM analytics.published", "--db", str(store),
                "--format", "csv")
    assert fresh.stdout.splitlines() == ["run_id,generation", "handmade,1"]


def test_a_query_file_is_read_and_a_missing_one_is_named(store: Path, tmp_path: Path) -> None:
    query = tmp_path / "count.sql"
    query.write_text("SELECT count(*) AS n FROM analytics.articles", encoding="utf-8")
    counted = cli("sql", str(query), "--db", str(store), "--format", "csv")
    assert counted.exit_code == 0, counted.output
    assert counted.stdout.splitlines() == ["n", "68"]
    missing = cli("sql", str(tmp_path / "nonexistent.sql"), "--db", str(store))
    assert missing.exit_code == 2, missing.output
    assert "query file" in missing.output and "nonexistent.sql" in missing.output
    assert "Parser Error" not in missing.output and "Traceback" not in missing.output


def _refusals(store: Path, outside: Path) -> dict[str, str]:
    published = store.parent / "published"
    return {
        "copy over a published file": f"COPY (SELECT 1 AS x) TO "
                                      f"'{published}/current/stories/stories.parquet'",
        "copy into the copy's folder": f"COPY analytics.articles TO '{published}/mine.csv'",
        "copy out": f"COPY analytics.articles TO '{outside}/articles.csv'",
        "copy from": f"COPY analytics.articles FROM '{outside}/secret.csv'",
        "attach the store": f"ATTACH '{store}' AS private (READ_ONLY)",
        "attach memory": "ATTACH ':memory:' AS scratch",
        "read another file": f"SELECT * FROM read_csv('{outside}/secret.csv')",
        "read the store's bytes": f"SELECT * FROM read_blob('{store}')",
        "export": f"EXPORT DATABASE '{outside}/dump'",
        "unlock": "SET enable_external_access = true",
        "install": "INSTALL httpfs",
        "load": "LOAD httpfs",
        "create": "CREATE TABLE scratch AS SELECT 1",
        "a refusal after a query": f"SELECT 1; COPY (SELECT 2) TO '{outside}/after.csv'",
    }


REFUSALS = list(_refusals(Path("/s"), Path("/o")))


@pytest.mark.parametrize("name", REFUSALS)
def test_the_copy_refuses_what_is_not_reading(store: Path, tmp_path: Path, name: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    before = published_state(store)
    listing = sorted(p.name for p in outside.iterdir())
    result = cli("sql", _refusals(store, outside)[name], "--db", str(store))
    assert result.exit_code == 77, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("refused: "), lines
    assert "Traceback" not in result.output and result.stdout == ""
    assert published_state(store) == before  # nothing in the copy changed
    assert sorted(p.name for p in outside.iterdir()) == listing  # nothing written outside


def test_the_store_is_the_operators_by_asking(store: Path) -> None:
    on_copy = cli("sql", "SELECT count(*) FROM raw.feed_entries", "--db", str(store))
    assert on_copy.exit_code == 1 and on_copy.stderr.startswith("query failed: Catalog Error")
    on_store = cli("sql", "SELECT count(*) AS n FROM raw.feed_entries", "--db", str(store),
                   "--store", "--format", "csv")
    assert on_store.exit_code == 0, on_store.output
    assert on_store.stdout.splitlines() == ["n", "69"]


def session(con: Any, script: str) -> tuple[int, str, str]:
    """The interactive session fed ``script`` on stdin: (exit code, stdout, stderr)."""
    old = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(script), io.StringIO(), io.StringIO()
    try:
        code = cli_analyst.interactive(con, "csv")
        return code, sys.stdout.getvalue(), sys.stderr.getvalue()  # type: ignore[union-attr]
    finally:
        sys.stdin, sys.stdout, sys.stderr = old


def test_dot_commands_and_describe_work_on_the_copy(copy: Any) -> None:
    code, out, err = session(copy, ".tables\n.schema published\nDESCRIBE analytics.stories;\n"
                                   ".schema analytics.articles\n")
    assert code == 0 and err == ""
    views = {line.split(",")[0] for line in out.splitlines() if line.startswith("analytics.")}
    assert {"analytics.articles", "analytics.stories", "analytics.published", "analytics.checks",
            "analytics.quarantine", "analytics.source_pages"} <= views
    assert 'published,run_id,VARCHAR,"The run (or backfill, rebuild, reindex) that published it."' \
        in out
    assert "headline,VARCHAR" in out  # DESCRIBE analytics.stories
    # the copy carries the store's comments: .schema tells what a column means
    assert "articles,article_key,VARCHAR,Canonical URL key of the article" in out
    assert "articles,first_seen_day,DATE,UTC day of first_seen_at" in out


def test_a_session_goes_on_after_a_refusal_and_exits_77(copy: Any) -> None:
    code, out, err = session(copy, "COPY analytics.articles TO 'x.csv';\nSELECT 41 + 1 AS n;\n")
    assert code == 77
    assert err.startswith("refused: COPY statement") and len(err.splitlines()) == 1
    assert out.splitlines() == ["n", "42"]


def test_settings_cannot_be_reopened_from_sql(copy: Any) -> None:
    for statement in ("SET allowed_directories = ['/']", "RESET enable_external_access",
                      "SELECT * FROM duckdb_settings() WHERE name = 'lock_configuration'"):
        if statement.startswith("SELECT"):
            row = run(copy, statement).fetchone()  # type: ignore[union-attr]
            assert row[1] == "true"
        else:
            with pytest.raises(RefusedError):
                run(copy, statement)


HOLD_WRITER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])  # read-write: no other process can open the file now
    print("held", flush=True)
    time.sleep(120)
""")


@pytest.fixture()
def store_held(store: Path) -> Iterator[Path]:
    """The private store held open for writing by another process, as during a run."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD_WRITER, str(store)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield store
    finally:
        proc.kill()
        proc.wait()


ANALYST_COMMANDS = {
    "sql": ["sql", "SELECT count(*) FROM analytics.articles"],
    "search": ["search", "election results"],
    "stories": ["stories"],
    "feeds list": ["feeds", "list"],
    "quality": ["quality"],
    "status": ["status"],
    "export": ["export", "jsonl", "--out", "-"],
}


def test_no_analyst_command_opens_the_store(store_held: Path) -> None:
    """Each command answers while a writer holds the store: none of them opens it."""
    for name, args in ANALYST_COMMANDS.items():
        result = cli(*args, "--db", str(store_held))
        assert result.exit_code == 0, (name, result.output)
    busy = cli("sql", "SELECT 1", "--db", str(store_held), "--store")
    assert busy.exit_code == 75 and busy.stderr.startswith("store busy: cannot open")


def test_status_tells_the_copy_freshness(store: Path) -> None:
    result = cli("status", "--db", str(store))
    assert result.exit_code == 0, result.output
    assert "by run handmade (generation 1" in " ".join(result.stdout.split())
    assert "analytics.articles" in result.stdout


def test_a_store_without_a_copy_says_so(tmp_path: Path) -> None:
    db = tmp_path / "newsflow.duckdb"
    Store.open(db).close()
    result = cli("stories", "--db", str(db))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"no store: no published copy at {tmp_path}/analytics.duckdb")


def test_feeds_list_names_the_feeds_that_need_a_person(store: Path) -> None:
    result = cli("feeds", "list", "--db", str(store))
    assert result.exit_code == 0, result.output
    lines = [" ".join(line.split()) for line in result.stdout.splitlines()]
    assert any(line.startswith("silent quiet news (quiet):") for line in lines), lines[-5:]
    assert not any(line.startswith(("silent", "gone", "failing")) and "(quiet)" not in line
                   for line in lines)  # the other feeds are ok


def test_quality_names_the_latest_runs_failed_blocking_checks(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from warehouse.publish import publish

    db = tmp_path / "newsflow.duckdb"
    at = datetime(2026, 11, 20, 8, tzinfo=UTC)
    check = {"stage": "core", "table_name": "core.articles", "suite": "core_articles",
             "column_name": None, "observed_value": None, "element_count": 10,
             "unexpected_sample": None, "why": "a page of boilerplate is not an article"}
    with Store.open(db) as store:
        store.insert("quality.validations", [
            check | {"run_id": "old", "expectation": "older_failure", "success": False,
                     "blocking": True, "unexpected_count": 1, "validated_at": at},
            check | {"run_id": "new", "expectation": "not_mostly_boilerplate", "success": False,
                     "blocking": True, "unexpected_count": 2,
                     "validated_at": at.replace(hour=9)},
            check | {"run_id": "new", "expectation": "a_warning", "success": False,
                     "blocking": False, "unexpected_count": 3,
                     "validated_at": at.replace(hour=9)}])
        store.insert("quality.quarantine", [
            {"run_id": "new", "stage": "core", "table_name": "core.articles", "event_id": k,
             "reason": "core_articles.not_mostly_boilerplate", "quarantined_at": at}
            for k in ("a", "b")])
        publish(store, tmp_path / "published", run_id="new")
    result = cli("quality", "--db", str(db))
    assert result.exit_code == 0, result.output
    first = " ".join(result.stdout.split("quarantined):")[0].split())
    assert first == "latest run new: 1 blocking check(s) failed (2 rows"
    assert "core.articles: not_mostly_boilerplate" in " ".join(result.stdout.split())
    # the same report from the store, for operators
    on_store = cli("quality", "--db", str(db), "--store")
    assert on_store.exit_code == 0 and on_store.stdout == result.stdout


def test_status_on_the_store_is_the_operators(store: Path) -> None:
    on_store = cli("status", "--db", str(store), "--store")
    assert on_store.exit_code == 0, on_store.output
    assert "raw.feed_entries" in on_store.stdout and "analytics.articles" not in on_store.stdout
    on_copy = cli("status", "--db", str(store))
    assert "raw.feed_entries" not in on_copy.stdout
