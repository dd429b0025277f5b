"""History crawls for the backfill: walk a site's sitemaps, or a feed's archive pages, for a range of days.

Network goes through a ``Fetcher`` only (its limits, politeness and SSRF guard apply to every
document); parsing is pure, in ``transforms.sitemaps`` and ``transforms.archivefeed``. Each crawl
returns a ``Listing``: the URLs the origin dates on each day of the range, and what it took to find
out. A hostile index cannot make a crawl endless: at most ``max_documents`` documents per origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit, urlunsplit

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
from transforms.urls import same_site, url_key
from transforms.vocab import FetchKind
from web.http import Fetcher
from web.types import FetchRequest, FetchResult

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


def fetch_document(fetcher: Fetcher, url: str) -> FetchResult:
    """The last attempt at one machine document (sitemap, robots.txt, feed archive, WARC file)."""
    # Sitemaps, robots.txt and feed archives are machine documents, fetched like feeds.
    return fetcher.fetch(FetchRequest(url, kind=FetchKind.FEED))[-1]


def _read(fetcher: Fetcher, url: str, problems: list[str]) -> tuple[bytes, str] | None:
    """A document's body and the URL it came from (the base for its relative links); on failure
    None, with the reason added to ``problems``."""
    result = fetch_document(fetcher, url)
    if not result.ok or result.body is None:
        problems.append(f"{url}: {result.error_class or 'no body'}")
        return None
    return result.body, result.final_url or url


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
        result = fetch_document(fetcher, robots)
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
        got = _read(fetcher, url, problems)
        if got is None:
            complete = False
            continue
        parsed: ParsedSitemap = parse_sitemap(got[0], base_url=got[1])
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
        got = _read(fetcher, url, problems)
        if got is None:
            complete = False
            break
        page = parse_archive_page(got[0], base_url=got[1])
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
