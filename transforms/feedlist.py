"""Feed lists: ``feeds.yaml`` and OPML in and out, and the stable id of a feed.

A feed list is configuration, so it fails loudly: an unknown key, a missing or non-HTTP URL or
the same feed twice is a ``ValueError`` naming the entry (STYLE: "a misspelt key fails
loudly"). OPML comes from other readers and is treated as untrusted input: no DTD, no entities,
and outlines that are not http(s) feeds are skipped with a log line.
"""

from __future__ import annotations

import hashlib
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

logger = logging.getLogger(__name__)

_KEYS = ("url", "name", "outlet", "tags", "poll_minutes")
_UNSAFE_XML = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.I)


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """One configured feed."""

    url: str
    name: str | None = None
    outlet: str | None = None
    tags: tuple[str, ...] = ()
    poll_minutes: int | None = None


def normalise_feed_url(url: str) -> str:
    """The URL as used for identity: scheme and host lower-cased, default port, fragment and
    surrounding spaces dropped, empty path as ``/``. Path and query keep their case."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) \
        else f"{host}:{port}"
    if parts.username or parts.password:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        netloc = f"{userinfo}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def feed_id(url: str) -> str:
    """Stable id of a feed: the first 16 hex digits of sha256 of its normalised URL."""
    try:
        key = normalise_feed_url(url)
    except ValueError:
        key = url.strip()
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def check_feed_url(value: Any, where: str) -> str:
    """A feed URL must be an absolute http(s) URL with a host (FAULTS case 18)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: url is missing")
    url: str = value.strip()
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as exc:
        raise ValueError(f"{where}: bad url {url!r}: {exc}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{where}: url {url!r} is not an absolute http(s) URL")
    return url


def _config(item: Any, where: str) -> FeedConfig:
    if isinstance(item, str):
        item = {"url": item}
    if not isinstance(item, dict):
        raise ValueError(f"{where}: expected a mapping with a url, got {type(item).__name__}")
    unknown = sorted(str(k) for k in item if k not in _KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(_KEYS)})")
    url = check_feed_url(item.get("url"), where)
    for key in ("name", "outlet"):
        if item.get(key) is not None and not isinstance(item[key], str):
            raise ValueError(f"{where}: {key} must be text")
    tags = item.get("tags") or []
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ValueError(f"{where}: tags must be a list of text")
    poll = item.get("poll_minutes")
    if poll is not None and (isinstance(poll, bool) or not isinstance(poll, int) or poll < 1):
        raise ValueError(f"{where}: poll_minutes must be a whole number >= 1")
    return FeedConfig(url=url, name=item.get("name") or None, outlet=item.get("outlet") or None,
                      tags=tuple(t.strip() for t in tags if t.strip()), poll_minutes=poll)


def _unique(feeds: Iterable[FeedConfig], *, strict: bool) -> list[FeedConfig]:
    out: list[FeedConfig] = []
    seen: dict[str, str] = {}
    for feed in feeds:
        fid = feed_id(feed.url)
        if fid in seen:
            if strict:
                raise ValueError(f"feed {feed.url!r} is listed twice (same as {seen[fid]!r})")
            logger.info("skipping duplicate feed %s", feed.url)
            continue
        seen[fid] = feed.url
        out.append(feed)
    return out


# libyaml's safe loader when PyYAML was built with it (ten times faster on a long feed list:
# a 1,000-feed file is parsed in each run), else the pure-Python one; both build plain types.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_feeds_yaml(text: str) -> list[FeedConfig]:
    """Feeds from ``{"feeds": [{"url": ..., "name": ..., ...}]}``; any mistake is a ValueError."""
    try:
        doc = yaml.load(text, Loader=_SAFE_LOADER)  # a safe loader
    except yaml.YAMLError as exc:
        raise ValueError(f"feeds.yaml is not valid YAML: {exc}") from None
    if doc is None:
        return []
    if not isinstance(doc, dict):
        raise ValueError("feeds.yaml must be a mapping with a 'feeds' list")
    unknown = sorted(str(k) for k in doc if k != "feeds")
    if unknown:
        raise ValueError(f"feeds.yaml: unknown key {unknown[0]!r} (only 'feeds' is allowed)")
    items = doc.get("feeds") or []
    if not isinstance(items, list):
        raise ValueError("feeds.yaml: 'feeds' must be a list")
    return _unique((_config(item, f"feeds[{i}]") for i, item in enumerate(items)), strict=True)


def dump_feeds_yaml(feeds: Iterable[FeedConfig]) -> str:
    """YAML text that ``load_feeds_yaml`` reads back to the same feeds (empty fields omitted)."""
    items: list[dict[str, Any]] = []
    for feed in feeds:
        item: dict[str, Any] = {"url": feed.url}
        if feed.name:
            item["name"] = feed.name
        if feed.outlet:
            item["outlet"] = feed.outlet
        if feed.tags:
            item["tags"] = list(feed.tags)
        if feed.poll_minutes is not None:
            item["poll_minutes"] = feed.poll_minutes
        items.append(item)
    return yaml.safe_dump({"feeds": items}, sort_keys=False, allow_unicode=True, width=100)


def _outlines(node: ET.Element, folders: tuple[str, ...]) -> Iterator[FeedConfig]:
    for child in node:
        if child.tag != "outline":
            continue
        title = (child.get("title") or child.get("text") or "").strip() or None
        url = (child.get("xmlUrl") or child.get("xmlurl") or "").strip()
        if title == url:
            title = None  # to_opml writes the URL as text when a feed has no name
        if not url:
            # A folder: its title becomes a tag of every feed inside it.
            yield from _outlines(child, (*folders, title) if title else folders)
            continue
        try:
            check_feed_url(url, "opml outline")
        except ValueError as exc:
            logger.warning("skipping OPML outline: %s", exc)
            continue
        categories = [c.strip() for c in re.split(r"[,/]", child.get("category") or "")]
        tags = tuple(dict.fromkeys(t for t in (*folders, *categories) if t))
        poll = child.get("pollMinutes")
        yield FeedConfig(url=url, name=title, outlet=(child.get("outlet") or "").strip() or None,
                         tags=tags, poll_minutes=int(poll) if poll and poll.isdigit()
                         and int(poll) > 0 else None)


def parse_opml(data: bytes | str) -> list[FeedConfig]:
    """Feeds of an OPML document, folders included (folder titles become tags).

    A DOCTYPE or ENTITY declaration is refused outright, so expat never expands anything.
    Invalid XML is a ValueError; duplicate feeds keep their first occurrence.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if _UNSAFE_XML.search(data) or _UNSAFE_XML.search(data.replace(b"\x00", b"")):
        raise ValueError("OPML with a DOCTYPE or ENTITY declaration is refused")
    try:
        root = ET.fromstring(data)  # DTD and entities are refused above
    except ET.ParseError as exc:
        raise ValueError(f"OPML is not well-formed XML: {exc}") from None
    body = root.find("body")
    if root.tag != "opml" or body is None:
        raise ValueError("not an OPML document (no <opml><body>)")
    return _unique(_outlines(body, ()), strict=False)


def to_opml(feeds: Iterable[FeedConfig], title: str = "newsflow feeds") -> str:
    """OPML 2.0 text of ``feeds``; ``parse_opml`` reads it back to the same feeds."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for feed in feeds:
        attrs = {"type": "rss", "text": feed.name or feed.url, "xmlUrl": feed.url}
        if feed.name:
            attrs["title"] = feed.name
        if feed.tags:
            attrs["category"] = ",".join(feed.tags)
        if feed.outlet:
            attrs["outlet"] = feed.outlet
        if feed.poll_minutes is not None:
            attrs["pollMinutes"] = str(feed.poll_minutes)
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
