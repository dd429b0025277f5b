"""The core.articles projection for one article key: pure, deterministic, no clock.

Given every stored version of an article and the feed entries that point at it, choose the
current version and resolve the publication date with its provenance. Replaying the same inputs
gives the same record, whatever the order they were read in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from transforms.published import resolve_published


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    article_key: str
    url: str
    canonical_url: str | None
    feed_id: str | None
    outlet: str | None
    title: str | None
    authors: tuple[str, ...]
    published_at: datetime | None
    published_source: str
    date_suspect: bool
    feed_page_date_disagree: bool
    modified_at: datetime | None
    language: str | None
    declared_language: str | None
    site_name: str | None
    description: str | None
    image: str | None
    tags: tuple[str, ...]
    text: str
    word_count: int
    content_hash: str
    extractor: str
    extractor_version: str
    page_fetch_id: str
    first_seen_at: datetime
    last_seen_at: datetime
    version_count: int
    is_short: bool = False      # a brief under the length floor, kept as an article
    access: str = "unknown"     # free | paywalled (the text is a teaser) | unknown


# The prefix of transforms.extraction.EXTRACTOR_VERSION ("newsflow-extract/N trafilatura/X.Y.Z"),
# spelled out here so this module stays free of the extractor's imports.
OWN_EXTRACTOR = "newsflow-extract/"


def extractor_version_key(version: str) -> tuple[Any, ...]:
    """Sort key of an extractor version, oldest first, fully deterministic.

    Newsflow's own extractor ranks after any other (a re-extraction by it supersedes what a
    foreign or legacy extractor produced); then the versions compare part by part, runs of
    digits as numbers ("newsflow-extract/10" after "/9", "trafilatura/2.10.0" after "2.9.1")
    and the rest as strings; the string itself breaks what is left ("02" against "2").
    """
    parts = tuple((0, int(run), "") if run[0] in _DIGITS else (1, 0, run)
                  for run in _RUNS.findall(version))
    return (version.startswith(OWN_EXTRACTOR), parts, version)


_DIGITS = frozenset("0123456789")
_RUNS = re.compile(r"[0-9]+|[^0-9]+")


def _version_order(v: Mapping[str, Any]) -> tuple[Any, ...]:
    # The latest page fetch wins; for the same fetch (a backfill re-extracting a stored page),
    # the newest extractor. (content_hash, extractor_version) is unique per article: no ties.
    return (v["observed_at"], extractor_version_key(v["extractor_version"]), v["content_hash"])


def project_article(
    key: str,
    versions: Sequence[Mapping[str, Any]],
    sources: Sequence[Mapping[str, Any]],
    page_seen: tuple[datetime, datetime],
    outlets: Mapping[str, str | None],
) -> ArticleRecord | None:
    """The current record of article ``key``; ``None`` when it has no extracted version.

    ``versions``: core.article_versions rows; ``sources``: article_sources.sql rows;
    ``page_seen``: first and last page fetch times; ``outlets``: feed_id -> outlet name.
    """
    if not versions:
        return None
    ordered = sorted(versions, key=_version_order)
    current = ordered[-1]
    first_page, last_page = page_seen
    first_source = min(sources, key=lambda s: (s["first_seen_at"], s["feed_id"]), default=None)
    first_seen = min([first_page, *(s["first_seen_at"] for s in sources)])
    feed_at = first_source["feed_published_at"] if first_source else None
    published = resolve_published(
        current["page_published_at"],
        current["page_published_source"],
        feed_at,
        current["url"],
        first_seen,
    )
    feed_id = first_source["feed_id"] if first_source else None
    return ArticleRecord(
        article_key=key,
        url=current["final_url"] or current["url"],
        canonical_url=current["canonical_url"],
        feed_id=feed_id,
        outlet=outlets.get(feed_id) if feed_id else current["site_name"],
        title=current["title"],
        authors=tuple(current["authors"] or ()),
        published_at=published.at,
        published_source=published.source,
        date_suspect=published.suspect,
        feed_page_date_disagree=published.feed_page_disagree,
        modified_at=current["modified_at"],
        language=current["language"],
        declared_language=current["declared_language"],
        site_name=current["site_name"],
        description=current["description"],
        image=current["image"],
        tags=tuple(current["tags"] or ()),
        text=current["text"],
        word_count=current["word_count"],
        content_hash=current["content_hash"],
        extractor=current["extractor"],
        extractor_version=current["extractor_version"],
        page_fetch_id=current["page_fetch_id"],
        first_seen_at=first_seen,
        last_seen_at=max([last_page, *(s["first_seen_at"] for s in sources)]),
        # a version is a distinct text, headline and authors (version_hash, migration 0007)
        version_count=len({v.get("version_hash") or v["content_hash"] for v in ordered}),
        is_short=bool(current.get("is_short") or False),
        access=str(current.get("access") or "unknown"),
    )
