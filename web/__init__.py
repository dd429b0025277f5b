"""newsflow's HTTP edge: the hardened fetcher, its error classes and URL validation."""

from __future__ import annotations

from web.decode import looks_compressed
from web.errors import ErrorClass
from web.http import Fetcher, FetchRequest, FetchResult, HttpOptions
from web.urlcheck import check_url, validate_url

__all__ = [
    "ErrorClass",
    "FetchRequest",
    "FetchResult",
    "Fetcher",
    "HttpOptions",
    "check_url",
    "looks_compressed",
    "validate_url",
]
