"""Suite for raw.feed_entries: one row per new version of a feed entry."""

from __future__ import annotations

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
from expectations.timecols import EARLIEST_PLAUSIBLE, FUTURE_SLACK, blank_to_none, to_utc

if TYPE_CHECKING:
    import pandas as pd

TABLE = "raw.feed_entries"
SUITE = "raw_feed_entries"
ID_COLUMN = "event_id"
COLUMNS: tuple[str, ...] = (
    "event_id", "run_id", "occurred_at", "recorded_at", "schema_version", "fetch_event_id",
    "feed_id", "entry_key", "key_source", "content_hash", "parse_quality", "guid", "link",
    "link_key", "link_status", "raw_link", "title", "summary", "content", "authors", "tags",
    "published_raw", "published_at", "updated_raw", "updated_at", "date_suspect", "truncated",
    "position",
)
LINK_STATUSES = ["ok", "missing", "bad_scheme", "unresolvable"]
# Unflagged rows only: an implausible date the parser flagged is handled data (FAULTS 45), an
# unflagged one means the plausibility guard was skipped.
UNFLAGGED = ("date_suspect", "==", False)


def prepare(df: pd.DataFrame) -> pd.DataFrame:
    """Derived columns the checks read (on a copy the caller owns)."""
    to_utc(df, ("occurred_at", "published_at", "updated_at"))
    blank_to_none(df, ("title",))
    if "occurred_at" in df:
        # the latest plausible publication time: the fetch plus the slack is_plausible allows
        df["_latest_plausible"] = df["occurred_at"] + FUTURE_SLACK
    return df


def checks() -> tuple[Check, ...]:
    """The raw.feed_entries suite, in the order it is reported."""
    return (
        row_count_check("feeds that changed must yield entries; the flow passes expect_rows=False "
                        "when every feed was unchanged or empty (FAULTS 31)"),
        columns_check(COLUMNS),
        unique_check("event_id", "event_id = hash(feed, entry key, content hash): a repeat means "
                     "the same version was written twice"),
        Check("entry_key_unique_per_feed_version", "ExpectCompoundColumnsToBeUnique",
              {"column_list": ["feed_id", "entry_key", "content_hash"]}, BLOCKING,
              "an entry key names one entry of one feed; two rows for the same version would "
              "double-count it (FAULTS 39-43)"),
        Check("guid_link_unique_per_fetch", "ExpectCompoundColumnsToBeUnique",
              {"column_list": ["fetch_event_id", "guid", "link"],
               "ignore_row_if": "any_value_is_missing"}, BLOCKING,
              "one fetch listing several different items under the same guid AND the same link "
              "is a broken feed: which item is the article is unknowable (a repeated guid with "
              "different links is legitimate and keyed apart, FAULTS 39)"),
        Check("entry_key_not_empty", "ExpectColumnValueLengthsToBeBetween",
              {"column": "entry_key", "min_value": 1}, BLOCKING,
              "an empty key collapses unrelated entries into one"),
        Check("link_absolute_http", "ExpectColumnValuesToMatchRegex",
              {"column": "link", "regex": ABSOLUTE_HTTP_URL}, BLOCKING,
              "links are resolved against the final feed URL; a relative or non-http link must "
              "have been NULLed with its link_status (FAULTS 18, 47)"),
        Check("ok_link_present", "ExpectColumnValuesToNotBeNull",
              {"column": "link"}, BLOCKING,
              "link_status ok promises a usable link for the page fetcher", when=("link_status", "==", "ok")),
        Check("link_status_known", "ExpectColumnValuesToBeInSet",
              {"column": "link_status", "value_set": LINK_STATUSES}, WARNING,
              "link_status explains every NULL link; an unknown value is unexplained"),
        Check("parse_quality_known", "ExpectColumnValuesToBeInSet",
              {"column": "parse_quality", "value_set": ["ok", "bozo"]}, BLOCKING,
              "parse_quality marks entries recovered from malformed XML (FAULTS 29)"),
        Check("published_not_future", "ExpectColumnPairValuesAToBeGreaterThanB",
              {"column_A": "_latest_plausible", "column_B": "published_at", "or_equal": True,
               "ignore_row_if": "either_value_is_missing"}, BLOCKING,
              "an unflagged date after fetch time + 2 days would push watermarks past today "
              "(FAULTS 45)", when=UNFLAGGED),
        Check("published_not_ancient", "ExpectColumnValuesToBeBetween",
              {"column": "published_at", "min_value": EARLIEST_PLAUSIBLE}, BLOCKING,
              "years like 200 or 1513 are parse errors and must be NULL or flagged (FAULTS 46)",
              when=UNFLAGGED),
        Check("published_plausible_share", "ExpectColumnValuesToBeInSet",
              {"column": "date_suspect", "value_set": [False], "mostly": 0.9}, WARNING,
              "many suspect dates in one batch point at a date-parsing regression or a feed with "
              "broken dates"),
        Check("title_present", "ExpectColumnValuesToNotBeNull",
              {"column": "title", "mostly": 0.9}, WARNING,
              "titles are optional in RSS but most entries have one; many missing titles mean "
              "a parsing problem (whitespace-only counts as missing)"),
        Check("position_non_negative", "ExpectColumnValuesToBeBetween",
              {"column": "position", "min_value": 0}, BLOCKING,
              "position is the 0-based document order used for deterministic item caps"),
    )
