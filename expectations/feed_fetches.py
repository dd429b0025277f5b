"""Suite for raw.feed_fetches: one row per HTTP attempt for a feed, with the parse outcome."""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.http_checks import SUCCESS, http_checks, mark_success
from expectations.policy import BLOCKING, WARNING, Check, columns_check, row_count_check, unique_check
from transforms.feeds import FeedOutcome

if TYPE_CHECKING:
    import pandas as pd

TABLE = "raw.feed_fetches"
SUITE = "raw_feed_fetches"
ID_COLUMN = "event_id"
COLUMNS: tuple[str, ...] = (
    "event_id", "run_id", "occurred_at", "recorded_at", "schema_version", "feed_id", "url",
    "attempt", "final_url", "redirect_chain", "status", "error_class", "error_detail",
    "not_modified", "etag", "last_modified", "retry_after_s", "headers", "content_type",
    "body_sha256", "body_bytes", "elapsed_ms", "parse_outcome", "parse_reason", "feed_version",
    "bozo", "entry_count", "feed_title", "ttl_minutes", "entries_left_out",
)


def feed_outcomes() -> list[str]:
    """The closed set of parse outcomes (transforms.feeds.FeedOutcome), as stored."""
    return sorted(str(member) for member in FeedOutcome)


def prepare(df: pd.DataFrame) -> pd.DataFrame:
    """Derived columns the checks read (on a copy the caller owns)."""
    return mark_success(df, has_not_modified=True)


def checks() -> tuple[Check, ...]:
    """The raw.feed_fetches suite, in the order it is reported."""
    return (
        row_count_check(),
        columns_check(COLUMNS),
        unique_check("event_id", "event_id is the idempotency key: a repeat means a batch was "
                     "written twice or two attempts hashed alike"),
        *http_checks(),
        Check("not_modified_is_304", "ExpectColumnValuesToBeInSet",
              {"column": "status", "value_set": [304]}, BLOCKING,
              "not_modified is only ever a 304; it counts as success with zero entries (FAULTS 12)",
              when=("not_modified", "==", True)),
        Check("parse_outcome_known", "ExpectColumnValuesToBeInSet",
              {"column": "parse_outcome", "value_set": feed_outcomes()}, BLOCKING,
              "parse_outcome is a closed set (FeedOutcome); feed health reads it"),
        Check("success_was_parsed", "ExpectColumnValuesToNotBeNull",
              {"column": "parse_outcome"},
              WARNING, "every body fetched should have been handed to the parser", when=SUCCESS),
        Check("entry_count_non_negative", "ExpectColumnValuesToBeBetween",
              {"column": "entry_count", "min_value": 0}, BLOCKING,
              "a count of entries cannot be negative"),
        Check("no_entries_left_out", "ExpectColumnValuesToBeBetween",
              {"column": "entries_left_out", "min_value": 0, "max_value": 0}, WARNING,
              "a document had more entries than the per-fetch cap (FeedOptions.max_entries); the "
              "rest were counted in entries_left_out, not ingested (FAULTS case 36)"),
    )
