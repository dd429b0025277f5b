"""Words, shingles and snippets: the text handling shared by search and story clustering.

Pure functions over ``str``. Tokenisation folds case and accents and keeps runs of letters and
digits, the same rule the search index applies in SQL (``warehouse/sql/search_macros.sql``), so a
word the analyst types matches the word the index stored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

# Letters and digits of any script; underscores are not word characters here.
_WORD = re.compile(r"[^\W_]+", re.UNICODE)

# Function words that carry no topic. Kept short on purpose: a long list starts eating names.
STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself
    just me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own said same says she should so some such than that the their theirs them themselves then
    there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours yourself yourselves also s t
    """.split()  # noqa: SIM905  # a word list reads better as prose
)


def fold(text: str) -> str:
    """Lower-case and strip accents (``Zürich`` -> ``zurich``)."""
    if text.isascii():  # the common case, and 30x cheaper than decomposing
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    # combining marks are never ASCII: only the non-ASCII runs are looked at character by
    # character (a mostly-ASCII text with a few accents no longer pays for every character)
    return _NON_ASCII.sub(_strip_combining, decomposed)


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _strip_combining(run: re.Match[str]) -> str:
    return "".join(c for c in run.group(0) if not unicodedata.combining(c))


def words(text: str | None) -> list[str]:
    """The folded words of ``text`` in order (empty for ``None``)."""
    if not text:
        return []
    return _WORD.findall(fold(text))


def content_words(text: str | None, *, min_len: int = 3) -> list[str]:
    """Words that carry topic: no stopwords, no short tokens, no bare numbers under 4 digits."""
    return [
        w for w in words(text)
        if w not in STOPWORDS and len(w) >= min_len and not (w.isdigit() and len(w) < 4)
    ]


def shingles(tokens: Sequence[str], size: int = 5) -> set[str]:
    """Overlapping runs of ``size`` words, joined by spaces (one shingle for shorter texts)."""
    if not tokens:
        return set()
    if len(tokens) <= size:
        return {" ".join(tokens)}
    return {" ".join(tokens[i:i + size]) for i in range(len(tokens) - size + 1)}


def lead_tokens(title: str | None, text: str | None, *, lead_words: int = 60) -> tuple[str, ...]:
    """Sorted distinct content words of the title and the first ``lead_words`` words of the text.

    The title and lead name the event (who, where, what); two outlets reporting the same event in
    their own words still share most of them.
    """
    lead = " ".join((text or "").split()[:lead_words])
    return tuple(sorted(set(content_words(title)) | set(content_words(lead))))


def jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    """|a & b| / |a | b| of two token collections (0.0 when both are empty)."""
    sa, sb = set(a), set(b)
    union = len(sa | sb)
    return len(sa & sb) / union if union else 0.0


def snippet(text: str | None, query: str, *, width: int = 160) -> str:
    """A ``width``-character window of ``text`` around the first query word it contains.

    Matching is on folded word prefixes (``elections`` finds ``election``), which is what the
    stemmed index matched on. Falls back to the start of the text; ellipses mark cuts.
    """
    if not text:
        return ""
    flat = " ".join(text.split())
    folded = fold(flat)
    # fold() can change length for a few characters (e.g. ligatures); then search the original.
    haystack = folded if len(folded) == len(flat) else flat.lower()
    start = -1
    for word in content_words(query, min_len=2) or words(query):
        stem = word[: max(4, len(word) - 2)] if len(word) > 4 else word
        match = re.search(r"\b" + re.escape(stem), haystack)
        if match and (start < 0 or match.start() < start):
            start = match.start()
    if start < 0:
        start = 0
    begin = max(0, start - width // 3)
    if begin > 0:
        space = flat.find(" ", begin)
        begin = space + 1 if 0 <= space < start else begin
    end = min(len(flat), begin + width)
    if end < len(flat):
        space = flat.rfind(" ", begin, end)
        end = space if space > start else end
    cut = flat[begin:end].strip()
    return ("…" if begin > 0 else "") + cut + ("…" if end < len(flat) else "")
