"""Tables for display: formatting of computed numbers, baseline table, footnotes."""
from __future__ import annotations

import pandas as pd

__all__ = ["footnote", "baseline_table", "BASELINE_VARIABLES"]

#: Baseline variables shown in Table 1: column -> label (order kept).
BASELINE_VARIABLES = {
    "age_years": "Age, years",
    "sex": "Sex",
    "weight_kg": "Weight, kg",
    "liao_total_at_screening": "Liao (NEWS-C) score at screening, points",
    "liao_level_at_screening": "Liao (NEWS-C) level at screening",
}


def footnote(cut_id: str, cutoff_date: pd.Timestamp, population: str, n: int,
             method: str | None = None) -> str:
    """One line saying how a table or figure was made.

    Examples
    --------
    >>> footnote("cut-2020-09-15", pd.Timestamp("2020-09-15"), "treated", 12, "counts")
    'Population: treated (n = 12). Method: counts. Data cutoff 2020-09-15 (cut cut-2020-09-15).'
    """
    method_text = f" Method: {method}." if method else ""
    return (f"Population: {population} (n = {n}).{method_text} "
            f"Data cutoff {pd.Timestamp(cutoff_date).date()} (cut {cut_id}).")


def baseline_table(subjects: pd.DataFrame) -> pd.DataFrame:
    """Table 1 of baseline characteristics, made with ``tableone``.

    Continuous variables are shown as median [Q1, Q3] (small samples, skewed), categorical
    ones as n (%); the ``Missing`` column counts subjects without a value.

    Parameters
    ----------
    subjects : DataFrame
        One row per subject of the population to describe, with the columns of
        :data:`BASELINE_VARIABLES`.

    Returns
    -------
    DataFrame
        The formatted table (text cells), indexed by variable and level; for an empty
        population, the single row ``n`` = 0.
    """
    from tableone import TableOne

    if subjects.empty:  # tableone cannot describe nobody; say so instead of failing
        return pd.DataFrame({"Overall": ["0"]}, index=pd.Index(["n"], name="No subject in this population yet"))
    data = subjects[list(BASELINE_VARIABLES)].copy()
    data["liao_level_at_screening"] = data["liao_level_at_screening"].astype(object)
    data["sex"] = data["sex"].astype(object)
    categorical = ["sex", "liao_level_at_screening"]
    continuous = [c for c in BASELINE_VARIABLES if c not in categorical]
    table = TableOne(data, columns=list(BASELINE_VARIABLES), categorical=categorical,
                     continuous=continuous, nonnormal=continuous, rename=BASELINE_VARIABLES,
                     missing=True, overall=True)
    return table.tableone
