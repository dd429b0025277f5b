"""Sitemaps, news sitemaps and sitemap indexes: bytes in, dated URLs out (pure, no I/O).

A backfill asks a site what it published on each day. Sitemaps answer with ``<lastmod>`` and news
sitemaps with ``<news:publication_date>`` (preferred when both are there). The XML is hostile input:
a document type declaration is refused outright (a sitemap never needs one, and refusing it closes
billion-laughs and XXE at once), entities are never resolved, nothing is loaded from the network,
gzip bodies are inflated only up to a cap, and only absolute http(s) locations are kept.
Problems come back as a value (``SitemapProblem``) rather than an exception.
"""

from __future__ import annotations

import codecs
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Protocol
from urllib.parse import urljoin, urlsplit

from lxml import etree

# The protocol's own limits (sitemaps.org): 50,000 URLs and 50 MB uncompressed per file.
MAX_URLS = 50_000
MAX_BYTES = 50 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_DTD = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_W3C = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?)?)?)?$"
)


class SitemapKind(StrEnum):
    """What a sitemap document turned out to be."""

    URLSET = "urlset"
    INDEX = "index"
    TEXT = "text"
    NONE = "none"


class SitemapProblem(StrEnum):
    """Why a document gave no (or only partial) results. Closed set."""

    EMPTY = "empty"
    DTD_FORBIDDEN = "dtd_forbidden"
    MALFORMED = "malformed"          # XML errors; entries recovered, if any, are still returned
    NOT_A_SITEMAP = "not_a_sitemap"
    TOO_LARGE = "too_large"          # gzip inflating past the cap
    BAD_GZIP = "bad_gzip"


@dataclass(frozen=True, slots=True)
class SitemapOptions:
    """Limits for one document."""

    max_urls: int = MAX_URLS
    max_bytes: int = MAX_BYTES


@dataclass(frozen=True, slots=True)
class SitemapUrl:
    """One ``<url>``: its location and dates (raw strings kept beside the parsed ones)."""

    loc: str
    lastmod: datetime | None = None
    lastmod_raw: str | None = None
    published_at: datetime | None = None
    published_raw: str | None = None
    title: str | None = None
    publication: str | None = None
    language: str | None = None

    @property
    def dated(self) -> datetime | None:
        """The date a backfill files this URL under: publication date, else lastmod."""
        return self.published_at or self.lastmod


@dataclass(frozen=True, slots=True)
class SitemapRef:
    """One ``<sitemap>`` of an index."""

    loc: str
    lastmod: datetime | None = None
    lastmod_raw: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedSitemap:
    """The outcome of parsing one document."""

    kind: SitemapKind
    urls: tuple[SitemapUrl, ...] = ()
    sitemaps: tuple[SitemapRef, ...] = ()
    problem: SitemapProblem | None = None
    detail: str | None = None
    rejected: int = 0          # entries dropped: no location, or not absolute http(s)
    truncated: bool = False    # more than max_urls entries; the first ones (document order) kept


def parse_w3c_datetime(raw: str | None) -> datetime | None:
    """A W3C datetime (YYYY, YYYY-MM, YYYY-MM-DD, with time and zone) or an RFC 822 date, in UTC.

    A date without a zone is taken as UTC; an unparseable value gives ``None``.
    """
    if raw is None:
        return None
    text = raw.strip()
    if not text:
        return None
    match = _W3C.match(text)
    if match is None:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        value = datetime(int(year), int(month or 1), int(day or 1), int(hour or 0),
                         int(minute or 0), int(second or 0), micro, tzinfo=_zone(zone))
    except ValueError:
        return None
    return value.astimezone(UTC)


def _zone(zone: str | None) -> timezone:
    if zone is None or zone == "Z":
        return UTC
    digits = zone[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    if offset >= timedelta(hours=24):
        raise ValueError("zone offset out of range")
    return timezone(-offset if zone[0] == "-" else offset)


def _inflate(body: bytes, cap: int) -> bytes | SitemapProblem:
    """Gunzip at most ``cap`` bytes; a bomb stops at the cap instead of filling memory."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, cap + 1)
    except zlib.error:
        return SitemapProblem.BAD_GZIP
    if len(out) > cap or inflater.unconsumed_tail:
        return SitemapProblem.TOO_LARGE
    if not inflater.eof:
        return SitemapProblem.BAD_GZIP  # truncated: a partial sitemap would look complete
    return out


def _sniff(body: bytes) -> str:
    """Decode for the DTD scan and text sitemaps: UTF-16 by BOM or by its zero bytes, else UTF-8."""
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return body.decode("utf-16", "replace")
    if body[:2] in (b"<\x00", b" \x00"):
        return body.decode("utf-16-le", "replace")
    if body[:2] in (b"\x00<", b"\x00 "):
        return body.decode("utf-16-be", "replace")
    return body.decode("utf-8", "replace")


def _valid_loc(raw: str | None, base_url: str | None) -> str | None:
    if raw is None:
        return None
    loc = raw.strip()
    if not loc:
        return None
    if base_url:
        loc = urljoin(base_url, loc)
    try:
        parts = urlsplit(loc)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return loc


def _local(el: etree._Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""  # comments and processing instructions
    return tag.rsplit("}", 1)[-1].lower()


def _child_text(el: etree._Element, name: str) -> str | None:
    for child in el:
        if _local(child) == name:
            return (child.text or "").strip() or None
    return None


def _url_entry(el: etree._Element, base_url: str | None) -> SitemapUrl | None:
    loc = _valid_loc(_child_text(el, "loc"), base_url)
    if loc is None:
        return None
    lastmod_raw = _child_text(el, "lastmod")
    published_raw = title = publication = language = None
    for news in el:
        if _local(news) != "news":
            continue
        published_raw = _child_text(news, "publication_date")
        title = _child_text(news, "title")
        for pub in news:
            if _local(pub) == "publication":
                publication = _child_text(pub, "name")
                language = _child_text(pub, "language")
    return SitemapUrl(loc, parse_w3c_datetime(lastmod_raw), lastmod_raw,
                      parse_w3c_datetime(published_raw), published_raw, title, publication,
                      language)


def _parse_xml(body: bytes) -> tuple[etree._Element | None, str | None]:
    # Entities are never resolved, no DTD is loaded, nothing is fetched; huge_tree stays off.
    strict = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False, remove_comments=True)
    try:
        return etree.fromstring(body, strict), None
    except etree.XMLSyntaxError as exc:
        detail = str(exc)[:200]
    loose = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                            huge_tree=False, remove_comments=True, recover=True)
    try:
        return etree.fromstring(body, loose), detail
    except etree.XMLSyntaxError:
        return None, detail


def _parse_text(text: str, base_url: str | None, options: SitemapOptions) -> ParsedSitemap:
    urls: list[SitemapUrl] = []
    seen: set[str] = set()
    rejected = 0
    for line in text.splitlines():
        raw = line.strip()
        if not raw or raw.startswith("#"):
            continue
        loc = _valid_loc(raw, base_url)
        if loc is None:
            rejected += 1
        elif loc not in seen:
            seen.add(loc)
            urls.append(SitemapUrl(loc))
    truncated = len(urls) > options.max_urls
    return ParsedSitemap(SitemapKind.TEXT, tuple(urls[: options.max_urls]), rejected=rejected,
                         truncated=truncated,
                         problem=None if urls else SitemapProblem.EMPTY)


def parse_sitemap(body: bytes, *, base_url: str | None = None,
                  options: SitemapOptions | None = None) -> ParsedSitemap:
    """Parse a sitemap, news sitemap, sitemap index or plain-text sitemap (gzip or not).

    ``base_url`` (the sitemap's own final URL) resolves relative locations, which the protocol
    forbids but sites still publish. Never raises on bad input.
    """
    options = options or SitemapOptions()
    if body.startswith(_GZIP_MAGIC):
        inflated = _inflate(body, options.max_bytes)
        if isinstance(inflated, SitemapProblem):
            return ParsedSitemap(SitemapKind.NONE, problem=inflated)
        body = inflated
    if len(body) > options.max_bytes:
        return ParsedSitemap(SitemapKind.NONE, problem=SitemapProblem.TOO_LARGE)
    text = _sniff(body).lstrip("\ufeff \t\r\n")
    if not text:
        return ParsedSitemap(SitemapKind.NONE, problem=SitemapProblem.EMPTY)
    if not text.startswith("<"):
        return _parse_text(text, base_url, options)
    if _DTD.search(text):
        return ParsedSitemap(SitemapKind.NONE, problem=SitemapProblem.DTD_FORBIDDEN)
    root, detail = _parse_xml(body)
    if root is None:
        return ParsedSitemap(SitemapKind.NONE, problem=SitemapProblem.MALFORMED, detail=detail)
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        # Only reachable for encodings the byte scan cannot read (UTF-16 and the like).
        return ParsedSitemap(SitemapKind.NONE, problem=SitemapProblem.DTD_FORBIDDEN)
    problem = SitemapProblem.MALFORMED if detail else None
    kind = _local(root)
    if kind == "sitemapindex":
        return _index(root, base_url, options, problem, detail)
    if kind != "urlset":
        return ParsedSitemap(SitemapKind.NONE, problem=SitemapProblem.NOT_A_SITEMAP,
                             detail=f"root element <{kind}>")
    urls: list[SitemapUrl] = []
    seen: set[str] = set()
    rejected = 0
    for el in root:
        if _local(el) != "url":
            continue
        entry = _url_entry(el, base_url)
        if entry is None:
            rejected += 1
        elif entry.loc not in seen:
            seen.add(entry.loc)
            urls.append(entry)
    return ParsedSitemap(SitemapKind.URLSET, tuple(urls[: options.max_urls]), problem=problem,
                         detail=detail, rejected=rejected,
                         truncated=len(urls) > options.max_urls)


def _index(root: etree._Element, base_url: str | None, options: SitemapOptions,
           problem: SitemapProblem | None, detail: str | None) -> ParsedSitemap:
    refs: list[SitemapRef] = []
    seen: set[str] = set()
    rejected = 0
    for el in root:
        if _local(el) != "sitemap":
            continue
        loc = _valid_loc(_child_text(el, "loc"), base_url)
        if loc is None:
            rejected += 1
            continue
        if loc in seen:
            continue
        seen.add(loc)
        raw = _child_text(el, "lastmod")
        refs.append(SitemapRef(loc, parse_w3c_datetime(raw), raw))
    return ParsedSitemap(SitemapKind.INDEX, sitemaps=tuple(refs[: options.max_urls]),
                         problem=problem, detail=detail, rejected=rejected,
                         truncated=len(refs) > options.max_urls)


def sitemaps_from_robots(body: bytes, robots_url: str) -> tuple[str, ...]:
    """The ``Sitemap:`` lines of a robots.txt, resolved against its URL, http(s) only, deduplicated."""
    found: list[str] = []
    for line in body.decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if not sep or name.strip().lower() != "sitemap":
            continue
        loc = _valid_loc(value.split("#", 1)[0], robots_url)
        if loc and loc not in found:
            found.append(loc)
    return tuple(found)


def days(since: date, until: date) -> list[date]:
    """Every UTC day from ``since`` to ``until``, both included."""
    return [since + timedelta(days=i) for i in range((until - since).days + 1)]


def refs_to_follow(refs: Iterable[SitemapRef], since: date) -> list[SitemapRef]:
    """Child sitemaps that may list URLs on or after ``since``: undated ones, or changed since.

    A file last modified before the range cannot hold entries modified inside it.
    """
    return [r for r in refs if r.lastmod is None or r.lastmod.date() >= since]


@dataclass(frozen=True, slots=True)
class DayPlan:
    """The URLs a source lists per day of a range, plus what could not be placed."""

    by_day: dict[date, tuple[str, ...]]
    undated: int
    outside: int


class Dated(Protocol):
    """Anything with a location and a date (sitemap URLs, archived feed entries)."""

    @property
    def loc(self) -> str: ...

    @property
    def dated(self) -> datetime | None: ...


def plan_days(urls: Iterable[Dated], since: date, until: date) -> DayPlan:
    """Group URLs by the UTC day of their date, inside [since, until]; each URL on one day only."""
    grouped: dict[date, list[str]] = {d: [] for d in days(since, until)}
    placed: set[str] = set()
    undated = outside = 0
    for url in urls:
        when = url.dated
        if when is None:
            undated += 1
            continue
        day = when.astimezone(UTC).date()
        if day not in grouped:
            outside += 1
            continue
        if url.loc not in placed:
            placed.add(url.loc)
            grouped[day].append(url.loc)
    return DayPlan({d: tuple(v) for d, v in grouped.items()}, undated, outside)
