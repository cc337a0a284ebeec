"""Text cells of a page's tables: every value of a frame written as the page shows it.

:func:`table_cells` writes the numbers left in a frame with :mod:`~msc_analysis.report.formats`
(whole numbers without decimals, a fixed number of decimals otherwise), a missing value or the
words "nan", "None", "<NA>"... as a dash, ``True``/``False`` as yes/no and a date without a time
as the day; :func:`marker_notes` gives the footnotes of the markers (NE, NR, –) the cells show.
A listing of 100,000 rows is written column by column: a column of text is looked at in Python
only where a cell holds one of those words, other values are written once per distinct value
(:func:`~msc_analysis.report.formats.each`).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import formats

__all__ = ["table_cells", "marker_notes"]

_TEXT_TOKENS = {"nan", "NaN", "None", "<NA>", "NaT", "inf", "-inf", "Inf", "NA"}
# Any text that reads as one of the tokens once stripped contains it.
_ANY_TOKEN = "|".join(re.escape(token) for token in sorted(_TEXT_TOKENS))
# The type of text columns of pandas 3 (what a list of text cells becomes).
_TEXT_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)
_MARKER = {m: re.compile(rf"(?<![\w]){re.escape(m)}(?![\w])") for m in formats.MARKER_NOTES}


def _text(value, decimals: int) -> str:
    if isinstance(value, str):
        return formats.DASH if value.strip() in _TEXT_TOKENS else value
    if value is None or formats.is_missing(value):
        return formats.DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, pd.Timestamp):
        return str(value.date()) if value == value.normalize() else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, (int, float)) or hasattr(value, "dtype"):
        number = float(value)
        if number in (float("inf"), float("-inf")):
            return formats.number(number)
        if number == round(number) and abs(number) < 1e15:
            return formats.count(number)
        return formats.number(number, decimals)
    return str(value)


def table_cells(frame: pd.DataFrame, decimals: int = 1) -> pd.DataFrame:
    """``frame`` as text cells with string column labels, its index kept as columns when it means something.

    >>> table_cells(pd.DataFrame({"n": [8.0, None], "x": [0.123456, float("inf")], "t": ["a", "None"]}))
       n    x  t
    0  8  0.1  a
    1  –   NR  –
    """
    out = frame.copy()
    if isinstance(out.columns, pd.MultiIndex):
        out.columns = [" - ".join(str(p) for p in c if str(p) and not str(p).startswith("Unnamed")) for c in out.columns]
    if not isinstance(out.index, pd.RangeIndex) or any(name is not None for name in out.index.names):
        names = [n if n is not None else "" for n in out.index.names]
        out.index = out.index.set_names([n or f"level {i}" for i, n in enumerate(names)])
        out = out.reset_index()
        out.columns = [("" if str(c).startswith("level ") else c) for c in out.columns]
    out.columns = [str(c) for c in out.columns]
    for i in range(out.shape[1]):
        column = out.iloc[:, i]
        if column.dtype == _TEXT_DTYPE and len(column):
            out.isetitem(i, _text_cells(column))
            continue
        if not _typed_values_are_python_values(column.dtype):
            column = column.astype(object)
        out.isetitem(i, formats.each(column, lambda v: _text(v, decimals)))
    return out.reset_index(drop=True)


def _text_cells(column: pd.Series):
    """:func:`_text` of every value of a text column, looking at a cell in Python only when it holds a token."""
    values = pa.array(column.array)
    maybe_token = pc.match_substring_regex(values, _ANY_TOKEN).fill_null(False).to_numpy(zero_copy_only=False)
    dash = column.isna().to_numpy(copy=True)
    where = np.flatnonzero(maybe_token)
    dash[where] = [text.strip() in _TEXT_TOKENS for text in values.take(where).to_pylist()]
    return column.where(~dash, formats.DASH).array if dash.any() else column.array


def _typed_values_are_python_values(dtype) -> bool:
    """True when a column of ``dtype`` yields the values its ``astype(object)`` holds (``bool``, ``float``...)."""
    return (isinstance(dtype, (pd.StringDtype, pd.DatetimeTZDtype))
            or (isinstance(dtype, np.dtype) and dtype.kind in "biufM"))


def marker_notes(cells: pd.DataFrame) -> list[str]:
    """The footnote of every marker word (NE, NR, –) shown as a word of a cell of ``cells`` (text cells).

    A marker is a word of one cell, so each distinct cell of a column is searched once.

    >>> marker_notes(pd.DataFrame({"Day": ["3", "NR"], "Term": ["NEUTROPENIA", "Fever"]}))
    ['NR = not reached within follow-up.']
    """
    text = "\n".join("\n".join(np.asarray(cells.iloc[:, i].astype(str).unique(), dtype=object))
                     for i in range(cells.shape[1]))
    return [formats.MARKER_NOTES[m] for m, pattern in _MARKER.items() if pattern.search(text)]
