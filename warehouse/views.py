"""Analyst views: ``warehouse/views/*.sql``, applied in name order after migrations.

Views are code, not data: they are recreated on every writable open, so a new release's view
definitions take effect without a migration.
"""

from __future__ import annotations

from importlib import resources

import duckdb


def view_files() -> list[tuple[str, str]]:
    """(file name, SQL) of every view definition, in apply order."""
    folder = resources.files("warehouse").joinpath("views")
    found = [(e.name, e.read_text(encoding="utf-8")) for e in folder.iterdir()
             if e.name.endswith(".sql")]
    return sorted(found)


def apply_views(con: duckdb.DuckDBPyConnection) -> None:
    """Create or replace every analyst view, all in one transaction: one commit instead of one
    per view (each a write to the WAL: most of a writer's open on a loaded disk), and a failing
    definition leaves the previous views in place."""
    con.execute("BEGIN TRANSACTION")
    try:
        for _name, text in view_files():
            con.execute(text)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
