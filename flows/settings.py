"""The one settings object, resolved once at the entry point and passed down.

Values come from (highest first) keyword arguments, ``NEWSFLOW_*`` environment variables,
a ``.env`` file, then the defaults below. A misspelt ``NEWSFLOW_`` variable fails loudly.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from web import HttpOptions

ENV_PREFIX = "NEWSFLOW_"
# Variables with the prefix that are not settings: the crash-test hook (warehouse.store), the
# deploy-time values prefect.yaml reads (flows.cli.prefect_server) and the feed-parse pool's knobs
# (workers.feedparse, read inside its spawned workers).
_NOT_SETTINGS = frozenset({
    "NEWSFLOW_FAULT_AT", "NEWSFLOW_PROJECT_DIR", "NEWSFLOW_SCHEDULE_INTERVAL_S",
    "NEWSFLOW_PARSE_WORKERS", "NEWSFLOW_PARSE_MEMORY_MB",
})


class Settings(BaseSettings):
    """Everything newsflow can be told. Field docs double as the README's configuration table."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="forbid", frozen=True
    )

    db_path: Path = Field(Path("data/newsflow.duckdb"), description="DuckDB file of the store.")
    feeds_file: Path = Field(Path("feeds.yaml"), description="Feed list (YAML or OPML).")
    docs_dir: Path | None = Field(
        None,  # filled in below: docs/ beside the database file
        description="Where Data Docs (HTML) and the volume chart are written; default: `docs/` "
        "beside the database file.",
    )
    publish_dir: Path | None = Field(
        None,
        description="Where each run publishes the analyst copy (Parquet and analytics.duckdb); "
        "default: `published/` beside the database file.",
    )
    allow_private_addresses: bool = Field(
        False,
        description="Allow fetching loopback/private addresses. Off by default (SSRF guard); "
        "the offline sample and the tests turn it on.",
    )
    user_agent: str = Field(
        "newsflow/0.1 (+https://github.com/newsflow/newsflow)",
        description="User-Agent sent with every request; include a contact URL.",
    )
    connect_timeout_s: float = Field(10.0, description="TCP/TLS connect timeout per request.")
    deadline_s: float = Field(30.0, description="Total wall-clock limit per request, body included.")
    max_body_bytes: int = Field(15 * 1024 * 1024, description="Body cap after decompression.")
    max_redirects: int = Field(5, description="Redirect hops followed, each one checked.")
    max_attempts: int = Field(3, description="Attempts per request for retryable errors.")
    per_host_concurrency: int = Field(2, description="Concurrent requests to one host.")
    per_host_delay_s: float = Field(0.0, description="Minimum delay between requests to one host.")
    total_concurrency: int = Field(16, description="Concurrent requests overall.")
    respect_robots: bool = Field(True, description="Honour robots.txt for article pages.")
    extract_workers: int = Field(
        0, description="Extraction processes; 0 means one per CPU core."
    )
    extract_timeout_s: float = Field(30.0, description="Hard time limit per page extraction.")
    extract_memory_mb: int = Field(1024, description="Address-space limit per extraction worker.")
    parse_timeout_s: float = Field(10.0, description="Hard time limit per feed parse.")
    max_page_attempts: int = Field(
        3, description="Runs that may retry a page whose fetch failed with a retryable error."
    )
    run_checks: bool = Field(True, description="Run great-expectations checks after each stage.")
    min_free_mb: int = Field(
        256, description="Free disk space a writing run needs under the database; below it the "
        "run refuses to start (exit 2) instead of failing mid-write.",
    )
    dask_address: str | None = Field(
        None, description="Dask scheduler (tcp://host:8786) for the extraction stage; "
        "unset means the local process pool.",
    )

    @model_validator(mode="after")
    def _paths_beside_the_store(self) -> Settings:
        # frozen: the defaults that follow the database are set once, here
        if self.publish_dir is None:
            object.__setattr__(self, "publish_dir", self.db_path.parent / "published")
        if self.docs_dir is None:
            object.__setattr__(self, "docs_dir", self.db_path.parent / "docs")
        return self

    @property
    def published_dir(self) -> Path:
        """``publish_dir`` resolved (never None after validation)."""
        assert self.publish_dir is not None
        return self.publish_dir

    def http_options(self) -> HttpOptions:
        """The HTTP layer's options derived from these settings."""
        return HttpOptions(
            user_agent=self.user_agent,
            connect_timeout=self.connect_timeout_s,
            deadline=self.deadline_s,
            max_bytes=self.max_body_bytes,
            max_redirects=self.max_redirects,
            allow_private=self.allow_private_addresses,
            max_attempts=self.max_attempts,
            per_host_concurrency=self.per_host_concurrency,
            per_host_delay=self.per_host_delay_s,
            total_concurrency=self.total_concurrency,
            respect_robots=self.respect_robots,
        )

    def workers(self) -> int:
        """Extraction worker count, resolving 0 to the machine's cores."""
        return self.extract_workers or os.cpu_count() or 1


def check_environment() -> None:
    """Fail loudly on NEWSFLOW_* variables that match no setting (a typo must not pass silently)."""
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields} | _NOT_SETTINGS
    unknown = sorted(k for k in os.environ if k.startswith(ENV_PREFIX) and k not in known)
    if unknown:
        raise ValueError(
            f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )


def load_settings(**overrides: object) -> Settings:
    """Resolve settings once, at an entry point."""
    check_environment()
    return Settings(**overrides)  # type: ignore[arg-type]  # pydantic validates the values
