"""Keywords of an article: the words that say what it is about, weighted by how rare they are.

Two outlets reporting one event in their own words share few sentences, but they share the
event's rare words: the people, places and organisations (``Carlineo``, ``Europa``, ``NYAG``), the
thing that happened (``duvet``, ``pneumonitis``, ``hibernation``). A word's rarity is read from a
fixed table of word frequencies in general text (the ``wordfreq`` package: 40+ languages, shipped
inside the package, no download), not from the articles at hand, so the weight of a word, and
with it the similarity of two articles, depends only on those two articles: stories built
incrementally equal a rebuild.

Pure: text in, weighted words out. The tables are loaded once per language and process.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections import Counter
from collections.abc import Mapping

from transforms.tokens import STOPWORDS

# Letters and digits of any script, as transforms.tokens reads words; case is folded but not
# accents here, because the frequency tables spell words with theirs ("für", "élection").
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_TOKEN = re.compile(r"\S+")

log = logging.getLogger(__name__)

# Frequency given to a word missing from the tables (a name, a technical term): rarer than the
# rarest listed word (~1e-6 in the small lists), so unknown words weigh most.
_FLOOR = 1e-7
_MAX_IDF = -math.log10(_FLOOR)
# Languages without a table of their own are weighed with English's alone.
_FALLBACK = "en"
_YEARS = range(1900, 2101)


@functools.lru_cache(maxsize=64)
def frequencies(language: str) -> Mapping[str, float]:
    """Word -> frequency in general text of ``language`` (the small wordfreq list; empty if none)."""
    try:
        from wordfreq import available_languages, get_frequency_dict
    except ImportError:  # pragma: no cover - a declared dependency; stories then weigh words alike
        log.warning("wordfreq is not installed: keyword weights ignore word frequency")
        return {}
    if language not in available_languages("small"):
        return {}
    table: Mapping[str, float] = get_frequency_dict(language, "small")
    return table


@functools.lru_cache(maxsize=1 << 18)
def idf(word: str, language: str | None) -> float:
    """How rare ``word`` is in general text: -log10 of its frequency, 0 (common) to 7 (unknown).

    Cached: an article's words are mostly words other articles had.
    """
    english = frequencies(_FALLBACK)
    freq = english.get(word, 0.0)
    if language and language != _FALLBACK:
        freq = max(freq, frequencies(language).get(word, 0.0))
    if word.endswith("n"):  # "didn't" is read as "didn" and "t"; the table has "didn't"
        freq = max(freq, english.get(word + "'t", 0.0))
    return -math.log10(max(freq, _FLOOR))


def _countable(word: str) -> bool:
    if word in STOPWORDS or len(word) < 3:
        return False
    if word.isdigit():
        # A year says when, not what: every article of a year shares it. Other numbers of three
        # or more digits (a toll, a vote count, a sum) are part of what happened.
        return not (len(word) == 4 and int(word) in _YEARS)
    return True


def _top(counts: Counter[str], language: str | None, top: int) -> dict[str, float]:
    # Counted first, filtered once per distinct word (not once per occurrence).
    scored = {w: (1 + math.log(c)) * idf(w, language) for w, c in counts.items() if _countable(w)}
    best = sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return {w: round(s, 3) for w, s in best if s > 0}


def keywords(title: str | None, text: str | None, language: str | None, *,
             lead_words: int = 200, top: int = 24) -> dict[str, float]:
    """The ``top`` words of the title and the first ``lead_words`` words of the text, by tf-idf.

    The title counts twice: it names the event. Term frequency is sublinear (1 + log tf), so a
    word repeated down a long lead does not drown the others. Ties are broken by the word, so
    the result is deterministic.
    """
    return event_keywords(title, text, language, lead_words=lead_words, lead_top=top,
                          body_top=0)[0]


def event_keywords(title: str | None, text: str | None, language: str | None, *,
                   lead_words: int, lead_top: int, body_top: int,
                   ) -> tuple[dict[str, float], dict[str, float]]:
    """Keywords of the title and lead, and of the title and whole text (``body_top`` of them),
    from one reading of the text (see ``keywords``)."""
    head = [w for w in _WORD.findall((title or "").lower()) if _countable(w)] * 2
    found = _WORD.findall((text or "").lower())
    # The lead: the words among the first ``lead_words`` whitespace-separated tokens of the text
    # (found without splitting the whole text).
    lead_end = 0
    for n, token in enumerate(_TOKEN.finditer(text or ""), start=1):
        lead_end = token.end()
        if n >= lead_words:
            break
    lead = _WORD.findall((text or "")[:lead_end].lower())
    lead_kw = _top(Counter(head) + Counter(lead), language, lead_top)
    body_kw = _top(Counter(head) + Counter(found), language, body_top) if body_top else {}
    return lead_kw, body_kw


def weights(terms: Mapping[str, float] | tuple[str, ...], language: str | None) -> dict[str, float]:
    """Unit-length vector of ``terms``: their idf when given as bare words (stored keywords)."""
    raw = dict(terms) if isinstance(terms, Mapping) else {t: idf(t, language) for t in terms}
    norm = math.sqrt(sum(v * v for v in raw.values()))
    return {t: v / norm for t, v in raw.items()} if norm else {}


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Dot product of two unit-length keyword vectors, in [0, 1]."""
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b[t] for t, v in a.items() if t in b)


__all__ = ["cosine", "event_keywords", "frequencies", "idf", "keywords", "weights"]
