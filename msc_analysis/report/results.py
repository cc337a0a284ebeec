"""Headline results: one tidy CSV per notebook, the same columns everywhere.

The schema is documented in ``docs/results.md``. Estimates are numbers; formatting for
display happens elsewhere.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["RESULT_COLUMNS", "result_rows", "write_results", "read_results"]

#: Columns of every results CSV, in order.
RESULT_COLUMNS = ("endpoint", "measure", "group", "day", "estimate", "ci95_lower", "ci95_upper",
                  "n", "unit", "method")
_NUMERIC = ("day", "estimate", "ci95_lower", "ci95_upper")


def result_rows(endpoint: str, rows: pd.DataFrame) -> pd.DataFrame:
    """Put headline measures into the results schema.

    Parameters
    ----------
    endpoint : str
        Endpoint name, e.g. ``"overview"``.
    rows : DataFrame
        Must hold ``measure``, ``estimate``, ``unit``, ``method``; may hold ``group``
        (default ``"all"``), ``day``, ``ci95_lower``, ``ci95_upper``, ``n`` (missing if absent).

    Returns
    -------
    DataFrame
        Exactly the columns of :data:`RESULT_COLUMNS`; ``day``, ``estimate`` and the CI
        bounds are floats, ``n`` is an integer (missing values allowed).

    Examples
    --------
    >>> r = result_rows("overview", pd.DataFrame({"measure": ["treated"], "estimate": [12],
    ...                 "unit": ["subjects"], "method": ["count"]}))
    >>> list(r.columns) == list(RESULT_COLUMNS), r.loc[0, "group"]
    (True, 'all')
    """
    missing = {"measure", "estimate", "unit", "method"} - set(rows.columns)
    if missing:
        raise ValueError(f"results need the columns {sorted(missing)}")
    out = rows.copy()
    out.insert(0, "endpoint", endpoint)
    if "group" not in out:
        out["group"] = "all"
    for column in _NUMERIC:
        out[column] = pd.to_numeric(out[column], errors="raise").astype("float64") if column in out else float("nan")
    out["n"] = pd.to_numeric(out["n"], errors="raise").astype("Int64") if "n" in out else pd.NA
    return out[list(RESULT_COLUMNS)].reset_index(drop=True)


def write_results(results: pd.DataFrame, results_dir: str | Path, notebook_stem: str) -> Path:
    """Write ``results`` to ``<results_dir>/<notebook_stem>.csv`` and return the path."""
    if list(results.columns) != list(RESULT_COLUMNS):
        raise ValueError(f"results must have exactly the columns {RESULT_COLUMNS}; use result_rows()")
    path = Path(results_dir) / f"{notebook_stem}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    results.to_csv(path, index=False)
    return path


def read_results(results_dir: str | Path) -> pd.DataFrame:
    """Every results CSV in ``results_dir`` stacked into one table (empty if there is none)."""
    paths = sorted(Path(results_dir).glob("*.csv")) if str(results_dir) else []
    frames = [pd.read_csv(p) for p in paths]
    if not frames:
        return pd.DataFrame(columns=list(RESULT_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(RESULT_COLUMNS)]
