"""A PostgreSQL server on 127.0.0.1 for the multi-host tests, from the scale group's wheel."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from warehouse import localpg


@pytest.fixture(scope="module")
def postgres() -> Iterator[localpg.LocalPg]:
    """One server per test module (initdb + start take ~2.5 s), stopped and removed after."""
    t0 = time.monotonic()
    server = localpg.start()
    print(f"PostgreSQL {server.host}:{server.port} up in {time.monotonic() - t0:.1f}s")
    try:
        yield server
    finally:
        server.stop()
