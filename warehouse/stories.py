"""Stories in the store: signatures, the similarity graph and its clusters, kept incrementally.

For the article keys a batch touched: (re)sign the articles whose title, text, date or outlet
changed and store their signatures with their keys (LSH buckets in core.story_bands, names and
numbers in core.story_names); drop their old links; find their candidates within the time window
by joining their keys with the stored ones in DuckDB (warehouse/sql/story_candidates.sql), read
only the candidates' signatures, and judge those pairs (transforms.stories.link_candidates: the
same pairs and links as transforms.stories.link over the whole window, so a new article costs its
candidates, not the window); then recluster only the connected part of the graph they reach and
replace those stories. Linking is pairwise, so this equals ``rebuild_stories`` (tested).

The stored keys follow the options the store is updated with (the defaults everywhere in
newsflow); ``rebuild_stories`` with other options writes them again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from transforms.stories import (
    SIGNATURE_VERSION,
    Candidate,
    Edge,
    LinkKind,
    Signature,
    StoryDoc,
    StoryOptions,
    TextSign,
    band_shape,
    cluster,
    has_bands,
    lead_keys,
    link_candidates,
    name_keys,
    names_agree,
    presigned_for,
    sign,
)

log = logging.getLogger(__name__)

# What signing an article writes: its signature and its candidate keys.
_SIGNED_TABLES = ("story_signatures", "story_bands", "story_names", "story_lead_words")
_SIGNATURE_COLUMNS = ("article_key", "outlet", "event_at", "title", "minhash", "shingles",
                      "lead_tokens")


def _sql(name: str) -> str:
    return resources.files("warehouse").joinpath("sql", name).read_text(encoding="utf-8")


def _arrow(rows: Sequence[dict[str, Any]], columns: dict[str, pa.DataType]) -> pa.Table:
    """Rows as an Arrow table of these columns, built column by column: Table.from_pylist
    checks every row (and every value of the MinHash lists) against Mapping, 0.16 s for a batch
    of 1,000 signatures."""
    return pa.table({column: pa.array([row.get(column) for row in rows], type=kind)
                     for column, kind in columns.items()})


def _append(con: duckdb.DuckDBPyConnection, table: str, batch: pa.Table) -> None:
    """Insert an Arrow batch into ``core.<table>``, its columns matched by name."""
    con.register("_story_batch", batch)
    try:
        con.execute(f"INSERT INTO core.{table} BY NAME SELECT * FROM _story_batch")
    finally:
        con.unregister("_story_batch")


def _keys_table(con: duckdb.DuckDBPyConnection, keys: Iterable[str]) -> None:
    con.register("_story_keys", pa.table({"article_key": pa.array(sorted(set(keys)), pa.string())}))


# The time test of the queries that read stored keys or signatures of candidates (``_window``).
_WITHIN = "($lo IS NULL OR event_at BETWEEN $lo AND $hi)"


def _within(window: tuple[datetime, datetime] | None) -> dict[str, datetime | None]:
    return {"lo": window[0] if window else None, "hi": window[1] if window else None}


def _fields(row: Any) -> dict[str, Any]:
    """A slotted dataclass as a dict of its fields (``asdict`` copies deeply, and slowly)."""
    return {name: getattr(row, name) for name in row.__slots__}


def _signature(row: tuple[Any, ...]) -> Signature:
    key, outlet, event_at, title, minhash, shingles, lead = row
    return Signature(key, outlet, event_at, title, tuple(minhash), shingles, tuple(lead))


def update_stories(con: duckdb.DuckDBPyConnection, keys: Sequence[str],
                   options: StoryOptions | None = None,
                   presigned: Mapping[str, TextSign] | None = None) -> dict[str, Any]:
    """Bring signatures, links and stories up to date for ``keys``; returns counts and seconds.
    ``presigned``: the words of extracted texts already read by the workers
    (``transforms.stories.text_sign``), by source; an article whose title, text and language
    match one is signed without reading its words again, with the same signature."""
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
    # changed rows: key, outlet, event_at, title, text, language, signed_hash, gone, was_signed
    gone = [r[0] for r in changed if r[7]]
    # Only an article signed before has keys, links or a story to undo (a gone one was signed).
    signed_before = sorted({r[0] for r in changed if r[8]})
    docs = [StoryDoc(r[0], r[1], r[2], r[3], r[4], r[5]) for r in changed if not r[7]]
    hashes = {r[0]: r[6] for r in changed if not r[7]}
    reads = [presigned_for(d, presigned, options) for d in docs]
    new = [sign(d, options, read) for d, read in zip(docs, reads, strict=True)]
    read_by_workers = sum(read is not None for read in reads)
    touched = sorted({r[0] for r in changed})
    if not touched:
        return {"signed": 0, "links": 0, "stories": 0, "seconds": time.perf_counter() - started}

    # Members of the stories the touched keys were in: unlinking may split those stories.
    before: set[str] = set()
    if signed_before:
        before = _unlink(con, signed_before)
    _store_signatures(con, new, hashes)
    _store_keys(con, new, options)
    window = _window(new, options)
    found = _candidates(con, new, options, window)
    # Pairs with one name fewer: their names must agree (spelled as tails or initials) before
    # their whole signatures are read.
    found = _names_agree(con, new, found, options, window)
    edges = link_candidates(new, _signatures(con, {c.other_key for c in found}, window), found,
                            options)
    _store_edges(con, edges)
    n_stories = _recluster(con, sorted(before | set(touched)), options)
    seconds = time.perf_counter() - started
    log.info("stories: %d signed (%d read by the workers), %d gone, %d candidates, %d links, "
             "%d stories in %.3fs", len(new), read_by_workers, len(gone), len(found),
             len(edges), n_stories, seconds)
    return {"signed": len(new), "read_by_workers": read_by_workers, "removed": len(gone),
            "candidates": len(found), "links": len(edges), "stories": n_stories, "seconds": seconds}


def _unlink(con: duckdb.DuckDBPyConnection, keys: Sequence[str]) -> set[str]:
    """Remove the links and keys of ``keys`` (signed before); return the members of the stories
    they were in (unlinking may split those stories)."""
    _keys_table(con, keys)
    try:
        before = {r[0] for r in con.execute(
            "SELECT sa.article_key FROM core.story_articles AS sa WHERE sa.story_id IN ("
            " SELECT story_id FROM core.story_articles SEMI JOIN _story_keys USING (article_key))"
        ).fetchall()}
        con.execute("DELETE FROM core.story_edges WHERE article_a IN (SELECT article_key FROM "
                    "_story_keys) OR article_b IN (SELECT article_key FROM _story_keys)")
        for table in _SIGNED_TABLES:
            con.execute(f"DELETE FROM core.{table} WHERE article_key IN "
                        "(SELECT article_key FROM _story_keys)")
    finally:
        con.unregister("_story_keys")
    return before


def rebuild_stories(con: duckdb.DuckDBPyConnection,
                    options: StoryOptions | None = None) -> dict[str, Any]:
    """Recompute every signature, link and story from core.articles."""
    for table in ("story_articles", "stories", "story_edges", *_SIGNED_TABLES):
        con.execute(f"DELETE FROM core.{table}")
    keys = [r[0] for r in con.execute("SELECT article_key FROM core.articles").fetchall()]
    return update_stories(con, keys, options)


def _store_signatures(con: duckdb.DuckDBPyConnection, sigs: Sequence[Signature],
                      hashes: dict[str, str]) -> None:
    if not sigs:
        return
    rows = [{**{c: getattr(s, c) for c in _SIGNATURE_COLUMNS}, "signed_hash": hashes[s.article_key],
             "minhash": list(s.minhash), "lead_tokens": list(s.lead_tokens)} for s in sigs]
    _append(con, "story_signatures", _arrow(rows, {
        "article_key": pa.string(), "signed_hash": pa.string(), "outlet": pa.string(),
        "event_at": pa.timestamp("us", tz="UTC"), "title": pa.string(),
        "minhash": pa.list_(pa.uint64()), "shingles": pa.int32(),
        "lead_tokens": pa.list_(pa.string())}))


def _store_keys(con: duckdb.DuckDBPyConnection, sigs: Sequence[Signature],
               options: StoryOptions) -> None:
    """The candidate keys of newly signed articles: LSH buckets, names, lead keywords."""
    names: dict[str, list[Any]] = {"article_key": [], "event_at": [], "outlet": [], "name": []}
    leads: dict[str, list[Any]] = {"article_key": [], "word": []}
    _store_bands(con, sigs, options)
    for s in sigs:
        for name in sorted(name_keys(s)):
            names["article_key"].append(s.article_key)
            names["event_at"].append(s.event_at)
            names["outlet"].append(s.outlet)
            names["name"].append(name)
        for word in sorted(lead_keys(s)):
            leads["article_key"].append(s.article_key)
            leads["word"].append(word)
    ts = pa.timestamp("us", tz="UTC")
    for table, columns, types in (
            ("story_names", names, {"article_key": pa.string(), "event_at": ts,
                                    "outlet": pa.string(), "name": pa.string()}),
            ("story_lead_words", leads, {"article_key": pa.string(), "word": pa.string()})):
        if columns["article_key"]:
            _append(con, table, pa.table(
                {c: pa.array(v, type=types[c]) for c, v in columns.items()}))


def _store_bands(con: duckdb.DuckDBPyConnection, sigs: Sequence[Signature],
                 options: StoryOptions) -> None:
    """The LSH buckets of newly signed articles (``transforms.stories.band_keys``, one row per
    band), built as arrays: a row per band and article in Python lists cost 0.6 s per 5,000
    articles."""
    bands, rows = band_shape(options)
    banded = [s for s in sigs if has_bands(s, options)]
    if not banded:
        return
    values = np.array([s.minhash[:bands * rows] for s in banded], dtype=np.uint64)
    offsets = np.arange(0, values.size + 1, rows, dtype=np.int32)
    _append(con, "story_bands", pa.table({
        "article_key": pa.array([s.article_key for s in banded for _ in range(bands)],
                                pa.string()),
        "event_at": pa.array([s.event_at for s in banded for _ in range(bands)],
                             pa.timestamp("us", tz="UTC")),
        "band": pa.array(np.tile(np.arange(bands, dtype=np.int16), len(banded))),
        "bucket": pa.ListArray.from_arrays(pa.array(offsets),
                                           pa.array(values.reshape(-1), pa.uint64())),
    }))


def _window(new: Sequence[Signature], options: StoryOptions) -> tuple[datetime, datetime] | None:
    """The times a candidate of ``new`` can have: theirs, widened by the window on each side.
    Every key of an article (bands, names, lead words) and its signature carry its one time, so
    the queries for the candidates' keys and signatures test it too, and DuckDB skips the row
    groups of other times by their min/max instead of reading every stored article's keys."""
    if not new:
        return None
    span = timedelta(days=options.window_days)
    times = [s.event_at for s in new]
    return min(times) - span, max(times) + span


def _candidates(con: duckdb.DuckDBPyConnection, new: Sequence[Signature],
                options: StoryOptions,
                window: tuple[datetime, datetime] | None) -> list[Candidate]:
    """The candidate pairs of the new articles, by their stored keys (a join, not the window)."""
    if not new or window is None:
        return []
    span = timedelta(days=options.window_days)
    micro = timedelta(microseconds=1)
    times = [s.event_at for s in new]
    con.register("_story_new", pa.table(
        {"article_key": pa.array([s.article_key for s in new], pa.string())}))
    try:
        rows = con.execute(_sql("story_candidates.sql"), {
            "lo": window[0], "hi": window[1], "span_us": span // micro,
            "new_lo": min(times), "new_hi": max(times),
            "hours_us": timedelta(hours=options.same_event_hours) // micro,
            "enough": options.min_shared_entities,
            "lead_words": options.min_shared_lead_words,
            "nearly": max(1, options.min_shared_entities - 1),
        }).fetchall()
    finally:
        con.unregister("_story_new")
    return [Candidate(a, b, bool(bucket), int(names)) for a, b, bucket, names in rows]


def _names_agree(con: duckdb.DuckDBPyConnection, new: Sequence[Signature],
                 found: list[Candidate], options: StoryOptions,
                 window: tuple[datetime, datetime] | None = None) -> list[Candidate]:
    """The candidates whose names agree (``transforms.stories.names_agree``), reading the stored
    names of the other articles that share one name fewer than enough."""
    enough = options.min_shared_entities
    names = {s.article_key: name_keys(s) for s in new}
    wanted = {c.other_key for c in found if not c.bucket and c.names < enough} - set(names)
    if wanted:
        _keys_table(con, wanted)
        try:
            names.update((k, frozenset(v)) for k, v in con.execute(
                "SELECT article_key, list(name) FROM core.story_names "
                "SEMI JOIN _story_keys USING (article_key) "
                f"WHERE {_WITHIN} GROUP BY article_key", _within(window)).fetchall())
        finally:
            con.unregister("_story_keys")
    return [c for c in found if names_agree(
        c, names[c.article_key], names.get(c.other_key, frozenset()), options)]


def _signatures(con: duckdb.DuckDBPyConnection, keys: Iterable[str],
                window: tuple[datetime, datetime] | None = None) -> list[Signature]:
    """The stored signatures of ``keys`` (those inside ``window``, if given: see ``_window``)."""
    keys = sorted(set(keys))
    if not keys:
        return []
    _keys_table(con, keys)
    try:
        # rowids first, then the rows (see warehouse/sql/batch_articles.sql)
        rows = con.execute(
            "WITH hits AS (SELECT rowid AS r FROM core.story_signatures "
            f"SEMI JOIN _story_keys USING (article_key) WHERE {_WITHIN}) "
            f"SELECT {', '.join(_SIGNATURE_COLUMNS)} FROM core.story_signatures AS s "
            "SEMI JOIN hits ON s.rowid = hits.r", _within(window)).fetchall()
    finally:
        con.unregister("_story_keys")
    return [_signature(r) for r in rows]


def _store_edges(con: duckdb.DuckDBPyConnection, edges: Sequence[Edge]) -> None:
    if not edges:
        return
    con.register("_story_batch", _arrow([_fields(e) for e in edges], {
        "article_a": pa.string(), "article_b": pa.string(), "kind": pa.string(),
        "score": pa.float64()}))
    try:
        # delete + insert rather than INSERT OR REPLACE, which needs a primary key: a DuckLake
        # store has none (keys are enforced by the store, not the catalog)
        con.execute("DELETE FROM core.story_edges WHERE (article_a, article_b) IN "
                    "(SELECT (article_a, article_b) FROM _story_batch)")
        con.execute("INSERT INTO core.story_edges BY NAME SELECT * FROM _story_batch")
    finally:
        con.unregister("_story_batch")


def _reach(con: duckdb.DuckDBPyConnection, seeds: Sequence[str]) -> set[str]:
    """Every article connected to ``seeds`` through stored links: one read of the links per step
    out from the seeds, both ends of a link tested in the same pass."""
    seen = set(seeds)
    frontier = set(seeds)
    while frontier:
        _keys_table(con, frontier)
        try:
            rows = con.execute(
                "SELECT article_a, article_b FROM core.story_edges "
                "WHERE article_a IN (SELECT article_key FROM _story_keys) "
                "OR article_b IN (SELECT article_key FROM _story_keys)").fetchall()
        finally:
            con.unregister("_story_keys")
        frontier = {key for row in rows for key in row} - seen
        seen |= frontier
    return seen


def _recluster(con: duckdb.DuckDBPyConnection, seeds: Sequence[str],
               options: StoryOptions) -> int:
    """Recompute the stories of the graph component(s) around ``seeds``; returns stories written."""
    nodes = _reach(con, seeds)
    _keys_table(con, nodes)
    try:
        # grouping reads an article's key, outlet, time and title, not its MinHash and tokens
        sigs = [Signature(k, outlet, at, title, (), 0, ()) for k, outlet, at, title in con.execute(
            "SELECT article_key, outlet, event_at, title FROM core.story_signatures "
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
    story_rows = [{**_fields(s), "outlets": list(s.outlets)} for s in stories]
    member_rows = [{**_fields(m), "link_kind": str(m.link_kind)} for m in members]
    ts = pa.timestamp("us", tz="UTC")
    _append(con, "stories", _arrow(story_rows, {
        "story_id": pa.string(), "title": pa.string(), "first_article_key": pa.string(),
        "first_outlet": pa.string(), "first_published_at": ts, "last_published_at": ts,
        "article_count": pa.int32(), "outlet_count": pa.int32(),
        "outlets": pa.list_(pa.string()), "syndicated_count": pa.int32()}))
    _append(con, "story_articles", _arrow(member_rows, {
        "article_key": pa.string(), "story_id": pa.string(), "outlet": pa.string(),
        "published_at": ts, "position": pa.int32(), "similarity": pa.float64(),
        "link_kind": pa.string(), "is_syndicated": pa.bool_(), "syndicated_from": pa.string()}))
    return len(stories)
