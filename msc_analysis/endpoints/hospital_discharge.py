"""Time to discharge alive, death in hospital competing: the estimators of ``03_hospital_stay``.

Each function takes :func:`~msc_analysis.endpoints.hospital_stay.hospital_course` (``time_days``,
``event``: 1 discharged alive, 2 died in hospital, 0 still in hospital, censored; and
``inpatient_days_from_admission``) and returns a tidy frame; they are re-exported by
:mod:`.hospital_stay`. Estimands: ``docs/endpoints/03_hospital_stay.md``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import definitions
from ..stats.competing_risks import (CIF_CI_METHOD, CIF_QUANTILE_CI_METHOD, competing_risk_table, cumulative_incidence,
                                     cumulative_incidence_quantiles)
from ..stats.estimability import NO_SUBJECT_INFUSED, reasons_at_days

__all__ = ["RISK_TABLE_DAYS", "TIME_TO_DISCHARGE_METHOD", "time_to_discharge", "discharge_at_days",
           "discharge_curves", "risk_table"]

#: Days of the table drawn under the discharge plot.
RISK_TABLE_DAYS = (0, 7, 14, 21, 28, 45, 60)
_OUTCOMES = {1: "discharged alive", 2: "died in hospital"}
#: How the median days to discharge alive and its interval are made (results ``method``, footnotes).
TIME_TO_DISCHARGE_METHOD = ("median days to discharge alive by Aalen-Johansen, death in hospital a competing event "
                            "(never discharged alive), subjects still in hospital censored at the end of the stay "
                            f"so far: {CIF_QUANTILE_CI_METHOD}; pointwise interval: {CIF_CI_METHOD}")


def _frame(name: str, value):
    """``value``, or the registered ``time_frames.hospital_stay`` value of ``definitions/trial.yaml``."""
    return definitions.time_frames("hospital_stay")[name] if value is None else value


def time_to_discharge(course: pd.DataFrame) -> pd.DataFrame:
    """Median days to discharge alive, by Aalen-Johansen: the headline of the days of hospitalisation.

    For each time origin (admission, infusion) the cumulative incidence of discharge alive is
    estimated with death in hospital as a competing event (a subject who dies in hospital is
    never discharged alive: the median is the day by which half of the subjects had left
    hospital alive) and those still in hospital censored at the end of the stay. Unlike the
    median of the completed stays, it does not leave out the stays still running nor the
    deaths. From admission, subjects without an admission date are left out and counted.

    Parameters
    ----------
    course : pandas.DataFrame
        :func:`hospital_course` (``inpatient_days_from_admission``, ``time_days``, ``event``).

    Returns
    -------
    pandas.DataFrame
        One row per origin: ``counted_from`` ("admission", "infusion"), ``n`` (subjects
        analysed), ``n_missing`` (no admission date), ``n_discharged_alive``,
        ``n_died_in_hospital``, ``n_censored`` (still in hospital), ``median_days`` (``inf``
        when half of the subjects are not (yet) discharged alive: not reached; NaN without
        subjects), ``ci95_lower``, ``ci95_upper`` (days: where the upper and the lower limit
        of the pointwise 95% CI of the curve reach one half, by
        :func:`~msc_analysis.stats.competing_risks.cumulative_incidence_quantiles`; ``inf``
        when that limit never does, NaN when it is not estimable),
        ``not_estimable_reason`` ("" when estimated; "no subject infused yet", "no admission
        date recorded").

    Examples
    --------
    From the infusion: discharged alive on days 3, 5 and 9, one death in hospital on day 4; the
    curve is 1/4, 1/4, 2/4, 3/4, exactly one half from day 5 to day 9, so the median is the
    midpoint, day 7 (R's rule); from admission (2 days earlier) day 9.

    >>> c = pd.DataFrame({"inpatient_days_from_admission": [5.0, 6.0, 7.0, 11.0],
    ...                   "time_days": [3.0, 4.0, 5.0, 9.0], "event": [1, 2, 1, 1]})
    >>> time_to_discharge(c)[["counted_from", "n", "median_days"]].values.tolist()
    [['admission', 4, 9.0], ['infusion', 4, 7.0]]
    """
    rows = []
    for origin, column in (("admission", "inpatient_days_from_admission"), ("infusion", "time_days")):
        time = course[column].to_numpy(float)
        known = ~np.isnan(time)
        t, e = np.clip(time[known], 0, None), course["event"].to_numpy(int)[known]
        row = {"counted_from": origin, "n": int(known.sum()), "n_missing": int((~known).sum()),
               "n_discharged_alive": int((e == 1).sum()), "n_died_in_hospital": int((e == 2).sum()),
               "n_censored": int((e == 0).sum()), "median_days": np.nan, "ci95_lower": np.nan,
               "ci95_upper": np.nan, "not_estimable_reason": ""}
        if not known.any():
            row["not_estimable_reason"] = NO_SUBJECT_INFUSED if len(course) == 0 else "no admission date recorded"
        else:
            q = cumulative_incidence_quantiles(cumulative_incidence(t, e, cause=1), (0.5,)).iloc[0]
            row |= {"median_days": q["quantile_days"], "ci95_lower": q["ci95_lower"], "ci95_upper": q["ci95_upper"]}
        rows.append(row)
    return pd.DataFrame(rows)


def discharge_at_days(course: pd.DataFrame, days=None) -> pd.DataFrame:
    """Cumulative incidence of discharge alive and of death in hospital at ``days`` (None: the
    ``time_frames.hospital_stay.discharge_days`` of ``definitions/trial.yaml``).

    Returns
    -------
    pandas.DataFrame
        ``outcome`` ("discharged alive", "died in hospital"), ``n``, then the columns of
        :func:`~msc_analysis.stats.competing_risks.cumulative_incidence` at each day, then
        ``not_estimable_reason`` ("" when estimated; "no subject infused yet" or "nobody at
        risk at day N").
    """
    days = _frame("discharge_days", days)
    frames = []
    for cause, label in _OUTCOMES.items():
        inc = cumulative_incidence(course["time_days"], course["event"], cause=cause, times=list(days))
        reason = reasons_at_days(inc["cumulative_incidence_prop"], len(course), inc["n_at_risk"], inc["time_days"])
        frames.append(inc.assign(outcome=label, n=len(course), not_estimable_reason=reason))
    return pd.concat(frames, ignore_index=True)[
        ["outcome", "n", "time_days", "n_at_risk", "n_events", "n_competing", "n_censored",
         "cumulative_incidence_prop", "ci95_lower", "ci95_upper", "not_estimable_reason"]]


def discharge_curves(course: pd.DataFrame) -> pd.DataFrame:
    """Both cumulative incidence curves at every distinct time, for plotting: ``outcome``, the
    columns of :func:`~msc_analysis.stats.competing_risks.cumulative_incidence` and
    ``not_estimable_reason``; without treated subjects one row per outcome at day 0 with
    missing estimates and the reason "no subject infused yet"."""
    frames = []
    for cause, label in _OUTCOMES.items():
        curve = cumulative_incidence(course["time_days"], course["event"], cause=cause,
                                     times=None if len(course) else [0])
        frames.append(curve.assign(outcome=label, not_estimable_reason="" if len(course) else NO_SUBJECT_INFUSED))
    out = pd.concat(frames, ignore_index=True)
    return out[["outcome", *(c for c in out.columns if c != "outcome")]]


def risk_table(course: pd.DataFrame, days=RISK_TABLE_DAYS) -> pd.DataFrame:
    """Subjects still in hospital on each day, and those who left before it: rows that add up.

    Convention: on day *t* a subject is **at risk** when still in hospital and followed at the
    start of day *t* (``time_days >= t``); every other subject left before day *t*: discharged
    alive, died in hospital, or censored (in hospital at the cutoff, followed to before day *t*).
    At every day ``n_at_risk + events_before_day + competing_before_day + censored_before_day == n``.

    Returns
    -------
    pandas.DataFrame
        ``day``, ``n`` (treated subjects), ``n_at_risk``, ``events_before_day`` (discharged
        alive), ``competing_before_day`` (died in hospital), ``censored_before_day`` (int).

    Examples
    --------
    >>> c = pd.DataFrame({"time_days": [3.0, 5.0, 9.0], "event": [1, 2, 0]})
    >>> r = risk_table(c, (0, 5, 10))
    >>> r.drop(columns=["day", "n"]).sum(axis=1).tolist(), r["n_at_risk"].tolist()
    ([3, 3, 3], [3, 2, 0])
    """
    day = np.asarray(list(days), dtype=float)
    time = course["time_days"].to_numpy(float)[:, None]
    event = course["event"].astype(int).to_numpy()[:, None]
    before = time < day[None, :]
    at_risk = competing_risk_table(course["time_days"], course["event"], list(day), cause=1)["n_at_risk"]
    return pd.DataFrame({"day": day, "n": len(course), "n_at_risk": at_risk.to_numpy(int),
                         "events_before_day": (before & (event == 1)).sum(axis=0).astype(int),
                         "competing_before_day": (before & (event == 2)).sum(axis=0).astype(int),
                         "censored_before_day": (before & (event == 0)).sum(axis=0).astype(int)})
