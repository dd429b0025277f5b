"""A PostgreSQL server on 127.0.0.1 for the multi-host tests, from the scale group's wheel."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

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


@pytest.fixture()
def workdir() -> Iterator[Path]:
    """A folder of the test's own, outside pytest's basetemp: these tests run for minutes, and
    another pytest session on the same account prunes old basetemps (keeping three) meanwhile."""
    path = Path(tempfile.mkdtemp(prefix="newsflow-scale-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
