"""Run a suite on a pandas batch and turn the result into a StageReport.

By default the checks are computed by ``expectations.engine`` (pandas, milliseconds); with
``engine="gx"`` great_expectations validates the batch, giving the same results. GX is imported
here only inside functions (import costs ~7 s and ~220 MB). One ephemeral GX context per process
is built on first use and reused; suites are built once per table. GX's SQL datasource does not
work with DuckDB, so callers read the batch they just wrote into a DataFrame (without BLOB
columns) and hand it over.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any

from expectations import articles, feed_entries, feed_fetches, page_fetches, volume
from expectations import engine as native
from expectations.engine import SAMPLE_SIZE
from expectations.engine import shown as _text
from expectations.policy import Check
from expectations.report import CheckResult, StageReport
from transforms.limits import MAX_BODY_BYTES

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

SUITES: dict[str, ModuleType] = {
    m.TABLE: m for m in (feed_fetches, feed_entries, page_fetches, articles)
}
VALIDATOR_ERROR = "validator_error"   # the CheckResult name when GX itself fails on a batch
ENGINES = ("native", "gx")
# What validate_batch and validate_volume use unless told: the pandas computation of the checks
# (expectations.engine); "gx" runs GX itself (Data Docs conversion, the equivalence tests).
DEFAULT_ENGINE = "native"


@dataclass
class _Gx:
    """The process-wide GX objects: context, one pandas datasource, one batch definition a suite."""

    context: Any
    datasource: Any
    batch_definitions: dict[str, Any] = field(default_factory=dict)
    suites: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LatestValidation:
    """The newest result of a suite in this process, kept for Data Docs."""

    suite: str
    table: str
    stage: str
    validated_at: datetime
    report: StageReport
    result: Any = None   # GX's ExpectationSuiteValidationResult when GX validated the batch


_lock = threading.RLock()   # GX contexts are not thread-safe; flows may check from threads
_state: _Gx | None = None
_latest: dict[str, LatestValidation] = {}   # by suite name, whichever engine ran it


def _gx() -> _Gx:
    """The process's GX context, built on first use (the import is the slow part)."""
    global _state
    with _lock:
        if _state is None:
            started = time.perf_counter()
            # no usage statistics leave the machine, and no progress bars in logs
            os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
            gx_log = logging.getLogger("great_expectations")
            if gx_log.level == logging.NOTSET:  # its import logs ~200 INFO lines; keep warnings
                gx_log.setLevel(logging.WARNING)
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            _drop_default_site(context)
            datasource = context.data_sources.add_pandas("newsflow")
            _state = _Gx(context=context, datasource=datasource)
            log.info("great_expectations %s ready in %.1fs", gx.__version__,
                     time.perf_counter() - started)
        return _state


def _drop_default_site(context: Any) -> None:
    """An ephemeral context makes a temporary 'local_site' dir per process; we never build it."""
    site = context.list_data_docs_sites().get("local_site")
    if site is None:
        return
    context.delete_data_docs_site("local_site")
    base = site.get("store_backend", {}).get("base_directory")
    if base:
        shutil.rmtree(base, ignore_errors=True)


def _suite_objects(state: _Gx, name: str, checks: tuple[Check, ...]) -> tuple[Any, Any]:
    """(batch definition, suite) for a suite name, built once per process."""
    if name not in state.suites:
        import great_expectations as gx

        suite = gx.ExpectationSuite(name=name, meta={"notes": f"newsflow suite {name}"})
        for check in checks:
            cls = getattr(gx.expectations, check.expectation)
            kwargs = dict(check.kwargs)
            if check.when is not None:
                kwargs["row_condition"] = _condition(*check.when)
            suite.add_expectation(cls(
                **kwargs,
                # Data Docs show notes beside each expectation: the policy and the reason
                notes=f"**{check.severity}** `{check.name}`: {check.why}",
                meta={"name": check.name, "why": check.why, "severity": str(check.severity),
                      **check.meta},
            ))
        state.suites[name] = state.context.suites.add(suite)
        asset = state.datasource.add_dataframe_asset(name=name)
        state.batch_definitions[name] = asset.add_batch_definition_whole_dataframe(name)
    return state.batch_definitions[name], state.suites[name]


def policy_markdown() -> str:
    """The policy table of every suite (docs/quality.md carries it; a test keeps them in step)."""
    lines = ["| suite | check | GX expectation | column | rows | policy | why |",
             "|---|---|---|---|---|---|---|"]
    suites = [(m.SUITE, m.checks()) for m in SUITES.values()]
    suites.append((volume.SUITE, volume.checks()))
    for name, checks in suites:
        for c in checks:
            rows = f"`{c.condition}`" if c.when else "all"
            lines.append(f"| {name} | `{c.name}` | {c.expectation} | {c.column or ''} | {rows} | "
                         f"{c.severity} | {c.why.replace('|', '/')} |")
    return "\n".join(lines)


def warm_up(*, background: bool = True) -> threading.Thread | None:
    """Import great_expectations and build the context before the first check needs them.

    The import costs seconds of CPU; a flow can call this when a stage starts so the import
    overlaps its network I/O (the thread is a daemon; the first validation waits for it if it has
    not finished). Returns the thread, or None when already warm or run in the foreground.
    """
    if _state is not None:
        return None
    if not background:
        _gx()
        return None
    thread = threading.Thread(target=_warm, name="gx-warm-up", daemon=True)
    thread.start()
    return thread


def _warm() -> None:
    try:
        _gx()
    except Exception:  # the first real validation retries and reports the error properly
        log.warning("great_expectations warm-up failed", exc_info=True)


def gx_context() -> Any:
    """The process's GX context (importing great_expectations on first use)."""
    return _gx().context


def latest_validations() -> dict[str, LatestValidation]:
    """The newest validation of each suite run in this process."""
    with _lock:
        return dict(_latest)


def checks_of_suite(name: str) -> tuple[Check, ...]:
    """A suite's checks by suite name (volume with its default bounds)."""
    for table, module in SUITES.items():
        if name == module.SUITE:
            return _checks(table)
    return volume.checks() if name == volume.SUITE else ()


def suite_expectations(name: str) -> list[Any]:
    """The GX expectations of a suite (built on first use), for rendering stored results."""
    with _lock:
        register_all_suites()
        assert _state is not None
        return list(_state.suites[name].expectations)


def register_all_suites() -> None:
    """Build every suite in the context, so Data Docs can render suites not run in this process."""
    with _lock:
        state = _gx()
        for table, module in SUITES.items():
            _suite_objects(state, module.SUITE, _checks(table))
        _suite_objects(state, volume.SUITE, volume.checks())


def _condition(column: str, op: str, value: Any) -> Any:
    """A GX Condition object (string row conditions are deprecated since GX 1.9)."""
    import operator

    from great_expectations.expectations.row_conditions import Column

    if op == "in":
        return Column(column).is_in(value)
    if op == "not in":
        return Column(column).is_not_in(value)
    ops = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
           ">": operator.gt, ">=": operator.ge}
    return ops[op](Column(column), value)


def run_suite(
    *,
    suite: str,
    table: str,
    stage: str,
    checks: tuple[Check, ...],
    data: pd.DataFrame,
    id_column: str,
    parameters: Mapping[str, Any],
    engine: str | None = None,
) -> StageReport:
    """Validate a prepared DataFrame against a suite's checks and apply the policy.

    ``engine`` "native" (the default, ``DEFAULT_ENGINE``) computes the checks with pandas in
    ``expectations.engine``; "gx" runs the GX suite built from the same declarations. Both give
    the same results (tests/expectations/test_engine_equivalence.py)."""
    started = time.perf_counter()
    engine = engine or DEFAULT_ENGINE
    if engine not in ENGINES:
        raise ValueError(f"unknown check engine {engine!r}; known: {', '.join(ENGINES)}")
    gx_result: Any = None
    try:
        if engine == "native" and native.supported(checks):
            results = native.evaluate(suite, checks, data, id_column=id_column,
                                      parameters=parameters)
        else:
            gx_result = _validate_with_gx(suite, checks, data, id_column, parameters)
            by_name = {res.expectation_config.meta.get("name"): res for res in gx_result.results}
            results = tuple(_check_result(suite, check, by_name.get(check.name), id_column)
                            for check in checks)
    except Exception as exc:
        # the batch is already committed: an unvalidated batch is reported as failed (the stage
        # becomes validation_failed) rather than crashing the run after its write
        log.exception("validating %s with %s failed", table, suite)
        error = CheckResult(suite, VALIDATOR_ERROR, None, False, True, _text(f"error: {exc!r}"),
                            len(data), None, (), "the suite could not run, so the batch is "
                            "unchecked; treated as a blocking failure", ())
        return StageReport(stage=stage, table=table, suite=suite, row_count=len(data),
                           results=(error,))
    report = StageReport(stage=stage, table=table, suite=suite, row_count=len(data),
                         results=results)
    with _lock:
        _latest[suite] = LatestValidation(suite, table, stage, datetime.now(UTC), report,
                                          gx_result)
    log.debug("%s on %d rows (%s): %d checks in %.3fs", suite, len(data), engine, len(results),
              time.perf_counter() - started)
    return report


def _validate_with_gx(suite: str, checks: tuple[Check, ...], data: pd.DataFrame, id_column: str,
                      parameters: Mapping[str, Any]) -> Any:
    """GX's ExpectationSuiteValidationResult for the frame."""
    with _lock:
        state = _gx()
        batch_definition, gx_suite = _suite_objects(state, suite, checks)
        result_format: dict[str, Any] = {"result_format": "COMPLETE",
                                         "partial_unexpected_count": SAMPLE_SIZE}
        if id_column in data.columns:
            result_format["unexpected_index_column_names"] = [id_column]
        batch = batch_definition.get_batch(batch_parameters={"dataframe": data})
        return batch.validate(gx_suite, result_format=result_format,
                              expectation_parameters=dict(parameters))


def validate_batch(
    table: str,
    df: pd.DataFrame,
    *,
    stage: str,
    expect_rows: bool = True,
    max_body_bytes: int = MAX_BODY_BYTES,
    engine: str | None = None,
) -> StageReport:
    """Validate the batch a stage just wrote to ``table`` with that table's suite.

    ``expect_rows=False`` when an empty batch is legitimate (all feeds unchanged: no new entries);
    otherwise zero rows fail the blocking ``batch_not_empty`` check, because GX passes every
    row-level check on zero rows. ``body`` columns, if present, are ignored.
    """
    try:
        module = SUITES[table]
    except KeyError:
        raise ValueError(f"no suite for table {table!r}; known: {sorted(SUITES)}") from None
    data = _frame(df)
    if data.empty:
        # zero rows are judged by the row-count guard alone: a frame built from an empty list
        # has no columns, which must not read as a schema failure
        data = data.reindex(columns=list(dict.fromkeys([*data.columns, *module.COLUMNS])))
    data = module.prepare(data)
    return run_suite(
        suite=module.SUITE, table=table, stage=stage, checks=_checks(table), data=data,
        id_column=module.ID_COLUMN,
        parameters={"min_rows": 1 if expect_rows else 0, "max_body_bytes": max_body_bytes},
        engine=engine,
    )


def validate_volume(
    daily: pd.DataFrame,
    *,
    stage: str = "volume",
    bounds: volume.VolumeBounds | None = None,
    expect_rows: bool = True,
    engine: str | None = None,
) -> StageReport:
    """Judge each source's latest day against its trailing 28-day median.

    ``daily`` has columns source, day, n (the last 29 days per source). Sources with fewer than
    7 days of history are recorded, not judged. Too few or too many rows flag the source (a
    warning, with the source in the sample); every source silent when history says they publish,
    or no rows at all, is blocking. Bounds are documented in ``expectations.volume``.
    """
    bounds = bounds or volume.VolumeBounds()
    data = volume.prepare(daily, bounds)
    return run_suite(
        suite=volume.SUITE, table=volume.TABLE, stage=stage, checks=volume.checks(bounds),
        data=data, id_column=volume.ID_COLUMN,
        parameters={"min_rows": 1 if expect_rows else 0, "min_total": volume.min_total(data),
                    "min_history_days": bounds.min_history_days},
        engine=engine,
    )


@functools.cache
def _checks(table: str) -> tuple[Check, ...]:
    """A table's checks, declared once per process like its GX suite (closed sets are looked up
    in web/ and transforms/ only here)."""
    return tuple(SUITES[table].checks())


def _frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy safe to add derived columns to, without BLOBs, with a clean 0..n-1 index."""
    data = df.drop(columns=[c for c in ("body",) if c in df.columns])
    return data.reset_index(drop=True)


def _check_result(suite: str, check: Check, res: Any, id_column: str) -> CheckResult:
    """Flatten one GX ExpectationValidationResult (or its absence) into a CheckResult."""
    if res is None:  # GX dropped the expectation: treat as failed, never as silently passed
        return CheckResult(suite, check.name, check.column, False, check.blocking,
                           "not evaluated", None, None, (), check.why, ())
    r: dict[str, Any] = dict(res.result or {})
    error = _exception_message(res.exception_info)
    success = bool(res.success) and error is None
    element_count = _int(r.get("element_count"))
    unexpected_count = _int(r.get("unexpected_count"))
    index_rows = r.get("unexpected_index_list") or []
    ids = [str(row[id_column]) for row in index_rows
           if isinstance(row, Mapping) and row.get(id_column) is not None]
    if check.sample_ids:
        sample = [f"{row.get(id_column)}: {_value_of(row, id_column)}" for row in index_rows
                  if isinstance(row, Mapping)]
    else:
        sample = [_text(v) for v in (r.get("unexpected_list") or r.get("partial_unexpected_list")
                                     or [])]
    if error is not None:
        observed: str | None = f"error: {error}"
    elif check.expectation == "ExpectTableColumnsToMatchSet":
        # only missing columns matter; extra ones are the derived columns prepare() adds
        missing = ((r.get("details") or {}).get("mismatched") or {}).get("missing") or []
        observed = f"missing: {', '.join(map(str, missing))}" if missing else "all present"
    elif "observed_value" in r:
        observed = _text(r["observed_value"])
    elif element_count is not None:
        observed = f"{unexpected_count or 0} of {element_count} unexpected"
    else:
        observed = None
    failing = tuple(dict.fromkeys(ids)) if check.blocking and not success else ()
    return CheckResult(
        suite=suite, expectation=check.name, column=check.column, success=success,
        blocking=check.blocking, observed_value=observed, element_count=element_count,
        unexpected_count=unexpected_count, unexpected_sample=tuple(sample[:SAMPLE_SIZE]),
        why=check.why, failing_event_ids=failing,
    )


def _exception_message(info: Any) -> str | None:
    """GX reports errors either flat or keyed by metric; either way, find a raised exception."""
    if not isinstance(info, Mapping):
        return None
    if info.get("raised_exception"):
        return _text(info.get("exception_message") or "exception")
    for value in info.values():
        if isinstance(value, Mapping) and value.get("raised_exception"):
            return _text(value.get("exception_message") or "exception")
    return None


def _value_of(row: Mapping[str, Any], id_column: str) -> str:
    return ", ".join(f"{k}={_text(v)}" for k, v in row.items() if k != id_column)


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None
