"""RFC 5005 feed history: the archive and paging links of a feed document, and its dated entries.

A backfill walks a feed back in time: from the subscription document along ``prev-archive``
(archived feeds, RFC 5005 section 4) or ``next`` (paged feeds, section 3, whose further pages hold
older entries) until a page reaches back past the start of the range. This module reads one
document (bytes in, a frozen record out) and decides the next hop; the caller does the fetching.

The XML is parsed without resolving entities, loading DTDs or touching the network. A DOCTYPE is
tolerated here (RSS 0.91 carries the Netscape one) because nothing in it is ever expanded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from urllib.parse import urljoin, urlsplit

from lxml import etree

from transforms.sitemaps import parse_w3c_datetime

FH_NS = "http://purl.org/syndication/history/1.0"
ATOM_NS = "http://www.w3.org/2005/Atom"
_MAX_ENTRIES = 10_000


class ArchiveProblem(StrEnum):
    """Why a document gave nothing to follow. Closed set."""

    EMPTY = "empty"
    MALFORMED = "malformed"   # XML errors; whatever the loose parser recovered is kept
    NOT_A_FEED = "not_a_feed"


@dataclass(frozen=True, slots=True)
class ArchiveEntry:
    """One entry's article link and date (published, else updated)."""

    loc: str
    dated: datetime | None
    date_raw: str | None


@dataclass(frozen=True, slots=True)
class ArchivePage:
    """One feed document with its RFC 5005 links (absolute URLs or ``None``)."""

    kind: str                       # atom | rss | rdf | none
    entries: tuple[ArchiveEntry, ...] = ()
    prev_archive: str | None = None
    next_archive: str | None = None
    current: str | None = None
    next: str | None = None
    previous: str | None = None
    first: str | None = None
    last: str | None = None
    complete: bool = False          # fh:complete: this document is the whole feed
    archive: bool = False           # fh:archive: this document is an archive (stable)
    problem: ArchiveProblem | None = None
    detail: str | None = None

    @property
    def older(self) -> str | None:
        """Where older entries are: prev-archive first, else the paged feed's ``next``."""
        if self.complete:
            return None
        return self.prev_archive or self.next

    def oldest(self) -> datetime | None:
        """The oldest entry date on this page, if any entry is dated."""
        dated = [e.dated for e in self.entries if e.dated is not None]
        return min(dated) if dated else None


def _local(el: etree._Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def _ns(el: etree._Element) -> str:
    tag = el.tag
    if not isinstance(tag, str) or not tag.startswith("{"):
        return ""
    return tag[1:].split("}", 1)[0]


def _absolute(href: str | None, base_url: str | None) -> str | None:
    if not href or not href.strip():
        return None
    url = urljoin(base_url, href.strip()) if base_url else href.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def _text(el: etree._Element, *names: str) -> str | None:
    for name in names:
        for child in el:
            if _local(child) == name and (child.text or "").strip():
                return (child.text or "").strip()
    return None


def _parse(body: bytes) -> tuple[etree._Element | None, str | None]:
    common = {"resolve_entities": False, "no_network": True, "load_dtd": False,
              "huge_tree": False, "remove_comments": True}
    try:
        return etree.fromstring(body, etree.XMLParser(**common)), None
    except etree.XMLSyntaxError as exc:
        detail = str(exc)[:200]
    try:
        return etree.fromstring(body, etree.XMLParser(recover=True, **common)), detail
    except etree.XMLSyntaxError:
        return None, detail


def _atom_entry(el: etree._Element, base_url: str | None) -> ArchiveEntry | None:
    href = None
    for link in el:
        if _local(link) == "link" and link.get("rel", "alternate") == "alternate":
            href = link.get("href")
            break
    loc = _absolute(href, base_url)
    if loc is None:
        return None
    raw = _text(el, "published", "updated", "issued", "modified")
    return ArchiveEntry(loc, parse_w3c_datetime(raw), raw)


def _rss_item(el: etree._Element, base_url: str | None) -> ArchiveEntry | None:
    href = None
    for child in el:
        # the plain <link>, not an atom:link
        if _local(child) == "link" and _ns(child) != ATOM_NS and (child.text or "").strip():
            href = child.text
            break
    if href is None:
        for child in el:
            if _local(child) == "guid" and child.get("isPermaLink", "true").lower() != "false":
                href = child.text
    loc = _absolute(href, base_url)
    if loc is None:
        return None
    raw = _text(el, "pubdate", "date", "published", "updated")
    return ArchiveEntry(loc, parse_w3c_datetime(raw), raw)


def parse_archive_page(body: bytes, *, base_url: str | None = None) -> ArchivePage:
    """Read a feed document's RFC 5005 links and its entries' links and dates. Never raises.

    ``base_url`` is the document's final URL: relative links resolve against it.
    """
    if not body.strip():
        return ArchivePage("none", problem=ArchiveProblem.EMPTY)
    root, detail = _parse(body)
    if root is None:
        return ArchivePage("none", problem=ArchiveProblem.MALFORMED, detail=detail)
    problem = ArchiveProblem.MALFORMED if detail else None
    kind = _local(root)
    if kind == "feed":
        head, items, reader = root, [e for e in root if _local(e) == "entry"], _atom_entry
        label = "atom"
    elif kind in ("rss", "rdf"):
        channel = next((c for c in root if _local(c) == "channel"), None)
        if channel is None:
            return ArchivePage("none", problem=ArchiveProblem.NOT_A_FEED, detail="no channel")
        head = channel
        # RSS 2.0 items sit in the channel, RSS 1.0 (RDF) items beside it.
        holder = channel if kind == "rss" else root
        items = [e for e in holder if _local(e) == "item"]
        reader, label = _rss_item, kind
    else:
        return ArchivePage("none", problem=ArchiveProblem.NOT_A_FEED,
                           detail=f"root element <{kind}>")
    links: dict[str, str] = {}
    complete = archive = False
    for el in head:
        name = _local(el)
        if name == "link" and el.get("href"):
            rel = (el.get("rel") or "").strip().lower()
            href = _absolute(el.get("href"), base_url)
            if rel and href and rel not in links:
                links[rel] = href
        elif _ns(el) == FH_NS and name in ("complete", "archive"):
            complete = complete or name == "complete"
            archive = archive or name == "archive"
    entries = [e for e in (reader(item, base_url) for item in items[:_MAX_ENTRIES]) if e]
    return ArchivePage(
        label, tuple(entries),
        prev_archive=links.get("prev-archive"),
        next_archive=links.get("next-archive"),
        current=links.get("current"),
        next=links.get("next"),
        previous=links.get("previous") or links.get("prev"),
        first=links.get("first"),
        last=links.get("last"),
        complete=complete, archive=archive, problem=problem, detail=detail,
    )


def next_hop(page: ArchivePage, visited: Iterable[str], since: date) -> str | None:
    """The next (older) document to fetch, or ``None`` when the walk is over.

    Over when the page reaches back before ``since`` (its oldest dated entry is older), has no
    older link, or the link leads back to a document already read (a loop).
    """
    oldest = page.oldest()
    if oldest is not None and oldest.date() < since:
        return None
    target = page.older
    if target is None or target in set(visited):
        return None
    return target
