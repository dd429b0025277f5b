"""Spawned pool workers that do not re-import the parent's ``__main__``.

A spawned child normally re-runs the parent's main module first (as ``__mp_main__``), so that
functions defined there can be unpickled. Our workers never run such functions: their targets
live in importable modules. Yet the parent's main is heavy: the ``newsflow`` console script
imports the whole CLI (pandas, prefect, ...) and a Prefect worker's flow run is
``prefect.engine``; re-importing it cost each worker ~4 s of CPU before its first page, paid again
whenever a worker is replaced. This drops the main module from the preparation data of pebble's
workers only (by their process name); every other child process is left as multiprocessing
makes it.
"""

from __future__ import annotations

import multiprocessing.spawn as _spawn
import threading
from typing import Any

from pebble.pool.process import WORKERS_NAME

_original = _spawn.get_preparation_data
_lock = threading.Lock()


def _lean_preparation_data(name: str) -> dict[str, Any]:
    data: dict[str, Any] = _original(name)
    if name == WORKERS_NAME:
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
    return data


def install() -> None:
    """Make pebble's spawned workers skip the parent's main module (idempotent)."""
    with _lock:
        if _spawn.get_preparation_data is not _lean_preparation_data:
            _spawn.get_preparation_data = _lean_preparation_data
