"""Publish the analyst copy: Parquet generations plus a views-only ``analytics.duckdb``.

DuckDB lets one process open a file read-write, and while it does no other process can open that
file at all, not even read-only. So the pipeline keeps ``data/newsflow.duckdb`` to itself and, at
the end of each run (still under the writer lock), publishes a copy for analysts:

- every ``analytics.*`` view of the store, materialised as Parquet. ``articles``, ``items``,
  ``article_versions``, ``stories`` and ``story_articles`` are split by UTC day
  (``articles/first_seen_day=YYYY-MM-DD/part.parquet``; ``PARTITIONED``), the other views are
  written whole (``<table>/<table>.parquet``). Each publish also *cuts* the day it runs on at its
  own time (``cuts`` in the manifest): a row of that day after the k-th cut goes to
  ``part-<k>.parquet``, so the next run's new rows make a new part and the day's earlier parts
  stay linked instead of the whole day being rewritten on every run. Cuts of another day are
  dropped (that day becomes one file again, once), and past ``MAX_CUTS`` the day restarts as one
  part;
- the search index (``core.search_terms`` split by the article's day, ``core.search_docs``), so
  that ``analytics.search(q)`` ranks the same BM25 over the copy as over the store;
- ``analytics.published``: when the copy was published, by which run, which generation.

Each publish writes a new *generation* (warehouse/generations.py): a folder built under a
temporary name, in which a table or day that the store did not change since the previous
generation, and whose previous file is intact, is a hard link to the previous generation's file;
anything else (changed, missing, truncated, emptied, overwritten) is written afresh. The folder is
renamed into place whole; then a new ``analytics.duckdb`` whose views name that folder's files is
written to a temporary name and moved over the old one with ``os.replace``: that rename is the
switch. A session opened before it keeps reading the generation it opened (its old inode names
the old folder), which is kept for the next ``keep - 1`` publishes; a new session sees the new
generation, all tables at once. A kill anywhere leaves the previous generation and
``analytics.duckdb`` untouched, or the new ones complete.

What changed, without reading what did not. A publish costs in proportion to what the run
changed, not to the store: it never hashes the rows of the history. Core tables change by delete
and insert, never by UPDATE in place (``UPDATED_IN_PLACE`` lists the exceptions, which are small
and hashed whole; tests/warehouse/test_publish_changes.py holds the code to it), so a row's
``rowid`` names one version of that row. Hence:

- a day (or part of a day) of a partitioned table (the views above, the search index) is
  compared by a *token*: its row count and the sum of hashes of its rows' rowids and keys, read
  from narrow columns of the store tables (warehouse/sql/publish_days_*.sql), never the text. A
  revisit, a backfill of an old date, a rebuild, a quarantine or a finished check changes the
  rowids (or the visibility) of exactly the rows it touched, so exactly their days are rewritten.
  An item's token also covers what it reads of ``core.feeds`` (updated in place): the outlet, not
  the health columns every poll updates, so a renamed outlet rewrites the days of its items;
- the days to write of ``items``, ``articles`` and ``article_versions`` are read through the
  view's own SQL with its source narrowed to the keys that can fall on those days (the links
  seen on them, the articles first seen on them, the articles with a version observed on them:
  ``_NARROW``), not by evaluating the view over the history;
- a whole table (stories, sources, runs, ...) is compared by the tokens (row count and largest
  rowid) of the store tables its view reads, found from the views' SQL. If none changed, its file
  is linked without evaluating the view; otherwise it is rewritten. Views proportional to feeds,
  runs or days rather than articles are written whole; what grows with every article is split by
  day;
- every token also carries the SQL of the view and of the views it reads, so a new view
  definition (a migration) republishes that table in full.

Since the tokens are read from the committed store, a crash between a run's commit and its
publish loses nothing: the next publish compares against the last generation published and
catches up with everything since.

Repair: every publish checks each previous file it would reuse by a ``stat`` (present, size and
mtime as recorded in the manifest: a truncated, emptied, deleted or overwritten file is rewritten).
The full check, the sha256 of every byte of every previous file, runs when asked
(``publish(verify=True)``, ``newsflow publish --verify``) and whenever the manifest is missing,
unreadable or of another format (then everything is rewritten anyway). docs/operations.md says when
to run it.
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

import duckdb

from warehouse import generations as gens
from warehouse.faults import fault_point
from warehouse.generations import MANIFEST, FileSum
from warehouse.search import install_search
from warehouse.store import Store, schema_version, utcnow, wal_path

__all__ = ["KEEP", "LAST", "MANIFEST", "UPDATED_IN_PLACE", "analytics_db_path", "current_dir",
           "publish"]

log = logging.getLogger(__name__)

LAST: Final = "last"
# Generations kept on disk: a session opened on analytics.duckdb keeps working across this many
# minus one later publishes.
KEEP: Final = 3
# Partitioned analyst views: name -> (partition column, the view's time column it is the UTC day
# of; a row with no time falls on 1970-01-01).
PARTITIONED: Final[dict[str, tuple[str, str]]] = {
    "articles": ("first_seen_day", "first_seen_at"),
    # Every version with its text: as large as articles, so also split by day.
    "article_versions": ("observed_day", "observed_at"),
    # One row per feed item: grows with every article, so split by the day a feed first saw it.
    "items": ("first_seen_day", "first_seen_at"),
    # Stories and their members grow with the articles too: split by the day a story began, and
    # by the day each member was published.
    "stories": ("first_published_day", "first_published_at"),
    "story_articles": ("published_day", "published_at"),
}
# Publish times that split the latest day's files into parts (see the module docstring); past
# this many in one day, the next publish writes that day as one file again. That rewrites the
# whole day at once (at 1,000 articles a run and 24 runs, bench-scale measured 14.0 CPU s and a
# 1.3 GB peak for that run against about 9 s and 640 MB), so the cap sits above what a
# deployment publishes in a day (every 15 minutes: 96), and a day's part files stay at most
# this many plus one.
MAX_CUTS: Final = 144
# Rows within a file are sorted so that the same content gives the same bytes.
_ORDER: Final[dict[str, str]] = {"articles": "article_key",
                                 "article_versions": "article_key, version",
                                 # one row per link, so link alone is a total order
                                 "items": "article_key, link",
                                 "stories": "story_id",
                                 "story_articles": "story_id, position"}
# The search index is split by the day (and part) of its article, so a run rewrites the parts it
# touched; ``_at`` is the article's time, dropped from the files.
_SEARCH_ROWS: Final = ("SELECT s.*, a.first_seen_at AS _at "
                       "FROM {rows} AS s LEFT JOIN {articles} AS a USING (article_key)")
# Narrowed to the keys in _publish_keys, the articles too: joined whole, every article's key was
# the build side of the join (at 105k articles about 0.015 of the 0.1 CPU s a new part of the
# terms costs; the rest is finding its rows among 7 million terms).
_KEYED_ARTICLES: Final = ("(SELECT article_key, first_seen_at FROM core.articles "
                          "SEMI JOIN _publish_keys USING (article_key))")
_PART = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.([1-9]\d*))?$")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_EPOCH_DAY: Final = "1970-01-01"  # the day of a row with no time
FRESHNESS: Final = "published"
_FRESHNESS_COLUMNS: Final = {
    "published_at": "When this copy was published (UTC).",
    "run_id": "The run (or backfill, rebuild, reindex) that published it.",
    "generation": "Number of the generation folder the views read (published/gen-NNNNNN).",
    "marker": "Generation and time, as one token.",
    "articles": "Rows of analytics.articles in this copy.",
}
# Beyond this many days to write, a table's rows are materialised once instead of read per day.
_MATERIALISE_OVER: Final = 8
# Per-day change tokens (warehouse/sql/publish_days_<name>.sql) of the partitioned tables, by key.
# A partitioned table without one is compared by hashing its rows (correct, but a full read).
_DAY_TOKENS: Final = {"articles": "publish_days_articles",
                      "article_versions": "publish_days_article_versions",
                      "items": "publish_days_items",
                      "stories": "publish_days_stories",
                      "story_articles": "publish_days_story_articles",
                      # an article's terms are written with its one search_docs row, so that
                      # row names the version of its terms: the same token (run once)
                      "core.search_terms": "publish_days_search_docs",
                      "core.search_docs": "publish_days_search_docs"}
# The articles' row versions (temp table _publish_articles), made once per publish for the day
# token queries that read it.
_ARTICLE_ROWS: Final = "publish_article_rows"
# Partitioned tables whose day token query counts another table's rows: their row counts come
# from the file written, or from the manifest for a part linked.
_UNCOUNTED: Final = frozenset({"core.search_terms"})
# Partitioned views whose rows for a few days are read without evaluating the view over the whole
# history: the view's own SQL (as the store holds it) with its source of rows narrowed to the
# keys that can fall on those days: view -> (the source as the view's SQL names it, with its
# alias if any; how many times the view names it; the query of those keys,
# warehouse/sql/<name>.sql over the temp table _publish_parts; the key column). Every other part
# of analytics.items reads only the links its entries name, so narrowing the entries narrows it
# all; a row of analytics.articles reads only its article; a version's row reads its article's
# versions; a story's rows (and its members' rows) read only that story's members.
_STORY_MEMBERS: Final = re.compile(r"(?<!')\b(staging\.story_articles)\b(?: AS ([a-z_]+)\b)?")
_NARROW: Final[dict[str, tuple[re.Pattern[str], int, str, str]]] = {
    "items": (re.compile(r"(?<!')\b(raw\.feed_entries) AS (e)\b"), 1, "publish_items_links",
              "link_key"),
    "articles": (re.compile(r"(?<!')\b(core\.articles) AS (a)\b"), 1, "publish_articles_keys",
                 "article_key"),
    "article_versions": (re.compile(r"(?<!')\b(core\.article_versions) AS (v)\b"), 1,
                         "publish_versions_keys", "article_key"),
    "stories": (_STORY_MEMBERS, 3, "publish_stories_keys", "story_id"),
    "story_articles": (_STORY_MEMBERS, 1, "publish_story_articles_keys", "story_id"),
}
# Store tables a writer UPDATEs in place: a rowid does not name one version of their rows, so they
# are hashed whole (they are small: one row per feed). A test keeps this list complete.
UPDATED_IN_PLACE: Final = frozenset({"core.feeds"})
_SCHEMAS: Final = ("raw", "core", "quality", "staging", "analytics")
_REFERENCE = re.compile(r"\b(" + "|".join(_SCHEMAS) + r")\.([a-z_][a-z0-9_]*)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Source:
    """One published table: where its rows come from and how its files are laid out."""

    schema: str          # schema in analytics.duckdb: main (analyst views) or core (search index)
    name: str
    select: str          # the rows, in the store
    order: str           # sort key, so equal content gives equal bytes
    # (hive column, the time column of ``select`` whose UTC day it is; "_at" is not published)
    partition: tuple[str, str] | None = None

    @property
    def key(self) -> str:
        """Folder of the table in a generation, and its key in the manifest."""
        return self.name if self.schema == "main" else f"{self.schema}.{self.name}"


def analytics_db_path(out_dir: Path) -> Path:
    """Where the views-only database for analysts goes: beside the published folder."""
    return out_dir.parent / "analytics.duckdb"


def current_dir(out_dir: Path) -> Path:
    """The generation last published (``out_dir/current``), for readers of the Parquet itself."""
    return Path(out_dir) / gens.CURRENT


def publish(
    store: Store,
    out_dir: Path,
    *,
    since_marker: str | None = LAST,
    analytics_db: Path | None = None,
    run_id: str | None = None,
    keep: int = KEEP,
    verify: bool = False,
) -> dict[str, Any]:
    """Publish a new generation of the analyst copy under ``out_dir`` and switch to it.

    ``since_marker`` says what may be reused: ``"last"`` (default) trusts the manifest of the
    current generation; the ``marker`` returned by an earlier publish is used only if it is still
    the current one (otherwise everything is rewritten); ``None`` rewrites everything. Reused files
    are checked first: by size and mtime, or with ``verify`` by the sha256 of every byte (damage
    that kept size and mtime is then found too). ``run_id`` is the run recorded in
    ``analytics.published`` (default: the latest run in ``raw.runs``). ``keep`` generations stay
    on disk. Call it while holding the writer lock, after the run's last ledger row.
    Returns counts, the new ``marker``, and the paths written.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = Path(analytics_db) if analytics_db is not None else analytics_db_path(out_dir)
    gens.clean_temporaries(out_dir)
    for leftover in target.parent.glob(f".{glob.escape(target.name)}.*.tmp*"):
        leftover.unlink(missing_ok=True)  # a views file a killed publish never switched to
    legacy = _legacy_tables(out_dir)
    old = gens.read_manifest(out_dir / MANIFEST)
    base_dir = out_dir / gens.gen_name(int(old.get("generation", 0)))
    trusted = since_marker == LAST or (since_marker is not None
                                       and since_marker == old.get("marker"))
    if not old or not base_dir.is_dir() or not trusted:
        old = {}
    good, damaged = (gens.verified(base_dir, old.get("files", {}), full=verify) if old
                     else ({}, []))
    number = max([int(old.get("generation", 0)), *gens.generations(out_dir)]) + 1
    building = out_dir / f".{gens.gen_name(number)}.{os.getpid()}.tmp"
    building.mkdir()
    cuts = _cuts(old.get("cuts"), utcnow())
    writer = _GenerationWriter(store.con, building, base_dir, old.get("tables", {}), good, cuts)
    writer.tokens = _table_tokens(store.con)
    try:
        for source in _sources(store.con):
            writer.publish(source)
    finally:
        for temp in ("_publish_keys", "_publish_articles"):
            store.con.execute(f"DROP TABLE IF EXISTS {temp}")
        for macro in ("_publish_day", "_publish_part", "_publish_span"):
            store.con.execute(f"DROP MACRO IF EXISTS {macro}")
    writer.stats["files_removed"] += len(set(old.get("tables", {})) - set(writer.tables))
    published_at = utcnow()
    marker = f"{number}:{published_at.isoformat()}"
    run = run_id if run_id is not None else _latest_run(store.con)
    manifest = {
        "format": gens.FORMAT, "generation": number, "marker": marker,
        "published_at": published_at.isoformat(), "run_id": run,
        "cuts": [c.isoformat() for c in cuts],
        "tables": writer.tables, "files": {k: v.as_json() for k, v in writer.files.items()},
        "schemas": writer.schemas, "analytics_db": str(target),
    }
    text = gens.json_text(manifest)  # one serialisation, written into the generation and beside
    gens.write_json(building / MANIFEST, text)
    fault_point("publish:generation_written")
    final = out_dir / gens.gen_name(number)
    os.rename(building, final)
    gens.sync_dir(out_dir)
    _write_views_db(target, final, writer, {"published_at": published_at, "run_id": run,
                                            "generation": number, "marker": marker})
    fault_point("publish:switched")
    gens.point_current(out_dir, number)
    gens.write_json(out_dir / MANIFEST, text)
    removed = gens.prune(out_dir, keep, protect=number)
    _remove_legacy_layout(out_dir, legacy)
    seconds = time.perf_counter() - started
    stats = writer.stats
    result = {
        "marker": marker,
        "generation": number,
        "run_id": run,
        "out_dir": str(out_dir),
        "generation_dir": str(final),
        "analytics_db": str(target),
        "analytics_db_rewritten": True,
        "tables": {n: m["rows"] for n, m in writer.tables.items()},
        "seconds": round(seconds, 3),
        "files_linked": stats["files_linked"],
        "verified": verify,
        "damaged_rewritten": sorted(set(damaged) & set(writer.files)),
        "generations_removed": removed,
        **{k: v for k, v in stats.items() if k != "files_linked"},
    }
    log.info("published generation %d of %s in %.2fs: %d files written, %d linked, %d repaired",
             number, out_dir, seconds, stats["files_written"], stats["files_linked"],
             len(result["damaged_rewritten"]))
    return result


def _sources(con: duckdb.DuckDBPyConnection) -> list[Source]:
    names = [r[0] for r in con.execute(
        "SELECT view_name FROM duckdb_views() WHERE schema_name = 'analytics' "
        "AND NOT internal ORDER BY view_name").fetchall()]
    bad = [n for n in names if not _NAME.match(n) or n == FRESHNESS]
    if bad:
        raise ValueError(f"analytics view names not publishable: {bad}")
    sources = []
    for name in names:
        select = f"SELECT * FROM analytics.{name}"
        part = PARTITIONED.get(name)
        sources.append(Source("main", name, select, _ORDER.get(name, "ALL"), part))
    # The search index, so that analytics.search() runs on the copy: terms split like articles.
    for name, order in (("search_docs", "article_key"), ("search_terms", "article_key, field, term")):
        select = _SEARCH_ROWS.format(rows=f"core.{name}", articles="core.articles")
        sources.append(Source("core", name, select, order, ("first_seen_day", "_at")))
    return sources


def _table_tokens(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """A token per store table that changes whenever its rows do: row count and largest rowid
    (rows are deleted and inserted, never updated, so an insert raises the largest rowid and a
    delete lowers the count), or a hash of every row for ``UPDATED_IN_PLACE`` tables."""
    tables = [f"{schema}.{name}" for schema, name in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal "
        "AND schema_name IN ('raw', 'core', 'quality') ORDER BY 1, 2").fetchall()]
    if not tables:
        return {}
    parts = [(f"SELECT '{t}', count(*)::VARCHAR || ':' || coalesce(sum(hash(x)::HUGEINT), 0)::VARCHAR "
              f"FROM {t} AS x") if t in UPDATED_IN_PLACE else
             f"SELECT '{t}', count(*)::VARCHAR || ':' || coalesce(max(rowid), -1)::VARCHAR FROM {t}"
             for t in tables]
    return {str(t): str(v) for t, v in con.execute(" UNION ALL ".join(parts)).fetchall()}


def _part_key(day: str, part: int) -> str:
    """Manifest key of part ``part`` of ``day``: the day alone for its first (or only) part."""
    key = day if part == 0 else f"{day}.{part}"
    if not _PART.match(key):
        raise ValueError(f"unexpected partition value {key!r}")
    return key


def _split_key(key: str) -> tuple[str, int]:
    match = _PART.match(key)
    if match is None:
        raise ValueError(f"unexpected partition value {key!r}")
    return match.group(1), int(match.group(2) or 0)


def _part_rel(source: Source, key: str) -> str:
    """The file of a part: ``<table>/<column>=<day>/part.parquet``, ``part-<k>.parquet``."""
    assert source.partition is not None
    day, part = _split_key(key)
    name = "part.parquet" if part == 0 else f"part-{part}.parquet"
    return f"{source.key}/{source.partition[0]}={day}/{name}"


def _cuts(previous: object, now: datetime) -> list[datetime]:
    """The publish times that split the latest day into parts: those of earlier publishes on
    ``now``'s UTC day, then ``now`` (what this run added lies before it, the next run's after
    it); none of another day; after ``MAX_CUTS`` the day starts again as one part."""
    kept = []
    for text in previous if isinstance(previous, list) else []:
        try:
            cut = datetime.fromisoformat(str(text))
        except ValueError:
            continue
        if cut.tzinfo is not None and cut.astimezone(UTC).date() == now.astimezone(UTC).date() \
                and cut < now:
            kept.append(cut)
    kept = sorted(kept)
    if len(kept) >= MAX_CUTS:
        kept = []
    return [*kept, now]


def _install_parts(con: duckdb.DuckDBPyConnection, cuts: list[datetime]) -> None:
    """The macros the day tokens, the narrowing queries and the rows are split by: the UTC day
    of a time, and its part of that day (how many cuts come before it)."""
    listed = [f"TIMESTAMPTZ '{c.astimezone(UTC).isoformat()}'" for c in sorted(cuts)]
    con.execute("CREATE OR REPLACE TEMP MACRO _publish_day(t) AS "
                f"coalesce(timezone('UTC', t)::DATE, DATE '{_EPOCH_DAY}')")
    # Most rows lie before the first cut: part 0 without counting the cuts.
    part = ("0" if not listed else
            f"CASE WHEN t IS NULL OR t <= {listed[0]} THEN 0 "
            f"ELSE len(list_filter([{', '.join(listed)}]::TIMESTAMPTZ[], c -> c < t)) END")
    con.execute(f"CREATE OR REPLACE TEMP MACRO _publish_part(t) AS {part}")


def _span(parts: set[str], cuts: list[datetime]) -> str:
    """SQL of the temp macro ``_publish_span(t)``: true for every time that falls in one of
    ``parts`` (and for some others). The narrowing queries (warehouse/sql/publish_*_keys.sql)
    test it before working out each row's day and part: with one time range of literals, DuckDB
    skips the row groups outside it by their min/max, so a run's keys are found without reading
    the history's times. A part k of a day lies after its k-th cut and up to the next one."""
    ordered = sorted(c.astimezone(UTC) for c in cuts)
    low: datetime | None = None
    high: datetime | None = None
    nulls = False
    for key in parts:
        day, part = _split_key(key)
        if day == _EPOCH_DAY:
            nulls = True  # a row with no time falls on the epoch day
        start = datetime.fromisoformat(day).replace(tzinfo=UTC)
        end = start + timedelta(days=1)
        if 0 < part <= len(ordered):
            start = max(start, ordered[part - 1])
        if part < len(ordered):
            end = min(end, ordered[part])
        low = start if low is None else min(low, start)
        high = end if high is None else max(high, end)
    if low is None or high is None:
        return "false"
    inside = f"(t >= TIMESTAMPTZ '{low.isoformat()}' AND t <= TIMESTAMPTZ '{high.isoformat()}')"
    return f"(t IS NULL OR {inside})" if nulls else inside


def _definitions(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The SQL of every view of the store, by ``schema.name``."""
    return {f"{s}.{n}".lower(): str(sql or "") for s, n, sql in con.execute(
        "SELECT schema_name, view_name, sql FROM duckdb_views() WHERE NOT internal").fetchall()}


def _reads(select: str, views: dict[str, str], tokens: dict[str, str]) -> tuple[set[str], list[str]]:
    """The store tables a query reads, through the views it names, and those views' SQL."""
    tables: set[str] = set()
    seen: set[str] = set()
    texts: list[str] = []
    todo = [select]
    while todo:
        text = todo.pop()
        for schema, name in _REFERENCE.findall(text):
            ref = f"{schema}.{name}".lower()
            if ref in tokens:
                tables.add(ref)
            elif ref in views and ref not in seen:
                seen.add(ref)
                texts.append(views[ref])
                todo.append(views[ref])
    return tables, sorted(texts)


def _by_rowid(table: str, column: str) -> str:
    """The rows of store table ``table`` whose ``column`` is in the temp table _publish_keys:
    their rowids first (a scan of the key column alone), then the rows by rowid, whose range
    DuckDB pushes into the scan; a semi join on the key decodes every column of every row (see
    warehouse/sql/batch_articles.sql). At 100k stored articles a new part of
    analytics.articles went from 0.11 to 0.02 CPU s, of the search terms from 0.26 to 0.11."""
    return (f"(SELECT _t.* FROM {table} AS _t SEMI JOIN (SELECT rowid AS _r FROM {table} "
            f"SEMI JOIN _publish_keys USING ({column})) AS _h ON _t.rowid = _h._r)")


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


@cache
def sql(name: str) -> str:
    """The text of ``warehouse/sql/<name>.sql``."""
    return resources.files("warehouse").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


def _latest_run(con: duckdb.DuckDBPyConnection) -> str | None:
    row = con.execute("SELECT run_id FROM raw.runs ORDER BY finished_at DESC NULLS LAST, "
                      "recorded_at DESC LIMIT 1").fetchone()
    return str(row[0]) if row else None


class _GenerationWriter:
    """Fills one generation folder: links what is unchanged and intact, writes the rest."""

    def __init__(self, con: duckdb.DuckDBPyConnection, folder: Path, base: Path,
                 old_tables: dict[str, Any], good: dict[str, FileSum],
                 cuts: list[datetime] | None = None) -> None:
        self.con, self.folder, self.base = con, folder, base
        self.cuts = list(cuts or [])  # the day's parts: _publish_part's and _publish_span's
        _install_parts(con, self.cuts)
        self.old_tables, self.good = old_tables, good
        self.tokens: dict[str, str] = {}
        self._token_rows: dict[str, list[Any]] = {}  # day token query -> its rows
        self._keys_made: tuple[str, frozenset[str]] | None = None  # what _publish_keys holds
        self._articles_made = False  # _publish_articles (publish_article_rows.sql)
        self._folders: set[Path] = set()  # folders of the new generation made so far
        self.views_sql = _definitions(con)
        self.tables: dict[str, Any] = {}
        self.files: dict[str, FileSum] = {}
        self.schemas: dict[str, str] = {}
        self.views: dict[str, str] = {}
        self.stats: dict[str, Any] = {"files_written": 0, "files_linked": 0, "files_removed": 0,
                                      "bytes_written": 0, "rows_written": 0, "written": []}

    def publish(self, source: Source) -> None:
        self.schemas[source.key] = source.schema
        old = self.old_tables.get(source.key, {})
        if source.partition is None:
            self.tables[source.key] = self._whole(source, old)
        else:
            self.tables[source.key] = self._partitioned(source, old)
        self.views[source.key] = self._view_sql(source)

    def _whole(self, source: Source, old: dict[str, Any]) -> dict[str, Any]:
        tables, texts = _reads(source.select, self.views_sql, self.tokens)
        token = _digest(gens.FORMAT, schema_version(), source.select, texts,
                        {t: self.tokens[t] for t in sorted(tables)})
        rel = f"{source.key}/{source.name}.parquet"
        if old.get("token") == token and rel in self.good:
            self._link(rel)
            return {"rows": int(old.get("rows", 0)), "token": token}
        rows = self._write(rel, f"{source.select} ORDER BY {source.order}")
        return {"rows": rows, "token": token}

    def _day_tokens(self, source: Source, rows_of: str) -> dict[str, dict[str, Any]]:
        """Per part of a day: rows and a token that changes when they do (see the module
        docstring). Keys: the day (``YYYY-MM-DD``), or ``YYYY-MM-DD.k`` for its k-th part."""
        name = _DAY_TOKENS.get(source.key)
        if name is None:  # no cheap token for this table: hash its rows (a full read)
            query = (f"SELECT _day, _part, count(*), sum(hash(r)::HUGEINT)::VARCHAR "
                     f"FROM ({rows_of}) r GROUP BY _day, _part")
            texts: list[object] = []
        else:
            query = sql(name)
            texts = [_reads(source.select, self.views_sql, self.tokens)[1], query]
            if "_publish_articles" in query:  # and what it reads of the articles, and how
                rows = sql(_ARTICLE_ROWS)
                texts += [rows, _reads(rows, self.views_sql, self.tokens)[1]]
                self._article_rows()
        definition = _digest(gens.FORMAT, schema_version(), source.select, texts)[:16]
        if query not in self._token_rows:  # one query may serve two tables (search index)
            self._token_rows[query] = self.con.execute(
                f"/* publish tokens: {name or source.key} */ "
                f"SELECT * FROM ({query}) ORDER BY 1, 2").fetchall()
        # rows None: the token query does not count them (search terms); see _partitioned
        uncounted = source.key in _UNCOUNTED
        return {_part_key(str(day), int(part)): {"rows": None if uncounted else int(n),
                                                 "token": f"{definition}:{token}"}
                for day, part, n, token in self._token_rows[query]}

    def _article_rows(self) -> None:
        """Make the temp table ``_publish_articles`` (warehouse/sql/publish_article_rows.sql) once
        per publish: the articles' row versions the day tokens read, instead of each reading
        core.articles again (the store does not change during a publish)."""
        if not self._articles_made:
            self.con.execute(f"/* publish tokens: {_ARTICLE_ROWS} */ {sql(_ARTICLE_ROWS)}")
            self._articles_made = True

    def _partitioned(self, source: Source, old: dict[str, Any]) -> dict[str, Any]:
        assert source.partition is not None
        at = source.partition[1]
        hidden = "_day, _part" + (", _at" if at == "_at" else "")

        def parted(select: str) -> str:
            return (f"SELECT v.*, _publish_day(v.{at}) AS _day, _publish_part(v.{at}) AS _part "
                    f"FROM ({select}) v")

        rows_of = parted(source.select)
        current = self._day_tokens(source, rows_of)
        before: dict[str, Any] = old.get("partitions", {})
        todo = {key for key, meta in current.items()
                if before.get(key, {}).get("token") != meta["token"]
                or _part_rel(source, key) not in self.good}
        try:
            if todo:
                self._select_parts(todo)
            narrowed = self._narrowed(source, todo) if todo else None
            if narrowed is not None:
                rows_of = parted(narrowed)
            rows_table = f"({rows_of})"
            if len(todo) > _MATERIALISE_OVER or (todo and narrowed is not None):
                # Many parts to write (a first publish), or a narrowed view: the rows once,
                # sorted by part, so that each is a cheap filtered read, not one more evaluation.
                self.con.execute(f"/* publish rows: {source.key} */ "
                                 "CREATE OR REPLACE TEMP TABLE _publish_rows AS SELECT * FROM "
                                 f"({rows_of}) SEMI JOIN _publish_parts USING (_day, _part) "
                                 "ORDER BY _day, _part")
                rows_table = "_publish_rows"
            for key, meta in current.items():
                rel = _part_rel(source, key)
                if key not in todo:
                    self._link(rel)
                    if meta["rows"] is None:
                        meta["rows"] = int(before[key].get("rows") or 0)
                    continue
                day, part = _split_key(key)
                meta["rows"] = self._write(
                    rel, f"SELECT * EXCLUDE ({hidden}) FROM {rows_table} "
                    f"WHERE _day = DATE '{day}' AND _part = {part} ORDER BY {source.order}")
            if not current:
                # Views need at least one file to bind against; an empty, typed file stands in.
                rel = f"{source.key}/_schema.parquet"
                if old and not before and rel in self.good:
                    self._link(rel)
                else:
                    self._write(rel, f"SELECT * EXCLUDE ({hidden}) FROM ({rows_of}) LIMIT 0")
        finally:
            for temp in ("_publish_rows", "_publish_parts"):
                self.con.execute(f"DROP TABLE IF EXISTS {temp}")
        self.stats["files_removed"] += len(set(before) - set(current))
        return {"rows": sum(m["rows"] for m in current.values()), "partitions": current}

    def _select_parts(self, parts: set[str]) -> None:
        """The parts to write, as the temp table ``_publish_parts`` the narrowing queries and
        the rows join on, and the temp macro ``_publish_span`` around their times (``_span``)."""
        values = ", ".join(f"(DATE '{day}', {part})"
                           for day, part in sorted(map(_split_key, parts)))
        self.con.execute("CREATE OR REPLACE TEMP TABLE _publish_parts AS SELECT * "
                         f"FROM (VALUES {values}) AS t(_day, _part)")
        self.con.execute("CREATE OR REPLACE TEMP MACRO _publish_span(t) AS "
                         + _span(parts, self.cuts))

    def _narrowed(self, source: Source, parts: set[str]) -> str | None:
        """The rows that can fall on ``parts`` (listed in the temp table ``_publish_parts``),
        read without evaluating the view over the whole history (see ``_NARROW``), or None: then
        the view is read whole (correct, slower)."""
        if source.schema == "core":  # the search index: the terms of those parts' articles
            self._keys("publish_articles_keys", parts)
            if _EPOCH_DAY in parts:  # and the orphans (article gone), which no key finds
                return (f"{source.select} WHERE s.article_key IN "
                        "(SELECT article_key FROM _publish_keys) OR a.article_key IS NULL")
            return _SEARCH_ROWS.format(rows=_by_rowid(f"core.{source.name}", "article_key"),
                                       articles=_KEYED_ARTICLES)
        narrow = _NARROW.get(source.key)
        if narrow is None:
            return None
        pattern, uses, keys_sql, column = narrow
        text = self.views_sql.get(f"analytics.{source.name}", "")
        body = re.sub(r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+\S+\s+AS\s+", "", text,
                      count=1, flags=re.IGNORECASE).strip().rstrip(";")
        if body == text.strip() or len(pattern.findall(body)) != uses:
            log.warning("publish: analytics.%s no longer reads its rows as %s: evaluated whole",
                        source.name, pattern.pattern)
            return None
        self._keys(keys_sql, parts)

        def narrowed(match: re.Match[str]) -> str:
            named = match.group(1)
            if named.lower() in self.tokens:  # a store table: by rowid
                rows = _by_rowid(named, column)
            else:  # a view has no rowid
                rows = f"(SELECT * FROM {named} SEMI JOIN _publish_keys USING ({column}))"
            return rows + (f" AS {match.group(2)}" if match.group(2) else "")

        return pattern.sub(narrowed, body)

    def _keys(self, name: str, parts: set[str]) -> None:
        """Fill the temp table _publish_keys by warehouse/sql/<name>.sql for ``parts`` (in
        _publish_parts), unless it holds those already (articles and the search index's two
        tables narrow by the same keys; the store does not change during a publish)."""
        wanted = (name, frozenset(parts))
        if self._keys_made != wanted:
            self._keys_made = None
            self.con.execute(f"/* publish keys: {name} */ "
                             f"CREATE OR REPLACE TEMP TABLE _publish_keys AS {sql(name)}")
            self._keys_made = wanted

    def _link(self, rel: str) -> None:
        path = self.folder / rel
        folder = path.parent
        if folder not in self._folders:  # a generation has a folder per day: made once each
            folder.mkdir(parents=True, exist_ok=True)
            self._folders.add(folder)
        if gens.link_or_copy(self.base / rel, path):
            self.files[rel] = self.good[rel]  # one inode: the size and mtime just checked
        else:
            self.files[rel] = self.good[rel].at(path)
        self.stats["files_linked"] += 1

    def _write(self, rel: str, query: str) -> int:
        path = self.folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        written = self.con.execute(
            f"COPY ({query}) TO {_literal(path)} (FORMAT parquet, COMPRESSION zstd)").fetchone()
        gens.sync_file(path)
        self.files[rel] = gens.checksum(path)
        rows = int(written[0]) if written else 0
        self.stats["files_written"] += 1
        self.stats["rows_written"] += rows
        self.stats["bytes_written"] += self.files[rel].size
        self.stats["written"].append(rel)
        return rows

    def _view_sql(self, source: Source) -> str:
        """The view over this table's files in the generation (folder name filled in later)."""
        if source.partition is not None and self.tables[source.key]["partitions"]:
            column, _ = source.partition
            glob = f"{{gen}}/{source.key}/{column}=*/*.parquet"
            return (f"CREATE VIEW {source.schema}.{source.name} AS SELECT * FROM read_parquet("
                    f"{{q}}{glob}{{q}}, hive_partitioning = true, hive_types = {{{{'{column}': DATE}}}})")
        rel = (f"{source.key}/_schema.parquet" if source.partition is not None
               else f"{source.key}/{source.name}.parquet")
        return (f"CREATE VIEW {source.schema}.{source.name} AS "
                f"SELECT * FROM read_parquet({{q}}{{gen}}/{rel}{{q}})")


def _write_views_db(target: Path, generation: Path, writer: _GenerationWriter,
                    freshness: dict[str, Any]) -> None:
    """Write analytics.duckdb for ``generation`` beside ``target`` and move it over ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    for leftover in (tmp, wal_path(tmp)):
        leftover.unlink(missing_ok=True)
    gen_path = str(generation).replace("'", "''")
    con = duckdb.connect(":memory:")
    try:
        # Attached as "analytics" whatever the file is called, so that names written
        # ``analytics.x`` (the search macro reads analytics.articles) bind as they will for the
        # analyst, who opens analytics.duckdb: its catalog is then called analytics too.
        con.execute(f"ATTACH {_literal(tmp)} AS analytics")
        con.execute("USE analytics")
        con.execute("CREATE SCHEMA core")
        for key in sorted(writer.views):
            con.execute(writer.views[key].format(gen=gen_path, q="'"))
        install_search(con)
        con.execute(_freshness_sql(freshness, writer))
        for statement in _comments(writer):
            con.execute(statement)
        con.execute("USE memory")
        con.execute("DETACH analytics")
    finally:
        con.close()
    fault_point("publish:views_written")
    gens.sync_file(tmp)
    # A new inode under the old name: open sessions keep the old file (and its generation) and
    # are never waited for; new sessions open the new generation, every table at once.
    os.replace(tmp, target)
    gens.sync_dir(target.parent)


def _comments(writer: _GenerationWriter) -> list[str]:
    """The store's comments on the analyst views and their columns, for the copy's views (so
    ``.schema`` and ``duckdb_columns()`` tell an analyst what each column means)."""
    views = {key for key, schema in writer.schemas.items() if schema == "main"}
    out = [f"COMMENT ON VIEW main.{FRESHNESS} IS "
           + _literal_text("When this copy was published, by which run, which generation; "
                           "articles it holds.")]
    out += [f"COMMENT ON COLUMN main.{FRESHNESS}.{column} IS {_literal_text(text)}"
            for column, text in _FRESHNESS_COLUMNS.items()]
    for name, comment in writer.con.execute(
            "SELECT view_name, comment FROM duckdb_views() WHERE schema_name = 'analytics' "
            "AND comment IS NOT NULL ORDER BY 1").fetchall():
        if name in views:
            out.append(f"COMMENT ON VIEW main.{name} IS {_literal_text(comment)}")
    for name, column, comment in writer.con.execute(
            "SELECT table_name, column_name, comment FROM duckdb_columns() "
            "WHERE schema_name = 'analytics' AND comment IS NOT NULL ORDER BY 1, 2").fetchall():
        if name in views and _NAME.match(column):
            out.append(f"COMMENT ON COLUMN main.{name}.{column} IS {_literal_text(comment)}")
    for name, (column, _) in PARTITIONED.items():
        if name in views and writer.tables.get(name, {}).get("partitions"):
            base = column.removesuffix("_day") + "_at"
            out.append(f"COMMENT ON COLUMN main.{name}.{column} IS "
                       + _literal_text(f"UTC day of {base}: the folder of the copy's files "
                                       "(filter on it to read fewer files)."))
    return out


def _freshness_sql(freshness: dict[str, Any], writer: _GenerationWriter) -> str:
    run = freshness["run_id"]
    run_sql = "NULL::VARCHAR" if run is None else _literal_text(str(run))
    articles = int(writer.tables.get("articles", {}).get("rows", 0))
    return (
        f"CREATE VIEW main.{FRESHNESS} AS SELECT "
        f"TIMESTAMPTZ {_literal_text(freshness['published_at'].isoformat())} AS published_at, "
        f"{run_sql} AS run_id, {int(freshness['generation'])} AS generation, "
        f"{_literal_text(freshness['marker'])} AS marker, {articles} AS articles"
    )


def _legacy_tables(out_dir: Path) -> list[str]:
    """Tables a publish before generations (format 1) left directly under ``out_dir``."""
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict) or data.get("format") != 1:
        return []
    return [n for n in data.get("tables", {}) if isinstance(n, str) and _NAME.match(n)]


def _remove_legacy_layout(out_dir: Path, tables: list[str]) -> None:
    # Once a generation is current nothing reads them; only the folders that manifest named.
    for name in tables:
        folder = out_dir / name
        if folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)


def _literal(path: Path) -> str:
    return _literal_text(str(path))


def _literal_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
