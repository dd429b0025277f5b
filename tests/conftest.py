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


# A default-suite test that hangs (like the ordering-dependent SIGINT hang that keeps some case-77
# and Ctrl-C tests slow-marked) fails after this long with every thread's stack, instead of
# holding `make test` until CI gives up. Generous: the slowest default test takes minutes on a
# loaded 2-core machine. Slow tests and tests with a timeout mark of their own keep theirs.
DEFAULT_TIMEOUT_S = 900


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("slow") is None and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(DEFAULT_TIMEOUT_S))
