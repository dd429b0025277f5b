"""newsflow's HTTP edge: the hardened fetcher, its error classes and URL validation."""

from __future__ import annotations

from transforms.vocab import ErrorClass, FetchKind
from web.decode import looks_compressed
from web.http import Fetcher, HostLimiter, host_budget
from web.types import FetchRequest, FetchResult, HttpOptions
from web.urlcheck import check_url, validate_url

__all__ = [
    "ErrorClass",
    "FetchKind",
    "FetchRequest",
    "FetchResult",
    "Fetcher",
    "HostLimiter",
    "HttpOptions",
    "check_url",
    "host_budget",
    "looks_compressed",
    "validate_url",
]
