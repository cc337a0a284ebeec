"""Display tables for the time-to-event endpoints: numbers in, formatted text out.

Numbers are computed by the endpoint modules; here they only become text. Conventions:
``inf`` (a median or confidence limit not reached within follow-up) is shown as "NR"; a
missing estimate (NaN) as "not estimable: <reason>" with the reason from the frame's
``not_estimable_reason`` column, and a missing number inside a compact cell (a confidence
limit, a day count) as "NE", explained by :data:`NE_NOTE` in the footnote; proportions as
percentages. A 0 % with a zero-width interval is only shown for a real estimate, and then says
why the interval has no width ("no events yet").
"""
from __future__ import annotations

import math

import pandas as pd

__all__ = ["NE", "NE_NOTE", "format_days", "format_not_estimable", "format_percent_ci", "format_days_ci",
           "survival_table", "median_table", "risk_table_wide", "incidence_table", "inpatient_days_table",
           "logrank_table", "hospital_free_days_table", "readable", "results_display", "fill_missing"]

_DASH = "–"
#: A missing number inside a compact cell.
NE = "NE"
#: Footnote explaining :data:`NE` (and "NR"), for every table that may hold it.
NE_NOTE = ("NE = not estimable: no subject, nobody left at risk, or a confidence limit that cannot be "
           "computed (e.g. everyone at risk died on the same day, so the log-log interval is undefined); "
           "NR = not reached within follow-up")


def format_not_estimable(reason: str = "") -> str:
    """The text of a missing estimate.

    Examples
    --------
    >>> format_not_estimable("nobody at risk at day 60"), format_not_estimable()
    ('not estimable: nobody at risk at day 60', 'not estimable')
    """
    return f"not estimable: {reason}" if isinstance(reason, str) and reason else "not estimable"


def format_days(value) -> str:
    """Days as text: "NR" for ``inf`` (not reached), "NE" for missing, else the number.

    Examples
    --------
    >>> [format_days(v) for v in (12.0, 52.5, 0.0, float("inf"), float("nan"))]
    ['12', '52.5', '0', 'NR', 'NE']
    """
    if value is None or pd.isna(value):
        return NE
    if math.isinf(value):
        return "NR"
    return f"{float(value):g}"


def format_days_ci(estimate, lower, upper, reason: str = "") -> str:
    """A median with its interval, e.g. "32 (10–NR)"; "not estimable: <reason>" when missing.

    Examples
    --------
    >>> format_days_ci(float("inf"), 10, float("inf"))
    'NR (10–NR)'
    >>> format_days_ci(0.0, float("nan"), float("nan"))
    '0 (NE–NE)'
    >>> format_days_ci(float("nan"), float("nan"), float("nan"), "no subject infused yet")
    'not estimable: no subject infused yet'
    """
    if estimate is None or pd.isna(estimate):
        return format_not_estimable(reason)
    return f"{format_days(estimate)} ({format_days(lower)}–{format_days(upper)})"


def format_percent_ci(estimate, lower, upper, digits: int = 1, reason: str = "", n_at_risk=None) -> str:
    """A proportion (0-1) and its 95 % CI as percentages, e.g. "77.3% (58.2–88.5)".

    A missing estimate reads "not estimable: <reason>". A 0 % or 100 % with a zero-width
    interval (nothing happened yet) says so instead of showing the interval; when ``n_at_risk``
    is 0 there, it says that nobody was left at risk.

    Examples
    --------
    >>> format_percent_ci(0.7728, 0.5816, 0.8847)
    '77.3% (58.2–88.5)'
    >>> format_percent_ci(0.5, float("nan"), float("nan"))
    '50.0% (CI not estimable)'
    >>> format_percent_ci(float("nan"), float("nan"), float("nan"))
    'not estimable'
    >>> format_percent_ci(float("nan"), float("nan"), float("nan"), reason="nobody at risk at day 60")
    'not estimable: nobody at risk at day 60'
    >>> format_percent_ci(0.0, 0.0, 0.0)
    '0.0% (no events yet)'
    >>> format_percent_ci(0.0, 0.0, 0.0, n_at_risk=0)
    '0.0% (no events; nobody left at risk)'
    """
    if estimate is None or pd.isna(estimate):
        return format_not_estimable(reason)
    text = f"{100 * estimate:.{digits}f}%"
    if estimate in (0, 1) and lower == upper == estimate:
        return f"{text} (no events; nobody left at risk)" if n_at_risk == 0 else f"{text} (no events yet)"
    if pd.isna(lower) or pd.isna(upper):
        return f"{text} (CI not estimable)"
    return f"{text} ({100 * lower:.{digits}f}–{100 * upper:.{digits}f})"


def _reasons(frame: pd.DataFrame) -> list[str]:
    if "not_estimable_reason" not in frame:
        return [""] * len(frame)
    return ["" if pd.isna(r) else str(r) for r in frame["not_estimable_reason"]]


def survival_table(at_days: pd.DataFrame) -> pd.DataFrame:
    """Survival at given days: ``group``, ``day``, ``n``, ``n_at_risk``, ``survival_prop``,
    ``ci95_lower``, ``ci95_upper`` (and ``not_estimable_reason``) -> Group, Day, Subjects,
    At risk, Survival % (95% CI)."""
    return pd.DataFrame({
        "Group": at_days["group"], "Day": at_days["day"].map(format_days), "Subjects": at_days["n"],
        "At risk on that day": at_days["n_at_risk"],
        "Survival, % (95% CI)": [format_percent_ci(e, lo, hi, reason=why, n_at_risk=k) for e, lo, hi, k, why in
                                 zip(at_days["survival_prop"], at_days["ci95_lower"], at_days["ci95_upper"],
                                     at_days["n_at_risk"], _reasons(at_days))],
    }).reset_index(drop=True)


def median_table(medians: pd.DataFrame, event_label: str = "Deaths") -> pd.DataFrame:
    """Medians: ``group``, ``n``, ``n_events``, ``median_days``, ``ci95_lower``, ``ci95_upper``
    (and ``not_estimable_reason``) -> Group, Subjects, <event_label>, Median days (95% CI)
    with "NR" for not reached and "NE" for a limit not estimable (see :data:`NE_NOTE`)."""
    return pd.DataFrame({
        "Group": medians["group"], "Subjects": medians["n"], event_label: medians["n_events"],
        "Median, days (95% CI)": [format_days_ci(m, lo, hi, why) for m, lo, hi, why in
                                  zip(medians["median_days"], medians["ci95_lower"], medians["ci95_upper"],
                                      _reasons(medians))],
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
    ``cumulative_incidence_prop``, ``ci95_lower``, ``ci95_upper`` (and
    ``not_estimable_reason``) -> display text."""
    return pd.DataFrame({
        "Outcome": at_days["outcome"], "Day": at_days["time_days"].map(format_days),
        "Subjects": at_days["n"], "Still at risk": at_days["n_at_risk"],
        "Cumulative incidence, % (95% CI)": [
            format_percent_ci(e, lo, hi, reason=why, n_at_risk=k) for e, lo, hi, k, why in
            zip(at_days["cumulative_incidence_prop"], at_days["ci95_lower"], at_days["ci95_upper"],
                at_days["n_at_risk"], _reasons(at_days))],
    }).reset_index(drop=True)


def inpatient_days_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Inpatient days by hospital status: ``hospital_status``, ``counted_from``, ``n``,
    ``n_missing``, ``median_days``, ``q1_days``, ``q3_days``, ``min_days``, ``max_days``
    (and ``not_estimable_reason``) -> Hospital status, Counted from, Subjects, Median (IQR),
    Range, Date missing."""
    def iqr(r):
        if pd.isna(r.median_days):
            return format_not_estimable(getattr(r, "not_estimable_reason", ""))
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


def hospital_free_days_table(summary: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """Hospital-free days summary (``n``, ``n_known``, ``n_died_scored_0``,
    ``n_not_yet_known``, ``median_days``, ``q1_days``, ``q3_days``) as display text."""
    r = summary.iloc[0]
    median = format_not_estimable(r.get("not_estimable_reason", "")) if pd.isna(r["median_days"]) else \
        f"{format_days(r['median_days'])} ({format_days(r['q1_days'])}–{format_days(r['q3_days'])})"
    return pd.DataFrame([{"Treated": int(r["n"]), f"Known at day {horizon_days}": int(r["n_known"]),
                          "of whom died (scored 0)": int(r["n_died_scored_0"]),
                          f"Not yet followed to day {horizon_days}": int(r["n_not_yet_known"]),
                          "Median hospital-free days (IQR)": median}])


_READABLE = {"n_subjects": "Subjects", "median_time_days": "Median days", "min_time_days": "Fewest days",
             "max_time_days": "Most days", "hospital_status": "Hospital status", "n": "Subjects",
             "n_events": "Events", "median_days": "Median days", "not_estimable_reason": "Not estimable because"}


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """The same table with column names for readers: known names from a fixed list, others with
    spaces for underscores and a capital first letter; numbers of days shown without ".0"
    ("NR" not reached, "NE" not estimable). A ``not_estimable_reason`` column is kept (as "Not
    estimable because") only when some row is not estimable.

    Examples
    --------
    >>> readable(pd.DataFrame({"n_subjects": [3], "median_time_days": [12.0], "status": ["died"]}))
       Subjects Median days Status
    0         3          12   died
    >>> readable(pd.DataFrame({"n": [0], "median_days": [float("nan")],
    ...                        "not_estimable_reason": ["no subject infused yet"]}))
       Subjects Median days   Not estimable because
    0         0          NE  no subject infused yet
    """
    out = frame.copy()
    for column in out.columns:
        if str(column).endswith("_days"):
            out[column] = out[column].map(format_days)
    if "not_estimable_reason" in out and not any(_reasons(out)):
        out = out.drop(columns="not_estimable_reason")
    return out.rename(columns=lambda c: _READABLE.get(c, str(c).replace("_", " ").capitalize()))


def _number(value) -> str:
    if value is None or pd.isna(value):
        return ""
    if isinstance(value, (int, float)) and math.isinf(value):
        return "NR"
    return f"{value:g}" if isinstance(value, float) else str(value)


def results_display(results: pd.DataFrame) -> pd.DataFrame:
    """Headline results rows (``report.results.result_rows``) as shown on a page.

    The CSV keeps the numbers (NaN, ``inf``); on the page a missing estimate reads "not
    estimable" and, when its ``method`` says why ("...; not estimable: <reason>"), a column
    "Not estimable because" repeats the reason (the method text is cut short on the page);
    ``inf`` reads "NR" (not reached) and a cell that does not apply to a row (a count has no
    interval) is empty.

    Examples
    --------
    >>> r = pd.DataFrame({"endpoint": ["os", "os"], "measure": ["median_days", "survival_prop"],
    ...     "group": "all", "day": [float("nan"), 60.0], "estimate": [float("inf"), float("nan")],
    ...     "ci95_lower": [3.0, float("nan")], "ci95_upper": [float("inf"), float("nan")],
    ...     "n": pd.array([4, 4], dtype="Int64"), "unit": ["days", "proportion"],
    ...     "method": ["KM", "KM; not estimable: nobody at risk at day 60"]})
    >>> shown = results_display(r)
    >>> shown[["day", "estimate", "ci95_lower", "ci95_upper", "n"]].values.tolist()
    [['', 'NR', '3', 'NR', '4'], ['60', 'not estimable', '', '', '4']]
    >>> shown["Not estimable because"].tolist()
    ['', 'nobody at risk at day 60']
    """
    out = results.astype(object).copy()
    for column in ("day", "ci95_lower", "ci95_upper", "n", "estimate"):
        if column in out:
            out[column] = [_number(v) for v in results[column]]
    if "estimate" in out:
        missing = out["estimate"] == ""
        out["estimate"] = out["estimate"].where(~missing, "not estimable")
        if missing.any() and "method" in out:
            why = out["method"].astype(str).str.extract(r"not estimable: (.*)$", expand=False).fillna("")
            out["Not estimable because"] = why.where(missing, "")
    return out


def fill_missing(frame: pd.DataFrame, text: str = _DASH) -> pd.DataFrame:
    """The same table for display with every missing cell (NaN, NA, NaT) shown as ``text``.

    For listings whose empty cells mean "none" (e.g. no infusion day for a subject not yet
    infused), so that a page never shows "NaN" or "<NA>".

    Examples
    --------
    >>> f = pd.DataFrame({"subject_id": ["A", "B"], "days_since_infusion": pd.array([3, None], dtype="Int64")})
    >>> fill_missing(f)["days_since_infusion"].tolist()
    [3, '–']
    """
    out = frame.astype(object).copy()
    return out.where(frame.notna(), text)
