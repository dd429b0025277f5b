"""Fixtures for the HTTP layer: the fault server and fetcher options sized for fast tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from faultserver import FaultServer, SleepRecorder  # needs the path above (importlib mode)


@pytest.fixture
def server() -> Iterator[FaultServer]:
    """A fresh fault server on 127.0.0.1 for one test."""
    with FaultServer() as srv:
        yield srv


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()
