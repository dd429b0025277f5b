"""The suites' checks computed directly on the prepared batch: GX's verdicts without GX's cost.

great_expectations spends ~0.3-1 s per suite building metric graphs (and 5-20 s importing itself)
for work pandas does in milliseconds. Each check here is the vectorised pandas operation GX's
pandas engine runs for that expectation (the ``_pandas`` partials of GX 1.x: ``isin``,
``astype(str).str.contains``, ``duplicated(keep=False)``, comparisons), with GX's rules around
it: nulls left out of column checks, ``ignore_row_if`` for pairs and compounds, row conditions
applied first, ``mostly`` judged over the rows considered, vacuous success on nothing considered.
So a batch gets the same results, row for row, as ``runner.run_suite`` gives through GX;
``tests/expectations/test_engine_equivalence.py`` runs both on the same batches (clean, with
planted defects, and the sample's stress/defect run) and compares every field.

The checks stay declared once (``expectations.policy.Check``, the GX expectation class and its
arguments): GX builds its suites from the same declarations for Data Docs and the comparison.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from expectations.policy import Check
from expectations.prefilter import may_match
from expectations.report import CheckResult

if TYPE_CHECKING:
    import pandas as pd

SAMPLE_SIZE = 20
_MAX_OBSERVED = 500
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge}


class Unsupported(ValueError):
    """A check whose expectation this engine does not compute (the caller falls back to GX)."""


def supported(checks: tuple[Check, ...]) -> bool:
    """True when every check's expectation is computed here."""
    return all(c.expectation in _COLUMN_MAP or c.expectation in _OTHER for c in checks)


def evaluate(suite: str, checks: tuple[Check, ...], data: pd.DataFrame, *, id_column: str,
             parameters: Mapping[str, Any]) -> tuple[CheckResult, ...]:
    """Every check of a suite on a prepared frame, in declaration order."""
    return tuple(_one(suite, check, data, id_column, parameters) for check in checks)


def _one(suite: str, check: Check, data: pd.DataFrame, id_column: str,
         parameters: Mapping[str, Any]) -> CheckResult:
    kwargs = {k: _resolve(v, parameters) for k, v in check.kwargs.items()}
    try:
        if check.expectation in _OTHER:
            return _OTHER[check.expectation](suite, check, _rows(data, check.when), kwargs)
        # only the columns the check reads: filtering a whole wide frame per check costs more
        # than the checks themselves
        needed = [kwargs.get("column"), kwargs.get("column_A"), kwargs.get("column_B"),
                  *kwargs.get("column_list", ()), check.when[0] if check.when else None]
        narrow = data[list(dict.fromkeys(c for c in needed if c is not None))]
        if id_column in data.columns and id_column not in narrow.columns:
            narrow = narrow.assign(**{id_column: data[id_column]})
        return _map_check(suite, check, _rows(narrow, check.when), kwargs, id_column)
    except KeyError as exc:  # a column the batch lacks: GX errors on it too (columns_present fails)
        return _error(suite, check, f"column {exc} is missing")
    except (TypeError, ValueError) as exc:  # values that cannot be compared: this check fails
        return _error(suite, check, repr(exc))


def _resolve(value: Any, parameters: Mapping[str, Any]) -> Any:
    if isinstance(value, Mapping) and set(value) == {"$PARAMETER"}:
        return parameters[value["$PARAMETER"]]
    return value


def _rows(data: pd.DataFrame, when: tuple[str, str, Any] | None) -> pd.DataFrame:
    """The rows a check sees (GX applies the row condition before anything else)."""
    if when is None:
        return data
    column, op, value = when
    col = data[column]
    if op == "in":
        mask = col.isin(value)
    elif op == "not in":
        mask = ~col.isin(value)
    else:
        mask = _OPS[op](col, value)
    return _where(data, mask.fillna(False).astype(bool))


def _where(frame: pd.DataFrame, mask: pd.Series) -> pd.DataFrame:
    """``frame[mask]``, without copying the rows when the mask keeps all or none of them: most
    checks pass on most batches, and a boolean row filter copies every column (a ``take`` per
    Arrow-backed column, about 0.3 ms each) even when it keeps every row."""
    if mask.all():
        return frame
    if not mask.any():
        return frame.iloc[:0]
    return frame[mask]


# Column map expectations: (rows considered, unexpected mask over them, values shown) ---------

def _between(series: pd.Series, low: Any, high: Any) -> pd.Series:
    import pandas as pd

    ok = pd.Series(True, index=series.index)
    if low is not None:
        ok &= series >= low
    if high is not None:
        ok &= series <= high
    return ok


def _lengths(series: pd.Series, kw: Mapping[str, Any]) -> pd.Series:
    return _between(series.astype(str).str.len(), kw.get("min_value"), kw.get("max_value"))


def _match(series: pd.Series, kw: Mapping[str, Any]) -> pd.Series:
    return series.astype(str).str.contains(kw["regex"])


def _not_match_list(series: pd.Series, kw: Mapping[str, Any]) -> pd.Series:
    """True where no pattern of the list is found. ``re`` searches only the texts that RE2
    cannot rule out (expectations.prefilter): the same answers, at a fraction of the cost."""
    import pandas as pd

    text = series.astype(str)
    regexes = kw["regex_list"]
    maybe = may_match(text.tolist(), regexes)
    if maybe is None:
        return ~_found(text, regexes)
    import numpy as np

    through = np.array(maybe, dtype=bool)
    hit = np.zeros(len(text), dtype=bool)
    if through.any():
        hit[through] = _found(text[through], regexes).to_numpy(dtype=bool)
    return pd.Series(~hit, index=series.index)


def _found(text: pd.Series, regexes: list[str]) -> pd.Series:
    """Per text, whether ``re`` finds any of ``regexes`` in it (as GX's pandas engine does)."""
    import pandas as pd

    hit = pd.Series(False, index=text.index)
    for regex in regexes:
        hit |= text.str.contains(regex)
    return hit


# name -> (expected-mask function over the non-null values; nulls considered?)
_COLUMN_MAP: dict[str, tuple[Callable[[pd.Series, Mapping[str, Any]], pd.Series], bool]] = {
    "ExpectColumnValuesToBeBetween": (
        lambda s, kw: _between(s, kw.get("min_value"), kw.get("max_value")), False),
    "ExpectColumnValueLengthsToBeBetween": (_lengths, False),
    "ExpectColumnValuesToBeInSet": (lambda s, kw: s.isin(kw["value_set"]), False),
    "ExpectColumnValuesToMatchRegex": (_match, False),
    "ExpectColumnValuesToNotMatchRegexList": (_not_match_list, False),
    "ExpectColumnValuesToBeUnique": (lambda s, kw: ~s.duplicated(keep=False), False),
    "ExpectColumnValuesToNotBeNull": (lambda s, kw: s.notna(), True),
    "ExpectColumnPairValuesAToBeGreaterThanB": (lambda s, kw: s, False),   # see _pair
    "ExpectCompoundColumnsToBeUnique": (lambda s, kw: s, False),           # see _compound
}


def _map_check(suite: str, check: Check, rows: pd.DataFrame, kw: dict[str, Any],
               id_column: str) -> CheckResult:
    element_count = len(rows)
    if check.expectation == "ExpectColumnPairValuesAToBeGreaterThanB":
        considered, unexpected, values = _pair(rows, kw)
        judged_over = len(considered)
        shown_columns = [kw["column_A"], kw["column_B"]]
    elif check.expectation == "ExpectCompoundColumnsToBeUnique":
        considered, unexpected, values = _compound(rows, kw)
        judged_over = len(considered)
        shown_columns = list(kw["column_list"])
    else:
        column = kw["column"]
        expected, keeps_nulls = _COLUMN_MAP[check.expectation]
        series = rows[column]
        present = series.notna()
        considered = rows if keeps_nulls else _where(rows, present)
        mask = expected(considered[column], kw).fillna(False).astype(bool)
        unexpected = _where(considered, ~mask)
        values = list(unexpected[column][:200])
        # NotBeNull judges its share over all rows; the others over the non-null ones
        judged_over = element_count if keeps_nulls else int(present.sum())
        shown_columns = [column]
    unexpected_count = len(unexpected)
    mostly = float(kw.get("mostly", 1.0))
    if judged_over == 0 or element_count == 0:
        success = True   # vacuously, as GX
    else:
        success = (judged_over - unexpected_count) / judged_over >= mostly
    ids = _ids(unexpected, id_column)
    if check.sample_ids:
        sample = [_id_row(row, id_column, shown_columns)
                  for row in unexpected[_present([id_column, *shown_columns], unexpected)]
                  .to_dict("records")]
    else:
        sample = [shown(v) for v in values]
    return CheckResult(
        suite=suite, expectation=check.name, column=check.column, success=success,
        blocking=check.blocking, observed_value=f"{unexpected_count} of {element_count} unexpected",
        element_count=element_count, unexpected_count=unexpected_count,
        unexpected_sample=tuple(sample[:SAMPLE_SIZE]), why=check.why,
        failing_event_ids=tuple(dict.fromkeys(ids)) if check.blocking and not success else (),
    )


def _pair(rows: pd.DataFrame, kw: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame, list[Any]]:
    a, b = rows[kw["column_A"]], rows[kw["column_B"]]
    ignore = kw.get("ignore_row_if", "both_values_are_missing")
    if ignore == "either_value_is_missing":
        keep = a.notna() & b.notna()
    elif ignore == "both_values_are_missing":
        keep = a.notna() | b.notna()
    else:  # "neither": every row
        keep = a.notna() | a.isna()
    considered = _where(rows, keep)
    a, b = considered[kw["column_A"]], considered[kw["column_B"]]
    ok = (a >= b) if kw.get("or_equal") else (a > b)
    unexpected = _where(considered, ~ok.fillna(False).astype(bool))
    ua, ub = unexpected[kw["column_A"]], unexpected[kw["column_B"]]
    return considered, unexpected, list(zip(ua.values, ub.values, strict=False))[:200]


def _compound(rows: pd.DataFrame, kw: Mapping[str, Any]
              ) -> tuple[pd.DataFrame, pd.DataFrame, list[Any]]:
    columns = list(kw["column_list"])
    ignore = kw.get("ignore_row_if", "all_values_are_missing")
    nulls = rows[columns].isna()
    if ignore == "any_value_is_missing":
        considered = _where(rows, ~nulls.any(axis=1))
    elif ignore == "all_values_are_missing":
        considered = _where(rows, ~nulls.all(axis=1))
    else:
        considered = rows
    ok = ~considered[columns].duplicated(keep=False)
    unexpected = _where(considered, ~ok)
    return considered, unexpected, unexpected[columns][:200].to_dict("records")


# Table and aggregate expectations -----------------------------------------------------------

def _row_count(suite: str, check: Check, rows: pd.DataFrame, kw: Mapping[str, Any]
               ) -> CheckResult:
    n = len(rows)
    low, high = kw.get("min_value"), kw.get("max_value")
    success = (low is None or n >= low) and (high is None or n <= high)
    return _aggregate(suite, check, success, str(n))


def _columns(suite: str, check: Check, rows: pd.DataFrame, kw: Mapping[str, Any]
             ) -> CheckResult:
    expected, actual = set(kw["column_set"]), set(map(str, rows.columns))
    missing = sorted(expected - actual)
    extra = sorted(actual - expected)
    success = not missing and (not kw.get("exact_match", True) or not extra)
    return _aggregate(suite, check, success,
                      f"missing: {', '.join(missing)}" if missing else "all present")


def _column_sum(suite: str, check: Check, rows: pd.DataFrame, kw: Mapping[str, Any]
                ) -> CheckResult:
    total = rows[kw["column"]].sum()
    low, high = kw.get("min_value"), kw.get("max_value")
    success = bool((low is None or total >= low) and (high is None or total <= high))
    return _aggregate(suite, check, success, shown(total))


_OTHER: dict[str, Callable[[str, Check, Any, Any], CheckResult]] = {
    "ExpectTableRowCountToBeBetween": _row_count,
    "ExpectTableColumnsToMatchSet": _columns,
    "ExpectColumnSumToBeBetween": _column_sum,
}


def _aggregate(suite: str, check: Check, success: bool, observed: str) -> CheckResult:
    return CheckResult(suite, check.name, check.column, success, check.blocking, observed, None,
                       None, (), check.why, ())


def _error(suite: str, check: Check, message: str) -> CheckResult:
    """One check that could not be computed: failed, as GX reports an expectation that raised."""
    return CheckResult(suite, check.name, check.column, False, check.blocking,
                       shown(f"error: {message}"), None, None, (), check.why, ())


# Rendering, as runner._check_result renders GX's values --------------------------------------

def _present(columns: list[str], frame: pd.DataFrame) -> list[str]:
    return [c for c in dict.fromkeys(columns) if c in frame.columns]


def _ids(unexpected: pd.DataFrame, id_column: str) -> list[str]:
    if id_column not in unexpected.columns:
        return []
    return [str(v) for v in unexpected[id_column].tolist() if v is not None]


def _id_row(row: Mapping[str, Any], id_column: str, columns: list[str]) -> str:
    rest = ", ".join(f"{k}={shown(row[k])}" for k in dict.fromkeys(columns) if k != id_column)
    return f"{row.get(id_column)}: {rest}"


def shown(value: Any) -> str:
    """A value as results store it: 'null' for missing, cut to 500 characters."""
    text = "null" if value is None or (isinstance(value, float) and value != value) else str(value)
    return text if len(text) <= _MAX_OBSERVED else text[: _MAX_OBSERVED - 1] + "…"
