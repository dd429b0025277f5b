"""The extraction benchmark's metric (scrapinghub article-extraction-benchmark), pure.

Tokens are ``\\w+`` runs without case folding; the units are overlapping 4-token shingles
counted with multiplicity. Each page's tp/fp/fn are normalised by their sum so every page
weighs the same; precision is averaged over pages with output, recall over all pages, and F1
is the harmonic mean of those two means (not a mean of per-page F1s), exactly as the public
benchmark computes it so our numbers compare with its published table.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

_TOKEN = re.compile(r"\w+")
SHINGLE_SIZE = 4


def shingle_counts(text: str) -> Counter[tuple[str, ...]]:
    """Multiset of overlapping 4-token shingles of ``text``."""
    tokens = _TOKEN.findall(text or "")
    return Counter(
        tuple(tokens[i:i + SHINGLE_SIZE]) for i in range(len(tokens) - SHINGLE_SIZE + 1)
    )


@dataclass(frozen=True, slots=True)
class PageScore:
    """One page's normalised counts; tp + fp + fn == 1 (or all 0 for an empty/empty page)."""

    tp: float
    fp: float
    fn: float
    empty_prediction: bool


def score_page(predicted: str | None, gold: str) -> PageScore:
    """Score one page's predicted text against its gold text."""
    pred = shingle_counts(predicted or "")
    true = shingle_counts(gold or "")
    tp = sum((pred & true).values())
    fp = sum(pred.values()) - tp
    fn = sum(true.values()) - tp
    empty = not pred
    total = tp + fp + fn
    if total == 0:
        # Nothing on either side: the benchmark counts this as a perfect match.
        return PageScore(tp=1.0, fp=0.0, fn=0.0, empty_prediction=empty)
    return PageScore(tp=tp / total, fp=fp / total, fn=fn / total, empty_prediction=empty)


def corpus_scores(scores: Iterable[PageScore]) -> tuple[float, float, float]:
    """Precision, recall and F1 over pages, as the benchmark defines them."""
    precisions: list[float] = []
    recalls: list[float] = []
    for s in scores:
        if not s.empty_prediction:
            precisions.append(s.tp / (s.tp + s.fp) if s.tp + s.fp else 0.0)
        if s.tp + s.fn:
            # Gold without shingles but output present: recall is undefined, left out as the
            # benchmark's nan-mean does.
            recalls.append(s.tp / (s.tp + s.fn))
    precision = sum(precisions) / len(precisions) if precisions else 0.0
    recall = sum(recalls) / len(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
