"""Tables of the hospital-stay page (``03_hospital_stay``) as text cells for :meth:`~.page.Page.table`.

Numbers come from :mod:`msc_analysis.endpoints.hospital_stay`; here they only become text, with
the cell formats of :mod:`.formats`: counts ``19 (61.3%)``, days as whole numbers, medians with
their interquartile range ``14 (12 to 30)``, proportions with their interval as percentages.
A missing estimate reads "not estimable: <reason>" (the reason from the frame's
``not_estimable_reason``); a limit that cannot be computed inside a cell reads NE, explained by
the table layer's footnote.
"""
from __future__ import annotations

import pandas as pd

from . import formats

__all__ = ["RISK_ROWS", "status_cells", "inpatient_days_cells", "hospital_free_days_cells", "time_to_discharge_cells",
           "discharge_cells",
           "risk_cells", "course_listing"]

#: Rows of the table of numbers under the discharge plot: label -> column of
#: ``hospital_stay.risk_table``; at every day they add up to the treated subjects.
RISK_ROWS = {"Still in hospital on that day": "n_at_risk", "Discharged alive before that day": "events_before_day",
             "Died in hospital before that day": "competing_before_day",
             "Censored before that day": "censored_before_day"}


def _reason(row) -> str:
    why = getattr(row, "not_estimable_reason", "")
    return "" if formats.is_missing(why) else str(why)


def _not_estimable(reason: str) -> str:
    return f"not estimable: {reason}" if reason else "not estimable"


def _median_iqr(median, q1, q3, reason: str = "") -> str:
    """Days: ``14 (12 to 30)``; "not estimable: <reason>" without a median.

    >>> _median_iqr(14.0, 12.75, 30.0), _median_iqr(float("nan"), None, None, "no subject infused yet")
    ('14 (12.8 to 30)', 'not estimable: no subject infused yet')
    """
    if formats.is_missing(median):
        return _not_estimable(reason)
    return f"{formats.days(median)} ({formats.days(q1)} to {formats.days(q3)})"


def status_cells(counts: pd.DataFrame) -> pd.DataFrame:
    """Treated subjects by hospital status (``hospital_stay.status_counts``): count and percentage.

    >>> status_cells(pd.DataFrame({"hospital_status": ["discharged alive", "died in hospital"],
    ...                            "n_subjects": [3, 1]}))["Subjects"].tolist()
    ['3 (75.0%)', '1 (25.0%)', '4']
    """
    n = int(counts["n_subjects"].sum())
    return pd.DataFrame({
        "Hospital status": [str(s).capitalize() for s in counts["hospital_status"]] + ["All treated subjects"],
        "Subjects": [formats.count_pct(k, n) for k in counts["n_subjects"]] + [formats.count(n)],
    })


def inpatient_days_cells(summary: pd.DataFrame) -> pd.DataFrame:
    """Inpatient days by hospital status and origin (``hospital_stay.inpatient_days_summary``)."""
    return pd.DataFrame({
        "Hospital status": [str(s).capitalize() for s in summary["hospital_status"]],
        "Counted from": summary["counted_from"].astype(str),
        "Subjects": [formats.count(v) for v in summary["n"]],
        "Median days (IQR)": [_median_iqr(r.median_days, r.q1_days, r.q3_days, _reason(r))
                              for r in summary.itertuples()],
        "Range, days": [formats.DASH if formats.is_missing(r.min_days) else
                        f"{formats.days(r.min_days)} to {formats.days(r.max_days)}" for r in summary.itertuples()],
        "Admission date missing": [formats.count(v) for v in summary["n_missing"]],
    })


def hospital_free_days_cells(summary: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """Hospital-free days to the horizon (``hospital_stay.hospital_free_days_summary``): the headline
    row (subjects evaluable by calendar) and the secondary "known so far" row, each with its n and
    the counts behind it.

    >>> s = pd.DataFrame({"analysis": ["evaluable by calendar", "known so far"], "n_subjects": [8, 31],
    ...     "n": [8, 15], "n_died_scored_0": [1, 8], "n_alive_followed": [7, 7], "n_lost_to_follow_up": [0, 0],
    ...     "n_not_yet_reached": [0, 16], "median_days": [44.0, 0.0], "q1_days": [36.0, 0.0],
    ...     "q3_days": [48.5, 44.0], "not_estimable_reason": ["", ""]})
    >>> hospital_free_days_cells(s, 60).iloc[:, [0, 6, 7]].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['Headline: subjects infused at least 60 days before the cutoff (evaluable by calendar)', '8', '44 (36 to 48.5)'],
     ['Secondary, known so far: every treated subject whose day-60 value is known', '15', '0 (0 to 44)']]
    """
    h = int(horizon_days)
    labels = {"evaluable by calendar": f"Headline: subjects infused at least {h} days before the cutoff "
                                      "(evaluable by calendar)",
              "known so far": f"Secondary, known so far: every treated subject whose day-{h} value is known"}
    return pd.DataFrame({
        "Analysis": [labels.get(str(a), str(a)) for a in summary["analysis"]],
        "Subjects": [formats.count(v) for v in summary["n_subjects"]],
        f"Died by day {h} (scored 0)": [formats.count(v) for v in summary["n_died_scored_0"]],
        f"Alive, followed to day {h}": [formats.count(v) for v in summary["n_alive_followed"]],
        f"Lost to follow-up before day {h} (left out)": [formats.count(v) for v in summary["n_lost_to_follow_up"]],
        f"Day {h} not yet reached (left out)": [formats.count(v) for v in summary["n_not_yet_reached"]],
        "Values used (n)": [formats.count(v) for v in summary["n"]],
        "Median hospital-free days (IQR)": [_median_iqr(r.median_days, r.q1_days, r.q3_days, _reason(r))
                                            for r in summary.itertuples()],
    })


def time_to_discharge_cells(summary: pd.DataFrame) -> pd.DataFrame:
    """Median days to discharge alive by Aalen-Johansen (``hospital_stay.time_to_discharge``), one row
    per time origin.

    >>> s = pd.DataFrame({"counted_from": ["admission"], "n": [31], "n_missing": [0], "n_discharged_alive": [17],
    ...     "n_died_in_hospital": [8], "n_censored": [6], "median_days": [21.0], "ci95_lower": [17.0],
    ...     "ci95_upper": [float("inf")], "not_estimable_reason": [""]})
    >>> time_to_discharge_cells(s).iloc[0, -1]
    '21 (17 to NR)'
    """
    def cell(r) -> str:
        if formats.is_missing(r.median_days):
            return _not_estimable(_reason(r))
        return formats.days_interval(r.median_days, r.ci95_lower, r.ci95_upper)

    return pd.DataFrame({
        "Counted from": summary["counted_from"].astype(str),
        "Subjects": [formats.count(v) for v in summary["n"]],
        "Discharged alive": [formats.count(v) for v in summary["n_discharged_alive"]],
        "Died in hospital (never discharged alive)": [formats.count(v) for v in summary["n_died_in_hospital"]],
        "Still in hospital (censored)": [formats.count(v) for v in summary["n_censored"]],
        "Admission date missing (left out)": [formats.count(v) for v in summary["n_missing"]],
        "Median days to discharge alive (95% CI)": [cell(r) for r in summary.itertuples()],
    })


def _incidence(estimate, lower, upper, at_risk, reason: str) -> str:
    """A cumulative incidence with its 95% CI; a 0% or 100% with a zero-width interval says why.

    >>> _incidence(0.5, 0.3, 0.7, 4, ""), _incidence(0.0, 0.0, 0.0, 5, ""), _incidence(0.0, 0.0, 0.0, 0, "")
    ('50.0% (30.0% to 70.0%)', '0.0% (no events yet)', '0.0% (no events; nobody left at risk)')
    """
    if formats.is_missing(estimate):
        return _not_estimable(reason)
    if estimate in (0, 1) and lower == upper == estimate:
        note = "no events; nobody left at risk" if at_risk == 0 else "no events yet"
        return f"{formats.pct(estimate)} ({note})"
    return formats.pct_interval(estimate, lower, upper)


def discharge_cells(at_days: pd.DataFrame) -> pd.DataFrame:
    """Cumulative incidence of discharge alive and of death in hospital at days
    (``hospital_stay.discharge_at_days``)."""
    return pd.DataFrame({
        "Outcome": [str(o).capitalize() for o in at_days["outcome"]],
        "Day": [formats.days(d) for d in at_days["time_days"]],
        "Still in hospital on that day": [formats.count(v) for v in at_days["n_at_risk"]],
        "Cumulative incidence (95% CI)": [
            _incidence(r.cumulative_incidence_prop, r.ci95_lower, r.ci95_upper, r.n_at_risk, _reason(r))
            for r in at_days.itertuples()],
    })


def risk_cells(risk: pd.DataFrame, rows: dict[str, str] | None = None) -> pd.DataFrame:
    """The numbers under the discharge plot (``hospital_stay.risk_table``): one row per count, one
    column per day.

    >>> r = pd.DataFrame({"day": [0.0, 7.0], "n": 2, "n_at_risk": [2, 1], "events_before_day": [0, 1],
    ...                   "competing_before_day": [0, 0], "censored_before_day": [0, 0]})
    >>> risk_cells(r).iloc[:2].values.tolist()
    [['Still in hospital on that day', '2', '1'], ['Discharged alive before that day', '0', '1']]
    """
    rows = rows or RISK_ROWS
    out = pd.DataFrame({"": list(rows)})
    for _, r in risk.iterrows():
        out[f"Day {formats.days(r['day'])}"] = [formats.count(r[column]) for column in rows.values()]
    return out


def course_listing(course: pd.DataFrame) -> pd.DataFrame:
    """One row per treated subject (``hospital_stay.hospital_course``), sorted by subject."""
    return pd.DataFrame({
        "Subject": course["subject_id"].astype(str),
        "Hospital status": course["hospital_status"].astype(str),
        "Admission day": [formats.days(v) if not formats.is_missing(v) else formats.DASH
                          for v in course["admission_day"]],
        "Last day in hospital": [formats.days(v) for v in course["end_day"]],
        "Inpatient days from admission": [formats.days(v) if not formats.is_missing(v) else formats.DASH
                                          for v in course["inpatient_days_from_admission"]],
        "Inpatient days from infusion": [formats.days(v) for v in course["inpatient_days_from_infusion"]],
        "Infused long enough before the cutoff (evaluable by calendar)": [
            "yes" if v else "no" for v in course["evaluable_by_calendar"]],
        "Hospital-free days": [formats.days(v) if not formats.is_missing(v) else formats.DASH
                               for v in course["hospital_free_days"]],
        "Hospital-free days status": course["hospital_free_days_status"].astype(str),
    }).sort_values("Subject", kind="stable").reset_index(drop=True)
