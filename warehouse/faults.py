"""Crash-test hooks: kill the process at a named point, as a power cut or OOM kill would."""

from __future__ import annotations

import logging
import os
import signal

log = logging.getLogger(__name__)


def fault_point(name: str) -> None:
    """Crash-test hook: ``NEWSFLOW_FAULT_AT=<name>`` kills the process here with SIGKILL.

    Named points: ``<transaction>:before_commit`` / ``:after_commit`` for the transactions
    ``ingest`` (raw feed batch), ``ingest_core``, ``fetch`` (raw page batch), ``extract`` (core
    batch), ``checks``, and ``migration:after_commit``. In publish (warehouse/publish.py):
    ``publish:generation_written`` (new generation complete under its temporary name),
    ``publish:views_written`` (generation in place, new analytics.duckdb not switched yet) and
    ``publish:switched`` (analytics.duckdb switched; ``current``, manifest, pruning not done).
    """
    if os.environ.get("NEWSFLOW_FAULT_AT") == name:
        log.warning("fault hook %s: killing process %d", name, os.getpid())
        os.kill(os.getpid(), signal.SIGKILL)
