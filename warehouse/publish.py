"""Publish the analyst tables as Parquet, so analysts never touch the pipeline's DuckDB file.

DuckDB lets one process open a file read-write, and while it does no other process can open that
file at all, not even read-only. So the pipeline keeps ``data/newsflow.duckdb`` to itself and, at
the end of each run (still under the writer lock), materialises every ``analytics.*`` view of the
store as Parquet under ``<out_dir>/<table>/``:

- ``articles`` is partitioned by the UTC day of ``first_seen_at``
  (``articles/first_seen_day=YYYY-MM-DD/part.parquet``); only partitions whose content changed are
  rewritten, so a run costs in proportion to what it touched, not to the history;
- the other views are small and are written whole (``<table>/<table>.parquet``), again only when
  their content changed.

Whether something changed is decided by a content fingerprint (row count and the sum of row hashes,
order-independent) compared with the manifest the previous publish left in ``out_dir``. Every file
is written beside its final name and moved into place with ``os.replace``, so a reader sees either
the old file or the new one, never half a file. Finally a small ``analytics.duckdb`` holding only
VIEWS over those Parquet files is (re)written, again to a temporary name and renamed: an analyst
with the previous file open, even read-write, keeps working on the old inode and is never waited
for, and the views read the Parquet afresh on every query, so a new publish shows up on the next
query (new tables or a first partition show up after reconnecting).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any, Final

import duckdb

from warehouse.store import Store, utcnow

log = logging.getLogger(__name__)

MANIFEST: Final = "_manifest.json"
LAST: Final = "last"
# Partitioned tables: name -> (partition column, SQL expression over the view's columns).
PARTITIONED: Final[dict[str, tuple[str, str]]] = {
    "articles": ("first_seen_day", "coalesce(timezone('UTC', first_seen_at)::DATE, DATE '1970-01-01')"),
    # Every version with its text: as large as articles, so also split by day.
    "article_versions": ("observed_day",
                         "coalesce(timezone('UTC', observed_at)::DATE, DATE '1970-01-01')"),
}
# Rows within a file are sorted so that the same content gives the same bytes.
_ORDER: Final[dict[str, str]] = {"articles": "article_key",
                                 "article_versions": "article_key, version"}
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FORMAT: Final = 1


def analytics_db_path(out_dir: Path) -> Path:
    """Where the views-only database for analysts goes: beside the published folder."""
    return out_dir.parent / "analytics.duckdb"


def publish(
    store: Store,
    out_dir: Path,
    *,
    since_marker: str | None = LAST,
    analytics_db: Path | None = None,
) -> dict[str, Any]:
    """Materialise the store's ``analytics.*`` views as Parquet under ``out_dir``.

    ``since_marker`` says what is already published: ``"last"`` (default) trusts the manifest in
    ``out_dir``; the ``marker`` returned by an earlier publish is used only if the manifest still
    carries it (otherwise everything is rewritten); ``None`` rewrites everything. Call it while
    holding the writer lock, after the run's last ledger row, so analysts see the finished run.
    Returns counts, the new ``marker``, and the paths written.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    _clean_temporaries(out_dir)
    old = _read_manifest(out_dir)
    if since_marker is None or (since_marker != LAST and since_marker != old.get("marker")):
        old = {}
    old_tables: dict[str, Any] = old.get("tables", {})
    new_tables: dict[str, Any] = {}
    stats: dict[str, Any] = {"files_written": 0, "files_removed": 0, "bytes_written": 0,
                             "rows_written": 0, "written": []}
    for name in _analytics_views(store.con):
        if name in PARTITIONED:
            new_tables[name] = _publish_partitioned(store.con, out_dir, name,
                                                    old_tables.get(name, {}), stats)
        else:
            new_tables[name] = _publish_whole(store.con, out_dir, name,
                                              old_tables.get(name, {}), stats)
    for gone in sorted(set(old_tables) - set(new_tables)):
        shutil.rmtree(out_dir / gone, ignore_errors=True)
        stats["files_removed"] += 1
        log.info("published table %s is gone from the store; removed it", gone)
    views_sql = {name: _view_sql(out_dir, name, meta) for name, meta in new_tables.items()}
    views_sha = hashlib.sha256(json.dumps(views_sql, sort_keys=True).encode()).hexdigest()
    target = Path(analytics_db) if analytics_db is not None else analytics_db_path(out_dir)
    rewrote_views = views_sha != old.get("views_sha") or not target.exists()
    if rewrote_views:
        _write_views_db(target, views_sql)
    generation = int(old.get("generation", 0)) + 1
    marker = f"{generation}:{utcnow().isoformat()}"
    _write_json(out_dir / MANIFEST, {
        "format": _FORMAT, "generation": generation, "marker": marker,
        "published_at": utcnow().isoformat(), "views_sha": views_sha, "tables": new_tables,
    })
    seconds = time.perf_counter() - started
    result = {
        "marker": marker,
        "out_dir": str(out_dir),
        "analytics_db": str(target),
        "analytics_db_rewritten": rewrote_views,
        "tables": {n: m["rows"] for n, m in new_tables.items()},
        "seconds": round(seconds, 3),
        **stats,
    }
    log.info("published %s in %.2fs: %d files written, %d removed", out_dir, seconds,
             stats["files_written"], stats["files_removed"])
    return result


def _analytics_views(con: duckdb.DuckDBPyConnection) -> list[str]:
    names = [r[0] for r in con.execute(
        "SELECT view_name FROM duckdb_views() WHERE schema_name = 'analytics' "
        "AND NOT internal ORDER BY view_name").fetchall()]
    bad = [n for n in names if not _NAME.match(n)]
    if bad:
        raise ValueError(f"analytics view names not publishable: {bad}")
    return names


def _publish_whole(con: duckdb.DuckDBPyConnection, out_dir: Path, name: str,
                   old: dict[str, Any], stats: dict[str, Any]) -> dict[str, Any]:
    rows, fingerprint = con.execute(
        f"SELECT count(*), coalesce(sum(hash(v)::HUGEINT), 0)::VARCHAR FROM analytics.{name} v"
    ).fetchone() or (0, "0")
    path = out_dir / name / f"{name}.parquet"
    if old.get("fingerprint") != fingerprint or not path.exists():
        order = f" ORDER BY {_ORDER[name]}" if name in _ORDER else " ORDER BY ALL"
        _copy(con, f"SELECT * FROM analytics.{name}{order}", path, stats, int(rows))
    return {"rows": int(rows), "fingerprint": fingerprint}


def _publish_partitioned(con: duckdb.DuckDBPyConnection, out_dir: Path, name: str,
                         old: dict[str, Any], stats: dict[str, Any]) -> dict[str, Any]:
    column, expr = PARTITIONED[name]
    current = {
        str(day): {"rows": int(n), "fingerprint": fp}
        for day, n, fp in con.execute(
            f"SELECT {expr} AS day, count(*), sum(hash(v)::HUGEINT)::VARCHAR "
            f"FROM analytics.{name} v GROUP BY day ORDER BY day").fetchall()
    }
    before: dict[str, Any] = old.get("partitions", {})
    folder = out_dir / name
    for day, meta in current.items():
        if not _DAY.match(day):
            raise ValueError(f"unexpected partition value {day!r} for {name}")
        path = folder / f"{column}={day}" / "part.parquet"
        if before.get(day, {}).get("fingerprint") != meta["fingerprint"] or not path.exists():
            _copy(con, f"SELECT * FROM analytics.{name} WHERE {expr} = DATE '{day}' "
                       f"ORDER BY {_ORDER.get(name, 'ALL')}", path, stats, meta["rows"])
    for day in sorted(set(before) - set(current)):
        shutil.rmtree(folder / f"{column}={day}", ignore_errors=True)
        stats["files_removed"] += 1
    schema = folder / "_schema.parquet"
    if not current and not schema.exists():
        # Views need at least one file to bind against; an empty, typed file stands in.
        _copy(con, f"SELECT * FROM analytics.{name} LIMIT 0", schema, stats, 0)
    elif current and schema.exists():
        schema.unlink()
    return {"rows": sum(m["rows"] for m in current.values()), "partitions": current}


def _copy(con: duckdb.DuckDBPyConnection, query: str, path: Path, stats: dict[str, Any],
          rows: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    con.execute(f"COPY ({query}) TO {_literal(tmp)} (FORMAT parquet, COMPRESSION zstd)")
    os.replace(tmp, path)
    stats["files_written"] += 1
    stats["rows_written"] += rows
    stats["bytes_written"] += path.stat().st_size
    stats["written"].append(f"{path.parent.parent.name}/{path.parent.name}/{path.name}"
                            if "=" in path.parent.name else f"{path.parent.name}/{path.name}")


def _view_sql(out_dir: Path, name: str, meta: dict[str, Any]) -> str:
    if name in PARTITIONED:
        column, _ = PARTITIONED[name]
        if not meta["partitions"]:
            source = f"read_parquet({_literal(out_dir / name / '_schema.parquet')})"
        else:
            glob = out_dir / name / f"{column}=*" / "*.parquet"
            source = (f"read_parquet({_literal(glob)}, hive_partitioning = true, "
                      f"hive_types = {{'{column}': DATE}})")
    else:
        source = f"read_parquet({_literal(out_dir / name / f'{name}.parquet')})"
    return f"CREATE VIEW main.{name} AS SELECT * FROM {source}"


def _write_views_db(target: Path, views_sql: dict[str, str]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        for name in sorted(views_sql):
            con.execute(views_sql[name])
        con.execute("CHECKPOINT")
    finally:
        con.close()
    # The views live in schema main: opened as analytics.duckdb, the catalog is called analytics,
    # so ``analytics.articles`` names the same thing as in the store (a schema of that name would
    # make the reference ambiguous).
    # A new inode under the old name: open sessions keep the old file and are never waited for.
    os.replace(tmp, target)


def _read_manifest(out_dir: Path) -> dict[str, Any]:
    path = out_dir / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("unreadable publish manifest %s (%s); republishing everything", path, exc)
        return {}
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        return {}
    return data


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _clean_temporaries(out_dir: Path) -> None:
    # Left by a publish that was killed mid-write; never matched by the views' globs.
    for leftover in out_dir.rglob(".*.tmp"):
        leftover.unlink(missing_ok=True)


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"
