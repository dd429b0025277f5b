"""Real same-event coverage: the labelled pages of ``../shared/extraction-bench`` as a story set.

The labels are ``bench/labels/story_labels.csv`` (how they were made: ``bench/labels/README.md``):
one row per page, with the event it reports when another page of the set reports the same event.
Each page goes through newsflow's own extraction (``transforms.extraction.extract_page``) and
publication date choice (``transforms.published.resolve_published``), as the pipeline would
treat it; a page without a usable date falls back to one shared first-seen time, as pages
fetched in one run do. The outlet is the page's host name.
"""

from __future__ import annotations

import csv
import gzip
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from transforms.stories import StoryDoc

LABELS = Path(__file__).parent / "labels" / "story_labels.csv"
# When the bench "fetched" the pages: the date of pages that carry none (first_seen).
FIRST_SEEN = datetime(2026, 12, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RealPage:
    doc: StoryDoc
    story: str | None     # the labelled event; None: no other page reports it
    language: str | None


def _gold(folder: Path, name: str) -> dict[str, dict[str, str]]:
    path = folder / name / ("gold.json" if name == "fundus-meta" else "ground-truth.json")
    data: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def outlet_of(url: str) -> str:
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


def labels(path: Path = LABELS) -> list[tuple[str, str, str | None]]:
    """(set, page id, event or None) for every page of the labelled set."""
    with path.open(encoding="utf-8", newline="") as f:
        return [(r["set"], r["page_id"], r["event"] or None) for r in csv.DictReader(f)]


def real_set(folder: Path, path: Path = LABELS) -> list[RealPage]:
    """The labelled pages, extracted and dated as the pipeline does (pages that fail are left out)."""
    from transforms.extraction import extract_page
    from transforms.published import resolve_published

    golds: dict[str, dict[str, dict[str, str]]] = {}
    out = []
    for name, page_id, event in labels(path):
        gold = golds.setdefault(name, _gold(folder, name))
        url = gold[page_id]["url"]
        body = gzip.decompress((folder / name / "html" / f"{page_id}.html.gz").read_bytes())
        e = extract_page(body, None, url)
        if not e.text:
            continue
        at = resolve_published(e.published_at, e.published_source, None, url, FIRST_SEEN).at
        doc = StoryDoc(f"{name}/{page_id}", outlet_of(url), at or FIRST_SEEN, e.title, e.text,
                       e.language)
        out.append(RealPage(doc, event, e.language))
    return out


def window_scores(pages: list[RealPage], predicted: dict[str, str | None],
                  days: float) -> dict[str, float]:
    """Pairwise precision and recall over the labelled pairs: those within ``days`` of each other.

    Pairs further apart are outside the clustering's window: no clustering links them, and they
    were not labelled pair by pair (bench/labels/README.md).
    """
    span = timedelta(days=days)
    n = tp = fp = fn = 0
    for i, a in enumerate(pages):
        for b in pages[i + 1:]:
            if abs(a.doc.event_at - b.doc.event_at) > span:
                continue
            n += 1
            pa, pb = predicted.get(a.doc.article_key), predicted.get(b.doc.article_key)
            same_pred = pa is not None and pa == pb
            same_true = a.story is not None and a.story == b.story
            tp += same_pred and same_true
            fp += same_pred and not same_true
            fn += same_true and not same_pred
    return {"pairs": n, "positive_pairs": tp + fn, "tp": tp, "fp": fp, "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0}
