"""Revisits and versions: when a known article page is fetched again, and what changed between
two of its versions.

Pure: the caller passes the clock (``now``) and the stored facts. A page is asked again when its
feed entry got a new version since our last request, or on a decaying schedule counted from the
first successful fetch (by default about 1 h, 6 h, 24 h and 72 h, then never). Schedule points
that passed while no run happened collapse into one revisit. The budget is per run and per host;
feed-changed pages go before scheduled ones, and the caller puts new pages before both.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from transforms.articles import extractor_version_key
from transforms.urls import host_of
from transforms.vocab import ArticleChange, Revisit

DEFAULT_SCHEDULE_HOURS: tuple[float, ...] = (1.0, 6.0, 24.0, 72.0)
# A diff longer than this is cut (a rewritten article is better read as its new version).
MAX_DIFF_CHARS = 20_000
# End of a sentence: . ! ? or an ellipsis (optionally closed by a quote or bracket), then space.
_SENTENCE_END = re.compile(r"(?:(?<=[.!?\u2026])|(?<=[.!?\u2026][\"'\u201d\u2019)\]]))\s+")


@dataclass(frozen=True, slots=True)
class RevisitCandidate:
    """A page we already have, with what a revisit needs to know of it."""

    url: str  # the URL first requested for it
    key: str  # its url_key
    first_seen_at: datetime  # first successful fetch
    last_attempt_at: datetime  # latest request of any outcome
    feed_changed_at: datetime | None  # latest new version of a feed entry linking it
    etag: str | None  # validators of the latest successful response that sent them
    last_modified: str | None
    body_sha256: str | None  # hash of the latest body received


@dataclass(frozen=True, slots=True)
class PlannedRevisit:
    """A candidate chosen for this run, with why and since when it is due."""

    candidate: RevisitCandidate
    reason: Revisit
    due_at: datetime


def schedule_of(hours: Sequence[float]) -> tuple[timedelta, ...]:
    """Schedule offsets from hours (sorted; duplicates and non-positive values dropped)."""
    return tuple(timedelta(hours=h) for h in sorted({float(h) for h in hours if h > 0}))


def revisit_due(candidate: RevisitCandidate, now: datetime,
                schedule: Sequence[timedelta]) -> tuple[Revisit, datetime] | None:
    """Why and since when ``candidate`` is due at ``now``; None when it is not."""
    changed = candidate.feed_changed_at
    if changed is not None and changed > candidate.last_attempt_at:
        return Revisit.FEED_CHANGED, changed
    passed = [candidate.first_seen_at + offset for offset in schedule
              if candidate.first_seen_at + offset <= now]
    if passed and candidate.last_attempt_at < max(passed):
        return Revisit.SCHEDULE, max(passed)
    return None


def plan_revisits(candidates: Sequence[RevisitCandidate], *, now: datetime,
                  schedule: Sequence[timedelta], budget: int, per_host: int
                  ) -> list[PlannedRevisit]:
    """The revisits of this run: due candidates, feed-changed first then the longest overdue,
    at most ``budget`` in all and ``per_host`` to one host: its hostname, as the fetcher's
    per-host limiter and backoffs count it (``transforms.urls.host_of``), so URLs naming one host
    with another port, case or user count together."""
    due = []
    for candidate in candidates:
        found = revisit_due(candidate, now, schedule)
        if found is not None:
            due.append(PlannedRevisit(candidate, *found))
    due.sort(key=lambda p: (p.reason is not Revisit.FEED_CHANGED, p.due_at, p.candidate.key))
    chosen: list[PlannedRevisit] = []
    per: Counter[str] = Counter()
    for planned in due:
        if len(chosen) >= budget:
            break
        host = host_of(planned.candidate.url)
        if per[host] >= per_host:
            continue
        per[host] += 1
        chosen.append(planned)
    return chosen


def version_hash(content_hash: str, title: str | None, authors: Sequence[str] | None) -> str:
    """Identity of an article version: its text, headline and authors (migration 0007 computes
    the same in SQL for the rows it carried over)."""
    joined = "\x1f".join([content_hash, title or "", "\x1e".join(authors or ())])
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def sentences(text: str) -> list[str]:
    """The sentences of a text, paragraph by paragraph (a paragraph break ends a sentence)."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        out += [s.strip() for s in _SENTENCE_END.split(paragraph.strip()) if s.strip()]
    return out


@dataclass(frozen=True, slots=True)
class BodyDiff:
    """Words added and removed, and the changed sentences (``- old`` / ``+ new`` lines)."""

    words_added: int
    words_removed: int
    diff: str


def body_diff(before: str, after: str) -> BodyDiff:
    """Compare two texts sentence by sentence; count words inside the changed sentences."""
    old, new = sentences(before), sentences(after)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    added = removed = 0
    lines: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        gone, came = old[i1:i2], new[j1:j2]
        a, r = _word_delta(" ".join(gone).split(), " ".join(came).split())
        added, removed = added + a, removed + r
        if lines:
            lines.append("")  # a blank line between hunks
        lines += [f"- {s}" for s in gone] + [f"+ {s}" for s in came]
    diff = "\n".join(lines)
    if len(diff) > MAX_DIFF_CHARS:
        diff = diff[:MAX_DIFF_CHARS].rsplit("\n", 1)[0] + "\n\u2026 (diff cut)"
    return BodyDiff(added, removed, diff)


def _word_delta(old: list[str], new: list[str]) -> tuple[int, int]:
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    same = sum(block.size for block in matcher.get_matching_blocks())
    return len(new) - same, len(old) - same


def _order(v: Mapping[str, Any]) -> tuple[Any, ...]:
    return (v["observed_at"], v["version_hash"])


def changes(article_key: str, versions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """core.article_changes rows of one article: each version against the one seen before it
    by the same extractor version (a re-extraction by a newer extractor is not a change)."""
    by_extractor: dict[str, list[Mapping[str, Any]]] = {}
    for v in versions:
        by_extractor.setdefault(v["extractor_version"], []).append(v)
    rows = []
    for extractor_version in sorted(by_extractor, key=extractor_version_key):
        ordered = sorted(by_extractor[extractor_version], key=_order)
        for before, after in itertools.pairwise(ordered):
            rows.append(_change(article_key, before, after))
    return rows


def _change(key: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    changed = []
    if before["title"] != after["title"]:
        changed.append(ArticleChange.TITLE)
    if before["content_hash"] != after["content_hash"]:
        changed.append(ArticleChange.BODY)
    if (before["page_published_at"], before["modified_at"]) != \
            (after["page_published_at"], after["modified_at"]):
        changed.append(ArticleChange.DATES)
    if tuple(before["authors"] or ()) != tuple(after["authors"] or ()):
        changed.append(ArticleChange.AUTHORS)
    body = body_diff(before["text"], after["text"]) if ArticleChange.BODY in changed \
        else BodyDiff(0, 0, "")
    return {
        "article_key": key,
        "version_hash": after["version_hash"],
        "extractor_version": after["extractor_version"],
        "previous_hash": before["version_hash"],
        "page_fetch_id": after["page_fetch_id"],
        "seen_at": after["observed_at"],
        "previous_seen_at": before["observed_at"],
        "changed": [str(c) for c in changed],
        "title_before": before["title"],
        "title_after": after["title"],
        "words_added": body.words_added,
        "words_removed": body.words_removed,
        "diff": body.diff,
    }
