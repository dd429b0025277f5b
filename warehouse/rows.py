"""Rows: a query's result as the CLI shows and writes it, without pandas.

Column names, their DuckDB type names and the fetched tuples. warehouse.reports returns these;
flows/cli/report.py prints them as tables, CSV or JSON. A command that only reads never needs
pandas (nor pays its import); ``df()`` converts for a caller that wants a DataFrame.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

_NUMERIC = re.compile(r"^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|FLOAT|DOUBLE|REAL|DECIMAL)\b")
_MOMENT = re.compile(r"^(TIMESTAMP|DATE)\b")


@dataclass(frozen=True, slots=True)
class Rows:
    """A query's result as the CLI shows it: column names, their DuckDB types and the rows.

    What the commands print is built from this, not from a DataFrame, so a command that only
    reads never imports pandas (``df()`` converts, for callers that want one)."""

    columns: tuple[str, ...]
    types: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    @classmethod
    def of(cls, cur: duckdb.DuckDBPyConnection) -> Rows:
        """The rest of a cursor's result."""
        described = cur.description or []
        return cls(tuple(d[0] for d in described), tuple(str(d[1]) for d in described),
                   cur.fetchall())

    @classmethod
    def from_records(cls, records: Sequence[dict[str, Any]], types: dict[str, str]) -> Rows:
        """Rows of dicts with the given columns (name -> DuckDB type name), in that order."""
        return cls(tuple(types), tuple(types.values()),
                   [tuple(r.get(c) for c in types) for r in records])

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.rows)

    @property
    def empty(self) -> bool:
        return not self.rows

    def numeric(self, column: int) -> bool:
        """Is the column a number (not a boolean)?"""
        return bool(_NUMERIC.match(self.types[column]))

    def moment(self, column: int) -> bool:
        """Is the column a day or a time?"""
        return bool(_MOMENT.match(self.types[column]))

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def column(self, name: str) -> list[Any]:
        at = self.columns.index(name)
        return [row[at] for row in self.rows]

    def df(self) -> pd.DataFrame:
        """The rows as a pandas DataFrame (imports pandas)."""
        import pandas as pd

        return pd.DataFrame.from_records(self.rows, columns=list(self.columns))


def inline(sql: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``sql`` with its ``$name`` parameters written as SQL literals where the value is None, a
    bool, an int, a finite float, a date or time, a string without NUL, or a list of those; any
    other value stays a bound parameter (in the returned dict).

    Why: DuckDB's Python client imports pandas (seconds of CPU) the first time it binds a
    non-NULL parameter, and the reading commands import nothing heavy (issue 13). The literals
    cannot carry SQL: numbers and times are printed by Python, strings have their quotes
    doubled (DuckDB reads no backslash escapes in '...'). ``$`` inside a quoted string or a
    ``--`` comment of ``sql`` is left alone.
    """
    kept: dict[str, Any] = {}

    def replace(match: re.Match[str]) -> str:
        token, name = match[0], match[1]
        if name is None or name not in params:  # a string, a comment, or not ours
            return token
        text = _literal(params[name])
        if text is None:
            kept[name] = params[name]
            return token
        return text

    return _TOKENS.sub(replace, sql), kept


_TOKENS = re.compile(r"'(?:[^']|'')*'|--[^\n]*|\$([A-Za-z_]\w*)")


def _literal(value: Any) -> str | None:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    if isinstance(value, datetime):
        kind = "TIMESTAMPTZ" if value.tzinfo is not None else "TIMESTAMP"
        return f"{kind} '{value.isoformat()}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        return None if "\x00" in value else "'" + value.replace("'", "''") + "'"
    if isinstance(value, list | tuple):
        items = [_literal(v) for v in value]
        if any(i is None for i in items):
            return None
        return "[" + ", ".join(str(i) for i in items) + "]" if items else None
    return None
