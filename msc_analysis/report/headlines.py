"""Headline results in words: the rows of a results CSV as a page, the index and the PDF show them.

(First version; the measure labels of ``definitions/measures.csv`` replace the generic wording.)
"""
from __future__ import annotations

import pandas as pd

from . import formats

__all__ = ["headline_table"]


def _estimate(row) -> str:
    unit = str(row.get("unit", ""))
    lower, upper = row.get("lower", row.get("ci95_lower")), row.get("upper", row.get("ci95_upper"))
    if unit == "proportion":
        if formats.is_missing(lower) and formats.is_missing(upper):
            return formats.pct(row["estimate"])
        return formats.pct_interval(row["estimate"], lower, upper)
    if unit in ("subjects", "events", "deaths", "count"):
        return formats.count(row["estimate"])
    if formats.is_missing(lower) and formats.is_missing(upper):
        return formats.number(row["estimate"], 1)
    return formats.number_interval(row["estimate"], lower, upper)


def headline_table(results: pd.DataFrame) -> pd.DataFrame:
    """One row per result: measure, group, day, estimate with its interval, n, unit."""
    if results.empty:
        return pd.DataFrame(columns=["Measure", "Group", "Day", "Estimate (interval)", "n", "Unit"])
    return pd.DataFrame({
        "Measure": results["measure"].astype(str).str.replace("_", " "),
        "Group": results["group"].astype(str),
        "Day": [formats.DASH if formats.is_missing(d) else formats.days(d) for d in results["day"]],
        "Estimate (interval)": [_estimate(r) for _, r in results.iterrows()],
        "n": [formats.count(v) for v in results["n"]],
        "Unit": results["unit"].astype(str),
    })
