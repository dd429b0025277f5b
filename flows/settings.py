"""The one settings object, resolved once at the entry point and passed down.

Values come from (highest first) keyword arguments, ``NEWSFLOW_*`` environment variables,
a ``.env`` file, then the defaults below. A misspelt ``NEWSFLOW_`` variable fails loudly.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from transforms.errors import ConfigError, InputError
from transforms.feedlist import FeedConfig, load_feeds_yaml, parse_opml
from transforms.revisits import DEFAULT_SCHEDULE_HOURS
from web import HttpOptions

ENV_PREFIX = "NEWSFLOW_"
# Variables with the prefix that are not settings: the crash-test hook (warehouse.store), the
# deploy-time values prefect.yaml reads (flows.cli.prefect_server) and the feed-parse pool's knobs
# (workers.feedparse, read inside its spawned workers).
_NOT_SETTINGS = frozenset({
    "NEWSFLOW_FAULT_AT", "NEWSFLOW_PROJECT_DIR", "NEWSFLOW_SCHEDULE_INTERVAL_S",
    "NEWSFLOW_PARSE_WORKERS", "NEWSFLOW_PARSE_MEMORY_MB",
})


_HTTP_DEFAULTS = HttpOptions()


def _http_setting(option: str, description: str) -> Any:
    """A setting that feeds ``HttpOptions.<option>``, with that field's default."""
    return Field(getattr(_HTTP_DEFAULTS, option), description=description,
                 json_schema_extra={"http_option": option})


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
    # The HTTP section: each of these feeds one HttpOptions field and takes its default from it,
    # so a default is written once, in web/http.py. The env names predate the section (README).
    allow_private_addresses: bool = _http_setting(
        "allow_private",
        "Allow fetching loopback/private addresses. Off by default (SSRF guard); "
        "the offline sample and the tests turn it on.",
    )
    user_agent: str = _http_setting(
        "user_agent", "User-Agent sent with every request; include a contact URL.")
    connect_timeout_s: float = _http_setting("connect_timeout", "TCP/TLS connect timeout per request.")
    deadline_s: float = _http_setting("deadline", "Total wall-clock limit per request, body included.")
    max_body_bytes: int = _http_setting("max_bytes", "Body cap after decompression.")
    max_redirects: int = _http_setting("max_redirects", "Redirect hops followed, each one checked.")
    max_attempts: int = _http_setting("max_attempts", "Attempts per request for retryable errors.")
    per_host_concurrency: int = _http_setting("per_host_concurrency", "Concurrent requests to one host.")
    per_host_delay_s: float = _http_setting("per_host_delay", "Minimum delay between requests to one host.")
    total_concurrency: int = _http_setting("total_concurrency", "Concurrent requests overall.")
    respect_robots: bool = _http_setting("respect_robots", "Honour robots.txt for article pages.")
    contact: str | None = _http_setting(
        "contact", "Who site owners can write to about newsflow's requests (an e-mail or URL); "
        "added to the User-Agent.")
    max_crawl_delay_s: float = _http_setting(
        "max_crawl_delay", "Longest robots.txt Crawl-delay honoured between requests to one host.")
    retry_after_cap_s: float = _http_setting(
        "retry_after_cap", "Longest Retry-After honoured: a page, feed or host asked to wait "
        "longer is asked again after this many seconds.")
    extract_workers: int = Field(
        0, description="Extraction processes; 0 means one per CPU core."
    )
    extract_timeout_s: float = Field(30.0, description="Hard time limit per page extraction.")
    extract_memory_mb: int = Field(1024, description="Address-space limit per extraction worker.")
    parse_timeout_s: float = Field(
        10.0, description="Hard time limit per feed parse, per window of 1,000 entries (a feed "
        "of 10,000 items gets ten times this).",
    )
    max_range_days: int = Field(
        3660, ge=1, description="Longest --since/--until range (days, both included) that "
        "backfill, rebuild and export-warc take; a longer one is refused before any work.",
    )
    feed_max_entries: int = Field(
        50_000, ge=1, description="Entries kept per feed document; any beyond are counted in "
        "raw.feed_fetches.entries_left_out and flagged by a warning check, never dropped unseen.",
    )
    max_page_attempts: int = Field(
        3, description="Runs with a transient failure (not a rate limit) a page needs before it "
        "may be given up; see NEWSFLOW_PAGE_GIVE_UP_DAYS."
    )
    page_give_up_days: float = Field(
        7.0, description="A page failing transiently is retried with backoff (1 h doubling to 2 "
        "days, jittered) and given up only after failing for this many days.")
    feed_trust_check_polls: int = Field(
        10, ge=1, description="Every Nth poll in a row of a feed answering 304 Not Modified (every "
        "N/2th when the feed is silent, its new items overdue) is checked "
        "with an unconditional fetch; a contradicted 304 marks the feed untrusted.")
    revisit_hours: list[float] = Field(
        list(DEFAULT_SCHEDULE_HOURS),
        description="Hours after an article page was first fetched at which it is fetched again "
        "(conditional GET); after the last, never. Empty: no scheduled revisits.",
    )
    revisit_budget: int = Field(
        500, ge=0, description="Most article revisits per run (new pages always go first); "
        "0 turns revisits off, feed-triggered ones included.",
    )
    revisit_per_host: int = Field(50, ge=0, description="Most article revisits per host per run.")
    run_checks: bool = Field(True, description="Run great-expectations checks after each stage.")
    min_free_mb: int = Field(
        256, description="Free disk space a writing run needs under the database; below it the "
        "run refuses to start (exit 2) instead of failing mid-write.",
    )
    memory_limit: str = Field(
        "1GB", pattern=r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$",
        description="DuckDB memory_limit of the writing process's store (e.g. 1GB, 512MB): "
        "past it DuckDB spills joins and sorts to disk beside the store and evicts cached "
        "table blocks instead of growing. It bounds DuckDB's buffers only: the process's "
        "Python objects and Arrow batches (about 500 MB while extracting) come on top.",
    )
    duckdb_threads: int = Field(
        1, ge=0, description="DuckDB threads of the writing process's store; 0 means one per core "
        "(DuckDB's default). One by default: a run's queries each touch one batch, and a second "
        "thread per query cost more CPU than it saved time, CPU the extraction workers need.",
    )
    dask_address: str | None = Field(
        None, description="Dask scheduler (tcp://host:8786) for the extraction stage; "
        "unset means the local process pool.",
    )
    prefect_wait_s: float = Field(
        240.0, gt=0, description="How long `newsflow run` waits for its temporary Prefect server "
        "to answer (a PREFECT_API_URL gets at most 15 s of it) before it runs the stages without "
        "Prefect, recording that in the ledger.",
    )
    alert_block: str = Field(
        "custom-webhook/newsflow-alerts", description="The Prefect notification block "
        "(`<block-type-slug>/<name>`) that newsflow's automations notify through.",
    )
    alert_webhook_url: str | None = Field(
        None, description="When set, `newsflow server up` creates (or updates) the alert block "
        "as a Custom Webhook posting to this URL.",
    )
    _http_section: HttpOptions = PrivateAttr()

    @model_validator(mode="after")
    def _paths_beside_the_store(self) -> Settings:
        # frozen: the defaults that follow the database are set once, here; a DuckLake address
        # is no folder, so its copies default to data/
        lake = str(self.db_path).startswith("ducklake:")
        base = Path("data") if lake else self.db_path.parent
        if self.publish_dir is None:
            object.__setattr__(self, "publish_dir", base / "published")
        if self.docs_dir is None:
            object.__setattr__(self, "docs_dir", base / "docs")
        return self

    @model_validator(mode="after")
    def _build_http_section(self) -> Settings:
        # Built once here; settings are frozen, so the section cannot drift from the fields.
        self._http_section = replace(_HTTP_DEFAULTS, **{
            option: getattr(self, name) for name, option in http_fields().items()})
        return self

    @property
    def published_dir(self) -> Path:
        """``publish_dir`` resolved (never None after validation)."""
        assert self.publish_dir is not None
        return self.publish_dir

    @property
    def docs_folder(self) -> Path:
        """``docs_dir`` resolved (never None after validation)."""
        assert self.docs_dir is not None
        return self.docs_dir

    @property
    def http(self) -> HttpOptions:
        """The HTTP section, built once from the settings above."""
        return self._http_section

    def http_options(self) -> HttpOptions:
        """The HTTP section (the name callers used before it was one)."""
        return self._http_section

    def workers(self) -> int:
        """Extraction worker count, resolving 0 to the machine's cores."""
        return self.extract_workers or os.cpu_count() or 1


@cache
def http_fields() -> Mapping[str, str]:
    """Setting name -> the ``HttpOptions`` field it feeds."""
    return {name: str(field.json_schema_extra["http_option"])
            for name, field in Settings.model_fields.items()
            if isinstance(field.json_schema_extra, dict)
            and "http_option" in field.json_schema_extra}


def env_name(setting: str) -> str:
    """The environment variable of a setting (``db_path`` -> ``NEWSFLOW_DB_PATH``)."""
    return ENV_PREFIX + setting.upper()


def check_environment() -> None:
    """Fail loudly on NEWSFLOW_* variables that match no setting (a typo must not pass silently)."""
    known = {env_name(name) for name in Settings.model_fields} | _NOT_SETTINGS
    unknown = sorted(k for k in os.environ if k.startswith(ENV_PREFIX) and k not in known)
    if unknown:
        guesses = [f"{name} (did you mean {close[0]}?)" if close else name
                   for name in unknown
                   for close in [difflib.get_close_matches(name, sorted(known), n=1)]]
        raise ConfigError(f"unknown setting {', '.join(guesses)}",
                          advice="fix or unset it (README, 'Configuration', lists every setting)")


# Overrides for the settings loaded inside a call the caller cannot pass them to (a Prefect flow
# whose parameters are the database and the feed list). Scoped to this context, unlike
# os.environ, so they reach neither other runs in this process nor the processes it starts.
_scoped: ContextVar[Mapping[str, Any] | None] = ContextVar("newsflow_settings_scope",
                                                          default=None)


@contextmanager
def settings_scope(**overrides: Any) -> Iterator[None]:
    """Within the block, ``load_settings`` applies these overrides (explicit ones still win)."""
    token = _scoped.set({**(_scoped.get() or {}), **overrides})
    try:
        yield
    finally:
        _scoped.reset(token)


def load_settings(**overrides: object) -> Settings:
    """Resolve settings once, at an entry point; any problem is a ``ConfigError`` naming it."""
    check_environment()
    try:
        return Settings(**{**(_scoped.get() or {}), **overrides})
    except ValidationError as exc:
        raise ConfigError("; ".join(_problem(e) for e in exc.errors())) from exc


def settings_for(db_path: Path | str | None = None, feeds_file: Path | str | None = None,
                 **more: object) -> Settings:
    """Settings for one command or flow: its options override the rest; None means "not given"."""
    given = {"db_path": db_path, "feeds_file": feeds_file, **more}
    return load_settings(**{k: v for k, v in given.items() if v is not None})


def _problem(error: Mapping[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ())) or "settings"
    if where in Settings.model_fields:
        where = env_name(where)
    value = error.get("input")
    shown = "" if isinstance(value, dict) else f" (got {value!r})"
    return f"{where}: {error.get('msg', 'invalid')}{shown}"


def load_feed_list(path: Path) -> list[FeedConfig]:
    """Feeds from a YAML or OPML file (by extension); a missing file is a clear error."""
    if not path.exists():
        raise InputError(f"feed list {path} not found; create it or set NEWSFLOW_FEEDS_FILE")
    if path.suffix.lower() in {".opml", ".xml"}:
        return parse_opml(path.read_bytes())
    return load_feeds_yaml(path.read_text(encoding="utf-8"))
