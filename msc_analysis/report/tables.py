"""Tables of the overview page for display (text cells for :meth:`~.page.Page.table`): Table 1 of
baseline characteristics, trial flow, screen failures, data quality, follow-up status; footnotes."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from . import formats

__all__ = ["footnote", "baseline_table", "BASELINE_VARIABLES", "flow_table", "screen_failure_table",
           "data_quality_table", "status_table", "status_listing"]

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


def _tableone(data: pd.DataFrame, columns: list[str], categorical: list[str]) -> pd.DataFrame:
    from tableone import TableOne

    with warnings.catch_warnings():
        # tableone also computes statistics it does not show here (a standard deviation, tests):
        # with one subject numpy warns about them, and the warning would be printed on the page.
        warnings.simplefilter("ignore", RuntimeWarning)
        # tableone 0.9 itself sets a row with a short MultiIndex key (deprecated in pandas 3)
        warnings.simplefilter("ignore", pd.errors.Pandas4Warning)
        table = TableOne(data, columns=columns, categorical=categorical,
                         continuous=[c for c in columns if c not in categorical],
                         nonnormal=[c for c in columns if c not in categorical],
                         rename={c: BASELINE_VARIABLES[c] for c in columns}, missing=True, overall=True)
    return table.tableone


_COUNT_PCT = re.compile(r"^\s*(\d+)\s*\(([\d.]+)\)\s*$")
_MEDIAN_IQR = re.compile(r"^\s*([-\d.]+)\s*\[([-\d.]+),\s*([-\d.]+)\]\s*$")
#: What tableone calls a missing category (it shows missing categorical values as a level "None").
_MISSING_LEVELS = {"None", "nan", "NaN", "<NA>", ""}


def _cell(text: str) -> str:
    """tableone's "19 (61.3)" as "19 (61.3%)" (0 as "0"), "54.0 [47.0,69.0]" as "54.0 [47.0, 69.0]"."""
    text = str(text)
    m = _COUNT_PCT.match(text)
    if m:
        return m.group(1) if int(m.group(1)) == 0 else f"{m.group(1)} ({m.group(2)}%)"
    m = _MEDIAN_IQR.match(text)
    if m:
        return f"{m.group(1)} [{m.group(2)}, {m.group(3)}]"
    return text


def baseline_table(subjects: pd.DataFrame, column: str = "Subjects") -> pd.DataFrame:
    """Table 1 of baseline characteristics, computed with ``tableone``, as text cells for a page.

    Continuous variables are shown as median [Q1, Q3] (small samples, skewed), categorical
    ones as n (%) of every subject of the population (a zero is "0"); the ``Missing`` column
    counts subjects without a value (for a categorical variable, on its first row). A missing
    category is never shown as a level (tableone would call it "None").

    Parameters
    ----------
    subjects : DataFrame
        One row per subject of the population to describe, with the columns of
        :data:`BASELINE_VARIABLES`.
    column : str
        Label of the column of values (e.g. "Treated (N = 31)").

    Returns
    -------
    DataFrame
        Text cells: ``Characteristic``, ``Category`` (empty for a continuous variable),
        ``column``, ``Missing``; the first row counts the subjects. For an empty population
        the single row "Subjects, n" = 0.

    Examples
    --------
    >>> s = pd.DataFrame({"age_years": [50.0, 60.0], "sex": ["F", None], "weight_kg": [70.0, 80.0],
    ...                   "liao_total_at_screening": [3.0, 5.0], "liao_level_at_screening": ["red", "red"]})
    >>> baseline_table(s).iloc[:3].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['Subjects, n', '', '2', ''], ['Age, years, median [Q1, Q3]', '', '55.0 [52.5, 57.5]', '0'],
     ['Sex, n (%)', 'F', '1 (50.0%)', '1']]
    """
    columns_out = ["Characteristic", "Category", column, "Missing"]
    if subjects.empty:  # tableone cannot describe nobody; say so instead of failing
        return pd.DataFrame([["Subjects, n", "", "0", ""]], columns=columns_out)
    data = subjects[list(BASELINE_VARIABLES)].copy()
    categorical = ["sex", "liao_level_at_screening"]
    for c in categorical:  # missing as NaN, so that tableone counts it as missing
        data[c] = data[c].astype(object).where(data[c].notna(), np.nan)
    # A variable nobody has a value for (e.g. no screening vital signs) cannot be summarised:
    # tableone would print "nan [nan,nan]" and numpy warnings; it gets a row saying so instead.
    unrecorded = [c for c in BASELINE_VARIABLES if data[c].isna().all()]
    recorded = [c for c in BASELINE_VARIABLES if c not in unrecorded]
    out = _tableone(data, recorded, [c for c in categorical if c in recorded]) if recorded else None
    rows = [["Subjects, n", "", str(len(data)), ""]]
    for c, label in BASELINE_VARIABLES.items():
        n_missing = int(data[c].isna().sum())
        if c in unrecorded:
            rows.append([label, "", "not recorded for any subject", str(n_missing)])
            continue
        if c in categorical:
            key = f"{label}, n (%)"
            block = out.loc[key]
            first = True
            for level, values in block.iterrows():
                if str(level) in _MISSING_LEVELS:
                    continue
                rows.append([key if first else "", str(level), _cell(values["Overall"]),
                             str(n_missing) if first else ""])
                first = False
        else:
            key = f"{label}, median [Q1,Q3]"
            value = out.loc[(key, ""), "Overall"]
            rows.append([key.replace("[Q1,Q3]", "[Q1, Q3]"), "", _cell(value), str(n_missing)])
    return pd.DataFrame(rows, columns=columns_out)


def flow_table(flow: pd.DataFrame, deviations: pd.DataFrame) -> pd.DataFrame:
    """Trial flow in words: each stage with its count and percentage of the screened, then the deviations.

    Parameters
    ----------
    flow : DataFrame
        ``population``, ``n_subjects`` (``overview.trial_flow``).
    deviations : DataFrame
        ``step``, ``n_subjects`` (``overview.flow_deviations``).

    Examples
    --------
    >>> f = pd.DataFrame({"population": ["screened", "eligible", "enrolled", "treated"], "n_subjects": [4, 2, 2, 1]})
    >>> d = pd.DataFrame({"step": ["enrolled, not infused"], "n_subjects": [1]})
    >>> flow_table(f, d)["Subjects"].tolist()
    ['4', '2/4 (50.0%)', '2/4 (50.0%)', '1/4 (25.0%)', '1']
    """
    screened = int(flow["n_subjects"].iloc[0]) if len(flow) else 0
    stages = [formats.count(k) if i == 0 else formats.count_pct(k, screened, of=True)
              for i, k in enumerate(flow["n_subjects"])]
    return pd.DataFrame({
        "Stage": [str(p).capitalize() for p in flow["population"]] + [str(s).capitalize() for s in deviations["step"]],
        "Subjects": stages + [formats.count(k) for k in deviations["n_subjects"]],
    })


def screen_failure_table(failures: pd.DataFrame, n_screened: int) -> pd.DataFrame:
    """Screened subjects failing each criterion (``overview.screen_failures``) as text cells."""
    return pd.DataFrame({
        "Criterion": failures["label"].astype(str),
        "Subjects failing it": [formats.count_pct(k, n_screened) for k in failures["n_failing"]],
        "Failing only this criterion": [formats.count(k) for k in failures["n_failing_only_this"]],
    })


def data_quality_table(quality: pd.DataFrame) -> pd.DataFrame:
    """What the loader excluded, converted or flagged (``Cut.data_quality``) as text cells."""
    names = {"table": "Table", "column": "Column", "issue": "Issue", "n_rows": "Records", "action": "Action"}
    out = quality[[c for c in names if c in quality]].rename(columns=names)
    if "Records" in out:
        out["Records"] = [formats.count(v) for v in out["Records"]]
    return out.reset_index(drop=True)


def status_table(counts: pd.DataFrame) -> pd.DataFrame:
    """Follow-up status by hospital status (``overview.status_counts``) as text cells with column words."""
    out = counts.copy()
    out["status"] = [str(s).capitalize() if s != "total" else "All treated subjects" for s in out["status"]]
    out.columns = [str(c).capitalize() if c != "status" else "Follow-up status" for c in out.columns]
    for c in out.columns[1:]:
        out[c] = [formats.count(v) for v in out[c]]
    return out.rename(columns={"Total": "All"})


def status_listing(status: pd.DataFrame) -> pd.DataFrame:
    """One row per treated subject (``overview.status_at_cutoff``): subject, infusion, follow-up, statuses."""
    return pd.DataFrame({
        "Subject": status["subject_id"].astype(str),
        "Infused on": [formats.DASH if formats.is_missing(d) else str(pd.Timestamp(d).date())
                       for d in status["infused_on"]],
        "Days of follow-up": [formats.days(v) for v in status["follow_up_days"]],
        "Follow-up status": status["status_text"].astype(str),
        "Hospital status": status["hospital_status"].astype(str),
    }).sort_values("Subject", kind="stable").reset_index(drop=True)
