"""Stories across outlets: link near-duplicate and same-event articles, then cluster the links.

Pure and deterministic. Two articles are linked when, within ``window_days`` of each other:
- their texts are near-duplicates: MinHash (word 5-shingles, 128 permutations) finds them through
  LSH and the estimated Jaccard similarity is at least ``near_duplicate``; on different outlets,
  when at least ``syndicated`` of the shorter text is contained in the other, the later one is a
  syndicated copy of the earlier (containment, not Jaccard: copies are trimmed and credited);
- or, published by different outlets within ``same_event_hours``, they report the same event in
  their own words (``same_event_score``, two views of the words, averaged): the rare words of
  each headline and lead, weighted by their rarity in general text (transforms.keywords), are
  found among the other article's keywords (the geometric mean of both ways round), and the two
  texts' tf-idf keyword vectors point the same way (cosine); the score must reach
  ``same_event``, and the two must share at least ``min_shared_entities`` names and numbers
  (capitalised phrases and figures of the whole text: who, where, how many), a name counting as
  shared when the other text has it, or ends with it or is ended by it ("Mitch McConnell",
  "McConnell"), or has it as initials ("ESA", "European Space Agency"). Shared text is not
  needed: real outlets rewrite.
Whether a pair is linked depends only on the pair, never on what else was in the batch, so the
stories built incrementally (new articles against their time window) equal a full rebuild.
Stories are the connected components of two or more articles; a story's id is a hash of its
earliest member, so it is stable while that member stays first.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import json
import re
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from transforms.keywords import event_keywords
from transforms.tokens import STOPWORDS, fold, shingles, words


class LinkKind(StrEnum):
    """Why two articles belong to one story (strongest first)."""

    SYNDICATED = "syndicated"          # the same text on different outlets
    NEAR_DUPLICATE = "near_duplicate"  # largely the same text (same outlet, or edited more)
    SAME_EVENT = "same_event"          # different words, same names, numbers and time


# Version of what sign() stores: stored signatures of another version are signed again (the
# warehouse compares it), so a change to sign() never mixes old and new signatures.
SIGNATURE_VERSION = "3"

# datasketch's hashing scheme, pinned: stored signatures must stay comparable across upgrades.
_SCHEME = "affine32"
# datasketch's affine32 constants: permutations are (a * h + b) mod the prime, cut to 32 bits.
_PRIME = np.uint64((1 << 61) - 1)
_MAX_HASH = np.uint64((1 << 32) - 1)

_STRENGTH = {LinkKind.SYNDICATED: 3, LinkKind.NEAR_DUPLICATE: 2, LinkKind.SAME_EVENT: 1}


@dataclass(frozen=True, slots=True)
class StoryOptions:
    """Thresholds of the clustering; the defaults are measured by ``bench/stories.py``."""

    num_perm: int = 128
    shingle_size: int = 5
    seed: int = 1
    lsh_threshold: float = 0.5
    near_duplicate: float = 0.5
    syndicated: float = 0.75
    window_days: float = 3.0
    same_event_density: float = 0.5
    # Same event in other words (measured on bench/labels, the real set, and the synthetic sets:
    # bench/stories.py). The lead: its first words and the title (counted twice).
    same_event: float = 0.38
    same_event_lead: float = 0.45
    same_event_hours: float = 48.0
    min_shared_entities: int = 3
    # A pair is looked at (besides LSH) when it shares min_shared_entities names and numbers
    # spelled alike, or one fewer and at least this many lead keywords.
    min_shared_lead_words: int = 3
    lead_words: int = 40
    lead_keywords: int = 10
    body_keywords: int = 300


@dataclass(frozen=True, slots=True)
class StoryDoc:
    """What clustering reads of an article. ``event_at``: published_at, else first seen;
    ``language``: ISO 639-1 code of the text, which word frequencies weigh its keywords."""

    article_key: str
    outlet: str | None
    event_at: datetime
    title: str | None
    text: str | None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Signature:
    """An article reduced to what linking needs; stored so old articles are not re-read."""

    article_key: str
    outlet: str | None
    event_at: datetime
    title: str | None
    minhash: tuple[int, ...]
    shingles: int
    # What same-event linking reads, one token each: the lead's keywords with their weights
    # ('#word=weight'), the whole text's keywords with theirs ('+word=weight'), its names and
    # numbers ('&name').
    lead_tokens: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Edge:
    """A link between two articles, ``article_a < article_b``."""

    article_a: str
    article_b: str
    kind: LinkKind
    score: float


@dataclass(frozen=True, slots=True)
class Story:
    story_id: str
    title: str | None
    first_article_key: str
    first_outlet: str | None
    first_published_at: datetime
    last_published_at: datetime
    article_count: int
    outlet_count: int
    outlets: tuple[str, ...]
    syndicated_count: int


@dataclass(frozen=True, slots=True)
class StoryMember:
    article_key: str
    story_id: str
    outlet: str | None
    published_at: datetime
    position: int
    similarity: float
    link_kind: LinkKind
    is_syndicated: bool
    syndicated_from: str | None


# A capitalised word that does not start a sentence: most likely a name (person, place, body).
_CAP = r"(?:[A-Z][\w'\u2019-]*[a-z][\w'\u2019-]*|[A-Z]{2,})"
# A run of capitalised words is one name ("Rushden Moor"); a lone capitalised word that opens a
# sentence is most likely just the sentence's first word.
_NAME = re.compile(rf"\b({_CAP}(?:[ ]{_CAP})*)\b")
_SENTENCE_END = '.!?:"\u201c\u2018'  # what ends a sentence (or opens a quote) before a word
_NUMBER = re.compile(r"\b\d[\d,.]*\d\b|\b\d{2,}\b")


# Capitalised but no name: days and months say when, not who or where.
_NOT_NAMES = frozenset(re.findall(
    r"\w+",
    "monday tuesday wednesday thursday friday saturday sunday january february march april may "
    "june july august september october november december jan feb mar apr jun jul aug sep sept "
    "oct nov dec today yesterday",
))


def _opens_sentence(text: str, start: int) -> bool:
    """Whether the word at ``start`` opens the text, or a sentence (end mark, then space).

    Looks back a few characters only: a scan of the whole prefix for every name made signing
    long texts quadratic."""
    if start == 0:
        return True
    before = text[max(0, start - 64):start]
    mark = before.rstrip()
    return len(mark) < len(before) and mark[-1:] != "" and mark[-1] in _SENTENCE_END


@functools.lru_cache(maxsize=1 << 16)
def _name_of(phrase: str) -> str | None:
    """A capitalised phrase as a name: folded words, without stopwords, days and months (cached:
    the same people and places recur across articles)."""
    parts = [w for w in words(phrase)
             if w not in STOPWORDS and w not in _NOT_NAMES and len(w) >= 3]
    return " ".join(parts) if parts else None


def _names(text: str) -> set[str]:
    found = set()
    for match in _NAME.finditer(text):
        phrase = match.group(1)
        if " " not in phrase and _opens_sentence(text, match.start()):
            continue
        name = _name_of(phrase)
        if name:
            found.add(name)
    found |= {fold(m.group(0)).replace(",", "") for m in _NUMBER.finditer(text)}
    return found


# Joins a TextSign's sorted lead tokens into one string (a token is words, names or figures).
_TOKEN_SEP = "\x1f"


@dataclass(frozen=True, slots=True)
class TextSign:
    """What ``sign`` reads of an article's title, text and language, worked out once where the
    text was extracted (an extraction worker, ``text_sign``) so the writer only finishes it.

    ``source`` names the inputs and options it was made from (``text_source``): the writer uses
    it only for an article whose title, text and language are those, else signs it itself."""

    source: str
    crcs: Any
    """A CRC-32 of each distinct word shingle (a numpy uint64 array): the MinHash's input."""
    tokens: str
    """The lead tokens of the Signature, sorted, joined by U+001F (one string pickles small)."""


def text_source(title: str | None, text: str | None, language: str | None,
                options: StoryOptions = StoryOptions()) -> str:
    """What a TextSign depends on, as one digest (the text and the options that shape it)."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (SIGNATURE_VERSION, str(options.shingle_size), str(options.lead_words),
                 str(options.lead_keywords), str(options.body_keywords), language or "",
                 title or ""):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    digest.update((text or "").encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def presigned_for(doc: StoryDoc, presigned: Mapping[str, TextSign] | None,
                  options: StoryOptions = StoryOptions()) -> TextSign | None:
    """The worker's reading of this article's words, when one was made from the same title,
    text and language with the same options (the writer's article may differ: another version
    won, the title came from the feed); else None."""
    if not presigned:
        return None
    return presigned.get(text_source(doc.title, doc.text, doc.language, options))


def text_sign(title: str | None, text: str | None, language: str | None,
              options: StoryOptions = StoryOptions()) -> TextSign:
    """The part of ``sign`` that reads the words (most of its cost): shingle hashes, keywords,
    names and numbers. Needs no MinHash permutations, so a worker computes it cheaply."""
    grams = shingles(words(text), options.shingle_size)
    lead_kw, body_kw = event_keywords(
        title, text, language, lead_words=options.lead_words,
        lead_top=options.lead_keywords, body_top=options.body_keywords)
    tokens = {f"#{w}={weight:g}" for w, weight in lead_kw.items()}
    tokens.update("+" + w for w in body_kw)
    tokens.update("&" + n for n in _names(f"{title or ''}. {text or ''}"))
    # The text keywords' weights, in the order of their sorted '+' tokens, as one token: read
    # only when a pair's lead words agree (see _Prepared.text_vector).
    tokens.add("~" + ",".join(str(round(body_kw[w] * 10)) for w in sorted(body_kw)))
    crcs = np.fromiter((zlib.crc32(g.encode("utf-8")) for g in grams), dtype=np.uint64,
                       count=len(grams))
    return TextSign(text_source(title, text, language, options), crcs,
                    _TOKEN_SEP.join(sorted(tokens)))


def sign(doc: StoryDoc, options: StoryOptions = StoryOptions(),
         read: TextSign | None = None) -> Signature:
    """The MinHash of the text's word shingles and the title/lead tokens of one article.
    ``read``: this article's words as a worker read them (``text_sign``; its ``source`` must be
    ``text_source`` of this title, text and language with these options), else read here."""
    part = read if read is not None else text_sign(doc.title, doc.text, doc.language, options)
    return Signature(
        article_key=doc.article_key,
        outlet=doc.outlet,
        event_at=doc.event_at,
        title=doc.title,
        minhash=_minhash_values(part.crcs, options),
        shingles=len(part.crcs),
        lead_tokens=tuple(part.tokens.split(_TOKEN_SEP)) if part.tokens else (),
    )


def _minhash_values(crcs: Any, options: StoryOptions) -> tuple[int, ...]:
    """MinHash values of the shingles' CRC-32s: datasketch's affine permutations (computed here
    in one numpy step: building a datasketch MinHash per article cost more than the hashing).
    An empty text keeps the maximal values, as datasketch does."""
    a, b = _permutations(options.num_perm, options.seed)
    if not len(crcs):
        return (int(_MAX_HASH),) * options.num_perm
    values = np.bitwise_and((crcs[:, None] * a + b) % _PRIME, _MAX_HASH).min(axis=0)
    return tuple(values.tolist())


def estimated_jaccard(a: Signature, b: Signature) -> float:
    """Share of equal MinHash values: an unbiased estimate of the shingle Jaccard similarity."""
    return _jaccard(_Prepared.of(a), _Prepared.of(b))


def containment(a: Signature, b: Signature) -> float:
    """Estimated share of the shorter text's shingles found in the other, in [0, 1].

    A re-published wire story is often trimmed or given a credit line: its Jaccard similarity to
    the original drops with the trim, but nearly all of it is still contained in the original.
    """
    return _containment(_jaccard(_Prepared.of(a), _Prepared.of(b)), a, b)


def same_event_score(a: Signature, b: Signature) -> float:
    """How surely two differently worded articles report one event, in [0, 1].

    The mean of two views of their words. The lead view: the idf-weighted share of each lead's
    keywords (headline counted twice) found among the other article's keywords, both ways round,
    combined by their geometric mean: an event's rare words (who, where, what happened) are in
    both leads and run through both texts, while a shared topic or a shared name covers only part
    of a lead. The text view: the cosine of the two texts' tf-idf keyword vectors, which weighs
    the whole report (a comment piece or a live blog names the event deep in the text, not in its
    lead). Outlets and dates are not looked at here (see ``judge``).
    """
    return _same_event(_Prepared.of(a), _Prepared.of(b))


class _Prepared:
    """A signature in the shapes the pairwise tests need (built once per article in link())."""

    __slots__ = ("_forms", "_text", "_weights", "body_kw", "entities", "lead_kw", "lead_weight",
                 "lead_words", "minhash", "sig")

    def __init__(self, sig: Signature) -> None:
        self.sig = sig
        self.minhash = np.asarray(sig.minhash, dtype=np.uint64)
        entities, body = set(), []
        self.lead_kw: dict[str, float] = {}     # the lead's keywords and their weights
        self._weights = ""
        for t in sig.lead_tokens:
            head = t[:1]
            if head == "&":
                entities.add(t[1:])
            elif head == "+":
                body.append(t[1:])
            elif head == "#":
                word, _, weight = t.rpartition("=")
                self.lead_kw[word[1:]] = float(weight)
            elif head == "~":
                self._weights = t[1:]
        self.lead_weight = sum(self.lead_kw.values())
        self.lead_words = frozenset(self.lead_kw)
        self.body_kw = frozenset(body)          # the whole text's keywords
        self.entities = frozenset(entities)     # the whole text's names and numbers
        self._text: dict[str, float] | None = None
        self._forms: frozenset[str] | None = None

    @classmethod
    def of(cls, sig: Signature) -> _Prepared:
        return cls(sig)

    def forms(self) -> frozenset[str]:
        """Other spellings of the text's names: their last words, their initials (on demand)."""
        if self._forms is None:
            self._forms = frozenset(f for name in self.entities for f in _forms(name))
        return self._forms

    def text_vector(self) -> dict[str, float]:
        """The text's keywords with their tf-idf weights, of unit length (read once, on demand)."""
        if self._text is None:
            words_ = sorted(self.body_kw)
            weights = [float(w) for w in self._weights.split(",")] if self._weights else []
            if len(weights) != len(words_):   # no weights stored: the keywords weigh alike
                weights = [1.0] * len(words_)
            norm = float(np.sqrt(sum(v * v for v in weights)))
            self._text = {w: v / norm for w, v in zip(words_, weights, strict=True)} if norm \
                else {}
        return self._text


def _jaccard(a: _Prepared, b: _Prepared) -> float:
    if not a.sig.shingles or not b.sig.shingles or len(a.minhash) != len(b.minhash) \
            or not len(a.minhash):
        return 0.0
    return int(np.count_nonzero(a.minhash == b.minhash)) / len(a.minhash)


def _containment(jac: float, a: Signature, b: Signature) -> float:
    if not jac:
        return 0.0
    shared = jac * (a.shingles + b.shingles) / (1 + jac)
    return min(1.0, shared / min(a.shingles, b.shingles))


def _same_event(a: _Prepared, b: _Prepared) -> float:
    return (_lead_view(a, b) + _text_view(a, b)) / 2


def _lead_view(a: _Prepared, b: _Prepared) -> float:
    """Each lead's keywords found among the other's text keywords (idf-weighted share), both
    ways round, combined by their geometric mean."""
    if not a.lead_weight or not b.lead_weight:
        return 0.0
    ab = sum(w for t, w in a.lead_kw.items() if t in b.body_kw) / a.lead_weight
    ba = sum(w for t, w in b.lead_kw.items() if t in a.body_kw) / b.lead_weight
    return float(np.sqrt(ab * ba))


def _text_view(a: _Prepared, b: _Prepared) -> float:
    """Cosine of the two texts' tf-idf keyword vectors."""
    small, large = sorted((a.text_vector(), b.text_vector()), key=len)
    return min(1.0, sum(v * large[t] for t, v in small.items() if t in large))


@dataclass(frozen=True, slots=True)
class Candidate:
    """A pair that may be linked, as the index (in memory, or the store's stored keys) found it.

    ``article_key`` is one of the new articles; ``other_key`` is a stored one, or a new one whose
    key sorts after it (each pair once). ``bucket``: the two share an LSH bucket; ``names``: how
    many names and numbers, spelled alike, the two share (0 when not counted: fewer than
    ``min_shared_entities - 1``)."""

    article_key: str
    other_key: str
    bucket: bool
    names: int


def band_keys(sig: Signature, options: StoryOptions = StoryOptions()) -> list[tuple[int, ...]]:
    """The LSH bucket of each band of an article's MinHash (its values in that band), in band
    order; none for an article without text. Two articles are near-duplicate candidates when
    one band's bucket is the same in both: the keys the store keeps (core.story_bands)."""
    if not has_bands(sig, options):
        return []
    bands, rows = band_shape(options)
    return [tuple(sig.minhash[i * rows:(i + 1) * rows]) for i in range(bands)]


def band_shape(options: StoryOptions = StoryOptions()) -> tuple[int, int]:
    """LSH bands and rows per band of these options: a band's bucket is its ``rows`` values."""
    return _bands(options.lsh_threshold, options.num_perm)


def has_bands(sig: Signature, options: StoryOptions = StoryOptions()) -> bool:
    """Whether an article has LSH buckets (``band_keys``): it has text and a full MinHash."""
    bands, rows = band_shape(options)
    return bool(sig.shingles) and len(sig.minhash) >= bands * rows


def name_keys(sig: Signature) -> frozenset[str]:
    """The names and numbers of an article (same-event candidates share them): the keys the
    store keeps (core.story_names)."""
    return frozenset(t[1:] for t in sig.lead_tokens if t[:1] == "&")


def lead_keys(sig: Signature) -> frozenset[str]:
    """The keywords of an article's lead (a pair sharing one name fewer than enough is judged only
    when its leads share ``min_shared_lead_words`` of them): the keys the store keeps
    (core.story_lead_words)."""
    return frozenset(t.rpartition("=")[0][1:] for t in sig.lead_tokens if t[:1] == "#")


def names_agree(pair: Candidate, names_a: frozenset[str], names_b: frozenset[str],
                options: StoryOptions = StoryOptions()) -> bool:
    """Whether a candidate pair may be linked as far as its names tell: always when it shares an
    LSH bucket or enough names spelled alike; with one name fewer, when the names of the two
    (``name_keys``, of ``pair.article_key`` and ``pair.other_key``) agree, spelled as each other's
    tails or initials, on enough of them (the rest of the rule is in ``link_candidates``)."""
    enough = options.min_shared_entities
    if pair.bucket or pair.names >= enough:
        return True
    return _shared_names(_names_only(names_a), _names_only(names_b), enough) >= enough


@functools.lru_cache(maxsize=1 << 12)
def _names_only(names: frozenset[str]) -> _Prepared:
    return _Prepared(Signature("", None, datetime.min, None, (), 0,
                               tuple("&" + n for n in names)))


def link(
    new: Sequence[Signature], window: Sequence[Signature], options: StoryOptions = StoryOptions()
) -> list[Edge]:
    """Edges between each of ``new`` and every other article of ``new`` + ``window``.

    ``window`` holds the stored articles near the new ones in time (duplicates of ``new`` are
    ignored). A pair is judged when LSH puts it in a common bucket, or when it shares at least
    ``min_shared_entities`` names and numbers spelled alike, or one fewer and at least
    ``min_shared_lead_words`` lead keywords (the other names may be spelled differently: see
    ``shared_names``); all depend only on the pair, so the result does not depend on the batching.
    The candidates come from an index of ``new`` + ``window`` built here; the store finds the
    same candidates by its stored keys (warehouse.stories) and judges them with
    ``link_candidates``.
    """
    pool: dict[str, Signature] = {s.article_key: s for s in window}
    pool.update({s.article_key: s for s in new})
    return link_candidates(new, list(pool.values()), candidates(new, window, options), options)


def candidates(
    new: Sequence[Signature], window: Sequence[Signature], options: StoryOptions = StoryOptions()
) -> list[Candidate]:
    """The candidate pairs of ``new`` against ``new`` + ``window``, from an index built in
    memory (what warehouse/sql/story_candidates.sql finds by the stored keys), in key order."""
    span = timedelta(days=options.window_days)
    pool: dict[str, Signature] = {s.article_key: s for s in window}
    pool.update({s.article_key: s for s in new})
    buckets: dict[tuple[int, tuple[int, ...]], list[str]] = defaultdict(list)
    by_name: dict[str, list[str]] = defaultdict(list)
    for key in sorted(pool):
        for band, bucket in enumerate(band_keys(pool[key], options)):
            buckets[(band, bucket)].append(key)
        for name in name_keys(pool[key]):
            by_name[name].append(key)
    fresh = {s.article_key for s in new}
    nearly = max(1, options.min_shared_entities - 1)
    out: list[Candidate] = []
    for sig in sorted(new, key=lambda s: s.article_key):
        me = sig.article_key
        near: set[str] = set()
        for band, bucket in enumerate(band_keys(sig, options)):
            near.update(buckets[(band, bucket)])
        shared: Counter[str] = Counter()
        for name in name_keys(sig):
            shared.update(by_name[name])
        for other in sorted(near | {k for k, n in shared.items() if n >= nearly}):
            if other == me or (other in fresh and other < me):
                continue  # each pair once: from its new side, the smaller key when both are new
            if abs(pool[other].event_at - sig.event_at) > span:
                continue
            n = shared.get(other, 0)
            out.append(Candidate(me, other, other in near, n if n >= nearly else 0))
    return out


def link_candidates(
    new: Sequence[Signature], others: Sequence[Signature], found: Iterable[Candidate],
    options: StoryOptions = StoryOptions(),
) -> list[Edge]:
    """Judge the candidate pairs ``found`` (see ``Candidate``); ``others`` holds the signatures of
    their other articles (more are ignored). A pair sharing only one name fewer than
    ``min_shared_entities`` can only be a same-event link (a copy shares more), so it is judged
    only when it comes from two outlets, close in time, whose leads say the same."""
    span = timedelta(days=options.window_days)
    hours = timedelta(hours=options.same_event_hours)
    enough, lead_words = options.min_shared_entities, options.min_shared_lead_words
    prepared: dict[str, _Prepared] = {}

    def get(key: str, sig: Signature) -> _Prepared:
        p = prepared.get(key)
        if p is None:
            p = prepared[key] = _Prepared.of(sig)
        return p

    sigs: dict[str, Signature] = {s.article_key: s for s in others}
    sigs.update({s.article_key: s for s in new})
    edges: dict[tuple[str, str], Edge] = {}
    for c in found:
        a_sig, b_sig = sigs[c.article_key], sigs[c.other_key]
        if abs(a_sig.event_at - b_sig.event_at) > span:
            continue
        me, other = get(c.article_key, a_sig), get(c.other_key, b_sig)
        # One name fewer: only from another outlet, close in time, whose lead says the same.
        if not c.bucket and c.names < enough and (
                not c.names or a_sig.outlet == b_sig.outlet
                or abs(a_sig.event_at - b_sig.event_at) > hours
                or len(me.lead_words & other.lead_words) < lead_words
                or _shared_names(me, other, enough) < enough):
            continue
        edge = _judge(me, other, options)
        if edge is not None:
            edges[(edge.article_a, edge.article_b)] = edge
    return [edges[p] for p in sorted(edges)]


def judge(a: Signature, b: Signature, options: StoryOptions = StoryOptions()) -> Edge | None:
    """The link between two articles, or ``None``. (Time window not checked here.)"""
    return _judge(_Prepared.of(a), _Prepared.of(b), options)


def _judge(pa: _Prepared, pb: _Prepared, options: StoryOptions) -> Edge | None:
    a, b = pa.sig, pb.sig
    first, second = sorted((a.article_key, b.article_key))
    jac = _jaccard(pa, pb)
    if jac >= options.near_duplicate:
        cross = a.outlet != b.outlet
        kind = LinkKind.SYNDICATED if cross and _containment(jac, a, b) >= options.syndicated \
            else LinkKind.NEAR_DUPLICATE
        return Edge(first, second, kind, round(jac, 4))
    # One outlet's articles share its house style, recurring names and topics: only different
    # outlets reporting the same thing make a same-event link (an outlet's follow-ups still join
    # the story through the other outlets' reports).
    if a.outlet == b.outlet or abs(a.event_at - b.event_at) > timedelta(
            hours=options.same_event_hours):
        return None
    # Cheapest first: the lead words, the names, then the whole texts.
    lead = _lead_view(pa, pb)
    if lead < options.same_event_lead:
        return None
    # One shared name is a coincidence; who, where and how many make an event.
    if _shared_names(pa, pb, options.min_shared_entities) < options.min_shared_entities:
        return None
    score = (lead + _text_view(pa, pb)) / 2
    if score < options.same_event:
        return None
    return Edge(first, second, LinkKind.SAME_EVENT, round(score, 4))


@functools.lru_cache(maxsize=1 << 16)
def _forms(name: str) -> tuple[str, ...]:
    """Shorter spellings of a name of several words: each of its tails ("mcconnell" for "mitch
    mcconnell") and, for three words or more, its initials ("esa")."""
    parts = name.split()
    if len(parts) < 2 or name[:1].isdigit():
        return ()
    tails = tuple(" ".join(parts[i:]) for i in range(1, len(parts)))
    return (*tails, "".join(p[0] for p in parts)) if len(parts) >= 3 else tails


def _shared_names(a: _Prepared, b: _Prepared, enough: int) -> int:
    exact = a.entities & b.entities
    found = len(exact)
    if found >= enough:
        return found
    rest_b = b.entities - exact
    forms_b = b.forms()
    for x in a.entities - exact:
        if x in forms_b or not rest_b.isdisjoint(_forms(x)):
            found += 1
            if found >= enough:
                break
    return found


def shared_names(a: frozenset[str], b: frozenset[str], enough: int = 1 << 30) -> int:
    """How many names (and numbers) of ``a`` the other text ``b`` has: as such, or spelled as
    one of the other's tails or initials, or the other way round ("McConnell" and "Mitch
    McConnell", "ESA" and "European Space Agency"); counting stops at ``enough``."""
    sig_a = Signature("a", None, datetime.min, None, (), 0, tuple("&" + n for n in a))
    sig_b = Signature("b", None, datetime.min, None, (), 0, tuple("&" + n for n in b))
    return _shared_names(_Prepared(sig_a), _Prepared(sig_b), enough)


# datasketch's answers for the default options, kept beside this module so that a run does not
# import datasketch (and the scipy it loads: 0.5-0.7 CPU s, in every run's writer) to learn 258
# numbers; other options ask datasketch. tests/transforms/test_stories.py checks the file against
# datasketch (and says how to write it again when a datasketch upgrade changes its answers).
PARAMS_FILE = Path(__file__).with_name("minhash_params.json")


def datasketch_params(num_perm: int, seed: int, threshold: float) -> dict[str, Any]:
    """What datasketch answers for these options: the permutations of ``MinHash`` (scheme
    ``_SCHEME``) and the bands and rows ``MinHashLSH`` chooses; the content of PARAMS_FILE for
    the default options."""
    a, b = _datasketch_permutations(num_perm, seed)
    return {"permutations": {_params_key(num_perm, seed): [a.tolist(), b.tolist()]},
            "bands": {_params_key(threshold, num_perm): list(_datasketch_bands(threshold,
                                                                               num_perm))}}


def _datasketch_permutations(num_perm: int, seed: int) -> Any:
    from datasketch import MinHash

    return MinHash(num_perm=num_perm, seed=seed, scheme=_SCHEME).permutations


def _datasketch_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


def _params_key(*values: object) -> str:
    return ":".join([_SCHEME, *map(repr, values)])


@functools.lru_cache(maxsize=1)
def _kept_params() -> dict[str, Any]:
    try:
        return dict(json.loads(PARAMS_FILE.read_text(encoding="utf-8")))
    except (OSError, ValueError):  # missing or damaged: ask datasketch
        return {}


@functools.lru_cache(maxsize=4)
def _permutations(num_perm: int, seed: int) -> Any:
    """The hash permutations of a (num_perm, seed): drawn once, not for every article; kept in
    PARAMS_FILE for the defaults, else from datasketch (loaded on first use: a worker signing
    texts needs neither)."""
    kept = _kept_params().get("permutations", {}).get(_params_key(num_perm, seed))
    if kept is not None:
        return np.array(kept, dtype=np.uint32)
    return _datasketch_permutations(num_perm, seed)


@functools.lru_cache(maxsize=8)
def _bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """LSH bands and rows per band for a Jaccard threshold: datasketch's choice (it weighs false
    positives and negatives alike), worked out once rather than for every batch; kept in
    PARAMS_FILE for the defaults."""
    kept = _kept_params().get("bands", {}).get(_params_key(threshold, num_perm))
    if kept is not None:
        return int(kept[0]), int(kept[1])
    return _datasketch_bands(threshold, num_perm)


def story_id(first_article_key: str) -> str:
    """Deterministic id of the story whose earliest member is ``first_article_key``."""
    return hashlib.sha256(f"story\x1f{first_article_key}".encode()).hexdigest()[:16]


def _order(sig: Signature) -> tuple[datetime, str]:
    return (sig.event_at, sig.article_key)


def _components(keys: Iterable[str], edges: Sequence[Edge]) -> list[list[str]]:
    parent = {k: k for k in keys}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for e in edges:
        if e.article_a in parent and e.article_b in parent:
            ra, rb = find(e.article_a), find(e.article_b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = defaultdict(list)
    for k in parent:
        groups[find(k)].append(k)
    return [sorted(g) for g in groups.values() if len(g) > 1]


def _groups(keys: Iterable[str], edges: Sequence[Edge], min_density: float) -> list[list[str]]:
    """Articles grouped into stories.

    Shared text (syndicated, near-duplicate links) joins articles outright. Same-event links are
    weaker evidence and chain easily (A and B share a town, B and C a person), so two groups merge
    only when at least ``min_density`` of the article pairs between them are linked, best linked
    pair of groups first (average linkage). The result depends only on the links.
    """
    keys = sorted(keys)
    owner = {k: k for k in keys}
    members: dict[str, set[str]] = {k: {k} for k in keys}
    for group in _components(keys, [e for e in edges if e.kind is not LinkKind.SAME_EVENT]):
        head = group[0]
        for k in group[1:]:
            owner[k] = head
            members[head].add(k)
            del members[k]
    weak = sorted((e for e in edges if e.kind is LinkKind.SAME_EVENT
                   and e.article_a in owner and e.article_b in owner),
                  key=lambda e: (e.article_a, e.article_b))
    # Links between groups: [count, summed score], one list shared by links[a][b] and links[b][a].
    links: dict[str, dict[str, list[float]]] = defaultdict(dict)

    def add(ga: str, gb: str, n: float, total: float) -> None:
        pair = links[ga].get(gb)
        if pair is None:
            pair = links[ga][gb] = links[gb][ga] = [0.0, 0.0]
        pair[0] += n
        pair[1] += total

    for e in weak:
        ga, gb = owner[e.article_a], owner[e.article_b]
        if ga != gb:
            add(ga, gb, 1, e.score)
    # Best pair first: highest density, then highest total score, then names. A heap with
    # lazily dropped stale entries (a group's version changes when it grows) makes this
    # O(links log links) instead of re-ranking every pair after each merge.
    version = dict.fromkeys(members, 0)

    def entry(ga: str, gb: str) -> tuple[float, float, str, str, int, int]:
        a, b = min(ga, gb), max(ga, gb)
        n, total = links[a][b]
        return (-n / (len(members[a]) * len(members[b])), -total, a, b, version[a], version[b])

    heap = [entry(ga, gb) for ga in links for gb in links[ga] if ga < gb]
    heapq.heapify(heap)
    while heap:
        neg_density, _, ga, gb, va, vb = heapq.heappop(heap)
        if ga not in members or gb not in members or version[ga] != va or version[gb] != vb:
            continue  # stale: one of the groups merged or grew since
        if -neg_density < min_density:
            break
        for k in members.pop(gb):
            owner[k] = ga
            members[ga].add(k)
        version[ga] += 1
        merged = links.pop(gb, {})
        merged.pop(ga, None)
        links[ga].pop(gb, None)
        for x, (n, total) in merged.items():
            del links[x][gb]
            add(ga, x, n, total)
        for x in links[ga]:
            heapq.heappush(heap, entry(ga, x))
    return [sorted(g) for g in members.values() if len(g) > 1]


def cluster(
    signatures: Sequence[Signature], edges: Sequence[Edge],
    options: StoryOptions = StoryOptions(),
) -> tuple[list[Story], list[StoryMember]]:
    """Stories (groups of two or more linked articles) and their members, in id order."""
    sigs = {s.article_key: s for s in signatures}
    stories: list[Story] = []
    members: list[StoryMember] = []
    groups = _groups(sigs, edges, options.same_event_density)
    group_of = {k: i for i, component in enumerate(groups) for k in component}
    # Each group's internal links, bucketed in one pass over the edges (in edge order).
    by_group: list[dict[str, list[Edge]]] = [defaultdict(list) for _ in groups]
    for e in edges:
        g = group_of.get(e.article_a)
        if g is not None and group_of.get(e.article_b) == g:
            by_group[g][e.article_a].append(e)
            by_group[g][e.article_b].append(e)
    for component, by_node in zip(groups, by_group, strict=True):
        ordered = sorted((sigs[k] for k in component), key=_order)
        first = ordered[0]
        sid = story_id(first.article_key)
        origin = _syndication_origins(ordered, by_node)
        outlets = sorted({s.outlet for s in ordered if s.outlet})
        for position, sig in enumerate(ordered, start=1):
            best = max(by_node[sig.article_key], key=lambda e: (_STRENGTH[e.kind], e.score))
            source = origin.get(sig.article_key)
            members.append(StoryMember(
                article_key=sig.article_key, story_id=sid, outlet=sig.outlet,
                published_at=sig.event_at, position=position, similarity=best.score,
                link_kind=best.kind, is_syndicated=source is not None, syndicated_from=source,
            ))
        stories.append(Story(
            story_id=sid, title=first.title, first_article_key=first.article_key,
            first_outlet=first.outlet, first_published_at=first.event_at,
            last_published_at=ordered[-1].event_at, article_count=len(ordered),
            outlet_count=len(outlets), outlets=tuple(outlets),
            syndicated_count=sum(1 for s in ordered if s.article_key in origin),
        ))
    stories.sort(key=lambda s: s.story_id)
    members.sort(key=lambda m: (m.story_id, m.position))
    return stories, members


def _syndication_origins(
    ordered: Sequence[Signature], by_node: Mapping[str, Sequence[Edge]]
) -> dict[str, str]:
    """Copy -> earliest copy, over the groups joined by syndicated links (the earliest is no copy)."""
    syndicated = [e for k in (s.article_key for s in ordered) for e in by_node[k]
                  if e.kind is LinkKind.SYNDICATED]
    origins: dict[str, str] = {}
    for group in _components([s.article_key for s in ordered], syndicated):
        rank = {s.article_key: i for i, s in enumerate(ordered)}
        group.sort(key=rank.__getitem__)
        origins.update({k: group[0] for k in group[1:]})
    return origins


def pair_scores(
    predicted: Mapping[str, str | None], truth: Mapping[str, str | None]
) -> tuple[float, float]:
    """Pairwise precision and recall of a clustering against labels (``None``: alone).

    A pair counts as predicted when both articles share a story id, as true when they share a
    label; articles missing from ``predicted`` stand alone.
    """
    keys = sorted(truth)
    tp = fp = fn = 0
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            same_pred = predicted.get(a) is not None and predicted.get(a) == predicted.get(b)
            same_true = truth[a] is not None and truth[a] == truth[b]
            tp += same_pred and same_true
            fp += same_pred and not same_true
            fn += same_true and not same_pred
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall


def bcubed(
    predicted: Mapping[str, str | None], truth: Mapping[str, str | None]
) -> tuple[float, float]:
    """B-cubed precision and recall of a clustering against labels (``None``: alone).

    Per article: the share of its predicted story that truly belongs with it (precision) and the
    share of its true story that the prediction put with it (recall), each counting the article
    itself; averaged over the articles of ``truth``. Articles missing from ``predicted`` stand
    alone.
    """
    keys = sorted(truth)
    pred_groups: dict[str, set[str]] = defaultdict(set)
    true_groups: dict[str, set[str]] = defaultdict(set)
    for k in keys:
        if predicted.get(k) is not None:
            pred_groups[str(predicted[k])].add(k)
        if truth[k] is not None:
            true_groups[str(truth[k])].add(k)
    precision = recall = 0.0
    for k in keys:
        pred = pred_groups[str(predicted[k])] if predicted.get(k) is not None else {k}
        true = true_groups[str(truth[k])] if truth[k] is not None else {k}
        both = len(pred & true)
        precision += both / len(pred)
        recall += both / len(true)
    n = len(keys) or 1
    return (precision / n, recall / n) if keys else (1.0, 1.0)


__all__ = [
    "SIGNATURE_VERSION", "Candidate", "Edge", "LinkKind", "Signature", "Story", "StoryDoc",
    "StoryMember", "StoryOptions", "band_keys", "bcubed", "candidates", "cluster", "containment",
    "estimated_jaccard", "judge", "lead_keys", "link", "link_candidates", "name_keys",
    "names_agree", "pair_scores",
    "same_event_score", "sign", "story_id",
]
