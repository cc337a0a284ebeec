"""Tables for display: formatting of computed numbers, baseline table, footnotes."""
from __future__ import annotations

import warnings

import numpy as np
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
    categorical = ["sex", "liao_level_at_screening"]
    for column in categorical:  # missing as NaN, so that tableone counts it as missing, not as a level
        data[column] = data[column].astype(object).where(data[column].notna(), np.nan)
    # A variable nobody has a value for (e.g. no screening vital signs) cannot be summarised:
    # tableone would print "nan [nan,nan]" and numpy warnings; it gets a row saying so instead.
    unrecorded = [c for c in BASELINE_VARIABLES if data[c].isna().all()]
    columns = [c for c in BASELINE_VARIABLES if c not in unrecorded]
    with warnings.catch_warnings():
        # tableone also computes statistics it does not show here (a standard deviation, tests):
        # with one subject numpy warns about them, and the warning would be printed on the page.
        warnings.simplefilter("ignore", RuntimeWarning)
        # tableone 0.9 itself sets a row with a short MultiIndex key (deprecated in pandas 3)
        warnings.simplefilter("ignore", pd.errors.Pandas4Warning)
        table = TableOne(data, columns=columns, categorical=[c for c in categorical if c in columns],
                         continuous=[c for c in columns if c not in categorical],
                         nonnormal=[c for c in columns if c not in categorical],
                         rename={c: BASELINE_VARIABLES[c] for c in columns}, missing=True, overall=True)
    out = table.tableone
    for column in unrecorded:
        out.loc[(BASELINE_VARIABLES[column], ""), :] = ""
        out.loc[(BASELINE_VARIABLES[column], ""), out.columns[-1]] = "not recorded for any subject"
        out.loc[(BASELINE_VARIABLES[column], ""), out.columns[0]] = str(len(data))
    return out
