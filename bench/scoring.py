"""The two metrics of the development sets besides the shingle one (``transforms.textmetric``).

- trafilatura's snippet metric (``trafilatura-eval``): each ``with`` snippet found in the output
  (whitespace collapsed on both sides) is a true positive, else a false negative; each
  ``without`` snippet found is a false positive, else a true negative; counts are summed over
  the pages, then P = tp/(tp+fp), R = tp/(tp+fn), F1 = 2tp/(2tp+fp+fn). A page without output
  finds nothing: all its ``with`` snippets are false negatives.
- metadata against Fundus's gold (``fundus-meta``): the title as an exact match after NFKC,
  quote and whitespace normalisation and case folding; the authors as the F1 of the two
  case-folded name sets (both empty counts 1); the publishing date as the same UTC day.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

_WS = re.compile(r"\s+")
_QUOTES = str.maketrans({c: '"' for c in "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033\u300c\u300d"}
                        | {c: "'" for c in "\u2018\u2019\u201a\u201b\u2032\u2039\u203a`\u00b4"})


@dataclass(frozen=True, slots=True)
class SnippetScore:
    """One page's snippet counts."""

    tp: int
    fp: int
    fn: int
    tn: int


def _collapse(text: str) -> str:
    return _WS.sub(" ", text).strip()


def score_snippets(predicted: str | None, with_: Sequence[str],
                   without: Sequence[str]) -> SnippetScore:
    """Count the ``with`` and ``without`` snippets found in ``predicted``."""
    text = _collapse(predicted or "")
    if not text:
        return SnippetScore(0, 0, len(with_), len(without))
    found_with = sum(1 for s in with_ if _collapse(s) in text)
    found_without = sum(1 for s in without if _collapse(s) in text)
    return SnippetScore(found_with, found_without, len(with_) - found_with,
                        len(without) - found_without)


def snippet_prf(scores: Iterable[SnippetScore]) -> tuple[float, float, float]:
    """Precision, recall and F1 from counts summed over the pages."""
    tp = fp = fn = 0
    for s in scores:
        tp, fp, fn = tp + s.tp, fp + s.fp, fn + s.fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return precision, recall, f1


def normalize_title(title: str | None) -> str:
    """NFKC, curly quotes made straight, whitespace collapsed, case folded."""
    text = unicodedata.normalize("NFKC", title or "").translate(_QUOTES)
    return _collapse(text).casefold()


def title_exact(predicted: str | None, gold: str | None) -> bool:
    """Whether two titles are equal after ``normalize_title``."""
    return normalize_title(predicted) == normalize_title(gold)


def authors_f1(predicted: Sequence[str], gold: Sequence[str]) -> float:
    """F1 of the case-folded (and whitespace-collapsed) name sets; 1.0 when both are empty."""
    pred = {_collapse(a).casefold() for a in predicted if a.strip()}
    true = {_collapse(a).casefold() for a in gold if a.strip()}
    if not pred and not true:
        return 1.0
    if not pred or not true:
        return 0.0
    hit = len(pred & true)
    return 2 * hit / (len(pred) + len(true))


def utc_day(value: datetime | date | str | None) -> date | None:
    """The UTC calendar day of a datetime, a date or an ISO string; naive times are UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.date()
        return value.astimezone(UTC).date()
    return value


def same_day(predicted: datetime | date | str | None, gold: datetime | date | str | None) -> bool:
    """Whether both fall on the same UTC day (both missing counts as agreement)."""
    return utc_day(predicted) == utc_day(gold)


@dataclass(frozen=True, slots=True)
class MetaScore:
    """One page's metadata agreement with the gold."""

    title: bool
    authors: float
    date: bool


def score_meta(title: str | None, authors: Sequence[str],
               published: datetime | date | str | None, gold: dict[str, object]) -> MetaScore:
    """Compare one page's extracted metadata with its gold entry."""
    gold_authors = gold.get("authors") or []
    assert isinstance(gold_authors, list)
    gold_date = gold.get("publishing_date")
    return MetaScore(
        title=title_exact(title, str(gold.get("title") or "")),
        authors=authors_f1(list(authors), [str(a) for a in gold_authors]),
        date=same_day(published, gold_date if isinstance(gold_date, str) else None),
    )


def meta_means(scores: Sequence[MetaScore]) -> tuple[float, float, float]:
    """Title exact share, mean authors F1, date same-day share."""
    n = len(scores) or 1
    return (sum(s.title for s in scores) / n, sum(s.authors for s in scores) / n,
            sum(s.date for s in scores) / n)
