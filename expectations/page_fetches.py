"""Suite for raw.page_fetches: one row per HTTP attempt for an article URL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.http_checks import SUCCESS, http_checks, mark_success
from expectations.policy import (
    ABSOLUTE_HTTP_URL,
    BLOCKING,
    WARNING,
    Check,
    columns_check,
    row_count_check,
    unique_check,
)
from transforms.vocab import PageSource

if TYPE_CHECKING:
    import pandas as pd

TABLE = "raw.page_fetches"
SUITE = "raw_page_fetches"
ID_COLUMN = "event_id"
COLUMNS: tuple[str, ...] = (
    "event_id", "run_id", "occurred_at", "recorded_at", "schema_version", "url", "url_key",
    "source", "attempt", "final_url", "redirect_chain", "status", "error_class", "error_detail",
    "headers", "content_type", "charset", "body_sha256", "body_bytes", "elapsed_ms",
)
SOURCES = [str(source) for source in PageSource]


def prepare(df: pd.DataFrame) -> pd.DataFrame:
    """Derived columns the checks read (on a copy the caller owns)."""
    df = mark_success(df, has_not_modified=False)
    if "status" in df:
        # a revisit answered 304 Not Modified (FAULTS 12) is a success without a body
        df["_success"] = df["_success"] & (df["status"].fillna(0) != 304)
    return df


def checks() -> tuple[Check, ...]:
    """The raw.page_fetches suite, in the order it is reported."""
    return (
        row_count_check(),
        columns_check(COLUMNS),
        unique_check("event_id", "event_id is the idempotency key: a repeat means a batch was "
                     "written twice"),
        *http_checks(),
        Check("success_final_url_present", "ExpectColumnValuesToNotBeNull",
              {"column": "final_url"},
              BLOCKING, "the final URL (after redirects) is the base for canonical URLs and the "
              "article key; a success without it cannot be projected (FAULTS 62)", when=SUCCESS),
        Check("url_absolute_http", "ExpectColumnValuesToMatchRegex",
              {"column": "url", "regex": ABSOLUTE_HTTP_URL}, BLOCKING,
              "only absolute http(s) URLs may be requested (FAULTS 18)"),
        Check("url_key_not_empty", "ExpectColumnValueLengthsToBeBetween",
              {"column": "url_key", "min_value": 1}, BLOCKING,
              "url_key joins the fetch to its feed entries and article"),
        Check("source_known", "ExpectColumnValuesToBeInSet",
              {"column": "source", "value_set": SOURCES}, WARNING,
              "source says where the URL came from; an unknown one is unexplained provenance"),
    )
