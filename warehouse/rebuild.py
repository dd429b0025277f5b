"""The storage side of a rebuild: which articles a time range touches, and forgetting what its
pages became so they are extracted again. Only core.* is ever changed; raw stays as it is."""

from __future__ import annotations

from datetime import datetime

from warehouse.projections import sql
from warehouse.store import Store


def keys_in_range(store: Store, lo: datetime, hi: datetime) -> list[str]:
    """Article keys projected from page fetches whose time falls in [lo, hi)."""
    rows = store.con.execute(sql("rebuild_keys"), {"lo": lo, "hi": hi}).fetchall()
    return sorted(str(r[0]) for r in rows)


def clear_range(store: Store, lo: datetime, hi: datetime) -> None:
    """Delete the extractions and versions of the page fetches in [lo, hi) (call inside a
    transaction, followed by a refresh of the keys they fed)."""
    for statement in sql("rebuild_clear").split(";"):
        if statement.strip():
            store.con.execute(statement, {"lo": lo, "hi": hi})
