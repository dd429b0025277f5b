"""Feed documents to typed records: RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and JSON Feed.

``parse_feed`` is pure and never raises: a bad document comes back as a ``ParsedFeed`` whose
``outcome`` says what went wrong (feedparser's "bad input is data"). Before feedparser sees a
byte, DTDs and entity declarations are stripped and the author-like fields whose regex is
quadratic in feedparser are capped (FAULTS cases 33-35).

Why feedparser gets no base URL: it would resolve relative *guids* against the feed URL, so a
feed moving from http to https would change every entry key, and it blanks ``javascript:``
links so a bad scheme could not be told from a missing link. Links are resolved here instead,
against the final (post-redirect) URL the caller passes (FAULTS case 47). A server's own
``Content-Location`` header is ignored: RFC 7231 dropped it as a base URI.

feedparser always gets a stream, never bytes: given bytes it first tries them as a *file
path* (FAULTS case 18).
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import logging
import re
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from transforms.dates import is_plausible, parse_date
from transforms.textclean import clean_text, neutralise, repair_utf8

logger = logging.getLogger(__name__)


class FeedOutcome(StrEnum):
    """How a feed document parsed; every outcome but OK and RECOVERED carries no entries."""

    OK = "ok"
    RECOVERED = "bozo_recovered"
    NOT_A_FEED = "not_a_feed"
    EMPTY_DOCUMENT = "empty_document"
    MALFORMED = "malformed"
    UNSAFE = "unsafe_xml"
    PARSE_TIMEOUT = "parse_timeout"
    PARSE_CRASH = "parse_crash"


@dataclass(frozen=True, slots=True)
class FeedOptions:
    """Limits for one parse. Every cap sets the entry's or feed's ``truncated`` flag."""

    # Entries kept per document; the rest are counted in ``ParsedFeed.left_out`` (stored, and
    # checked). Far above any real feed: a 10,000-item feed keeps all 10,000 (FAULTS case 36).
    max_entries: int = 50_000
    # A document with more entries than this is parsed in windows of this many (head + entries
    # + tail, each well-formed), so feedparser's memory is bounded by a window, not the document.
    window_entries: int = 1000
    max_title_chars: int = 1000
    max_summary_chars: int = 20_000
    max_content_chars: int = 200_000
    max_tags: int = 50
    max_authors: int = 20
    max_name_chars: int = 200  # one author or tag
    max_link_chars: int = 4096
    max_guid_chars: int = 2048
    max_date_chars: int = 128
    max_reason_chars: int = 500
    # Text of author-like elements is cut to this many bytes *before* parsing: feedparser's
    # e-mail regex is quadratic in it (FAULTS case 35, feedparser#562).
    max_author_bytes: int = 256


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One entry of one feed document, cleaned and capped."""

    entry_key: str
    key_source: str
    guid: str | None
    link: str | None
    link_status: str
    raw_link: str | None
    title: str | None
    summary: str | None
    content: str | None
    authors: tuple[str, ...]
    tags: tuple[str, ...]
    published_raw: str | None
    published_at: datetime | None
    updated_raw: str | None
    updated_at: datetime | None
    date_suspect: bool
    truncated: bool
    position: int
    content_hash: str


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A parsed feed document: the outcome, feed metadata and its entries."""

    outcome: FeedOutcome
    reason: str | None
    version: str | None
    bozo: bool
    title: str | None
    link: str | None
    language: str | None
    ttl_minutes: int | None
    entries: tuple[FeedEntry, ...]
    truncated: bool
    left_out: int = 0  # entries found beyond ``max_entries``: not parsed, not ingested


# feedparser flags these although the document parsed strictly: the entries are complete.
_BENIGN_BOZO = frozenset({"CharacterEncodingOverride", "NonXMLContentType"})
_BINARY_MAGIC = (
    (b"\x1f\x8b", "gzip"), (b"\x28\xb5\x2f\xfd", "zstd"), (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"), (b"PK\x03\x04", "zip"), (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "png"), (b"GIF8", "gif"), (b"\xff\xd8\xff", "jpeg"),
)
_HTML_HINT = re.compile(rb"<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.I)
_UPDATE_PERIOD_MIN = {"hourly": 60, "daily": 1440, "weekly": 10080, "monthly": 43200,
                      "yearly": 525600}
_LINKLIKE = re.compile(r"^\s*(?:https?://|/(?!/))", re.I)
_PLAIN_TYPES = frozenset({"text/plain", "text"})


def parse_feed(
    body: bytes,
    headers: Mapping[str, str],
    base_url: str,
    *,
    fetched_at: datetime,
    options: FeedOptions = FeedOptions(),  # frozen, so a shared default is safe
) -> ParsedFeed:
    """Parse one feed document; never raises on bad input.

    ``headers`` are the HTTP response headers (only the content type and language are used);
    ``base_url`` is the final URL after redirects, used to resolve relative links;
    ``fetched_at`` judges date plausibility. Entries are capped at ``options.max_entries``
    (the first N in document order).
    """
    try:
        return _parse(body, headers, base_url, fetched_at, options)
    except Exception as exc:  # the boundary: bad input is data, never a raise
        logger.warning("feed parse crashed for %s: %s", base_url, exc, exc_info=True)
        return failed(FeedOutcome.PARSE_CRASH, _reason(exc, options))


def failed(outcome: FeedOutcome, reason: str | None, *, bozo: bool = False,
           version: str | None = None) -> ParsedFeed:
    """A ParsedFeed without entries, for documents that are not usable feeds."""
    return ParsedFeed(outcome, reason, version, bozo, None, None, None, None, (), False)


def _parse(body: bytes, headers: Mapping[str, str], base_url: str, fetched_at: datetime,
           options: FeedOptions) -> ParsedFeed:
    lowered = {k.lower(): v for k, v in headers.items()}
    if not _strip_bom(body).strip(b" \t\r\n\x00"):
        return failed(FeedOutcome.EMPTY_DOCUMENT, "empty or whitespace-only document")
    magic = next((name for sig, name in _BINARY_MAGIC if body.startswith(sig)), None)
    if magic:
        # Compressed or binary bytes are never handed to a parser (FAULTS cases 25, 53).
        return failed(FeedOutcome.NOT_A_FEED, f"binary body ({magic})")
    if _strip_bom(body).lstrip()[:1] in (b"{", b"["):
        return _parse_json(body, base_url, fetched_at, options)
    body, repaired = repair_utf8(body, lowered.get("content-type", ""))
    safe = neutralise(body, options.max_author_bytes, options.max_tags * 2)
    if safe.unsafe:
        return failed(FeedOutcome.UNSAFE, safe.unsafe[: options.max_reason_chars], bozo=True)
    windows, left_out = entry_windows(safe.data, options.window_entries, options.max_entries)
    response_headers = {"content-type": lowered.get("content-type", "application/xml")}
    if "content-language" in lowered:
        response_headers["content-language"] = lowered["content-language"]
    d: Any = None
    exc: Any = None
    bozo = False
    fields: list[_Fields] = []
    for window in windows:
        part = feedparser.parse(io.BytesIO(window), response_headers=response_headers,
                                # Both off: every field becomes text through textclean, and
                                # feedparser's sanitizer is quadratic on unclosed comments.
                                sanitize_html=False, resolve_relative_uris=False)
        d = d if d is not None else part  # the feed's own fields: from the first window
        if part.get("bozo"):
            bozo = True
            found = part.get("bozo_exception")
            # the first exception that matters: a benign one only when there is no other
            if exc is None or (type(exc).__name__ in _BENIGN_BOZO and found is not None
                               and type(found).__name__ not in _BENIGN_BOZO):
                exc = found
        fields += [_fields_from_feedparser(e, options) for e in part.get("entries") or []]
        del part
    version = d.get("version") or None
    if safe.netscape and version == "rss091u":
        version = "rss091n"
    reason = _reason(exc, options) if bozo and exc is not None else None
    notes = [*repaired, *safe.notes]
    if notes:
        reason = "; ".join([*notes, *([reason] if reason else [])])[: options.max_reason_chars]
    benign = not bozo or type(exc).__name__ in _BENIGN_BOZO
    if not version and not fields:
        if _HTML_HINT.search(body[:4096]):
            return failed(FeedOutcome.NOT_A_FEED, "an HTML page, not a feed", bozo=bozo)
        if benign:
            return failed(FeedOutcome.NOT_A_FEED, reason or "no feed element found", bozo=bozo)
        return failed(FeedOutcome.MALFORMED, reason, bozo=bozo)
    if not benign and not fields:
        return failed(FeedOutcome.MALFORMED, reason, bozo=bozo, version=version)
    outcome = FeedOutcome.OK if benign and not notes else FeedOutcome.RECOVERED
    left_out += max(0, len(fields) - options.max_entries)  # a document no window split saw
    entries = build_entries(fields[: options.max_entries], base_url, fetched_at, options)
    feed = d.get("feed") or {}
    title, _ = clean_text(_s(feed.get("title")), options.max_title_chars, single_line=True)
    link, _ = resolve_link(_s(feed.get("link")), base_url, options)
    language, _ = clean_text(_s(feed.get("language")), 35, single_line=True, markup=False)
    return ParsedFeed(outcome, reason, version, bozo, title, link, language,
                      _ttl_minutes(feed), entries, left_out > 0, left_out)


_ENTRY_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s>/]")
_ENTRY_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\s*>")


def parse_windows(data: bytes, options: FeedOptions) -> int:
    """How many windows ``parse_feed`` will parse this document in (1 for most feeds): the unit
    of a parse's time limit. A cheap scan for entry start tags, no parse."""
    found = sum(1 for _ in _ENTRY_START.finditer(data))
    return max(1, -(-min(found, options.max_entries) // options.window_entries))


def entry_windows(data: bytes, size: int, limit: int) -> tuple[list[bytes], int]:
    """Split a document of many entries into well-formed documents of at most ``size`` each.

    Each window is the document's head (everything before the first entry), a run of entries,
    and the document's tail (whatever follows the last entry: ``</channel></rss>``,
    ``</feed>``). At most ``limit`` entries are kept, in document order; the count of entries
    beyond it is returned with the windows (FAULTS case 36: parse memory bounded by a window,
    nothing dropped unseen). A document of ``size`` entries or fewer is returned whole, and
    UTF-16/32 documents are left whole to the cap after parsing.
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:4]:
        return [data], 0
    starts = [m.start() for m in _ENTRY_START.finditer(data)]
    if len(starts) <= size and len(starts) <= limit:
        return [data], 0
    left_out = max(0, len(starts) - limit)
    ends = deque(_ENTRY_END.finditer(data, starts[-1]), maxlen=1)  # only the last one matters
    last_end = ends[0].end() if ends else len(data)
    head, tail = data[: starts[0]], data[last_end:]
    kept = starts[:limit]
    windows = []
    for first in range(0, len(kept), size):
        following = min(first + size, len(kept))  # the first entry this window leaves out
        stop = starts[following] if following < len(starts) else last_end
        windows.append(head + data[kept[first]: stop] + tail)
    return windows, left_out


def _reason(exc: object, options: FeedOptions) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return clean_text(text, options.max_reason_chars, single_line=True, markup=False)[0] or ""


def _strip_bom(body: bytes) -> bytes:
    for bom in (codecs.BOM_UTF8, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE,
                codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if body.startswith(bom):
            return body[len(bom):].replace(b"\x00", b"")
    return body


def _s(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _is_plain(detail: Any) -> bool:
    """Declared plain text: "a<b" in it is text, not a tag. Anything else may hold markup."""
    return isinstance(detail, Mapping) and str(detail.get("type", "")).lower() in _PLAIN_TYPES


def _ttl_minutes(feed: Mapping[str, Any]) -> int | None:
    """``<ttl>`` first, else ``sy:updatePeriod`` / ``sy:updateFrequency``; sane range only."""
    ttl = _s(feed.get("ttl"))
    if ttl and ttl.strip().isdigit() and 0 < int(ttl.strip()) <= 525_600:
        return int(ttl.strip())
    period = (_s(feed.get("sy_updateperiod")) or "").strip().lower()
    if period in _UPDATE_PERIOD_MIN:
        freq_raw = (_s(feed.get("sy_updatefrequency")) or "1").strip()
        freq = int(freq_raw) if freq_raw.isdigit() and 0 < int(freq_raw) <= 10_000 else 1
        return max(1, _UPDATE_PERIOD_MIN[period] // freq)
    return None


@dataclass(frozen=True, slots=True)
class _Fields:
    """An entry's fields after cleaning, before keys, links and dates are worked out."""

    guid: str | None
    raw_link: str | None
    title: str | None
    summary: str | None
    content: str | None
    authors: tuple[str, ...]
    tags: tuple[str, ...]
    published_raw: str | None
    updated_raw: str | None
    truncated: bool


def _fields_from_feedparser(entry: Mapping[str, Any], options: FeedOptions) -> _Fields:
    # Plain dict lookups: FeedParserDict.get falls back between keys (a missing "updated"
    # reads as "published"), which would invent data.
    e = dict(entry)
    cut = False

    def text(value: Any, cap: int, *, single_line: bool = False, markup: bool = True) -> str | None:
        nonlocal cut
        out, was_cut = clean_text(_s(value), cap, single_line=single_line, markup=markup)
        cut = cut or was_cut
        return out

    links = [x.get("href") for x in e.get("links") or [] if isinstance(x, Mapping)
             and x.get("rel", "alternate") == "alternate"]
    raw_link = _s(e.get("link")) or next((x for x in links if isinstance(x, str) and x), None)
    if e.get("guidislink") and raw_link == e.get("id") and not _LINKLIKE.match(raw_link or ""):
        # feedparser copies a permalink guid into the link; "12345" is no URL to resolve,
        # though an absolute URL or a root-relative path ("/p/1") is.
        raw_link = None
    contents = [c for c in e.get("content") or [] if isinstance(c, Mapping)]
    content = "\n\n".join(_s(c.get("value")) or "" for c in contents) or None
    names: list[Any] = [a.get("name") or a.get("email") for a in e.get("authors") or []
                        if isinstance(a, Mapping)] or [e.get("author")]
    terms: list[Any] = [t.get("term") or t.get("label") for t in e.get("tags") or []
                        if isinstance(t, Mapping)]
    authors, a_cut = _names(names, options.max_authors, options.max_name_chars)
    tags, t_cut = _names(terms, options.max_tags, options.max_name_chars)
    fields = _Fields(
        guid=text(e.get("id"), options.max_guid_chars, single_line=True, markup=False),
        raw_link=text(raw_link, options.max_link_chars, single_line=True, markup=False),
        # Titles are always text: even a "text/plain" title with tags in it is almost always
        # double-escaped HTML, and a stored title must never carry a script (FAULTS case 49).
        title=text(e.get("title"), options.max_title_chars, single_line=True),
        summary=text(e.get("summary"), options.max_summary_chars,
                     markup=not _is_plain(e.get("summary_detail"))),
        content=text(content, options.max_content_chars,
                     markup=not all(_is_plain(c) for c in contents) or not contents),
        authors=authors,
        tags=tags,
        published_raw=text(e.get("published"), options.max_date_chars, single_line=True,
                           markup=False),
        updated_raw=text(e.get("updated"), options.max_date_chars, single_line=True,
                         markup=False),
        truncated=False,
    )
    return replace(fields, truncated=cut or a_cut or t_cut)


def _names(values: Sequence[Any], max_count: int, max_chars: int) -> tuple[tuple[str, ...], bool]:
    """Clean, de-duplicate (keeping order) and cap a list of author names or tags."""
    out: list[str] = []
    cut = False
    for value in values:
        name, was_cut = clean_text(_s(value), max_chars, single_line=True)
        cut = cut or was_cut
        if name and name not in out:
            if len(out) >= max_count:
                return tuple(out), True
            out.append(name)
    return tuple(out), cut


def resolve_link(raw: str | None, base_url: str, options: FeedOptions = FeedOptions()
                 ) -> tuple[str | None, str]:
    """Resolve a link against the feed's final URL: ``(absolute http(s) URL or None, status)``.

    Status is ``ok``, ``missing``, ``bad_scheme`` (``javascript:``, ``file:``, ``data:``...) or
    ``unresolvable`` (a broken URL, no host, or longer than the cap).
    """
    if not raw or not raw.strip():
        return None, "missing"
    raw = raw.strip()
    if len(raw) > options.max_link_chars:
        return None, "unresolvable"
    try:
        joined = urljoin(base_url, raw)
        parts = urlsplit(joined)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return None, "unresolvable"
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return None, ("bad_scheme" if scheme else "unresolvable")
    if not parts.hostname or any(c in parts.netloc for c in " \t\n<>\"\\"):
        return None, "unresolvable"
    return joined, "ok"


def _hash(*parts: Any) -> str:
    blob = json.dumps(parts, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def build_entries(fields: Sequence[_Fields], base_url: str, fetched_at: datetime,
                  options: FeedOptions) -> tuple[FeedEntry, ...]:
    """Entries with keys, links, dates and hashes, in document order, exact duplicates dropped.

    Key: guid, else link, else a hash of title, summary and content. When a feed repeats a key
    (FAULTS case 39) the repeats are told apart by link, then by that text hash; entries still
    equal after that are true duplicates and collapse into one (FAULTS case 41).
    """
    text_hashes = [_hash(f.title, f.summary, f.content) for f in fields]
    keys: list[tuple[str, str]] = []
    for f, th in zip(fields, text_hashes, strict=True):
        if f.guid:
            keys.append(("guid", f.guid))
        elif f.raw_link:
            keys.append(("link", f.raw_link))
        else:
            keys.append(("hash", th))
    counts = Counter(keys)
    for i, (source, value) in enumerate(keys):
        if counts[(source, value)] > 1 and source == "guid" and fields[i].raw_link:
            keys[i] = ("guid+link", f"{value}\n{fields[i].raw_link}")
    counts = Counter(keys)
    for i, (source, value) in enumerate(keys):
        if counts[(source, value)] > 1 and source != "hash":
            keys[i] = (f"{source}+hash", f"{value}\n{text_hashes[i]}")
    entries: list[FeedEntry] = []
    seen: dict[str, str] = {}
    ordinal: Counter[str] = Counter()
    for position, (f, (source, value)) in enumerate(zip(fields, keys, strict=True)):
        content_hash = _hash(f.guid, f.raw_link, f.title, f.summary, f.content, f.authors,
                             f.tags, f.published_raw, f.updated_raw)
        entry_key = _hash(source, value)[:32]
        if entry_key in seen:
            if seen[entry_key] == content_hash:
                continue  # a true duplicate inside one document
            # Same key, different fields (e.g. only the date differs): number the repeats in
            # document order, which is deterministic for the same document.
            ordinal[entry_key] += 1
            source = f"{source}+n"
            entry_key = _hash(source, value, ordinal[entry_key])[:32]
        seen[entry_key] = content_hash
        entries.append(_entry(f, entry_key, source, content_hash, position, base_url,
                              fetched_at, options))
    return tuple(entries)


def _entry(f: _Fields, entry_key: str, source: str, content_hash: str, position: int,
           base_url: str, fetched_at: datetime, options: FeedOptions) -> FeedEntry:
    link, link_status = resolve_link(f.raw_link, base_url, options)
    suspect = False
    dates: list[datetime | None] = []
    for raw in (f.published_raw, f.updated_raw):
        at = parse_date(raw)
        # An implausible date is dropped (kept raw, flagged): a year-2099 item must never push
        # an incremental cursor past today (FAULTS case 45). Missing dates stay missing.
        if at is not None and not is_plausible(at, fetched_at):
            suspect, at = True, None
        dates.append(at)
    # Atom requires only <updated> and feedparser files RSS 1.0's dc:date there: without a
    # published date, the updated one is the best publication date the feed offers.
    published_at = dates[0] if f.published_raw else dates[1]
    return FeedEntry(
        entry_key=entry_key, key_source=source, guid=f.guid, link=link, link_status=link_status,
        raw_link=f.raw_link, title=f.title, summary=f.summary, content=f.content,
        authors=f.authors, tags=f.tags, published_raw=f.published_raw, published_at=published_at,
        updated_raw=f.updated_raw, updated_at=dates[1], date_suspect=suspect,
        truncated=f.truncated, position=position, content_hash=content_hash,
    )


# --- JSON Feed (https://jsonfeed.org/version/1.1) ---------------------------------------

def _parse_json(body: bytes, base_url: str, fetched_at: datetime,
                options: FeedOptions) -> ParsedFeed:
    try:
        doc = json.loads(body.decode("utf-8-sig", "replace"))
    except (ValueError, RecursionError) as exc:
        return failed(FeedOutcome.MALFORMED, _reason(exc, options), bozo=True)
    version_url = doc.get("version") if isinstance(doc, dict) else None
    items = doc.get("items") if isinstance(doc, dict) else None
    if not isinstance(version_url, str) or "jsonfeed.org" not in version_url \
            or not isinstance(items, list):
        return failed(FeedOutcome.NOT_A_FEED, "JSON document that is not a JSON Feed")
    version = "json11" if version_url.rstrip("/").endswith("1.1") else "json1"
    fields = [_fields_from_json(i, options) for i in items[: options.max_entries]
              if isinstance(i, dict)]
    left_out = max(0, len(items) - options.max_entries)
    title, _ = clean_text(_s(doc.get("title")), options.max_title_chars, single_line=True,
                          markup=False)
    link, _ = resolve_link(_s(doc.get("home_page_url")), base_url, options)
    language, _ = clean_text(_s(doc.get("language")), 35, single_line=True, markup=False)
    return ParsedFeed(FeedOutcome.OK, None, version, False, title, link, language, None,
                      build_entries(fields, base_url, fetched_at, options),
                      left_out > 0, left_out)


def _fields_from_json(item: Mapping[str, Any], options: FeedOptions) -> _Fields:
    people = item.get("authors") or ([item["author"]] if item.get("author") else [])
    names = [p.get("name") for p in people if isinstance(p, Mapping)] \
        if isinstance(people, list) else []
    raw_tags = item.get("tags")
    tags: list[Any] = raw_tags if isinstance(raw_tags, list) else []
    html_or_text = _s(item.get("content_html")) or _s(item.get("content_text"))
    entry = {
        "id": str(item["id"]) if isinstance(item.get("id"), str | int) else None,
        "link": _s(item.get("url")) or _s(item.get("external_url")),
        "title": _s(item.get("title")),
        "title_detail": {"type": "text/plain"},
        "summary": _s(item.get("summary")),
        "content": [{"value": html_or_text}] if html_or_text else [],
        "authors": [{"name": n} for n in names],
        "tags": [{"term": t} for t in tags],
        "published": _s(item.get("date_published")),
        "updated": _s(item.get("date_modified")),
    }
    return _fields_from_feedparser(entry, options)
