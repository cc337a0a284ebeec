"""Cell formats shared by every table: one way to write a count, a percentage, an interval, a day.

Each function takes numbers and returns the text of one table cell. A value that cannot be
shown as a number becomes a word that the table layer (:mod:`msc_analysis.report.page`) explains
in a footnote: :data:`NE` (not estimable), :data:`NR` (not reached) or :data:`DASH` (no value /
not applicable). Nothing here ever returns ``nan``, ``inf``, ``None`` or scientific notation.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["NE", "NR", "DASH", "MARKER_NOTES", "is_missing", "each", "count", "count_pct", "pct", "pct_interval",
           "number", "number_interval", "days", "days_interval", "p_value", "p_value_or_reason"]

NE = "NE"
NR = "NR"
DASH = "–"
#: Footnote of each marker word; a table adds the note of every marker it shows.
MARKER_NOTES = {
    NE: "NE = not estimable (no subject, nobody left at risk, or a limit that cannot be computed).",
    NR: "NR = not reached within follow-up.",
    DASH: "– = no value (not recorded, or does not apply to this row).",
}


def is_missing(value) -> bool:
    """True for None, NaN, NA and NaT (not for ``inf``).

    >>> [is_missing(v) for v in (None, float("nan"), pd.NA, pd.NaT, float("inf"), 0)]
    [True, True, True, True, False, False]
    """
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def each(values, cell) -> list[str]:
    """``[cell(v) for v in values]``, with ``cell`` called once per distinct value.

    A listing of 100,000 rows has a few hundred distinct days, dates or grades: each is written
    once and the text is repeated. Values that are equal but could read differently (``True``
    and ``1`` in a column of mixed objects, ``0.0`` and ``-0.0``) are written one by one.

    Examples
    --------
    >>> each(pd.Series([3.0, None, 3.0, 2.5]), days)
    ['3', 'NE', '3', '2.5']
    """
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if not _distinct_read_alike(series):
        return [cell(v) for v in series]
    codes, distinct = pd.factorize(series, use_na_sentinel=False)
    texts = np.array([cell(v) for v in pd.Series(distinct, dtype=series.dtype)], dtype=object)
    return texts[codes].tolist()


def _distinct_read_alike(series: pd.Series) -> bool:
    """True when equal values of ``series`` are the same value (so one text serves them all)."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _distinct_read_alike(pd.Series(dtype.categories))
    if dtype == object:  # text only (None and NaN are equal to pandas, but not the same value)
        return pd.api.types.infer_dtype(series, skipna=False) in ("string", "empty")
    if pd.api.types.is_float_dtype(dtype):
        numbers = series.to_numpy(dtype="float64", na_value=np.nan)
        return not bool(np.any((numbers == 0) & np.signbit(numbers)))
    return (pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype)
            or pd.api.types.is_string_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype))


def _is_inf(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isinf(value)


def number(value, decimals: int = 1) -> str:
    """A number with a fixed number of decimals; ``inf`` is NR, a missing value NE.

    >>> number(2.345, 2), number(12, 0), number(float("inf")), number(None), number(1.5e-7, 3)
    ('2.35', '12', 'NR', 'NE', '0.000')
    """
    if is_missing(value):
        return NE
    if _is_inf(value):
        return NR if value > 0 else NE
    text = f"{float(value):,.{decimals}f}".replace(",", "")
    return "0" + text[2:] if text.startswith("-0") and float(text) == 0 else text


def count(value) -> str:
    """A count as a whole number; a missing count is a dash.

    >>> count(8.0), count(pd.NA), count(1000146)
    ('8', '–', '1000146')
    """
    return DASH if is_missing(value) or _is_inf(value) else str(int(round(float(value))))


def pct(proportion, decimals: int = 1) -> str:
    """A proportion (0 to 1) as a percentage.

    >>> pct(0.7728), pct(1), pct(float("nan"))
    ('77.3%', '100.0%', 'NE')
    """
    if is_missing(proportion) or _is_inf(proportion):
        return NE
    return f"{number(100 * float(proportion), decimals)}%"


def count_pct(k, n, *, of: bool = False, decimals: int = 1) -> str:
    """A count with its percentage of ``n``: ``19 (61.3%)``, or ``19/31 (61.3%)`` with ``of``.

    Zero is ``0`` (``0/31`` with ``of``); with ``n`` = 0 only the count is shown.

    >>> count_pct(19, 31), count_pct(19, 31, of=True), count_pct(0, 31), count_pct(0, 0, of=True)
    ('19 (61.3%)', '19/31 (61.3%)', '0', '0/0')
    """
    if is_missing(k):
        return DASH
    k = int(round(float(k)))
    n = None if is_missing(n) else int(round(float(n)))
    head = f"{k}/{n}" if of and n is not None else str(k)
    if k == 0 or not n:
        return head
    return f"{head} ({pct(k / n, decimals)})"


def pct_interval(estimate, lower, upper, decimals: int = 1) -> str:
    """An estimated proportion with its interval as percentages: ``77.3% (58.2% to 88.5%)``.

    A missing estimate is NE alone; when neither limit can be computed the interval reads
    "CI not estimable"; a single missing limit is NE.

    >>> pct_interval(0.7728, 0.5816, 0.8847)
    '77.3% (58.2% to 88.5%)'
    >>> pct_interval(0.5, None, None), pct_interval(None, None, None), pct_interval(0.5, 0.2, None)
    ('50.0% (CI not estimable)', 'NE', '50.0% (20.0% to NE)')
    """
    if is_missing(estimate):
        return NE
    if is_missing(lower) and is_missing(upper):
        return f"{pct(estimate, decimals)} (CI not estimable)"
    return f"{pct(estimate, decimals)} ({pct(lower, decimals)} to {pct(upper, decimals)})"


def number_interval(estimate, lower, upper, decimals: int = 1) -> str:
    """A number with its interval: ``44.0 (36.0 to 48.5)``; NR for an infinite value, NE for a missing one.

    >>> number_interval(44, 36, 48.5), number_interval(float("inf"), 10, float("inf"), 0)
    ('44.0 (36.0 to 48.5)', 'NR (10 to NR)')
    >>> number_interval(3, None, None), number_interval(float("inf"), float("inf"), float("inf"))
    ('3.0 (CI not estimable)', 'NR (both limits NR)')
    """
    return _with_interval(estimate, lower, upper, lambda v: number(v, decimals))


def days_interval(estimate, lower, upper) -> str:
    """Days with their interval, as :func:`number_interval` words it: ``21 (17 to NR)``.

    >>> days_interval(21, 17, float("inf")), days_interval(float("inf"), float("inf"), float("inf"))
    ('21 (17 to NR)', 'NR (both limits NR)')
    >>> days_interval(4, None, None), days_interval(None, None, None)
    ('4 (CI not estimable)', 'NE')
    """
    return _with_interval(estimate, lower, upper, days)


def _with_interval(estimate, lower, upper, cell) -> str:
    if is_missing(estimate):
        return NE
    if is_missing(lower) and is_missing(upper):
        return f"{cell(estimate)} (CI not estimable)"
    if _is_inf(lower) and _is_inf(upper):
        return f"{cell(estimate)} (both limits NR)"
    return f"{cell(estimate)} ({cell(lower)} to {cell(upper)})"


def days(value) -> str:
    """Days as a whole number (a median halfway between two days keeps its .5).

    >>> days(12.0), days(52.5), days(float("inf")), days(None)
    ('12', '52.5', 'NR', 'NE')
    """
    if is_missing(value) or _is_inf(value):
        return number(value)
    value = float(value)
    return number(value, 0) if value == round(value) else number(value, 1)


def p_value_or_reason(p, test_method: str = "") -> str:
    """A test's p-value, or "too few pairs" when the test was not done for that reason
    (``stats.paired.TOO_FEW_PAIRS``).

    >>> p_value_or_reason(0.03125, "exact"), p_value_or_reason(float("nan"), "not done: too few pairs (2 ...)")
    ('0.031', 'too few pairs')
    """
    if is_missing(p) and str(test_method).startswith("not done: too few pairs"):
        return "too few pairs"
    return p_value(p)


def p_value(p) -> str:
    """A p-value with three decimals, ``<0.001`` below that.

    >>> p_value(0.04234), p_value(0.00001), p_value(1.0), p_value(None)
    ('0.042', '<0.001', '1.000', 'NE')
    """
    if is_missing(p):
        return NE
    return "<0.001" if float(p) < 0.0005 else number(p, 3)
