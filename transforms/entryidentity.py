"""Identity for broken feeds: a feed whose GUIDs change while its links stay the same.

Entries are keyed by GUID first (transforms.feeds.build_entries). Some servers mint a new GUID
on every fetch for the same article, which would make each poll look like new entries. The
feed's history tells: when most links seen before come back with another GUID, the feed is
keyed by link from then on, and an entry whose link was stored before keeps the key (and, if
nothing but the GUID changed, the version) it already has, so nothing is duplicated and the
stored history stays. The reverse (links change, GUIDs stay) needs nothing: the GUID is the
key already.

Pure: the caller passes what the store holds for the feed's links.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from transforms.feeds import FeedEntry

LINK = "link"  # core.feeds.entry_identity / raw.feed_fetches.entry_identity
GUID = "guid"


@dataclass(frozen=True, slots=True)
class StoredLink:
    """What the store holds for one link of one feed: the key it was first stored under, and
    the GUID, content hash and GUID-free hash of its latest version."""

    entry_key: str
    guid: str | None
    content_hash: str
    stable_hash: str


def stable_hash(fields: Mapping[str, Any] | FeedEntry) -> str:
    """A hash of an entry's content without its GUID (the fields of the content hash)."""
    get = fields.get if isinstance(fields, Mapping) else lambda n: getattr(fields, n)
    parts = [get(n) for n in ("raw_link", "title", "summary", "content", "published_raw",
                              "updated_raw")]
    parts += [list(get("authors") or ()), list(get("tags") or ())]
    blob = json.dumps(parts, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def guids_churn(entries: Sequence[FeedEntry], link_keys: Sequence[str | None],
                stored: Mapping[str, StoredLink]) -> bool:
    """Did most of the links seen before come back with a different GUID?"""
    shared = changed = 0
    for entry, link_key in zip(entries, link_keys, strict=True):
        known = stored.get(link_key) if link_key else None
        if known is None or not entry.guid or not known.guid:
            continue
        shared += 1
        changed += entry.guid != known.guid
    return shared > 0 and 2 * changed > shared


def key_by_link(entries: Sequence[FeedEntry], link_keys: Sequence[str | None],
                stored: Mapping[str, StoredLink]) -> list[FeedEntry]:
    """The entries keyed by their link: a stored link keeps its key, and its version when only
    the GUID changed; entries without a usable link keep their own key."""
    out: list[FeedEntry] = []
    seen: set[str] = set()
    for entry, link_key in zip(entries, link_keys, strict=True):
        if not link_key:
            out.append(entry)
            continue
        stable = stable_hash(entry)
        known = stored.get(link_key)
        if known is not None:
            key = known.entry_key
            content_hash = known.content_hash if known.stable_hash == stable else stable
        else:
            key = hashlib.sha256(f"{LINK}\n{link_key}".encode()).hexdigest()[:32]
            content_hash = stable
        if key in seen:
            continue  # the same link twice in one document: the first one stands
        seen.add(key)
        out.append(replace(entry, entry_key=key, key_source=LINK, content_hash=content_hash))
    return out
