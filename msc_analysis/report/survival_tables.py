"""Display tables for the time-to-event endpoints: numbers in, formatted text out.

Numbers are computed by the endpoint modules; here they only become text. Conventions:
``inf`` (a median or confidence limit not reached within follow-up) is shown as "NR"; NaN
(not estimable, e.g. beyond follow-up or an empty group) as "–"; proportions as percentages.
"""
from __future__ import annotations

import math

import pandas as pd

__all__ = ["format_days", "format_percent_ci", "format_days_ci", "survival_table", "median_table",
           "risk_table_wide", "incidence_table", "inpatient_days_table", "logrank_table",
           "hospital_free_days_table", "readable"]

_DASH = "–"


def format_days(value) -> str:
    """Days as text: "NR" for ``inf`` (not reached), "–" for missing, else the number.

    Examples
    --------
    >>> [format_days(v) for v in (12.0, 52.5, float("inf"), float("nan"))]
    ['12', '52.5', 'NR', '–']
    """
    if value is None or pd.isna(value):
        return _DASH
    if math.isinf(value):
        return "NR"
    return f"{float(value):g}"


def format_days_ci(estimate, lower, upper) -> str:
    """A median with its interval, e.g. "32 (10–NR)"; "–" when not estimable.

    Examples
    --------
    >>> format_days_ci(float("inf"), 10, float("inf"))
    'NR (10–NR)'
    """
    if estimate is None or pd.isna(estimate):
        return _DASH
    return f"{format_days(estimate)} ({format_days(lower)}–{format_days(upper)})"


def format_percent_ci(estimate, lower, upper, digits: int = 1) -> str:
    """A proportion (0-1) and its 95 % CI as percentages, e.g. "77.3% (58.2–88.5)".

    Examples
    --------
    >>> format_percent_ci(0.7728, 0.5816, 0.8847)
    '77.3% (58.2–88.5)'
    >>> format_percent_ci(0.5, float("nan"), float("nan"))
    '50.0% (CI not estimable)'
    >>> format_percent_ci(float("nan"), float("nan"), float("nan"))
    'not estimable'
    >>> format_percent_ci(0.0, 0.0, 0.0)
    '0.0% (no events yet)'
    """
    if estimate is None or pd.isna(estimate):
        return "not estimable"
    text = f"{100 * estimate:.{digits}f}%"
    if estimate in (0, 1) and lower == upper == estimate:
        return f"{text} (no events yet)"
    if pd.isna(lower) or pd.isna(upper):
        return f"{text} (CI not estimable)"
    return f"{text} ({100 * lower:.{digits}f}–{100 * upper:.{digits}f})"


def survival_table(at_days: pd.DataFrame) -> pd.DataFrame:
    """Survival at given days: ``group``, ``day``, ``n``, ``n_at_risk``, ``survival_prop``,
    ``ci95_lower``, ``ci95_upper`` -> Group, Day, Subjects, At risk, Survival % (95% CI)."""
    return pd.DataFrame({
        "Group": at_days["group"], "Day": at_days["day"].map(format_days), "Subjects": at_days["n"],
        "At risk on that day": at_days["n_at_risk"],
        "Survival, % (95% CI)": [format_percent_ci(*r) for r in
                                 at_days[["survival_prop", "ci95_lower", "ci95_upper"]].itertuples(index=False)],
    }).reset_index(drop=True)


def median_table(medians: pd.DataFrame, event_label: str = "Deaths") -> pd.DataFrame:
    """Medians: ``group``, ``n``, ``n_events``, ``median_days``, ``ci95_lower``, ``ci95_upper``
    -> Group, Subjects, <event_label>, Median days (95% CI) with "NR" for not reached."""
    return pd.DataFrame({
        "Group": medians["group"], "Subjects": medians["n"], event_label: medians["n_events"],
        "Median, days (95% CI)": [format_days_ci(*r) for r in
                                  medians[["median_days", "ci95_lower", "ci95_upper"]].itertuples(index=False)],
    }).reset_index(drop=True)


def risk_table_wide(risk: pd.DataFrame, rows: dict[str, str]) -> pd.DataFrame:
    """A risk table with one column per day and one row per (group, count).

    Parameters
    ----------
    risk : pandas.DataFrame
        ``day`` and the count columns named in ``rows``; optionally ``group``.
    rows : dict
        Row label -> column of ``risk``, e.g. ``{"At risk": "n_at_risk"}``.
    """
    frame = risk if "group" in risk else risk.assign(group="all")
    out = []
    for group, g in frame.groupby("group", sort=False):
        for label, column in rows.items():
            out.append(pd.Series(g[column].to_numpy(), index=[format_days(d) for d in g["day"]],
                                 name=(group, label)))
    table = pd.DataFrame(out)
    table.index = pd.MultiIndex.from_tuples(table.index, names=["Group", "Day"])
    return table


def incidence_table(at_days: pd.DataFrame) -> pd.DataFrame:
    """Cumulative incidence at days: ``outcome``, ``n``, ``time_days``, ``n_at_risk``,
    ``cumulative_incidence_prop``, ``ci95_lower``, ``ci95_upper`` -> display text."""
    return pd.DataFrame({
        "Outcome": at_days["outcome"], "Day": at_days["time_days"].map(format_days),
        "Subjects": at_days["n"], "Still at risk": at_days["n_at_risk"],
        "Cumulative incidence, % (95% CI)": [
            format_percent_ci(*r) for r in
            at_days[["cumulative_incidence_prop", "ci95_lower", "ci95_upper"]].itertuples(index=False)],
    }).reset_index(drop=True)


def inpatient_days_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Inpatient days by hospital status: ``hospital_status``, ``counted_from``, ``n``,
    ``n_missing``, ``median_days``, ``q1_days``, ``q3_days``, ``min_days``, ``max_days``
    -> Hospital status, Counted from, Subjects, Median (IQR), Range, Date missing."""
    def iqr(r):
        if pd.isna(r.median_days):
            return _DASH
        return f"{format_days(r.median_days)} ({format_days(r.q1_days)}–{format_days(r.q3_days)})"

    def span(r):
        return _DASH if pd.isna(r.min_days) else f"{format_days(r.min_days)}–{format_days(r.max_days)}"

    return pd.DataFrame({
        "Hospital status": summary["hospital_status"], "Counted from": summary["counted_from"],
        "Subjects": summary["n"], "Median days (IQR)": [iqr(r) for r in summary.itertuples()],
        "Range": [span(r) for r in summary.itertuples()], "Admission date missing": summary["n_missing"],
    }).reset_index(drop=True)


def logrank_table(test: pd.DataFrame) -> pd.DataFrame:
    """Log-rank result (``n_groups``, ``n``, ``n_events``, ``chisq``, ``df``, ``p_value``) as
    text; with a single arm the test is "not applicable".

    Examples
    --------
    >>> t = pd.DataFrame([{"n_groups": 1, "n": 5, "n_events": 2, "chisq": float("nan"), "df": 0,
    ...                    "p_value": float("nan")}])
    >>> logrank_table(t)["Log-rank test"].item()
    'not applicable: fewer than two arms'
    """
    r = test.iloc[0]
    text = ("not applicable: fewer than two arms" if r["n_groups"] < 2 else
            f"chi-square {r['chisq']:.2f} on {int(r['df'])} df, p = {r['p_value']:.3g}")
    return pd.DataFrame([{"Arms": int(r["n_groups"]), "Subjects": int(r["n"]), "Deaths": int(r["n_events"]),
                          "Log-rank test": text}])


def hospital_free_days_table(summary: pd.DataFrame, horizon_days: int = 60) -> pd.DataFrame:
    """Hospital-free days summary (``n``, ``n_known``, ``n_died_scored_0``,
    ``n_not_yet_known``, ``median_days``, ``q1_days``, ``q3_days``) as display text."""
    r = summary.iloc[0]
    median = _DASH if pd.isna(r["median_days"]) else \
        f"{format_days(r['median_days'])} ({format_days(r['q1_days'])}–{format_days(r['q3_days'])})"
    return pd.DataFrame([{"Treated": int(r["n"]), f"Known at day {horizon_days}": int(r["n_known"]),
                          "of whom died (scored 0)": int(r["n_died_scored_0"]),
                          f"Not yet followed to day {horizon_days}": int(r["n_not_yet_known"]),
                          "Median hospital-free days (IQR)": median}])


_READABLE = {"n_subjects": "Subjects", "median_time_days": "Median days", "min_time_days": "Fewest days",
             "max_time_days": "Most days", "hospital_status": "Hospital status", "n": "Subjects",
             "n_events": "Events", "median_days": "Median days"}


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """The same table with column names for readers: known names from a fixed list, others with
    spaces for underscores and a capital first letter; numbers of days shown without ".0".

    Examples
    --------
    >>> readable(pd.DataFrame({"n_subjects": [3], "median_time_days": [12.0], "status": ["died"]}))
       Subjects Median days Status
    0         3          12   died
    """
    out = frame.copy()
    for column in out.columns:
        if str(column).endswith("_days"):
            out[column] = out[column].map(format_days)
    return out.rename(columns=lambda c: _READABLE.get(c, str(c).replace("_", " ").capitalize()))
