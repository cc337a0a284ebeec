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

from . import formats
from .follow_up_tables import days_range

__all__ = ["RISK_TABLE_CONVENTION", "RISK_FIGURE_NOTE", "group_label", "estimate_cell", "median_cell", "survival_cells", "median_cells",
           "risk_cells", "logrank_cells", "incidence_cells", "sensitivity_cells",
           "median_days_cells", "pcr_status_cells", "median_quartile_cells", "follow_up_time_cells",
           "NE", "NE_NOTE", "format_days", "format_not_estimable", "format_percent_ci", "format_days_ci",
           "incidence_table"]

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


_READABLE = {"n_subjects": "Subjects", "median_time_days": "Median days", "min_time_days": "Fewest days",
             "max_time_days": "Most days", "hospital_status": "Hospital status", "n": "Subjects",
             "n_events": "Events", "median_days": "Median days", "not_estimable_reason": "Not estimable because"}


# ---------------------------------------------------------------- cells for the table layer (Page.table)
# The functions below build the text cells of the time-to-event tables with
# :mod:`msc_analysis.report.formats`; pages pass them to ``Page.table``, which numbers and titles them.

#: How the rows of a risk table are counted (footnote of the table and of the figure drawing it).
RISK_TABLE_CONVENTION = ("At risk on day t: still followed at the start of day t (an event or censoring on day t "
                         "itself counts as at risk that day, as in the Kaplan-Meier risk set); died / censored "
                         "before day t: left the risk set on an earlier day. At every day the rows add up to N.")
#: The same convention in a few words, for the footnote of a figure drawing the risk table (no final stop).
RISK_FIGURE_NOTE = ("numbers under the plot: at risk on day t = still followed at the start of day t; died / "
                    "censored before day t = left on an earlier day; at every day the rows add up to N")


def group_label(group) -> str:
    """"all" -> "All treated"; an arm is shown as it is.

    >>> group_label("all"), group_label("MSC")
    ('All treated', 'MSC')
    """
    return "All treated" if str(group) == "all" else str(group)


def estimate_cell(estimate, lower, upper, reason: str = "", n_at_risk=None, nothing_yet: str = "no events yet") -> str:
    """A proportion with its 95% CI as ``77.3% (58.2% to 88.5%)``.

    A missing estimate reads "not estimable: <reason>"; a 0% or 100% with a zero-width interval
    (nothing happened yet) says ``nothing_yet`` instead of the interval; a missing limit is NE ("CI not estimable" when both are).

    >>> estimate_cell(0.7728, 0.5816, 0.8847)
    '77.3% (58.2% to 88.5%)'
    >>> estimate_cell(1.0, 1.0, 1.0, nothing_yet="no deaths yet"), estimate_cell(0.0, float("nan"), float("nan"))
    ('100.0% (no deaths yet)', '0.0% (CI not estimable)')
    >>> estimate_cell(float("nan"), None, None, "nobody at risk at day 60")
    'not estimable: nobody at risk at day 60'
    """
    if formats.is_missing(estimate):
        return format_not_estimable(reason)
    if estimate in (0, 1) and lower == upper == estimate:
        tail = f"{nothing_yet}; nobody left at risk" if n_at_risk == 0 else nothing_yet
        return f"{formats.pct(estimate)} ({tail})"
    return formats.pct_interval(estimate, lower, upper)


def median_cell(estimate, lower, upper, reason: str = "") -> str:
    """A median in days with its 95% CI: ``32 (10 to NR)``; "not estimable: <reason>" when missing;
    a median whose whole interval is not reached reads "NR (both limits NR)".

    >>> median_cell(float("inf"), 10, float("inf")), median_cell(0.0, float("nan"), float("nan"))
    ('NR (10 to NR)', '0 (CI not estimable)')
    >>> median_cell(float("inf"), float("inf"), float("inf"))
    'NR (both limits NR)'
    """
    if formats.is_missing(estimate):
        return format_not_estimable(reason)
    return formats.days_interval(estimate, lower, upper)


def _groups_shown(frame: pd.DataFrame) -> bool:
    return "group" in frame and frame["group"].nunique() > 1


def survival_cells(at_days: pd.DataFrame) -> pd.DataFrame:
    """Survival at days (:func:`~msc_analysis.endpoints.overall_survival.survival_at_days`) as cells:
    [Group,] Day, Subjects, At risk on that day, Survival (95% CI)."""
    cells = pd.DataFrame({
        "Group": at_days["group"].map(group_label), "Day": at_days["day"].map(formats.days),
        "Subjects": at_days["n"].map(formats.count), "At risk on that day": at_days["n_at_risk"].map(formats.count),
        "Survival (95% CI)": [estimate_cell(e, lo, hi, why, k, "no deaths yet") for e, lo, hi, k, why in
                              zip(at_days["survival_prop"], at_days["ci95_lower"], at_days["ci95_upper"],
                                  at_days["n_at_risk"], _reasons(at_days))]})
    return (cells if _groups_shown(at_days) else cells.drop(columns="Group")).reset_index(drop=True)


def sensitivity_cells(at_days: pd.DataFrame) -> pd.DataFrame:
    """Survival at days of the headline and its sensitivity analyses
    (:func:`~msc_analysis.endpoints.survival_sensitivity.sensitivity_at_days`) as cells: Analysis,
    [Group,] Day, Subjects, At risk on that day, Survival (95% CI); one row per analysis and day.

    >>> at = pd.DataFrame({"description": ["Headline: x", "Sensitivity: y"], "group": "all", "day": [30.0, 30.0],
    ...     "n": [4, 3], "n_at_risk": [2, 1], "survival_prop": [0.75, 2 / 3], "ci95_lower": [0.13, 0.05],
    ...     "ci95_upper": [0.96, 0.95], "not_estimable_reason": ""})
    >>> sensitivity_cells(at).values.tolist()[1]
    ['Sensitivity: y', '30', '3', '1', '66.7% (5.0% to 95.0%)']
    """
    cells = survival_cells(at_days)
    cells.insert(0, "Analysis", at_days["description"].astype(str).to_numpy())
    return cells


def median_cells(medians: pd.DataFrame, event_label: str = "Deaths") -> pd.DataFrame:
    """Medians (``group``, ``n``, ``n_events``, ``median_days``, ``ci95_lower``, ``ci95_upper``)
    as cells: [Group,] Subjects, <event_label>, Median, days (95% CI)."""
    cells = pd.DataFrame({
        "Group": medians["group"].map(group_label) if "group" in medians else "All treated",
        "Subjects": medians["n"].map(formats.count), event_label: medians["n_events"].map(formats.count),
        "Median, days (95% CI)": [median_cell(m, lo, hi, why) for m, lo, hi, why in
                                  zip(medians["median_days"], medians["ci95_lower"], medians["ci95_upper"],
                                      _reasons(medians))]})
    return (cells if _groups_shown(medians) else cells.drop(columns="Group")).reset_index(drop=True)


def median_quartile_cells(medians: pd.DataFrame, quartiles: pd.DataFrame) -> pd.DataFrame:
    """:func:`median_cells` with the 25th and 75th percentiles of survival time beside the median
    (``quartiles``: ``group``, ``quantile_prop``, ``time_days``, ``ci95_lower``, ``ci95_upper``).

    >>> m = pd.DataFrame({"group": ["all"], "n": [10], "n_events": [5], "median_days": [22.0], "ci95_lower": [3.0],
    ...                   "ci95_upper": [float("inf")], "not_estimable_reason": [""]})
    >>> q = pd.DataFrame({"group": "all", "quantile_prop": [0.25, 0.75], "time_days": [8.0, float("inf")],
    ...                   "ci95_lower": [3.0, 12.0], "ci95_upper": [22.0, float("inf")]})
    >>> median_quartile_cells(m, q).values.tolist()
    [['10', '5', '8 (3 to 22)', '22 (3 to NR)', 'NR (12 to NR)']]
    """
    cells = median_cells(medians)
    for p, label in ((0.25, "25th percentile, days (95% CI)"), (0.75, "75th percentile, days (95% CI)")):
        q = quartiles[quartiles["quantile_prop"] == p].set_index("group")
        values = [formats.days_interval(*q.loc[g, ["time_days", "ci95_lower", "ci95_upper"]])
                  if g in q.index and not formats.is_missing(q.loc[g, "time_days"]) else NE
                  for g in medians["group"]]
        cells.insert(len(cells.columns) - (1 if p == 0.25 else 0), label, values)
    return cells


def follow_up_time_cells(follow_up: pd.DataFrame) -> pd.DataFrame:
    """Median follow-up by reverse Kaplan-Meier beside the observed follow-up
    (:func:`~msc_analysis.endpoints.survival_follow_up.reverse_km_follow_up`) as cells.

    >>> f = pd.DataFrame({"group": ["all"], "n": [10], "n_censored": [5], "median_days": [20.0], "ci95_lower": [5.0],
    ...     "ci95_upper": [float("inf")], "observed_median_days": [11.0], "observed_min_days": [3.0],
    ...     "observed_max_days": [30.0]})
    >>> follow_up_time_cells(f).values.tolist()
    [['10', '5', '20 (5 to NR)', '11 (3 to 30)']]
    """
    cells = pd.DataFrame({
        "Group": follow_up["group"].map(group_label), "Subjects": follow_up["n"].map(formats.count),
        "Alive at the last day known alive": follow_up["n_censored"].map(formats.count),
        "Median follow-up, reverse Kaplan-Meier, days (95% CI)": [
            formats.days_interval(m, lo, hi) for m, lo, hi in
            zip(follow_up["median_days"], follow_up["ci95_lower"], follow_up["ci95_upper"])],
        "Observed follow-up, days: median (min to max)": [
            days_range(m, lo, hi) for m, lo, hi in zip(follow_up["observed_median_days"],
                                                       follow_up["observed_min_days"], follow_up["observed_max_days"])]})
    return (cells if _groups_shown(follow_up) else cells.drop(columns="Group")).reset_index(drop=True)


def risk_cells(risk: pd.DataFrame, rows: dict[str, str]) -> pd.DataFrame:
    """A risk table as cells: one column per day ("Day 0", "Day 7", ...), one row per count
    (label -> column of ``risk``), grouped by ``group`` when there are several.

    >>> r = pd.DataFrame({"day": [0.0, 7.0], "n_at_risk": [4, 3], "deaths_before_day": [0, 1]})
    >>> risk_cells(r, {"At risk on that day": "n_at_risk", "Died before that day": "deaths_before_day"}).values.tolist()
    [['At risk on that day', '4', '3'], ['Died before that day', '0', '1']]
    """
    frame = risk if "group" in risk else risk.assign(group="all")
    several = frame["group"].nunique() > 1
    out = []
    for group, g in frame.groupby("group", sort=False):
        for label, column in rows.items():
            row = {"Group": group_label(group)} if several else {}
            row["Count"] = label
            row.update({f"Day {formats.days(d)}": formats.count(v) for d, v in zip(g["day"], g[column])})
            out.append(row)
    return pd.DataFrame(out)


def logrank_cells(test: pd.DataFrame) -> pd.DataFrame:
    """The log-rank test as cells; with a single arm "not applicable: fewer than two arms".

    >>> t = pd.DataFrame([{"n_groups": 1, "n": 5, "n_events": 2, "chisq": float("nan"), "df": 0,
    ...                    "p_value": float("nan")}])
    >>> logrank_cells(t)["Log-rank test"].item()
    'not applicable: fewer than two arms'
    """
    r = test.iloc[0]
    several = r["n_groups"] >= 2
    return pd.DataFrame([{
        "Arms compared": formats.count(r["n_groups"]), "Subjects": formats.count(r["n"]),
        "Deaths": formats.count(r["n_events"]),
        "Log-rank test": (f"chi-square {formats.number(r['chisq'], 2)} on {formats.count(r['df'])} df"
                          if several else "not applicable: fewer than two arms"),
        "p-value": formats.p_value(r["p_value"]) if several else formats.DASH}])


def incidence_cells(at_days: pd.DataFrame) -> pd.DataFrame:
    """Cumulative incidence at days (``outcome``, ``n``, ``time_days``, ``n_at_risk``,
    ``cumulative_incidence_prop``, ``ci95_lower``, ``ci95_upper``, ``not_estimable_reason``) as
    cells: Outcome, Day, Subjects, Still at risk, Cumulative incidence (95% CI)."""
    return pd.DataFrame({
        "Outcome": at_days["outcome"].astype(str).map(lambda o: o[:1].upper() + o[1:]),
        "Day": at_days["time_days"].map(formats.days), "Subjects": at_days["n"].map(formats.count),
        "Still at risk": at_days["n_at_risk"].map(formats.count),
        "Cumulative incidence (95% CI)": [
            estimate_cell(e, lo, hi, why, k) for e, lo, hi, k, why in
            zip(at_days["cumulative_incidence_prop"], at_days["ci95_lower"], at_days["ci95_upper"],
                at_days["n_at_risk"], _reasons(at_days))],
    }).reset_index(drop=True)


def median_days_cells(median: pd.DataFrame, event_label: str) -> pd.DataFrame:
    """A median (``n``, ``n_events``, ``median_days``, ``not_estimable_reason``, and when given
    ``ci95_lower``, ``ci95_upper``) as cells: Subjects, <event_label>, then "Median, days (95% CI)"
    (see :func:`median_cell`) when the interval is given, else "Median, days" ("NR" not reached;
    "not estimable: <reason>").

    >>> median_days_cells(pd.DataFrame([{"n": 5, "n_events": 3, "median_days": 9.0,
    ...                                  "not_estimable_reason": ""}]), "Negative").values.tolist()
    [['5', '3', '9']]
    >>> median_days_cells(pd.DataFrame([{"n": 5, "n_events": 3, "median_days": 9.0, "not_estimable_reason": "",
    ...     "ci95_lower": 7.0, "ci95_upper": float("inf")}]), "Negative").values.tolist()
    [['5', '3', '9 (7 to NR)']]
    """
    cells = {"Subjects": median["n"].map(formats.count), event_label: median["n_events"].map(formats.count)}
    if "ci95_lower" in median and "ci95_upper" in median:
        cells["Median, days (95% CI)"] = [median_cell(m, lo, hi, why) for m, lo, hi, why in
                                          zip(median["median_days"], median["ci95_lower"], median["ci95_upper"],
                                              _reasons(median))]
    else:
        cells["Median, days"] = [format_not_estimable(why) if formats.is_missing(m) else formats.days(m)
                                 for m, why in zip(median["median_days"], _reasons(median))]
    return pd.DataFrame(cells).reset_index(drop=True)


def pcr_status_cells(summary: pd.DataFrame, n: int) -> pd.DataFrame:
    """Status summary of the RT-PCR page (``status``, ``reason``, [``follow_up``,] ``n_subjects``)
    as cells: Status, Reason, [Follow-up to the end of the window,] Subjects (n (%) of ``n``)."""
    cells = {"Status": summary["status"].astype(str).map(lambda s: s[:1].upper() + s[1:]),
             "Reason (N = a day)": summary["reason"].astype(str)}
    if "follow_up" in summary:
        cells["Follow-up to the end of the window"] = summary["follow_up"].astype(str)
    cells["Subjects"] = [formats.count_pct(k, n) for k in summary["n_subjects"]]
    return pd.DataFrame(cells).reset_index(drop=True)
