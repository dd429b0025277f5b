"""Suite for core.articles: one row per article (canonical URL key), its latest version.

Quarantine ids for this table are article keys, not event ids.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from expectations.policy import (
    ABSOLUTE_HTTP_URL,
    BLOCKING,
    WARNING,
    Check,
    columns_check,
    row_count_check,
    unique_check,
)
from expectations.prefilter import may_match
from expectations.timecols import EARLIEST_PLAUSIBLE, FUTURE_SLACK, blank_to_none, to_utc

if TYPE_CHECKING:
    import pandas as pd

TABLE = "core.articles"
SUITE = "core_articles"
ID_COLUMN = "article_key"
COLUMNS: tuple[str, ...] = (
    "article_key", "url", "canonical_url", "feed_id", "outlet", "title", "authors",
    "published_at", "published_source", "date_suspect", "feed_page_date_disagree", "modified_at",
    "language", "declared_language", "site_name", "description", "image", "tags", "text",
    "word_count", "content_hash", "extractor", "extractor_version", "page_fetch_id",
    "first_seen_at", "last_seen_at", "version_count", "is_short", "access",
)

# The extractor refuses text under 250 characters (ExtractOptions.min_text_chars); the floor here
# leaves room for whitespace normalisation after extraction. The ceiling: 1 M characters is about
# 150k words, far beyond any article; above it the extractor took a data dump or a whole site.
MIN_TEXT_CHARS = 200
MAX_TEXT_CHARS = 1_000_000
MIN_WORDS = 30
MAX_WORDS = 200_000
# word_count is len(text.split()): meaningless as a floor for scripts written without spaces.
UNSPACED_LANGUAGES = ("zh", "ja", "ko", "th", "lo", "km", "my", "bo")

# Phrases that belong to page chrome, not to articles. Case-insensitive; kept specific so that an
# article about cookies or subscriptions is not flagged on a single common word.
BOILERPLATE_PATTERNS = [
    r"(?i)\b(?:we use|this site uses|accept(?: all)?|manage|reject(?: all)?) cookies\b",
    r"(?i)\bcookie (?:policy|settings|preferences|consent)\b",
    r"(?i)\b(?:sign up|subscribe) (?:for|to) (?:our|the) (?:free )?newsletters?\b",
    r"(?i)\bnewsletter sign[- ]?up\b",
    r"(?i)\bsubscribe (?:now|today|to continue|to read)\b",
    r"(?i)\ball rights reserved\b",
]
UNFLAGGED = ("date_suspect", "==", False)
# Above this share of an outlet's articles in a batch being teasers (access = paywalled), analysts
# counting its texts are mostly counting teasers: the check warns. Outlets with fewer
# articles in the batch are recorded, not judged (one teaser of two is no trend).
MAX_PAYWALLED_SHARE = 0.5
MIN_OUTLET_ARTICLES = 4
# An article whose text is mostly page chrome is not an article: it is quarantined.
MAX_BOILERPLATE_SHARE = 0.3
_BOILERPLATE = re.compile("|".join(f"(?:{p.removeprefix('(?i)')})" for p in BOILERPLATE_PATTERNS),
                          re.IGNORECASE)


def boilerplate_share(text: object) -> float:
    """Share of the text's characters in sentences that carry a boilerplate phrase (0 for no
    text). Weighted by length, so one copyright line under a long article stays small."""
    if not isinstance(text, str) or not text.strip():
        return 0.0
    # Most texts carry no phrase at all: one search says so. (A sentence is a stretch of the
    # text between whitespace, so a phrase found in one is found in the text, boundaries and
    # all: the share is 0 exactly when this search fails.)
    if _BOILERPLATE.search(text) is None:
        return 0.0
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]
    hits = sum(len(s) for s in sentences if _BOILERPLATE.search(s))
    return hits / sum(len(s) for s in sentences)


def boilerplate_shares(texts: pd.Series) -> pd.Series:
    """``boilerplate_share`` of each text, computed only for the texts RE2 finds a phrase in
    (expectations.prefilter); the others carry none, so their share is 0."""
    import numpy as np
    import pandas as pd

    is_text = np.array([isinstance(t, str) for t in texts], dtype=bool)
    maybe = may_match(texts[is_text].tolist(), _BOILERPLATE)
    if maybe is None:
        return texts.map(boilerplate_share).astype(float)
    shares = np.zeros(len(texts), dtype=float)
    through = np.flatnonzero(is_text)[np.array(maybe, dtype=bool)]
    if len(through):
        shares[through] = [boilerplate_share(t) for t in texts.iloc[through]]
    return pd.Series(shares, index=texts.index)


def prepare(df: pd.DataFrame) -> pd.DataFrame:
    """Derived columns the checks read (on a copy the caller owns)."""
    to_utc(df, ("published_at", "modified_at", "first_seen_at", "last_seen_at"))
    blank_to_none(df, ("title", "language", "extractor", "extractor_version"))
    if "first_seen_at" in df:
        # published_at is compared with the first fetch of the article plus two days of slack
        # for time-zone mistakes: the window transforms.published.is_suspect uses, so only a
        # date that escaped that guard unflagged fails here
        df["_fetched_limit"] = df["first_seen_at"] + FUTURE_SLACK
    if "text" in df:
        df["_boilerplate_share"] = boilerplate_shares(df["text"])
    # the length floors are for full articles: a short brief is kept on purpose (is_short)
    short = df["is_short"].fillna(False).astype(bool) if "is_short" in df else False
    df["_full_length"] = ~short if "is_short" in df else True
    if "access" in df:
        # each row carries its outlet's paywalled share in the batch, so GX tracks it per outlet
        outlet = df["outlet"].fillna("(unknown)") if "outlet" in df else "(unknown)"
        paywalled = (df["access"] == "paywalled").astype(float)
        df["_outlet_paywalled_share"] = paywalled.groupby(outlet).transform("mean").astype(float)
        df["_outlet_judged"] = paywalled.groupby(outlet).transform("size") >= MIN_OUTLET_ARTICLES
    if "language" in df:
        df["_word_floor"] = df["_full_length"] & ~df["language"].isin(UNSPACED_LANGUAGES)
    return df


def checks() -> tuple[Check, ...]:
    """The core.articles suite, in the order it is reported."""
    return (
        row_count_check("the extract stage validates the articles it touched; none means the "
                        "projection wrote nothing it said it wrote"),
        columns_check(COLUMNS),
        unique_check("article_key", "article_key is the table's identity"),
        Check("canonical_url_unique", "ExpectColumnValuesToBeUnique",
              {"column": "canonical_url"}, BLOCKING,
              "two articles with one canonical URL are one article split by a canonicalisation "
              "gap (FAULTS 63); checked within the batch"),
        Check("url_absolute_http", "ExpectColumnValuesToMatchRegex",
              {"column": "url", "regex": ABSOLUTE_HTTP_URL}, BLOCKING,
              "the article URL is fetched and linked; it must be absolute http(s)"),
        Check("canonical_url_absolute_http", "ExpectColumnValuesToMatchRegex",
              {"column": "canonical_url", "regex": ABSOLUTE_HTTP_URL}, BLOCKING,
              "a relative canonical URL was not resolved against the page URL"),
        Check("text_length_in_bounds", "ExpectColumnValueLengthsToBeBetween",
              {"column": "text", "min_value": MIN_TEXT_CHARS, "max_value": MAX_TEXT_CHARS},
              BLOCKING, "text under the extractor's floor is a paywall or shell that slipped "
              "through (FAULTS 52-55); a giant text is a dump, not an article; a brief the "
              "extractor kept on purpose (is_short) is not held to the floor",
              when=("_full_length", "==", True)),
        Check("word_count_in_bounds", "ExpectColumnValuesToBeBetween",
              {"column": "word_count", "min_value": 1, "max_value": MAX_WORDS}, BLOCKING,
              "an article has words; the ceiling mirrors the text length ceiling"),
        Check("word_count_floor", "ExpectColumnValuesToBeBetween",
              {"column": "word_count", "min_value": MIN_WORDS}, BLOCKING,
              f"{MIN_WORDS} whitespace-separated words is the least a real article has; not "
              "applied to languages written without spaces, where split() counts phrases, nor "
              "to a brief kept on purpose (is_short)",
              when=("_word_floor", "==", True)),
        Check("language_present", "ExpectColumnValuesToNotBeNull",
              {"column": "language", "mostly": 0.9}, WARNING,
              "detection may fail on a few short texts, not on many"),
        Check("title_present", "ExpectColumnValuesToNotBeNull",
              {"column": "title", "mostly": 0.95}, WARNING,
              "nearly every article has a title; many missing means the metadata step broke"),
        Check("boilerplate_absent", "ExpectColumnValuesToNotMatchRegexList",
              {"column": "text", "regex_list": BOILERPLATE_PATTERNS,
               "mostly": 0.95}, WARNING,
              "cookie, newsletter, subscribe and copyright lines are page chrome the extractor "
              "should drop; a few hits are tolerated, a larger share means extraction regressed"),
        Check("not_mostly_boilerplate", "ExpectColumnValuesToBeBetween",
              {"column": "_boilerplate_share", "max_value": MAX_BOILERPLATE_SHARE}, BLOCKING,
              f"when over {MAX_BOILERPLATE_SHARE:.0%} of an article's text is in cookie, "
              "newsletter, subscribe or copyright lines, the page was a wall or a shell, not an "
              "article: quarantined and kept out of analyst views"),
        Check("paywalled_share_per_outlet", "ExpectColumnValuesToBeBetween",
              {"column": "_outlet_paywalled_share", "min_value": 0.0,
               "max_value": MAX_PAYWALLED_SHARE}, WARNING,
              f"over {MAX_PAYWALLED_SHARE:.0%} of an outlet's articles in the batch are teasers "
              "(access = paywalled: the text stops where the paywall starts); the outlet's "
              "article counts then overstate its full texts. Recorded per outlet, judged from "
              f"{MIN_OUTLET_ARTICLES} articles", when=("_outlet_judged", "==", True)),
        Check("published_not_after_fetch", "ExpectColumnPairValuesAToBeGreaterThanB",
              {"column_A": "_fetched_limit", "column_B": "published_at", "or_equal": True,
               "ignore_row_if": "either_value_is_missing"}, BLOCKING,
              "an article cannot be published after we fetched it; unflagged future dates poison "
              "ordering and watermarks (FAULTS 45)", when=UNFLAGGED),
        Check("published_not_ancient", "ExpectColumnValuesToBeBetween",
              {"column": "published_at", "min_value": EARLIEST_PLAUSIBLE}, BLOCKING,
              "dates before 1990 are parse errors unless flagged (FAULTS 46)", when=UNFLAGGED),
        Check("seen_order", "ExpectColumnPairValuesAToBeGreaterThanB",
              {"column_A": "last_seen_at", "column_B": "first_seen_at", "or_equal": True,
               "ignore_row_if": "either_value_is_missing"}, BLOCKING,
              "last_seen_at before first_seen_at means the projection mixed up its versions"),
        Check("extractor_present", "ExpectColumnValuesToNotBeNull",
              {"column": "extractor"}, BLOCKING,
              "every article records which extractor produced it (re-extraction and the bench)"),
        Check("extractor_version_present", "ExpectColumnValuesToNotBeNull",
              {"column": "extractor_version"}, BLOCKING,
              "the extractor version decides when articles are re-extracted"),
    )
