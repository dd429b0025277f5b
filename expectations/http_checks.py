"""Checks shared by the two HTTP attempt tables (raw.feed_fetches and raw.page_fetches).

Both tables hold one row per HTTP attempt, success or not, so both answer the same questions:
is the status a real HTTP status, is the error class one we know, does every success carry a body
and its hash, and is the body inside the byte cap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.policy import (
    ABSOLUTE_HTTP_URL,
    BLOCKING,
    MAX_BODY_BYTES,
    SHA256_HEX,
    WARNING,
    Check,
)
from transforms.vocab import ErrorClass

if TYPE_CHECKING:
    import pandas as pd

# The row filter GX applies for checks that only concern successful attempts (see ``prepare``).
SUCCESS = ("_success", "==", True)


def error_classes() -> list[str]:
    """The closed set of error classes (transforms.vocab.ErrorClass), as stored."""
    return sorted(str(member) for member in ErrorClass)


def mark_success(df: pd.DataFrame, *, has_not_modified: bool) -> pd.DataFrame:
    """Add ``_success``: an attempt that got a usable body (no error, and not a 304)."""
    success = df["error_class"].isna() if "error_class" in df else False
    if has_not_modified and "not_modified" in df:
        success = success & ~df["not_modified"].fillna(False).astype(bool)
    df["_success"] = success
    return df


def http_checks() -> list[Check]:
    """Checks every HTTP attempt row must pass, feeds and pages alike."""
    return [
        Check("status_is_http", "ExpectColumnValuesToBeBetween",
              {"column": "status", "min_value": 100, "max_value": 599}, BLOCKING,
              "a status outside 100-599 is not HTTP; NULL is allowed (no response: DNS, connect, TLS)"),
        Check("error_class_known", "ExpectColumnValuesToBeInSet",
              {"column": "error_class", "value_set": error_classes()}, BLOCKING,
              "error_class is a closed set (transforms.vocab.ErrorClass); anything else means a "
              "writer bypassed the classification that retries and feed health depend on"),
        Check("elapsed_non_negative", "ExpectColumnValuesToBeBetween",
              {"column": "elapsed_ms", "min_value": 0}, BLOCKING,
              "a negative duration means a wall clock was used where a monotonic one belongs"),
        Check("attempt_positive", "ExpectColumnValuesToBeBetween",
              {"column": "attempt", "min_value": 1, "max_value": 20}, BLOCKING,
              "attempts are numbered from 1 and bounded by the retry policy"),
        Check("success_has_body_hash", "ExpectColumnValuesToNotBeNull",
              {"column": "body_sha256"}, BLOCKING,
              "a successful attempt must keep its body and hash: raw is the replay source",
              when=SUCCESS),
        Check("success_has_body", "ExpectColumnValuesToBeBetween",
              {"column": "body_bytes", "min_value": 1}, BLOCKING,
              "a success with an empty or missing body should have been empty_response (FAULTS 13)",
              when=SUCCESS),
        Check("body_hash_is_sha256", "ExpectColumnValuesToMatchRegex",
              {"column": "body_sha256", "regex": SHA256_HEX}, BLOCKING,
              "body_sha256 is the lowercase hex sha256 of the decompressed body (dedup and replay)"),
        Check("body_within_cap", "ExpectColumnValuesToBeBetween",
              {"column": "body_bytes", "min_value": 0, "max_value": MAX_BODY_BYTES}, BLOCKING,
              "bodies over the byte cap must have been refused (too_large, FAULTS 21/22), never kept"),
        Check("success_status_2xx", "ExpectColumnValuesToBeBetween",
              {"column": "status", "min_value": 200, "max_value": 299}, BLOCKING,
              "only a 2xx response is a success; anything else must carry an error_class", when=SUCCESS),
        Check("final_url_absolute", "ExpectColumnValuesToMatchRegex",
              {"column": "final_url", "regex": ABSOLUTE_HTTP_URL}, BLOCKING,
              "the final URL is where the body came from; relative or non-http means a bad hop "
              "was followed"),
        Check("content_type_recorded", "ExpectColumnValuesToNotBeNull",
              {"column": "content_type"},
              WARNING, "content type drives binary sniffing and the feed/HTML decision; servers "
              "may omit it, so this only warns", when=SUCCESS),
    ]
