"""Shared fixtures: Prefect's test harness (once per session) and the offline sample server."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Quiet, offline Prefect for every test process.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# generous: on a loaded 2-core machine the temporary server has taken over 60 s to answer
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "240")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A throwaway Prefect API for flows run in tests (costs ~13 s, so once per session)."""
    from prefect.testing.utilities import prefect_test_harness

    wait = int(os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"])
    with prefect_test_harness(server_startup_timeout=wait):
        yield
