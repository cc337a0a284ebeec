"""Tables of the overview page for display (text cells for :meth:`~.page.Page.table`): Table 1 of
baseline characteristics (n, mean (SD), median (Q1 to Q3), min to max by ``tableone``; n (%)), trial
flow, screen failures, data quality, follow-up status; footnotes."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from tableone import TableOne

from . import formats

__all__ = ["footnote", "baseline_table", "continuous_summary", "BASELINE_VARIABLES", "flow_table", "screen_failure_table",
           "data_quality_table", "status_table", "status_listing"]

#: Baseline variables shown in Table 1: column -> (label, decimals of the recorded values); order
#: kept. ``None`` marks a categorical variable. Summaries carry one decimal more than the recorded
#: values (mean, SD, median, quartiles); min and max as recorded.
BASELINE_VARIABLES = {
    "age_years": ("Age, years", 0),
    "sex": ("Sex", None),
    "weight_kg": ("Weight, kg", 1),
    "liao_total_at_screening": ("Liao (NEWS-C) score at screening, points", 0),
    "liao_level_at_screening": ("Liao (NEWS-C) level at screening", None),
    "spo2_pct_baseline": ("SpO2 at baseline, %", 0),
    "on_oxygen_baseline": ("Oxygen use at baseline", None),
    "crp_mg_dl_baseline": ("CRP at baseline, mg/dL", 1),
    "pf_ratio_mmhg_baseline": ("PaO2/FiO2 at baseline, mmHg", 0),
    "ct_severity_score_baseline": ("CT severity score at baseline, points", 0),
}
#: Order of known categories (others follow, sorted).
_CATEGORY_ORDER = ["F", "M", "green", "yellow", "orange", "red", "yes", "no"]


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


def continuous_summary(values: pd.Series) -> dict:
    """n, mean, SD (n - 1 divisor), median, Q1, Q3, min, max of the non-missing values, computed by
    ``tableone`` (its ``cont_describe``).

    Quartiles by linear interpolation between order statistics (R ``quantile`` type 7, the
    default of R, numpy and tableone). Missing statistics (no value; SD of one value) are NaN.

    >>> s = continuous_summary(pd.Series([1.0, 2.0, 4.0, None]))
    >>> s["n"], float(s["q3"]), round(float(s["sd"]), 4)
    (3, 3.0, 1.5275)
    """
    x = pd.to_numeric(values, errors="coerce").astype(float)
    n = int(x.notna().sum())
    if n == 0:
        return {"n": 0} | {k: np.nan for k in ("mean", "sd", "median", "q1", "q3", "min", "max")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        row = TableOne(pd.DataFrame({"v": x.to_numpy()}), columns=["v"], continuous=["v"], categorical=[],
                       pval=False).cont_describe.loc["v"]
    get = {k: float(row[(k, "Overall")]) for k in ("mean", "std", "median", "q25", "q75", "min", "max")}
    return {"n": n, "mean": get["mean"], "sd": get["std"] if n > 1 else np.nan, "median": get["median"],
            "q1": get["q25"], "q3": get["q75"], "min": get["min"], "max": get["max"]}


def _continuous_rows(label: str, values: pd.Series, decimals: int, n_missing: int) -> list[list[str]]:
    s = continuous_summary(values)
    d = decimals + 1
    sd = (formats.number(s["sd"], d) if s["n"] > 1 else "SD not estimable with one value")
    return [[label, "n", str(s["n"]), str(n_missing)],
            ["", "Mean (SD)", f"{formats.number(s['mean'], d)} ({sd})", ""],
            ["", "Median (Q1 to Q3)", f"{formats.number(s['median'], d)} ({formats.number(s['q1'], d)} "
                                      f"to {formats.number(s['q3'], d)})", ""],
            ["", "Min to max", f"{formats.number(s['min'], decimals)} to {formats.number(s['max'], decimals)}", ""]]


def _levels(values: pd.Series) -> list:
    present = [str(v) for v in values.dropna().unique()]
    known = [c for c in _CATEGORY_ORDER if c in present]
    return known + sorted(c for c in present if c not in known)


def baseline_table(subjects: pd.DataFrame, column: str = "Subjects") -> pd.DataFrame:
    """Table 1 of baseline characteristics as text cells for a page.

    Each continuous variable takes four rows: n (subjects with a value), mean (SD), median
    (Q1 to Q3) and min to max (:func:`continuous_summary`; one decimal more than the recorded
    values, min and max as recorded). Each categorical variable takes one row per category present,
    n (%) of every subject of the population (a zero is "0"; a missing value is never a
    category). ``Missing`` counts the subjects without a value, on the first row of a variable.
    A variable of :data:`BASELINE_VARIABLES` absent from ``subjects`` is left out; one nobody has
    a value for reads "not recorded for any subject".

    Parameters
    ----------
    subjects : DataFrame
        One row per subject of the population to describe, with (some of) the columns of
        :data:`BASELINE_VARIABLES` (the baseline severity from
        ``endpoints.baseline_characteristics.baseline_severity`` merged in by ``subject_id``).
    column : str
        Label of the column of values (e.g. "Treated (N = 31)").

    Returns
    -------
    DataFrame
        Text cells: ``Characteristic``, ``Statistic or category``, ``column``, ``Missing``; the
        first row counts the subjects. For an empty population the single row "Subjects, n" = 0.

    Examples
    --------
    >>> s = pd.DataFrame({"age_years": [50.0, 60.0], "sex": ["F", None]})
    >>> baseline_table(s).values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['Subjects, n', '', '2', ''], ['Age, years', 'n', '2', '0'], ['', 'Mean (SD)', '55.0 (7.1)', ''],
     ['', 'Median (Q1 to Q3)', '55.0 (52.5 to 57.5)', ''], ['', 'Min to max', '50 to 60', ''],
     ['Sex, n (%)', 'F', '1 (50.0%)', '1']]
    """
    columns_out = ["Characteristic", "Statistic or category", column, "Missing"]
    n = len(subjects)
    rows = [["Subjects, n", "", str(n), ""]]
    if n == 0:
        return pd.DataFrame(rows, columns=columns_out)
    for c, (label, decimals) in BASELINE_VARIABLES.items():
        if c not in subjects:
            continue
        values = subjects[c].astype(object).where(subjects[c].notna(), None)
        n_missing = int(values.isna().sum())
        if n_missing == n:
            rows.append([label, "", "not recorded for any subject", str(n_missing)])
        elif decimals is None:
            text = values.dropna().astype(str)
            for i, level in enumerate(_levels(text)):
                rows.append([f"{label}, n (%)" if i == 0 else "", level,
                             formats.count_pct(int(text.eq(level).sum()), n), str(n_missing) if i == 0 else ""])
        else:
            rows.extend(_continuous_rows(label, subjects[c], decimals, n_missing))
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


def _day_of(timestamp) -> str:
    return formats.DASH if formats.is_missing(timestamp) else str(pd.Timestamp(timestamp).date())


def status_listing(status: pd.DataFrame) -> pd.DataFrame:
    """One row per treated subject (``overview.status_at_cutoff``): subject, infusion, follow-up, statuses."""
    return pd.DataFrame({
        "Subject": status["subject_id"].astype(str),
        "Infused on": formats.each(status["infused_on"], _day_of),
        "Days of follow-up": formats.each(status["follow_up_days"], formats.days),
        "Follow-up status": status["status_text"].astype(str),
        "Hospital status": status["hospital_status"].astype(str),
    }).sort_values("Subject", kind="stable").reset_index(drop=True)
