"""Reads that drive the stages and the SQL side of the core projections.

The SQL lives in ``warehouse/sql/*.sql``; this module binds parameters. Projections read no clock:
every date they write comes from a raw event's ``occurred_at`` or from the event's own fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

import pyarrow as pa

from transforms.revisits import RevisitCandidate
from transforms.vocab import ErrorClass
from warehouse.store import Store

# Page fetch errors that will not change by asking again.
PERMANENT_PAGE_ERRORS = tuple(str(e) for e in (
    ErrorClass.NOT_FOUND, ErrorClass.GONE, ErrorClass.FORBIDDEN, ErrorClass.HTTP_4XX,
    ErrorClass.BAD_SCHEME, ErrorClass.BAD_URL, ErrorClass.SSRF_BLOCKED,
    ErrorClass.ROBOTS_DISALLOWED, ErrorClass.TOO_LARGE, ErrorClass.TOO_MANY_REDIRECTS,
    ErrorClass.DOWNGRADE, ErrorClass.TLS,
))


@cache
def sql(name: str) -> str:
    """The text of ``warehouse/sql/<name>.sql``."""
    return resources.files("warehouse").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


def pages_to_fetch(store: Store, *, now: datetime) -> list[tuple[str, str]]:
    """(link, link_key) of article pages to fetch at ``now``, oldest first (core.page_retries
    must be up to date: warehouse.retries.refresh_page_retries)."""
    cur = store.con.execute(
        sql("pages_to_fetch"), {"permanent": list(PERMANENT_PAGE_ERRORS), "now": now}
    )
    return [(str(link), str(key)) for link, key in cur.fetchall()]


def revisit_candidates(store: Store, *, horizon: datetime, now: datetime | None = None,
                       schedule: Sequence[timedelta] = (), per_host: int | None = None
                       ) -> list[RevisitCandidate]:
    """Pages a revisit may be due for: first fetched since ``horizon``, or whose feed entry
    changed after our latest request (see pages_to_revisit.sql). With ``now``: only those due at
    ``now`` on ``schedule`` (``transforms.revisits.revisit_due``), and of each host the first
    ``per_host`` in the plan's order, the most ``plan_revisits`` can take from it; the plan made
    from these equals the plan made from every candidate, without reading each into Python."""
    rows = _rows(store, sql("pages_to_revisit"),
                 {"permanent": list(PERMANENT_PAGE_ERRORS), "horizon": horizon, "now": now,
                  "offsets": list(schedule), "per_host": per_host})
    return [RevisitCandidate(url=r["url"], key=r["url_key"], first_seen_at=r["first_seen_at"],
                             last_attempt_at=r["last_attempt_at"],
                             feed_changed_at=r["feed_changed_at"], etag=r["etag"],
                             last_modified=r["last_modified"], body_sha256=r["body_sha256"])
            for r in rows]


def _with_bodies(store: Store, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The batch's rows with their bodies (still compressed) read by hash from raw.page_bodies,
    and that hash (the sha256 of the body decompressed); a row whose body is missing is left
    out."""
    bodies = dict(store.con.execute(
        sql("page_bodies_of"),
        {"hashes": sorted({p["body_sha256"] for p in batch})}).fetchall())
    pages = [{**p, "body": bodies.get(p["body_sha256"])} for p in batch]
    return [p for p in pages if p["body"] is not None]


def load_keys(store: Store, keys: Sequence[str]) -> None:
    """Put a batch's article keys in the temp table ``_batch_keys`` (replacing the last batch's),
    which the article projection's queries join on: each costs the batch's keys, where a
    ``list_contains($keys, ...)`` filter compared every stored row with every key."""
    store.temp_table("_batch_keys",
                     pa.table({"article_key": pa.array(sorted(set(keys)), pa.string())}))


def pending_page_ids(store: Store) -> list[str]:
    """Ids of the unprojected successful page fetches, in extraction order, bodies left in the
    store: the extraction stage reads the bodies one batch at a time (``pages_by_id``), so a
    backlog of any size costs memory for one batch, not for all of it."""
    cur = store.con.execute(sql("pending_page_ids"))
    return [str(r[0]) for r in cur.fetchall()]


def pages_by_id(store: Store, ids: Sequence[str]) -> list[dict[str, Any]]:
    """The still-pending pages among ``ids`` (event id, URLs, content type, occurred_at, the
    body, still compressed, and its sha256), in extraction order."""
    if not ids:
        return []
    store.temp_table("_page_ids", pa.table({"event_id": pa.array(sorted(set(ids)), pa.string())}))
    return _with_bodies(store, _rows(store, sql("pages_by_id"), {}))


def article_sources(store: Store, keys: Sequence[str]) -> list[dict[str, Any]]:
    """Feed entries linking to each of ``keys`` (see article_sources.sql)."""
    if not keys:
        return []
    load_keys(store, keys)
    return _rows(store, sql("article_sources"), {})


def feed_health_inputs(store: Store, feed_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Per-feed facts from raw.feed_fetches for the health projection."""
    if not feed_ids:
        return []
    return _rows(store, sql("feed_health"), {"feeds": list(feed_ids)})


def article_versions(store: Store, keys: Sequence[str]) -> list[dict[str, Any]]:
    """All stored versions of ``keys``, oldest first."""
    if not keys:
        return []
    load_keys(store, keys)
    return _rows(store, sql("article_versions_of"), {})


def first_fetch_times(store: Store, keys: Sequence[str]) -> dict[str, Any]:
    """Earliest successful page fetch time per article key."""
    if not keys:
        return {}
    load_keys(store, keys)
    rows = _rows(store, sql("first_fetch_times"), {})
    return {r["article_key"]: (r["first_at"], r["last_at"]) for r in rows}


def keys_linked_by_run(store: Store, run_id: str) -> list[str]:
    """Article keys that feed entries written by ``run_id`` point at."""
    cur = store.con.execute(sql("keys_linked_by_run"), {"run": run_id})
    return [str(r[0]) for r in cur.fetchall()]


def _rows(store: Store, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cur = store.con.execute(query, params)
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
