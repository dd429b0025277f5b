"""The backfill's sources: what each lists per day, and how a day's pages are obtained and stored.

Network goes through ``web.Fetcher`` only; parsing is in ``transforms.sitemaps`` and
``transforms.archivefeed``; WARC reading is ``warehouse.warc``. The functions here glue those to the
store. A URL already stored OK (by any source, the scheduled pipeline included) is never fetched
again, and permanent failures are not retried, so a re-run of a day writes nothing new.
"""

from __future__ import annotations

import io
import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

from flows.settings import Settings, load_feed_list
from transforms.archivefeed import ArchiveEntry, next_hop, parse_archive_page
from transforms.sitemaps import (
    ParsedSitemap,
    SitemapKind,
    SitemapUrl,
    parse_sitemap,
    plan_days,
    refs_to_follow,
    sitemaps_from_robots,
)
from transforms.urls import canonicalize_url, same_site
from warehouse.events import ExtractedBatch, compress, envelope, extract_batch, page_fetch_row
from warehouse.projections import PERMANENT_PAGE_ERRORS
from warehouse.store import Store, event_id
from warehouse.warc import ReadStats, WarcCapture, WarcReadError, read_captures
from web import Fetcher, FetchRequest, FetchResult

log = logging.getLogger(__name__)

MAX_DOCUMENTS = 200  # sitemaps or feed pages read per origin: a bound on a hostile index


@dataclass(frozen=True, slots=True)
class Listing:
    """What one origin lists per day of the range, and what it took to find out."""

    origin: str
    by_day: dict[date, tuple[str, ...]]
    documents: int = 0
    read_ok: int = 0           # documents fetched and parsed; 0 means the listing failed
    undated: int = 0
    outside: int = 0
    problems: tuple[str, ...] = ()
    complete: bool = True      # every document read; else days are only ever 'partial'


@dataclass
class DayCounts:
    """Expected vs obtained for one day of one origin (mutable while the day is worked)."""

    expected: int = 0
    obtained: int = 0
    failed: int = 0
    new_rows: int = 0
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def pending(self) -> int:
        """Listed URLs neither stored OK nor settled as failures: worth another run."""
        return self.expected - self.obtained - self.failed


def _fetch_doc(fetcher: Fetcher, url: str) -> FetchResult:
    # Sitemaps, robots.txt and feed archives are machine documents, fetched like feeds.
    return fetcher.fetch(FetchRequest(url, kind="feed"))[-1]


def _is_site(origin: str) -> bool:
    return urlsplit(origin).path in ("", "/")


def list_sitemaps(fetcher: Fetcher, origin: str, since: date, until: date,
                  *, max_documents: int = MAX_DOCUMENTS) -> Listing:
    """The URLs a site's sitemaps date inside [since, until].

    ``origin`` is a site (``https://host/``: its robots.txt ``Sitemap:`` lines, else
    ``/sitemap.xml``) or a sitemap or sitemap index URL. Indexes are followed breadth-first,
    skipping child sitemaps last modified before ``since``.
    """
    problems: list[str] = []
    queue: list[str] = [origin]
    if _is_site(origin):
        parts = urlsplit(origin)
        robots = urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))
        result = _fetch_doc(fetcher, robots)
        found = sitemaps_from_robots(result.body or b"", result.final_url or robots) \
            if result.ok else ()
        queue = list(found) or [urlunsplit((parts.scheme, parts.netloc, "/sitemap.xml", "", ""))]
    seen: set[str] = set()
    urls: list[SitemapUrl] = []
    read_ok = foreign = 0
    complete = True
    home = url_key(origin)
    while queue and len(seen) < max_documents:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        result = _fetch_doc(fetcher, url)
        if not result.ok or result.body is None:
            problems.append(f"{url}: {result.error_class or 'no body'}")
            complete = False
            continue
        parsed: ParsedSitemap = parse_sitemap(result.body, base_url=result.final_url or url)
        if parsed.problem is not None:
            problems.append(f"{url}: {parsed.problem}")
        read_ok += parsed.kind != SitemapKind.NONE
        complete = complete and parsed.kind != SitemapKind.NONE
        if parsed.kind == SitemapKind.INDEX:
            queue.extend(r.loc for r in refs_to_follow(parsed.sitemaps, since))
        # A sitemap speaks for its own site only: URLs of other sites are not the site's history.
        own = [u for u in parsed.urls if same_site(url_key(u.loc), home)]
        foreign += len(parsed.urls) - len(own)
        urls.extend(own)
    if foreign:
        problems.append(f"{foreign} URL(s) of other sites skipped")
    if queue:
        problems.append(f"stopped after {max_documents} documents")
    plan = plan_days(urls, since, until)
    return Listing(origin, plan.by_day, len(seen), read_ok, plan.undated, plan.outside,
                   tuple(problems), complete and not queue)


def list_archive_feed(fetcher: Fetcher, origin: str, since: date, until: date,
                      *, max_documents: int = MAX_DOCUMENTS) -> Listing:
    """The entry links a feed and its RFC 5005 archives date inside [since, until], walking back
    from the subscription document along prev-archive (or paged ``next``) links."""
    problems: list[str] = []
    visited: list[str] = []
    entries: list[ArchiveEntry] = []
    url: str | None = origin
    read_ok = 0
    complete = True
    while url is not None and len(visited) < max_documents:
        visited.append(url)
        result = _fetch_doc(fetcher, url)
        if not result.ok or result.body is None:
            problems.append(f"{url}: {result.error_class or 'no body'}")
            complete = False
            break
        page = parse_archive_page(result.body, base_url=result.final_url or url)
        if page.problem is not None:
            problems.append(f"{url}: {page.problem}")
        read_ok += page.kind != "none"
        complete = complete and page.kind != "none"
        entries.extend(page.entries)
        url = next_hop(page, visited, since)
    if url is not None:
        problems.append(f"stopped after {max_documents} documents")
    plan = plan_days(entries, since, until)
    return Listing(origin, plan.by_day, len(visited), read_ok, plan.undated, plan.outside,
                   tuple(problems), complete and url is None)


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


def url_key(url: str) -> str:
    """The canonical key page fetches are deduplicated by (the URL itself if not canonicalizable)."""
    return canonicalize_url(url) or url


def stored_outcomes(store: Store, keys: list[str]) -> tuple[set[str], set[str]]:
    """Of ``keys``: those with a page stored OK, and those settled by a permanent failure."""
    if not keys:
        return set(), set()
    rows = store.con.execute(
        "SELECT url_key, bool_or(error_class IS NULL AND body IS NOT NULL) AS ok, "
        "bool_or(list_contains($permanent, error_class)) AS permanent "
        "FROM raw.page_fetches WHERE list_contains($keys, url_key) GROUP BY url_key",
        {"keys": keys, "permanent": list(PERMANENT_PAGE_ERRORS)},
    ).fetchall()
    ok = {k for k, good, _ in rows if good}
    return ok, {k for k, good, bad in rows if bad and not good}


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
        requests = [FetchRequest(u, kind="page", key=keys[u])
                    for u in todo[start:start + batch_size]]
        attempts = fetcher.fetch_all(requests)
        new_rows += commit([page_fetch_row(run_id, str(r.request.key), r, source)
                            for results in attempts for r in results])
        errors.update(str(rs[-1].error_class) for rs in attempts if rs and not rs[-1].ok)
    detail = {"fetched": len(todo), "errors": dict(errors), "new_rows": new_rows}
    return sorted(set(keys.values())), detail


def count_day(store: Store, keys: list[str]) -> DayCounts:
    """Expected (the listed keys) vs obtained (stored OK) and failed (permanently) so far."""
    ok, permanent = stored_outcomes(store, keys)
    return DayCounts(expected=len(keys), obtained=len(ok), failed=len(permanent))


def warc_row(run_id: str, capture: WarcCapture) -> dict[str, Any]:
    """A raw.page_fetches row for a WARC capture: occurred_at is the capture time, and the id
    comes from (url, record id or date, body hash) so re-reading the same file adds nothing."""
    return {
        "event_id": event_id("page_captured", capture.url,
                             capture.record_id or capture.captured_at.isoformat(),
                             capture.body_sha256),
        **envelope(run_id, capture.captured_at),
        "url": capture.url,
        "url_key": url_key(capture.url),
        "source": "warc",
        "attempt": 1,
        "final_url": capture.url,
        "redirect_chain": [],
        "status": capture.status,
        "error_class": capture.error_class,
        "error_detail": capture.error_detail,
        "headers": json.dumps(dict(capture.headers), ensure_ascii=False),
        "content_type": capture.content_type,
        "charset": capture.charset,
        "body": compress(capture.body),
        "body_sha256": capture.body_sha256,
        "body_bytes": None if capture.body is None else len(capture.body),
        "elapsed_ms": 0,
    }


_DAY_PAGES = """
SELECT p.event_id, p.url,
       EXISTS (SELECT 1 FROM core.page_extractions AS x
               WHERE x.page_fetch_id = p.event_id AND x.extractor_version = $version) AS current
FROM raw.page_fetches AS p
WHERE p.error_class IS NULL AND p.body IS NOT NULL AND p.occurred_at >= $lo AND p.occurred_at < $hi
ORDER BY p.occurred_at, p.event_id
"""
_BODIES = """
SELECT event_id, url, url_key, final_url, content_type, body, occurred_at
FROM raw.page_fetches WHERE list_contains($ids, event_id) ORDER BY occurred_at, event_id
"""
_PREVIOUS = """
SELECT x.page_fetch_id, x.extractor_version, x.page_class, x.content_hash, v.word_count
FROM core.page_extractions AS x
LEFT JOIN core.article_versions AS v
  ON v.article_key = x.article_key AND v.content_hash = x.content_hash
 AND v.extractor_version = x.extractor_version
WHERE list_contains($ids, x.page_fetch_id) AND x.extractor_version <> $version
ORDER BY x.page_fetch_id, x.extractor_version
"""

def reextract_day(store: Store, pool: Any, *, version: str, lo: Any, hi: Any,
                  hosts: list[str] | None, commit: Callable[[ExtractedBatch], None],
                  batch_size: int = 200) -> DayCounts:
    """Extract the day's stored pages again with the current extractor (``version``).

    Batch by batch (bodies are read per batch, so memory stays bounded), ``commit`` gets each
    extracted batch; a new article version is kept only when the text changed (the old one
    stays queryable).
    """
    pages = [p for p in _rows(store, _DAY_PAGES, {"version": version, "lo": lo, "hi": hi})
             if hosts is None or (urlsplit(p["url"]).hostname or "") in hosts]
    todo = [p["event_id"] for p in pages if not p["current"]]
    tally: Counter[str] = Counter()
    moved: Counter[str] = Counter()
    extracted = new_versions = 0
    for start in range(0, len(todo), batch_size):
        ids = todo[start:start + batch_size]
        previous = {r["page_fetch_id"]: r  # ordered by version: the last one wins
                    for r in _rows(store, _PREVIOUS, {"ids": ids, "version": version})}

        def changed(page: Mapping[str, Any], outcome: Mapping[str, Any], extraction: Any,
                    previous: dict[str, dict[str, Any]] = previous) -> bool:
            return not _compare(previous.get(page["event_id"]), outcome, extraction, tally, moved)

        batch = extract_batch(pool.extract_many,
                              {p["event_id"]: p for p in _rows(store, _BODIES, {"ids": ids})},
                              keep=changed)
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


def _rows(store: Store, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cur = store.con.execute(sql, params)
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _open_warc(settings: Settings, origin: str, max_bytes: int) -> IO[bytes]:
    """A local WARC file, or one downloaded through the Fetcher (held in memory up to
    ``max_bytes``: the HTTP layer has no streaming download yet)."""
    if not origin.startswith(("http://", "https://")):
        return Path(origin).open("rb")
    options = replace(settings.http_options(), max_bytes=max_bytes,
                      deadline=max(settings.deadline_s, 900.0))
    with Fetcher(options) as fetcher:
        result = _fetch_doc(fetcher, origin)
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
            store.insert("raw.page_fetches", batch)
        batch.clear()

    try:
        with _open_warc(settings, origin, max_bytes) as stream:
            for capture in read_captures(stream, max_bytes=settings.max_body_bytes, since=lo,
                                         until=hi, stats=stats,
                                         want=lambda url, when: when.date() in wanted):
                keys[capture.captured_at.date()].add(url_key(capture.url))
                batch.append(warc_row(run_id, capture))
                if len(batch) >= batch_size:
                    flush()
    except (OSError, WarcReadError) as exc:
        error = str(exc)[:300]
        log.warning("WARC %s: %s", origin, error)
    if batch:
        flush()
    new = dict(store.con.execute(
        "SELECT occurred_at::DATE AS day, count(*) FROM raw.page_fetches "
        "WHERE run_id = $run AND source = 'warc' AND occurred_at >= $lo AND occurred_at < $hi "
        "GROUP BY day", {"run": run_id, "lo": lo, "hi": hi}).fetchall())
    out = {}
    for day in span:
        counts = count_day(store, sorted(keys[day]))
        counts.new_rows = int(new.get(day, 0))
        counts.detail = {"records": stats.records, "captures": stats.captures,
                         "skipped": dict(stats.skipped), "error": error}
        out[day] = counts
    return out
