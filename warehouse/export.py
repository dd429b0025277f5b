"""Exports of an article selection: date-partitioned Parquet (incremental), CSV and JSONL.

The selection is ``analytics.articles`` (one row per article, current version, quarantined ones
left out) with each article's UTC event day and story, for days ``since``..``until`` inclusive.

Parquet goes to ``<out>/date=YYYY-MM-DD/part-0.parquet`` (hive layout: ``read_parquet(
'<out>/*/*.parquet', hive_partitioning = true)`` gets the ``date`` column back). A manifest in
``<out>`` keeps a content fingerprint per day (row count and the sum of row hashes, so the order
rows are read in does not matter); a later export rewrites only days whose fingerprint changed
and removes days of the range that no longer have rows. Each file is written beside its final
name and moved into place, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from datetime import date
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

log = logging.getLogger(__name__)

MANIFEST = "_export_manifest.json"
_FORMAT_VERSION = 1


class ExportFormat(StrEnum):
    """Output formats of ``newsflow export``."""

    PARQUET = "parquet"
    CSV = "csv"
    JSONL = "jsonl"


def _selection_sql() -> str:
    text = resources.files("warehouse").joinpath("sql", "export_articles.sql").read_text("utf-8")
    return text.strip().rstrip(";")


def _params(since: date | None, until: date | None) -> dict[str, Any]:
    return {"since": since, "until": until}


def fingerprints(con: duckdb.DuckDBPyConnection, since: date | None = None,
                 until: date | None = None) -> dict[str, str]:
    """``{day: fingerprint}`` of the selection, one entry per day that has rows."""
    rows = con.execute(
        f"SELECT strftime(s.date, '%Y-%m-%d'), count(*), "
        f"sum(md5_number_lower(to_json(s))::HUGEINT) FROM ({_selection_sql()}) AS s "
        "GROUP BY ALL ORDER BY 1",
        _params(since, until),
    ).fetchall()
    return {day: f"{n}:{total}" for day, n, total in rows}


def export(
    con: duckdb.DuckDBPyConnection,
    fmt: ExportFormat | str,
    out: Path | str,
    *,
    since: date | None = None,
    until: date | None = None,
    full: bool = False,
) -> dict[str, Any]:
    """Write the selection for ``since``..``until`` (inclusive days) to ``out``.

    Parquet: ``out`` is a folder, updated incrementally unless ``full``. CSV/JSONL: ``out`` is a
    file (``-`` for standard output), always written whole. Returns counts and seconds.
    """
    fmt = ExportFormat(fmt)
    started = time.perf_counter()
    if fmt is ExportFormat.PARQUET:
        result = _export_parquet(con, Path(out), since, until, full)
    else:
        result = _export_flat(con, fmt, str(out), since, until)
    result["seconds"] = round(time.perf_counter() - started, 3)
    log.info("export %s to %s: %s", fmt, out, result)
    return result


def _export_flat(con: duckdb.DuckDBPyConnection, fmt: ExportFormat, out: str,
                 since: date | None, until: date | None) -> dict[str, Any]:
    options = "FORMAT csv, HEADER true" if fmt is ExportFormat.CSV else "FORMAT json"
    if out == "-":
        target = "/dev/stdout"
    else:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        target = out + ".tmp"
    con.execute(
        f"COPY ({_selection_sql()} ORDER BY date, article_key) TO '{_quote(target)}' ({options})",
        _params(since, until),
    )
    if out != "-":
        os.replace(target, out)
    row = con.execute(f"SELECT count(*) FROM ({_selection_sql()})", _params(since, until)).fetchone()
    return {"format": str(fmt), "rows": int(row[0]) if row else 0, "path": out}


def _export_parquet(con: duckdb.DuckDBPyConnection, out: Path, since: date | None,
                    until: date | None, full: bool) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(out)
    old: dict[str, str] = {} if full else manifest.get("partitions", {})
    new = fingerprints(con, since, until)
    changed = sorted(d for d, fp in new.items() if old.get(d) != fp
                     or not (out / f"date={d}" / "part-0.parquet").exists())
    in_range = {d for d in old if _in_range(d, since, until)}
    removed = sorted(in_range - set(new))
    rows = 0
    if changed:
        with tempfile.TemporaryDirectory(prefix=".export-", dir=out) as tmp:
            con.register("_export_days", _days_table(changed))
            try:
                con.execute(
                    f"COPY (SELECT * FROM ({_selection_sql()}) AS s "
                    "WHERE strftime(s.date, '%Y-%m-%d') IN (SELECT day FROM _export_days) "
                    f"ORDER BY s.date, s.article_key) TO '{_quote(tmp)}' "
                    "(FORMAT parquet, PARTITION_BY (date), FILENAME_PATTERN 'part-{i}', "
                    "OVERWRITE_OR_IGNORE true)",
                    _params(since, until),
                )
            finally:
                con.unregister("_export_days")
            for day in changed:
                src = Path(tmp) / f"date={day}" / "part-0.parquet"
                dest_dir = out / f"date={day}"
                dest_dir.mkdir(exist_ok=True)
                os.replace(src, dest_dir / "part-0.parquet")
        rows = sum(int(new[d].split(":")[0]) for d in changed)
    for day in removed:
        shutil.rmtree(out / f"date={day}", ignore_errors=True)
    partitions = {d: fp for d, fp in manifest.get("partitions", {}).items()
                  if d not in removed and not _in_range(d, since, until)}
    partitions.update(new)
    _write_manifest(out, {"format_version": _FORMAT_VERSION, "partitions": dict(sorted(
        partitions.items()))})
    return {"format": "parquet", "path": str(out), "partitions_written": len(changed),
            "partitions_unchanged": len(new) - len(changed), "partitions_removed": len(removed),
            "rows_written": rows, "written": changed}


def _days_table(days: list[str]) -> Any:
    import pyarrow as pa

    return pa.table({"day": pa.array(days, pa.string())})


def _in_range(day: str, since: date | None, until: date | None) -> bool:
    d = date.fromisoformat(day)
    return (since is None or d >= since) and (until is None or d <= until)


def _quote(path: str) -> str:
    return path.replace("'", "''")


def _read_manifest(out: Path) -> dict[str, Any]:
    path = out / MANIFEST
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("unreadable export manifest %s: rewriting every partition", path)
        return {}
    return data if data.get("format_version") == _FORMAT_VERSION else {}


def _write_manifest(out: Path, data: dict[str, Any]) -> None:
    tmp = out / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, out / MANIFEST)
