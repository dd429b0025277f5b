"""Stories in the store: signatures, the similarity graph and its clusters, kept incrementally.

For the article keys a batch touched: (re)sign the articles whose title, text, date or outlet
changed; drop their old links; link them against the stored signatures within the time window
(transforms.stories.link); then recluster only the connected part of the graph they reach and
replace those stories. Linking is pairwise, so this equals ``rebuild_stories`` (tested).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import timedelta
from importlib import resources
from typing import Any

import duckdb
import pyarrow as pa

from transforms.stories import (
    SIGNATURE_VERSION,
    Edge,
    LinkKind,
    Signature,
    StoryDoc,
    StoryOptions,
    cluster,
    link,
    sign,
)

log = logging.getLogger(__name__)

_SIGNATURE_COLUMNS = ("article_key", "outlet", "event_at", "title", "minhash", "shingles",
                      "lead_tokens")


def _sql(name: str) -> str:
    return resources.files("warehouse").joinpath("sql", name).read_text(encoding="utf-8")


def _register(con: duckdb.DuckDBPyConnection, name: str, rows: Sequence[dict[str, Any]],
              columns: dict[str, pa.DataType]) -> None:
    table = pa.Table.from_pylist(list(rows), schema=pa.schema(list(columns.items())))
    con.register(name, table)


def _keys_table(con: duckdb.DuckDBPyConnection, keys: Iterable[str]) -> None:
    con.register("_story_keys", pa.table({"article_key": pa.array(sorted(set(keys)), pa.string())}))


def _signature(row: tuple[Any, ...]) -> Signature:
    key, outlet, event_at, title, minhash, shingles, lead = row
    return Signature(key, outlet, event_at, title, tuple(minhash), shingles, tuple(lead))


def update_stories(con: duckdb.DuckDBPyConnection, keys: Sequence[str],
                   options: StoryOptions | None = None) -> dict[str, Any]:
    """Bring signatures, links and stories up to date for ``keys``; returns counts and seconds."""
    options = options or StoryOptions()
    started = time.perf_counter()
    # Signatures made by an older sign() are not comparable with new ones: the first update after
    # an upgrade signs them again (once; they then carry the current version).
    stale = [r[0] for r in con.execute(
        "SELECT article_key FROM core.story_signatures WHERE NOT starts_with(signed_hash, $p)",
        {"p": f"{SIGNATURE_VERSION}:"}).fetchall()]
    keys = sorted(set(keys) | set(stale)) if stale else keys
    if not keys:
        return {"signed": 0, "links": 0, "stories": 0, "seconds": 0.0}
    _keys_table(con, keys)
    try:
        changed = con.execute(_sql("stories_changed.sql"),
                              {"version": SIGNATURE_VERSION}).fetchall()
    finally:
        con.unregister("_story_keys")
    # changed rows: key, outlet, event_at, title, text, language, signed_hash, gone
    gone = [r[0] for r in changed if r[7]]
    docs = [StoryDoc(r[0], r[1], r[2], r[3], r[4], r[5]) for r in changed if not r[7]]
    hashes = {r[0]: r[6] for r in changed if not r[7]}
    new = [sign(d, options) for d in docs]
    touched = sorted({r[0] for r in changed})
    if not touched:
        return {"signed": 0, "links": 0, "stories": 0, "seconds": time.perf_counter() - started}

    # Members of the stories the touched keys were in: unlinking may split those stories.
    _keys_table(con, touched)
    try:
        before = {r[0] for r in con.execute(
            "SELECT sa.article_key FROM core.story_articles AS sa WHERE sa.story_id IN ("
            " SELECT story_id FROM core.story_articles SEMI JOIN _story_keys USING (article_key))"
        ).fetchall()}
        con.execute("DELETE FROM core.story_edges WHERE article_a IN (SELECT article_key FROM "
                    "_story_keys) OR article_b IN (SELECT article_key FROM _story_keys)")
        con.execute("DELETE FROM core.story_signatures WHERE article_key IN "
                    "(SELECT article_key FROM _story_keys)")
    finally:
        con.unregister("_story_keys")
    _store_signatures(con, new, hashes)
    window = _window(con, new, options)
    edges = link(new, window, options)
    _store_edges(con, edges)
    n_stories = _recluster(con, sorted(before | set(touched)), options)
    seconds = time.perf_counter() - started
    log.info("stories: %d signed, %d gone, %d links, %d stories in %.3fs",
             len(new), len(gone), len(edges), n_stories, seconds)
    return {"signed": len(new), "removed": len(gone), "links": len(edges), "stories": n_stories,
            "seconds": seconds}


def rebuild_stories(con: duckdb.DuckDBPyConnection,
                    options: StoryOptions | None = None) -> dict[str, Any]:
    """Recompute every signature, link and story from core.articles."""
    for table in ("story_articles", "stories", "story_edges", "story_signatures"):
        con.execute(f"DELETE FROM core.{table}")
    keys = [r[0] for r in con.execute("SELECT article_key FROM core.articles").fetchall()]
    return update_stories(con, keys, options)


def _store_signatures(con: duckdb.DuckDBPyConnection, sigs: Sequence[Signature],
                      hashes: dict[str, str]) -> None:
    if not sigs:
        return
    rows = [{**{c: getattr(s, c) for c in _SIGNATURE_COLUMNS}, "signed_hash": hashes[s.article_key],
             "minhash": list(s.minhash), "lead_tokens": list(s.lead_tokens)} for s in sigs]
    _register(con, "_story_batch", rows, {
        "article_key": pa.string(), "signed_hash": pa.string(), "outlet": pa.string(),
        "event_at": pa.timestamp("us", tz="UTC"), "title": pa.string(),
        "minhash": pa.list_(pa.uint64()), "shingles": pa.int32(),
        "lead_tokens": pa.list_(pa.string())})
    try:
        con.execute("INSERT INTO core.story_signatures BY NAME SELECT * FROM _story_batch")
    finally:
        con.unregister("_story_batch")


def _window(con: duckdb.DuckDBPyConnection, new: Sequence[Signature],
            options: StoryOptions) -> list[Signature]:
    """Stored signatures within ``window_days`` of any new one (a range join, not a full read)."""
    if not new:
        return []
    span = timedelta(days=options.window_days)
    # Collapse the new articles' times into disjoint ranges: a backfill of one day reads that
    # day's neighbourhood, not everything between its oldest and newest article.
    ranges: list[list[Any]] = []
    for at in sorted(s.event_at for s in new):
        if ranges and at - span <= ranges[-1][1]:
            ranges[-1][1] = max(ranges[-1][1], at + span)
        else:
            ranges.append([at - span, at + span])
    _register(con, "_story_ranges", [{"lo": lo, "hi": hi} for lo, hi in ranges],
              {"lo": pa.timestamp("us", tz="UTC"), "hi": pa.timestamp("us", tz="UTC")})
    try:
        rows = con.execute(
            f"SELECT {', '.join('s.' + c for c in _SIGNATURE_COLUMNS)} "
            "FROM core.story_signatures AS s JOIN _story_ranges AS r "
            "ON s.event_at BETWEEN r.lo AND r.hi"
        ).fetchall()
    finally:
        con.unregister("_story_ranges")
    return [_signature(r) for r in rows]


def _store_edges(con: duckdb.DuckDBPyConnection, edges: Sequence[Edge]) -> None:
    if not edges:
        return
    _register(con, "_story_batch", [asdict(e) for e in edges], {
        "article_a": pa.string(), "article_b": pa.string(), "kind": pa.string(),
        "score": pa.float64()})
    try:
        # delete + insert rather than INSERT OR REPLACE, which needs a primary key: a DuckLake
        # store has none (keys are enforced by the store, not the catalog)
        con.execute("DELETE FROM core.story_edges WHERE (article_a, article_b) IN "
                    "(SELECT (article_a, article_b) FROM _story_batch)")
        con.execute("INSERT INTO core.story_edges BY NAME SELECT * FROM _story_batch")
    finally:
        con.unregister("_story_batch")


def _reach(con: duckdb.DuckDBPyConnection, seeds: Sequence[str]) -> set[str]:
    """Every article connected to ``seeds`` through stored links."""
    seen = set(seeds)
    frontier = set(seeds)
    while frontier:
        _keys_table(con, frontier)
        try:
            rows = con.execute(
                "SELECT article_b FROM core.story_edges WHERE article_a IN "
                "(SELECT article_key FROM _story_keys) UNION "
                "SELECT article_a FROM core.story_edges WHERE article_b IN "
                "(SELECT article_key FROM _story_keys)"
            ).fetchall()
        finally:
            con.unregister("_story_keys")
        frontier = {r[0] for r in rows} - seen
        seen |= frontier
    return seen


def _recluster(con: duckdb.DuckDBPyConnection, seeds: Sequence[str],
               options: StoryOptions) -> int:
    """Recompute the stories of the graph component(s) around ``seeds``; returns stories written."""
    nodes = _reach(con, seeds)
    _keys_table(con, nodes)
    try:
        sigs = [_signature(r) for r in con.execute(
            f"SELECT {', '.join(_SIGNATURE_COLUMNS)} FROM core.story_signatures "
            "SEMI JOIN _story_keys USING (article_key)").fetchall()]
        edges = [Edge(a, b, LinkKind(k), s) for a, b, k, s in con.execute(
            "SELECT article_a, article_b, kind, score FROM core.story_edges "
            "WHERE article_a IN (SELECT article_key FROM _story_keys)").fetchall()]
        con.execute("DELETE FROM core.stories WHERE story_id IN (SELECT story_id FROM "
                    "core.story_articles SEMI JOIN _story_keys USING (article_key))")
        con.execute("DELETE FROM core.story_articles WHERE article_key IN "
                    "(SELECT article_key FROM _story_keys)")
    finally:
        con.unregister("_story_keys")
    stories, members = cluster(sigs, edges, options)
    if not stories:
        return 0
    story_rows = [{**asdict(s), "outlets": list(s.outlets)} for s in stories]
    member_rows = [{**asdict(m), "link_kind": str(m.link_kind)} for m in members]
    ts = pa.timestamp("us", tz="UTC")
    _register(con, "_story_batch", story_rows, {
        "story_id": pa.string(), "title": pa.string(), "first_article_key": pa.string(),
        "first_outlet": pa.string(), "first_published_at": ts, "last_published_at": ts,
        "article_count": pa.int32(), "outlet_count": pa.int32(),
        "outlets": pa.list_(pa.string()), "syndicated_count": pa.int32()})
    try:
        con.execute("INSERT INTO core.stories BY NAME SELECT * FROM _story_batch")
    finally:
        con.unregister("_story_batch")
    _register(con, "_story_batch", member_rows, {
        "article_key": pa.string(), "story_id": pa.string(), "outlet": pa.string(),
        "published_at": ts, "position": pa.int32(), "similarity": pa.float64(),
        "link_kind": pa.string(), "is_syndicated": pa.bool_(), "syndicated_from": pa.string()})
    try:
        con.execute("INSERT INTO core.story_articles BY NAME SELECT * FROM _story_batch")
    finally:
        con.unregister("_story_batch")
    return len(stories)
