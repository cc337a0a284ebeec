"""Column rules of the cut format checked with pandera: ranges, required values, unique codes.

The schemas are built from ``definitions/cut_v1_columns.csv``; pandera's lazy validation
collects every failing cell at once and each failure becomes a :class:`Problem` that names
file, row, column, value and what was expected.
"""
from __future__ import annotations

from functools import lru_cache

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from .problems import Problem
from .spec import table_columns

__all__ = ["check_columns"]

#: Columns whose values must be unique within their table.
_UNIQUE = {("subjects", "subject_id")}


@lru_cache(maxsize=None)
def _schema(table: str) -> pa.DataFrameSchema:
    columns = {}
    for spec in table_columns(table):
        checks = []
        if spec.min is not None and spec.max is not None:
            checks.append(pa.Check.in_range(spec.min, spec.max, name=spec.column))
        elif spec.min is not None:
            checks.append(pa.Check.ge(spec.min, name=spec.column))
        columns[spec.column] = pa.Column(
            checks=checks,
            nullable=not spec.value_required,
            unique=(table, spec.column) in _UNIQUE,
            required=False,  # missing columns are reported when the header is read
        )
    return pa.DataFrameSchema(columns, strict=False)


def check_columns(table: str, source: str, typed: pd.DataFrame, raw: pd.DataFrame,
                  unreadable: set[tuple[int, str]]) -> list[Problem]:
    """Every cell of ``typed`` that breaks a column rule, as problems.

    Cells listed in ``unreadable`` (row, column) were already reported by the parser and
    are not reported twice.
    """
    try:
        _schema(table).validate(typed, lazy=True)
        return []
    except SchemaErrors as err:
        cases = err.failure_cases
    specs = {s.column: s for s in table_columns(table)}
    problems = []
    for case in cases.itertuples(index=False):
        column, row = case.column, case.index
        if column not in specs or row is None or pd.isna(row):
            problems.append(Problem(source, None, column, None, f"failed the check {case.check}"))
            continue
        row = int(row)
        if (row, column) in unreadable:
            continue
        spec = specs[column]
        value = raw.at[row, column] if column in raw.columns else str(case.failure_case)
        if case.check == "not_nullable":
            expected = f"a value is required: {spec.expected()}"
        elif case.check == "field_uniqueness":
            expected = "each code must appear only once in this table (duplicate code)"
        else:
            expected = f"expected {spec.expected()}"
        problems.append(Problem(source, row, column, value, expected))
    return problems
