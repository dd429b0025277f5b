"""newsflow's HTTP edge: the hardened fetcher, its error classes and URL validation.

The names below are imported from their modules when first used (PEP 562), so a module that
needs only ``HttpOptions`` (flows/settings.py, and so every CLI command) does not import httpx.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transforms.vocab import ErrorClass, FetchKind
    from web.decode import looks_compressed
    from web.http import Fetcher, HostLimiter, host_budget
    from web.types import FetchRequest, FetchResult, HttpOptions
    from web.urlcheck import check_url, validate_url

_HOMES = {
    "ErrorClass": "transforms.vocab",
    "FetchKind": "transforms.vocab",
    "looks_compressed": "web.decode",
    "Fetcher": "web.http",
    "HostLimiter": "web.http",
    "host_budget": "web.http",
    "FetchRequest": "web.types",
    "FetchResult": "web.types",
    "HttpOptions": "web.types",
    "check_url": "web.urlcheck",
    "validate_url": "web.urlcheck",
}

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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value
