"""Days of hospitalisation: inpatient days, hospital-free days to day 60, discharge alive.

Population: the treated subjects; each has one row in :func:`hospital_course` with an explicit
hospital status. Day 0 is the infusion. The cut records one admission per subject (the one
during which the subject was screened); readmissions are not recorded.

Derivation rules
----------------
- **Hospital status at the cutoff**: "discharged alive" (``discharged_on`` present; a death
  after discharge does not change it), "died in hospital" (death, no discharge), "in hospital
  at the cutoff" (neither). The loader blanks discharges and deaths after the cutoff. The rule
  is :func:`~msc_analysis.endpoints.overview.hospital_status`, the one ``00_overview`` uses.
- **Inpatient days from admission**: discharge (or death, or for those still in hospital the
  last date known alive, capped at the cutoff) minus ``admitted_on``; missing when the
  admission date is. **From the infusion**: the same end minus the later of the infusion and
  the admission (0 if the end is before the infusion). The distribution is summarised for
  each hospital status separately: deaths in hospital and patients still in hospital are
  shown beside the discharged, never dropped; for those still in hospital the days are a
  lower bound ("so far").
- **Hospital-free days to day 60**: 60 minus the day of discharge (days 0-60, clipped), for
  subjects discharged alive and known alive on day 60 (``last_known_alive_on`` on or after day
  60, or a death after day 60). **Death on or before day 60 scores 0**, as does a stay
  reaching day 60. Otherwise (alive, not followed to day 60) the value is missing, counted
  beside the median, and its status says why, as on ``00_overview``
  (:func:`~msc_analysis.endpoints.overview.status_at_cutoff`): "lost to follow-up (last known
  alive day X)" once day 60 is on or before the cutoff, else "in follow-up (known alive to day
  X)".
- **Discharge alive** (cumulative incidence by Aalen-Johansen): event at the discharge day;
  death in hospital is the competing event at the day of death; those still in hospital are
  censored at the last day known alive (day 0 if none).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import definitions
from ..derive.checks import require_columns
from ..stats.estimability import NO_SUBJECT_INFUSED, no_subject_measured, reasons_at_days, with_reason
from ..stats.competing_risks import CIF_CI_METHOD, competing_risk_table, cumulative_incidence
from .overview import HOSPITAL_STATUSES, hospital_status, status_at_cutoff

__all__ = ["HOSPITAL_STATUSES", "hospital_course", "status_counts",
           "inpatient_days_summary", "hospital_free_days_summary", "discharge_at_days", "discharge_curves",
           "risk_table", "RISK_TABLE_DAYS", "headline_measures"]

#: Days of the table drawn under the discharge plot.
RISK_TABLE_DAYS = (0, 7, 14, 21, 28, 45, 60)
_OUTCOMES = {1: "discharged alive", 2: "died in hospital"}
_IQR_NOTE = "median; lower and upper hold the interquartile range (Q1, Q3), not a CI"


def _frame(name: str, value):
    """``value``, or the registered ``time_frames.hospital_stay`` value of ``definitions/trial.yaml``."""
    return definitions.time_frames("hospital_stay")[name] if value is None else value


def hospital_course(subjects: pd.DataFrame, cutoff_date, *, horizon_days: int | None = None) -> pd.DataFrame:
    """Hospital stay of every treated subject.

    Parameters
    ----------
    subjects : pandas.DataFrame
        ``subject_id``, ``arm``, ``treated`` (bool), ``infused_on``, ``admitted_on``,
        ``discharged_on``, ``died_on``, ``last_known_alive_on`` (dates, may be missing).
    cutoff_date : date-like
        Data cutoff date.
    horizon_days : int, optional
        Horizon of hospital-free days; None: ``time_frames.hospital_stay.horizon_days`` of
        ``definitions/trial.yaml`` (day 60, the registered time frame).

    Returns
    -------
    pandas.DataFrame
        One row per treated subject: ``subject_id``; ``arm``; ``hospital_status``
        (categorical :data:`HOSPITAL_STATUSES`); ``admission_day``, ``end_day`` (float,
        days since infusion of the admission and of the discharge / death in hospital / last
        day known in hospital); ``inpatient_days_from_admission``,
        ``inpatient_days_from_infusion`` (float days); ``hospital_free_days`` (float, NaN
        when not known); ``hospital_free_days_status`` ("known", "died by day 60 (scored
        0)", "lost to follow-up (last known alive day N)" when the horizon is on or before the
        cutoff, else "in follow-up (known alive to day N)"); ``time_days``, ``event``
        (int: 1 discharged alive, 2 died in hospital, 0 censored) for the cumulative incidence.

    Examples
    --------
    >>> d = pd.to_datetime
    >>> s = pd.DataFrame({"subject_id": ["A", "B"], "arm": "MSC", "treated": True,
    ...     "infused_on": d(["2020-08-03", "2020-08-03"]), "admitted_on": d(["2020-08-01", "2020-08-02"]),
    ...     "discharged_on": d(["2020-08-13", None]), "died_on": d([None, "2020-08-08"]),
    ...     "last_known_alive_on": d(["2020-10-15", "2020-08-07"])})
    >>> hospital_course(s, "2020-12-30")[["inpatient_days_from_admission", "hospital_free_days", "event"]]
       inpatient_days_from_admission  hospital_free_days  event
    0                           12.0                50.0      1
    1                            6.0                 0.0      2
    """
    needed = ("subject_id", "arm", "treated", "infused_on", "admitted_on", "discharged_on", "died_on",
              "last_known_alive_on")
    require_columns(subjects, needed, "subjects")
    horizon_days = _frame("horizon_days", horizon_days)
    if not horizon_days > 0:
        raise ValueError("horizon_days must be positive")
    cutoff = pd.Timestamp(cutoff_date)
    t = subjects[subjects["treated"].astype(bool)]
    infused = t["infused_on"]

    def day(column):
        return (column - infused).dt.days.astype(float).to_numpy()

    known = t["last_known_alive_on"]
    alive_day = day(known.where(known.isna() | (known <= cutoff), cutoff))
    discharge, death, admission = day(t["discharged_on"]), day(t["died_on"]), day(t["admitted_on"])
    discharged = ~np.isnan(discharge)
    died_in = ~discharged & ~np.isnan(death)
    status = hospital_status(t["discharged_on"], t["died_on"])
    in_hospital_until = np.fmax(np.nan_to_num(alive_day, nan=0.0), 0.0)
    end = np.where(discharged, discharge, np.where(died_in, death, in_hospital_until))
    from_admission = end - admission
    from_infusion = np.clip(end - np.fmax(np.nan_to_num(admission, nan=0.0), 0.0), 0, None)

    dead_by_horizon = death <= horizon_days
    # known alive up to: last contact, discharge (alive then), or a death after the horizon
    followed_to = np.fmax(np.fmax(alive_day, discharge), np.where(death > horizon_days, death, np.nan))
    free = np.where(discharged, horizon_days - np.clip(discharge, 0, horizon_days), 0.0)
    hfd = np.where(dead_by_horizon, 0.0, np.where(followed_to >= horizon_days, free, np.nan))
    follow_up = status_at_cutoff(t, cutoff, horizon_days)["status_text"].to_numpy(dtype=object)
    hfd_status = np.where(dead_by_horizon, f"died by day {horizon_days} (scored 0)",
                          np.where(np.isnan(hfd), follow_up, "known"))
    event = np.select([discharged, died_in], [1, 2], default=0)
    return pd.DataFrame({
        "subject_id": t["subject_id"].to_numpy(), "arm": t["arm"].to_numpy(),
        "hospital_status": status,
        "admission_day": admission, "end_day": end,
        "inpatient_days_from_admission": from_admission, "inpatient_days_from_infusion": from_infusion,
        "hospital_free_days": hfd, "hospital_free_days_status": hfd_status,
        "time_days": np.clip(end, 0, None), "event": event.astype(int),
    })


def status_counts(course: pd.DataFrame) -> pd.DataFrame:
    """Subjects in each hospital status: ``hospital_status``, ``n_subjects`` (all three
    statuses, zeros included)."""
    counts = course["hospital_status"].value_counts(sort=False)
    return pd.DataFrame({"hospital_status": list(HOSPITAL_STATUSES),
                         "n_subjects": [int(counts.get(s, 0)) for s in HOSPITAL_STATUSES]})


def _describe(values: pd.Series, empty_reason: str) -> dict:
    v = values.dropna()
    reason = "" if v.size else (empty_reason if values.size == 0 else "no admission date recorded")
    return {"n": int(values.size), "n_missing": int(values.isna().sum()), "median_days": v.median(),
            "q1_days": v.quantile(0.25), "q3_days": v.quantile(0.75), "min_days": v.min(), "max_days": v.max(),
            "not_estimable_reason": reason}


def inpatient_days_summary(course: pd.DataFrame) -> pd.DataFrame:
    """Inpatient days by hospital status, from admission and from the infusion.

    Returns
    -------
    pandas.DataFrame
        One row per hospital status (all three, also when empty) and origin: ``hospital_status``,
        ``counted_from`` ("admission", "infusion"), ``n``, ``n_missing`` (admission date
        missing), ``median_days``, ``q1_days``, ``q3_days``, ``min_days``, ``max_days``
        (NaN when no values), ``not_estimable_reason`` ("" when there are values; "no subject
        infused yet", "no subject with this status" or "no admission date
        recorded"). Quartiles: linear interpolation (pandas default).
    """
    rows = []
    empty = NO_SUBJECT_INFUSED if len(course) == 0 else no_subject_measured("with this status")
    for status in HOSPITAL_STATUSES:
        g = course[course["hospital_status"] == status]
        for origin in ("admission", "infusion"):
            rows.append({"hospital_status": status, "counted_from": origin}
                        | _describe(g[f"inpatient_days_from_{origin}"], empty))
    return pd.DataFrame(rows)


def hospital_free_days_summary(course: pd.DataFrame) -> pd.DataFrame:
    """Hospital-free days to the horizon: one row with ``n`` (treated), ``n_known``,
    ``n_died_scored_0``, ``n_not_yet_known`` (no value: ``n_lost_to_follow_up`` +
    ``n_in_follow_up``), ``median_days``, ``q1_days``, ``q3_days`` (over the known values; NaN
    when none), ``not_estimable_reason`` ("" when there are known values; "no subject infused
    yet" or "nobody followed to the horizon yet")."""
    hfd = course["hospital_free_days"]
    status = course["hospital_free_days_status"]
    known = hfd.dropna()
    reason = "" if known.size else (NO_SUBJECT_INFUSED if len(course) == 0 else
                                    "nobody followed to the horizon yet")
    return pd.DataFrame([{"n": len(course), "n_known": int(known.size),
                          "n_died_scored_0": int(status.astype(str).str.startswith("died").sum()),
                          "n_not_yet_known": int(hfd.isna().sum()),
                          "n_lost_to_follow_up": int(status.astype(str).str.startswith("lost").sum()),
                          "n_in_follow_up": int(status.astype(str).str.startswith("in follow-up").sum()),
                          "median_days": known.median(),
                          "q1_days": known.quantile(0.25), "q3_days": known.quantile(0.75),
                          "not_estimable_reason": reason}])


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


def headline_measures(course: pd.DataFrame, days=None, *, horizon_days: int | None = None) -> pd.DataFrame:
    """Headline numbers for :func:`~msc_analysis.report.results.result_rows`.

    ``days`` and ``horizon_days`` None mean the registered time frames (``definitions/trial.yaml``).

    Returns
    -------
    pandas.DataFrame
        ``measure``, ``group``, ``day``, ``estimate``, ``ci95_lower``, ``ci95_upper``, ``n``,
        ``unit``, ``method``: ``inpatient_days_median`` (from admission, group "discharged
        alive", IQR in the CI columns) and ``inpatient_days_from_infusion_median`` (same);
        ``hospital_free_days_median`` (known values to ``horizon_days``, the horizon given to
        :func:`hospital_course`; IQR in the CI columns);
        ``discharged_alive_prop`` at each of ``days``; ``subjects`` in each hospital status.
    """
    days, horizon_days = _frame("discharge_days", days), _frame("horizon_days", horizon_days)
    summary = inpatient_days_summary(course)
    counts = status_counts(course).set_index("hospital_status")["n_subjects"]
    beside = (f"{counts['died in hospital']} died in hospital and {counts['in hospital at the cutoff']} "
              "still in hospital at the cutoff are reported separately")
    rows = []
    discharged = summary[summary["hospital_status"] == "discharged alive"].set_index("counted_from")
    for origin, measure in (("admission", "inpatient_days_median"),
                            ("infusion", "inpatient_days_from_infusion_median")):
        s = discharged.loc[origin]
        rows.append(dict(measure=measure, group="discharged alive", estimate=s["median_days"],
                         ci95_lower=s["q1_days"], ci95_upper=s["q3_days"], n=s["n"] - s["n_missing"], unit="days",
                         method=with_reason(f"days from {origin} to discharge among subjects discharged alive; "
                                            f"{_IQR_NOTE}; {beside}", s["not_estimable_reason"])))
    h = hospital_free_days_summary(course).iloc[0]
    rows.append(dict(measure="hospital_free_days_median", group="all", day=horizon_days, estimate=h["median_days"],
                     ci95_lower=h["q1_days"], ci95_upper=h["q3_days"], n=h["n_known"], unit="days",
                     method=with_reason(f"days alive and out of hospital to day {horizon_days}, deaths score 0; "
                                        f"{_IQR_NOTE}; {int(h['n_lost_to_follow_up'])} lost to follow-up and "
                                        f"{int(h['n_in_follow_up'])} still in follow-up before day {horizon_days} "
                                        "left out", h["not_estimable_reason"])))
    d = discharge_at_days(course, days)
    rows += [dict(measure="discharged_alive_prop", group="all", day=r.time_days, estimate=r.cumulative_incidence_prop,
                  ci95_lower=r.ci95_lower, ci95_upper=r.ci95_upper, n=r.n, unit="proportion",
                  method=with_reason(f"death in hospital as competing event; {CIF_CI_METHOD}", r.not_estimable_reason))
             for r in d[d["outcome"] == "discharged alive"].itertuples()]
    rows += [dict(measure="subjects", group=status, estimate=n, n=len(course), unit="subjects",
                  method="hospital status at the cutoff") for status, n in counts.items()]
    return pd.DataFrame(rows)
