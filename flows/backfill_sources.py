"""The backfill's sources: what each lists per day, and how a day's pages are obtained and stored.

The crawls that list a day's URLs (sitemaps, feed archives) are ``web.crawl``; WARC reading is
``web.warc``. The functions here glue those to the store. A URL already stored OK (by any source,
the scheduled pipeline included) is never fetched again, and permanent failures are not retried,
so a re-run of a day writes nothing new.
"""

from __future__ import annotations

import io
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

from flows.settings import Settings, load_feed_list
from transforms.urls import url_key
from warehouse.backfill import (
    DayCounts,
    count_day,
    day_pages,
    new_rows_by_day,
    page_bodies,
    previous_extractions,
    stored_outcomes,
)
from warehouse.checks import mark_pending
from warehouse.events import ExtractedBatch, capture_row, extract_batch, page_fetch_row
from warehouse.store import Store
from web import Fetcher, FetchKind, FetchRequest
from web.crawl import Listing, fetch_document, list_archive_feed, list_sitemaps
from web.warc import ReadStats, WarcReadError, read_captures

log = logging.getLogger(__name__)

# The crawls are re-exported: flows/backfill.py reaches them (and Listing) through this module.
__all__ = ["Listing", "fetch_day", "ingest_warc", "list_archive_feed", "list_sitemaps",
           "origins_for", "reextract_day"]


def origins_for(settings: Settings, source: str, given: list[str] | None) -> list[str]:
    """What to read: the given origins, else for sitemaps the sites and for archive-feed the
    feeds of the feed list. WARC paths are made absolute so the ledger key is stable."""
    if source == "raw":
        return []
    if given:
        found = [g.strip() for g in given if g.strip()]
    elif source == "warc":
        raise ValueError("a WARC backfill needs --from: WARC file paths or URLs")
    else:
        feeds = [f.url for f in load_feed_list(settings.feeds_file)]
        found = feeds if source == "archive-feed" else [
            urlunsplit((urlsplit(u).scheme, urlsplit(u).netloc, "/", "", "")) for u in feeds]
    if source == "warc":
        found = [g if g.startswith(("http://", "https://")) else str(Path(g).resolve())
                 for g in found]
    return list(dict.fromkeys(found))


def fetch_day(fetcher: Fetcher, store: Store, *, run_id: str, source: str,
              urls: tuple[str, ...], commit: Callable[[list[dict[str, Any]]], int],
              batch_size: int = 200) -> tuple[list[str], dict[str, Any]]:
    """Fetch the day's listed URLs not stored yet, ``batch_size`` at a time, handing each
    batch's rows to ``commit`` (its own transaction: a crash loses at most one batch, and the
    re-run skips what was stored). Returns the day's keys and a detail record."""
    keys = {url: url_key(url) for url in urls}
    ok, permanent = stored_outcomes(store, sorted(set(keys.values())))
    todo = [u for u in urls if keys[u] not in ok and keys[u] not in permanent]
    errors: Counter[str] = Counter()
    new_rows = 0
    for start in range(0, len(todo), batch_size):
        requests = [FetchRequest(u, kind=FetchKind.PAGE, key=keys[u])
                    for u in todo[start:start + batch_size]]
        attempts = fetcher.fetch_all(requests)
        new_rows += commit([page_fetch_row(run_id, str(r.request.key), r, source)
                            for results in attempts for r in results])
        errors.update(str(rs[-1].error_class) for rs in attempts if rs and not rs[-1].ok)
    detail = {"fetched": len(todo), "errors": dict(errors), "new_rows": new_rows}
    return sorted(set(keys.values())), detail


def reextract_day(store: Store, pool: Any, *, version: str, lo: Any, hi: Any,
                  hosts: list[str] | None, commit: Callable[[ExtractedBatch], None],
                  batch_size: int = 200, by: str = "fetched") -> DayCounts:
    """Extract the day's stored pages again with the current extractor (``version``).

    Batch by batch (bodies are read per batch, so memory stays bounded), ``commit`` gets each
    extracted batch; a new article version is kept only when the text changed (the old one
    stays queryable).
    """
    pages = [p for p in day_pages(store, version=version, lo=lo, hi=hi, by=by)
             if hosts is None or (urlsplit(p["url"]).hostname or "") in hosts]
    todo = [p["event_id"] for p in pages if not p["current"]]
    tally: Counter[str] = Counter()
    moved: Counter[str] = Counter()
    extracted = new_versions = 0
    for start in range(0, len(todo), batch_size):
        ids = todo[start:start + batch_size]
        previous = previous_extractions(store, ids, version=version)

        def changed(page: Mapping[str, Any], outcome: Mapping[str, Any], extraction: Any,
                    previous: dict[str, dict[str, Any]] = previous) -> bool:
            return not _compare(previous.get(page["event_id"]), outcome, extraction, tally, moved)

        batch = extract_batch(pool.extract_many, page_bodies(store, ids), keep=changed)
        commit(batch)
        extracted += len(batch.outcomes)
        new_versions += len(batch.versions)
    counts = DayCounts(expected=len(pages), obtained=len(pages) - len(todo) + extracted,
                       new_rows=new_versions)
    counts.detail = {**tally, "moved": dict(moved), "extracted": extracted}
    return counts


def _compare(old: Mapping[str, Any] | None, outcome: Mapping[str, Any], extraction: Any,
             tally: Counter[str], moved: Counter[str]) -> bool:
    """Tally how a page's new extraction differs from its previous one; True if same text."""
    if old is None:
        tally["first_extraction"] += 1
        return False
    if old["page_class"] != outcome["page_class"]:
        moved[f"{old['page_class']}->{outcome['page_class']}"] += 1
    if old["content_hash"] == extraction.content_hash:
        tally["unchanged"] += 1
        return True
    tally["changed"] += 1
    if old["word_count"] is not None and extraction.text is not None:
        delta = extraction.word_count - int(old["word_count"])
        tally["longer" if delta > 0 else "shorter" if delta < 0 else "same_length"] += 1
    return False


def _open_warc(settings: Settings, origin: str, max_bytes: int) -> IO[bytes]:
    """A local WARC file, or one downloaded through the Fetcher (held in memory up to
    ``max_bytes``: the HTTP layer has no streaming download yet)."""
    if not origin.startswith(("http://", "https://")):
        return Path(origin).open("rb")
    options = replace(settings.http_options(), max_bytes=max_bytes,
                      deadline=max(settings.deadline_s, 900.0))
    with Fetcher(options) as fetcher:
        result = fetch_document(fetcher, origin)
    if not result.ok or result.body is None:
        raise OSError(f"{origin}: {result.error_class}: {result.error_detail}")
    return io.BytesIO(result.body)


def ingest_warc(store: Store, settings: Settings, *, run_id: str, origin: str, span: list[date],
                max_bytes: int, batch_size: int = 200) -> dict[date, DayCounts]:
    """Stream one WARC's captures on the days of ``span`` into raw.page_fetches, batch by batch.

    Returns each day's counts: expected = distinct URLs captured that day, obtained = of those,
    stored OK. A file that breaks off part-way leaves its days ``partial`` (detail says why).
    """
    wanted = set(span)
    lo = datetime.combine(min(span), dtime.min, UTC)
    hi = datetime.combine(max(span) + timedelta(days=1), dtime.min, UTC)
    keys: dict[date, set[str]] = {d: set() for d in span}
    stats = ReadStats()
    error: str | None = None
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        with store.transaction("backfill_warc_batch"):
            if store.insert("raw.page_fetches", batch) and settings.run_checks:
                # checked at the end of the backfill
                mark_pending(store, run_id=run_id, stage="backfill_warc",
                             table="raw.page_fetches")
        batch.clear()

    try:
        with _open_warc(settings, origin, max_bytes) as stream:
            for capture in read_captures(stream, max_bytes=settings.max_body_bytes, since=lo,
                                         until=hi, stats=stats,
                                         want=lambda url, when: when.date() in wanted):
                keys[capture.captured_at.date()].add(url_key(capture.url))
                batch.append(capture_row(run_id, capture))
                if len(batch) >= batch_size:
                    flush()
    except (OSError, WarcReadError) as exc:
        error = str(exc)[:300]
        log.warning("WARC %s: %s", origin, error)
    if batch:
        flush()
    new = new_rows_by_day(store, run_id, lo, hi)
    out = {}
    for day in span:
        counts = count_day(store, sorted(keys[day]))
        counts.new_rows = int(new.get(day, 0))
        counts.detail = {"records": stats.records, "captures": stats.captures,
                         "skipped": dict(stats.skipped), "error": error}
        out[day] = counts
    return out
