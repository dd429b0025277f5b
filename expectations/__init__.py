"""great-expectations suites for every stage of newsflow, and the policy that goes with them.

Importing this package does not import great_expectations (it costs ~7 s and ~220 MB): the stages'
checks are computed with pandas by ``expectations.engine`` (the same results as GX), and GX is
loaded only to draw Data Docs or when asked for (``validate_batch(..., engine="gx")``).
"""

from __future__ import annotations

from expectations.docs import build_data_docs
from expectations.policy import Check, Severity
from expectations.report import CheckResult, StageReport
from expectations.runner import SUITES, validate_batch, validate_volume, warm_up
from expectations.volume import VolumeBounds

__all__ = [
    "SUITES",
    "Check",
    "CheckResult",
    "Severity",
    "StageReport",
    "VolumeBounds",
    "build_data_docs",
    "validate_batch",
    "validate_volume",
    "warm_up",
]
