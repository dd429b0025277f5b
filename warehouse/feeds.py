"""core.feeds: the configured feeds, which are due and with which validators, and their health.

Health is projected from raw.feed_fetches, judged as of each feed's latest attempt (not the
clock), so a rebuild gives the same rows.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from transforms.entryidentity import StoredLink, stable_hash
from transforms.feedhealth import AttemptSummary, assess_feed
from transforms.feedlist import FeedConfig, feed_id
from transforms.urls import host_of
from transforms.vocab import ErrorClass
from warehouse.projections import feed_health_inputs, sql
from warehouse.store import Store

# Parse outcomes that mean the body was not a usable feed.
_BAD_PARSE = frozenset(
    {"not_a_feed", "empty_document", "malformed", "unsafe_xml", "parse_timeout", "parse_crash"}
)
BASE_INTERVAL = timedelta(minutes=15)


def succeeded(row: Mapping[str, Any]) -> bool:
    """Did this feed attempt give a usable answer (a parsed feed, or 304 Not Modified)?"""
    if row["error_class"] is not None:
        return False
    return bool(row["not_modified"]) or row.get("parse_outcome") not in _BAD_PARSE


def upsert_configs(store: Store, feeds: Sequence[FeedConfig]) -> tuple[int, int]:
    """Make sure every configured feed has a core.feeds row; refresh name, outlet, URL and
    poll interval only where they changed, in one set-based UPDATE joined on an Arrow table (an
    unchanged feed list updates no row). Returns (rows inserted, rows updated)."""
    rows = [
        {"feed_id": feed_id(f.url), "url": f.url, "name": f.name, "outlet": f.outlet or f.name,
         "poll_minutes": f.poll_minutes}
        for f in feeds
    ]
    if not rows:
        return 0, 0
    known = {r[0] for r in store.con.execute(sql("feed_ids")).fetchall()}
    new = [r | {"consecutive_failures": 0, "entries_seen": 0, "status": "new",
                "entry_identity": "guid"}
           for r in rows if r["feed_id"] not in known]
    inserted = store.insert("core.feeds", new)
    configs = [r for r in rows if r["feed_id"] in known]
    if not configs:
        return inserted, 0
    schema = store.arrow_schema("core.feeds")
    batch = pa.Table.from_pylist(configs, schema=pa.schema([schema.field(n) for n in configs[0]]))
    store.con.register("_feed_configs", batch)
    try:
        # the statement's WHERE keeps only rows whose configuration differs
        changed = store.con.execute(sql("feed_config_update")).fetchone()
    finally:
        store.con.unregister("_feed_configs")
    return inserted, int(changed[0]) if changed else 0


@dataclass(frozen=True, slots=True)
class DueFeed:
    """A feed to poll now: where, with which validators, and its identity.

    ``verify``: if this poll answers 304, fetch the feed again without validators to check the
    answer (every Nth 304 in a row; every N/2th when the feed has gone silent against its
    cadence, i.e. new items are overdue).
    """

    feed_id: str
    url: str
    etag: str | None
    last_modified: str | None
    verify: bool = False
    entry_identity: str | None = None


def due_feeds(
    store: Store, feeds: Sequence[FeedConfig], *, now: datetime, only_due: bool,
    trust_check_polls: int = 10, resting_hosts: Collection[str] = (),
) -> list[DueFeed]:
    """The feeds whose next poll time has come (all feeds when not ``only_due``), except those
    on a host that asked to be left alone (``resting_hosts``: a 429/503 Retry-After not over)."""
    state = {r[0]: r[1:] for r in store.con.execute(sql("feed_poll_state")).fetchall()}
    due = []
    for feed in feeds:
        fid = feed_id(feed.url)
        next_poll, etag, last_modified, moved_to, status, polls, identity = state.get(
            fid, (None, None, None, None, None, 0, None))
        if only_due and next_poll is not None and next_poll > now:
            continue
        # A feed that moved permanently is polled at its new URL (FAULTS 20); its identity,
        # history and the feed list keep the configured one.
        url = moved_to or feed.url
        if host_of(url) in resting_hosts:
            continue
        conditional = etag is not None or last_modified is not None
        # A silent feed (new items overdue against its cadence) is checked twice as often.
        every = max(1, -(-trust_check_polls // 2)) if status == "silent" else trust_check_polls
        verify = conditional and polls + 1 >= every
        due.append(DueFeed(fid, url, etag, last_modified, verify, identity))
    return due


def refresh(store: Store, feed_ids: Sequence[str]) -> None:
    """Recompute the health columns of core.feeds for ``feed_ids`` from raw.feed_fetches."""
    updates: list[dict[str, Any]] = []
    for r in feed_health_inputs(store, feed_ids):
        attempts = [AttemptSummary(a["occurred_at"], a["error_class"], _severity(a["error_class"]))
                    for a in r["attempts"] or []]
        health = assess_feed(
            attempts, list(r["entry_times"]), now=r["last_attempt_at"],
            ttl_minutes=r["ttl_minutes"], cache_max_age_s=_max_age(r["cache_control"]),
            expires_s=_expires_s(r["expires"]), poll_minutes=r["poll_minutes"],
            retry_after_s=r["retry_after_s"], base_interval_s=BASE_INTERVAL.total_seconds(),
        )
        updates.append({
            "feed_id": r["feed_id"], "title": r["title"], "feed_version": r["feed_version"],
            "etag": r["etag"], "last_modified": r["last_modified"],
            "last_attempt_at": r["last_attempt_at"], "last_success_at": r["last_success_at"],
            "last_error_class": r["last_error_class"], "moved_to": r["moved_to"],
            "consecutive_failures": health.consecutive_failures,
            "entries_seen": r["entries_seen"], "status": health.status,
            "next_poll_at": health.next_poll_at, "why": health.why,
            "untrusted_why": r["untrusted_why"], "entry_identity": r["entry_identity"],
        })
    if not updates:
        return
    full = store.arrow_schema("core.feeds")
    batch = pa.Table.from_pylist(updates, schema=pa.schema([full.field(n) for n in updates[0]]))
    store.con.register("_feed_health", batch)
    try:
        store.con.execute(sql("feed_health_update"))
    finally:
        store.con.unregister("_feed_health")


def _severity(error_class: str | None) -> str | None:
    if error_class is None:
        return None
    try:
        return ErrorClass(error_class).severity
    except ValueError:  # parse outcomes (not_a_feed, malformed, ...) are the feed's own fault
        return "soft"


def _max_age(cache_control: str | None) -> int | None:
    match = re.search(r"max-age=(\d+)", cache_control or "")
    return int(match[1]) if match else None


def _expires_s(hint: Mapping[str, Any] | None) -> float | None:
    """How long the latest ``Expires`` header let the feed be cached: Expires minus the
    response's ``Date`` (else the fetch time); None when absent, unreadable or already past."""
    if not hint or not hint.get("expires"):
        return None
    expires = _http_date(hint["expires"])
    served = _http_date(hint.get("date")) or hint.get("at")
    if expires is None or served is None:
        return None
    seconds = (expires - served).total_seconds()
    return seconds if seconds > 0 else None


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        at = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def refresh_all(store: Store) -> None:
    """The health of every feed (a rebuild)."""
    refresh(store, [r[0] for r in store.con.execute(sql("feed_ids")).fetchall()])


def stored_links(store: Store, links: Collection[tuple[str, str]]
                 ) -> dict[str, dict[str, StoredLink]]:
    """feed id -> link key -> what the store holds for that link (see feed_entry_links.sql), for
    the (feed id, link key) pairs a poll's entries carry: joined on those pairs, so the cost
    follows the poll, not every link a feed ever had."""
    out: dict[str, dict[str, StoredLink]] = {}
    if not links:
        return out
    pairs = sorted(set(links))
    wanted = pa.table({"feed_id": pa.array([f for f, _ in pairs], pa.string()),
                       "link_key": pa.array([k for _, k in pairs], pa.string())})
    store.temp_table("_entry_links", wanted)
    cur = store.con.execute(sql("feed_entry_links"))
    for fid, link_key, entry_key, latest in cur.fetchall():
        out.setdefault(fid, {})[link_key] = StoredLink(
            entry_key, latest["guid"], latest["content_hash"], stable_hash(latest))
    return out


def statuses(store: Store, feed_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The health row (status, why, last success) of each of ``feed_ids`` in core.feeds."""
    if not feed_ids:
        return []
    cur = store.con.execute(sql("feed_statuses"), {"feeds": list(feed_ids)})
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
