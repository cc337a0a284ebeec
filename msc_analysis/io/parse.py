"""Turn the text columns of a cut into typed columns, collecting every unreadable cell.

One function per column type. Each returns the typed column and the rows that could not be
read; nothing is guessed: a value that does not have the documented form is reported, not
coerced. Ranges, allowed values and required values are checked afterwards by the schema
(``schema.py``) on the typed columns.

Beyond its form, a cell is unreadable when it could not be a value of this trial at all: a date
before the earliest plausible date (``definitions/cut_limits.yaml``), a whole number too large to
hold exactly (more than 2**53), or text holding an invisible control character.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .problems import Problem
from .spec import BOOLEAN_SPELLINGS, ColumnSpec, cut_limits, table_columns

__all__ = ["parse_table"]

_ID = r"[A-Za-z0-9_-]{1,32}"
_DATE = r"\d{4}-\d{2}-\d{2}"
_DATETIME = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?"
_EXCEL_SERIAL = re.compile(r"\d{5}(\.\d+)?")
_SLASHED = re.compile(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}.*")
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
#: Whole numbers beyond this cannot be held exactly (float64) and overflow Int64 near 9.2e18.
_LARGEST_INTEGER = 2 ** 53
#: Control characters (except tab and line breaks) and bidirectional overrides: never in a value.
#: The overrides are written as the characters themselves, so that the pattern means the same to
#: Python's ``re`` and to Arrow's RE2 (which has no ``\u`` escapes) and runs as an Arrow kernel.
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + "\u202a-\u202e\u2066-\u2069]"
#: A plain decimal (ASCII digits): converted by Arrow, which rounds exactly as ``pandas.to_numeric``.
_PLAIN_NUMBER = r"^-?[0-9]+(\.[0-9]+)?$"


def parse_table(table: str, source: str, raw: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """Parse every column of one raw table by its type in the cut format.

    Parameters
    ----------
    table : str
        Table name in the cut format (e.g. ``"vitals"``).
    source : str
        File name used in messages.
    raw : DataFrame
        Text cells, index = spreadsheet row number.

    Returns
    -------
    (DataFrame, list of Problem)
        Typed columns (dates ``datetime64``, booleans ``boolean``, numbers ``float64``,
        integers ``Int64``, text ``string``) with the same index (unreadable cells are
        missing), and one problem per unreadable cell.
    """
    problems: list[Problem] = []
    out = {}
    for spec in table_columns(table):
        if spec.column not in raw.columns:
            continue
        text = raw[spec.column].str.strip()
        parsed, bad = _PARSERS[spec.type](text, spec)
        for row in text.index[bad]:
            problems.append(Problem(source, int(row), spec.column, raw.at[row, spec.column],
                                    _why(text.at[row], spec)))
        out[spec.column] = parsed
    return pd.DataFrame(out, index=raw.index), problems


def _earliest() -> str:
    return cut_limits()["earliest_plausible_date"].isoformat()


def _why(value: str, spec: ColumnSpec) -> str:
    expected = f"expected {spec.expected()}"
    if spec.type == "text" and re.search(_CONTROL, value):
        return ("holds an invisible control character (shown escaped, e.g. \\x1b); "
                "expected text without control characters")
    if spec.type in ("date", "datetime"):
        if re.match(_DATE, value) and value[:10] < _earliest():
            return (f"dated before {_earliest()}, the earliest plausible date of this trial "
                    f"(definitions/cut_limits.yaml): a typing error? {expected}")
        if _EXCEL_SERIAL.fullmatch(value):
            day = (_EXCEL_EPOCH + pd.Timedelta(days=float(value))).date()
            return (f"this looks like an Excel serial date number (= {day}); {expected} "
                    "(format the column as text before exporting)")
        if _SLASHED.fullmatch(value):
            return f"day/month order cannot be known for certain from this form; {expected}"
        if spec.type == "datetime" and re.fullmatch(_DATE, value):
            return f"the time of day is missing; {expected}"
        if re.fullmatch(_DATETIME if spec.type == "datetime" else _DATE, value):
            return f"not a real calendar date or time; {expected}"
    if spec.type in ("number", "integer") and re.fullmatch(r"-?\d+,\d+", value):
        return f"use a point as the decimal mark; {expected}"
    return expected


def _parse_id(text: pd.Series, spec: ColumnSpec):
    bad = ~text.str.fullmatch(_ID) & (text != "")
    return text.where(~bad & (text != "")).astype("string"), bad


def _parse_text(text: pd.Series, spec: ColumnSpec):
    bad = text.str.contains(_CONTROL, regex=True)
    return text.where(~bad & (text != "")).astype("string"), bad


def _lookup(text: pd.Series, table: dict, kind: pa.DataType) -> pa.ChunkedArray:
    """``table[text.str.lower()]`` for each cell, null where the lowered text is not a key."""
    lowered = pc.utf8_lower(pa.array(text.array))
    at = pc.index_in(lowered, value_set=pa.array(list(table), type=lowered.type))
    return pc.take(pa.array(list(table.values()), type=kind), at)


def _parse_category(text: pd.Series, spec: ColumnSpec):
    canon = {a.lower(): a for a in spec.allowed}
    parsed = pd.Series(pd.array(_lookup(text, canon, pa.large_string()), dtype="string"), index=text.index)
    bad = parsed.isna() & (text != "")
    return parsed, bad


def _parse_boolean(text: pd.Series, spec: ColumnSpec):
    lookup = {s: v for v, spellings in BOOLEAN_SPELLINGS.items() for s in spellings}
    parsed = pd.Series(pd.array(_lookup(text, lookup, pa.bool_()), dtype="boolean"), index=text.index)
    return parsed, parsed.isna() & (text != "")


def _to_float(text: pd.Series) -> pd.Series:
    """``pandas.to_numeric(text, errors="coerce")`` as float64 ("" is missing), plain decimals
    converted by Arrow and only the other spellings (``1e5``, ...) by pandas."""
    cells = pa.array(text.array)
    plain = pc.match_substring_regex(cells, _PLAIN_NUMBER).to_numpy(zero_copy_only=False)
    values = np.full(len(text), np.nan)
    values[plain] = pc.cast(cells.filter(pa.array(plain)), pa.float64()).to_numpy(zero_copy_only=False)
    other = ~plain & (text != "").to_numpy()
    if other.any():
        values[other] = pd.to_numeric(text[other], errors="coerce").astype("float64").to_numpy()
    return pd.Series(values, index=text.index, dtype="float64")


def _parse_number(text: pd.Series, spec: ColumnSpec):
    parsed = _to_float(text)
    bad = parsed.isna() & (text != "")
    bad |= ~np.isfinite(parsed.fillna(0.0))
    if spec.type == "integer":
        bad |= parsed.notna() & ((parsed % 1 != 0) | (parsed.abs() > _LARGEST_INTEGER))
        parsed = parsed.where(~bad).astype("Int64")
    return parsed.where(~bad), bad


def _parse_datetime_like(pattern: str, fmt: str | None):
    def parse(text: pd.Series, spec: ColumnSpec):
        shaped = text.str.fullmatch(pattern)
        candidate = text.where(shaped).str.replace(" ", "T", regex=False)
        if fmt is None:  # datetimes: seconds optional
            candidate = candidate.where(candidate.str.len() != 16, candidate + ":00")
            parsed = pd.to_datetime(candidate, format="%Y-%m-%dT%H:%M:%S", errors="coerce")
        else:
            parsed = pd.to_datetime(candidate, format=fmt, errors="coerce")
        parsed = parsed.astype("datetime64[s]")
        bad = (parsed.isna() & (text != "")) | (parsed < pd.Timestamp(_earliest()))
        return parsed.where(~bad), bad

    return parse


_PARSERS = {
    "id": _parse_id,
    "text": _parse_text,
    "category": _parse_category,
    "boolean": _parse_boolean,
    "number": _parse_number,
    "integer": _parse_number,
    "date": _parse_datetime_like(_DATE, "%Y-%m-%d"),
    "datetime": _parse_datetime_like(_DATETIME, None),
}
