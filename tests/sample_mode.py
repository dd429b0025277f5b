"""Settings for a run against the offline sample server: one helper for every test that needs
them (loopback allowed, eight requests per host, checks off unless a test turns them on)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flows.cli.feeds import write_sample_feeds
from flows.settings import Settings
from sample.server import SampleServer


def sample_settings(server: SampleServer, folder: Path, db: str = "newsflow.duckdb",
                    **extra: Any) -> Settings:
    """Settings for ``server``'s feeds (written into ``folder``) and a store ``folder/db``;
    ``extra`` overrides any field."""
    values: dict[str, Any] = {
        "db_path": folder / db, "feeds_file": write_sample_feeds(server.site, folder),
        "allow_private_addresses": True, "per_host_concurrency": 8, "run_checks": False,
    }
    return Settings(**{**values, **extra})
