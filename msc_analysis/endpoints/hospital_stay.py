"""Days of hospitalisation: time to discharge alive, inpatient days, hospital-free days to day 60.

Population: the treated subjects; each has one row in :func:`hospital_course` with an explicit
hospital status. Day 0 is the infusion. The cut records one admission per subject (the one
during which the subject was screened); readmissions are not recorded. Follow-up (known alive
to, state at day 60, evaluable by calendar, the hospital status) comes from the one derivation
of the kit, :mod:`msc_analysis.derive.follow_up`, the one ``00_overview`` counts.

Derivation rules (estimands in ``docs/endpoints/03_hospital_stay.md``)
--------------------------------------------------------------------
- **Hospital status at the cutoff**: "discharged alive" (``discharged_on`` present; a death
  after discharge does not change it), "died in hospital" (death, no discharge), "in hospital
  at the cutoff" (neither): :func:`~msc_analysis.derive.follow_up.hospital_status`.
- **End of the stay**: the discharge; the death in hospital; for those still in hospital the
  last day known alive (capped at the cutoff; day 0 if none).
- **Days of hospitalisation** (headline, :func:`time_to_discharge`): the median time from
  admission to discharge alive by Aalen-Johansen, death in hospital a competing event (a
  subject who dies in hospital is never discharged alive), those still in hospital censored at
  the end of the stay. The observed median among the subjects discharged alive is a labelled
  secondary figure (it conditions on discharge: at an interim cut it leaves out the long stays
  still running and the deaths).
- **Hospital-free days to day 60**: 60 minus the day of discharge (clipped to 0-60) for
  subjects alive and followed to day 60; **a death on or before day 60 scores 0**, as does a
  stay reaching day 60. The headline median counts the subjects **evaluable by calendar**
  (infused at least 60 days before the cutoff), deaths and survivors alike; those of them lost
  to follow-up (alive, last known alive before day 60) have no value and are counted and left
  out. The median of every value known so far (deaths counted at once, survivors only once
  they reach day 60) is a labelled secondary figure.
- **Discharge alive** (cumulative incidence by Aalen-Johansen): event at the discharge day;
  death in hospital is the competing event at the day of death; those still in hospital are
  censored at the last day known alive (day 0 if none).

The time-to-discharge estimators (:func:`time_to_discharge`, :func:`discharge_at_days`,
:func:`discharge_curves`, :func:`risk_table`) live in :mod:`.hospital_discharge` and are
re-exported here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import definitions
from ..derive.checks import require_columns
from ..derive.follow_up import HOSPITAL_STATUSES, evaluable_by_calendar, follow_up, state_at_day
from ..stats.competing_risks import CIF_CI_METHOD
from ..stats.estimability import NO_SUBJECT_INFUSED, no_subject_measured, with_reason
from .hospital_discharge import (RISK_TABLE_DAYS, TIME_TO_DISCHARGE_METHOD, discharge_at_days, discharge_curves,
                                 risk_table, time_to_discharge)

__all__ = ["HOSPITAL_STATUSES", "HFD_ANALYSES", "hospital_course", "status_counts", "inpatient_days_summary",
           "time_to_discharge", "hospital_free_days_summary", "discharge_at_days", "discharge_curves",
           "risk_table", "RISK_TABLE_DAYS", "TIME_TO_DISCHARGE_METHOD", "headline_measures"]

#: Rows of :func:`hospital_free_days_summary`: the headline, then the secondary figure.
HFD_ANALYSES = ("evaluable by calendar", "known so far")
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
        ``inpatient_days_from_infusion`` (float days); ``evaluable_by_calendar`` (bool:
        infused at least ``horizon_days`` days before the cutoff); ``hospital_free_days``
        (float, NaN when not known); ``hospital_free_days_status`` ("known" (alive and
        followed to the horizon), "died by day 60 (scored 0)", "lost to follow-up (last known
        alive day N)" when the horizon has passed by the calendar, else "in follow-up (known
        alive to day N)"); ``time_days``, ``event`` (int: 1 discharged alive, 2 died in
        hospital, 0 censored) for the cumulative incidence from the infusion.

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
    t = subjects[subjects["treated"].astype(bool)]
    follow = follow_up(t, cutoff_date, horizon_days=horizon_days)
    admission = (pd.to_datetime(t["admitted_on"]) - pd.to_datetime(t["infused_on"]).dt.normalize()
                 ).dt.days.astype(float).to_numpy()
    discharge, death = follow["discharge_day"].to_numpy(float), follow["death_day"].to_numpy(float)
    discharged = ~np.isnan(discharge)
    died_in = ~discharged & ~np.isnan(death)
    # still in hospital: to the last day known alive (capped at the cutoff), day 0 if none
    in_hospital_until = np.fmax(np.nan_to_num(follow["known_alive_day"].to_numpy(float), nan=0.0), 0.0)
    end = np.where(discharged, discharge, np.where(died_in, death, in_hospital_until))
    from_admission = end - admission
    from_infusion = np.clip(end - np.fmax(np.nan_to_num(admission, nan=0.0), 0.0), 0, None)

    state = np.asarray(state_at_day(follow, horizon_days), dtype=object)
    free = np.where(discharged, horizon_days - np.clip(discharge, 0, horizon_days), 0.0)
    hfd = np.select([state == "died", state == "followed"], [0.0, free], default=np.nan)
    hfd_status = np.select([state == "died", state == "followed"], [f"died by day {horizon_days} (scored 0)", "known"],
                           default=follow["status_text"].to_numpy(dtype=object))
    event = np.select([discharged, died_in], [1, 2], default=0)
    return pd.DataFrame({
        "subject_id": t["subject_id"].to_numpy(), "arm": t["arm"].to_numpy(),
        "hospital_status": follow["hospital_status"].array,
        "admission_day": admission, "end_day": end,
        "inpatient_days_from_admission": from_admission, "inpatient_days_from_infusion": from_infusion,
        "evaluable_by_calendar": evaluable_by_calendar(follow, horizon_days),
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
    """Hospital-free days to the horizon: the headline (subjects evaluable by calendar) and the
    secondary "known so far" figure.

    Parameters
    ----------
    course : pandas.DataFrame
        :func:`hospital_course` (``evaluable_by_calendar``, ``hospital_free_days``,
        ``hospital_free_days_status``).

    Returns
    -------
    pandas.DataFrame
        Two rows, ``analysis`` :data:`HFD_ANALYSES`:

        - "evaluable by calendar" (headline): the subjects infused at least the horizon days
          before the cutoff, whatever happened to them;
        - "known so far" (secondary): every treated subject whose value is known at the
          cutoff (deaths by the horizon at once, survivors once followed to it).

        Columns: ``analysis``; ``n_treated``; ``n_evaluable_by_calendar``; ``n_subjects`` (the
        row's population: the evaluable by calendar, or the treated); ``n`` (values used);
        ``n_died_scored_0``, ``n_alive_followed`` (the values used, by kind);
        ``n_lost_to_follow_up`` (alive, not followed to the horizon although it has passed:
        left out); ``n_not_yet_reached`` (alive, horizon after the cutoff: left out; 0 in the
        headline row by definition); ``median_days``, ``q1_days``, ``q3_days`` (linear
        interpolation; NaN when no value); ``not_estimable_reason`` ("" when estimated; "no
        subject infused yet", "nobody infused long enough before the cutoff", "nobody
        followed to the horizon yet").

    Examples
    --------
    >>> c = pd.DataFrame({"evaluable_by_calendar": [True, True, True, False, False],
    ...     "hospital_free_days": [40.0, 0.0, np.nan, 0.0, np.nan],
    ...     "hospital_free_days_status": ["known", "died by day 60 (scored 0)",
    ...         "lost to follow-up (last known alive day 20)", "died by day 60 (scored 0)",
    ...         "in follow-up (known alive to day 30)"]})
    >>> hospital_free_days_summary(c)[["analysis", "n", "median_days", "n_lost_to_follow_up"]].values.tolist()
    [['evaluable by calendar', 2, 20.0, 1], ['known so far', 3, 0.0, 1]]
    """
    hfd = course["hospital_free_days"].astype(float)
    status = course["hospital_free_days_status"].astype(str)
    evaluable = course["evaluable_by_calendar"].astype(bool)
    died, lost = status.str.startswith("died"), status.str.startswith("lost")
    waiting = status.str.startswith("in follow-up")
    rows = []
    for analysis, members in zip(HFD_ANALYSES, (evaluable, pd.Series(True, index=course.index))):
        values = hfd[members].dropna()
        if values.size:
            reason = ""
        elif len(course) == 0:
            reason = NO_SUBJECT_INFUSED
        elif analysis == HFD_ANALYSES[0] and not evaluable.any():
            reason = "nobody infused long enough before the cutoff"
        else:
            reason = "nobody followed to the horizon yet"
        used = members & hfd.notna()
        rows.append({"analysis": analysis, "n_treated": len(course), "n_evaluable_by_calendar": int(evaluable.sum()),
                     "n_subjects": int(members.sum()), "n": int(values.size),
                     "n_died_scored_0": int((used & died).sum()), "n_alive_followed": int((used & ~died).sum()),
                     "n_lost_to_follow_up": int((members & lost).sum()),
                     "n_not_yet_reached": int((members & waiting).sum()),
                     "median_days": values.median(), "q1_days": values.quantile(0.25),
                     "q3_days": values.quantile(0.75), "not_estimable_reason": reason})
    return pd.DataFrame(rows)


def headline_measures(course: pd.DataFrame, days=None, *, horizon_days: int | None = None) -> pd.DataFrame:
    """Headline numbers for :func:`~msc_analysis.report.results.result_rows`.

    ``days`` and ``horizon_days`` None mean the registered time frames (``definitions/trial.yaml``).

    Returns
    -------
    pandas.DataFrame
        ``measure``, ``group``, ``day``, ``estimate``, ``ci95_lower``, ``ci95_upper``, ``n``,
        ``unit``, ``method``, group "all" unless said:

        - ``inpatient_days_median`` (headline): median days from admission to discharge alive
          by Aalen-Johansen (:func:`time_to_discharge`), 95% CI; ``n`` subjects with an
          admission date; ``inpatient_days_from_infusion_median``: the same from the infusion;
        - ``inpatient_days_discharged_median`` (secondary): the observed median days from
          admission to discharge among the subjects discharged alive, IQR in the CI columns;
        - ``hospital_free_days_median`` (headline, day ``horizon_days``): median over the
          subjects evaluable by calendar with a value, IQR; ``n`` the values used;
          ``hospital_free_days_known_median`` (secondary): median of the values known so far;
        - ``discharged_alive_prop`` at each of ``days`` (95% CI);
        - ``subjects`` in each hospital status (``group`` names it).
    """
    days, horizon_days = _frame("discharge_days", days), _frame("horizon_days", horizon_days)
    counts = status_counts(course).set_index("hospital_status")["n_subjects"]
    rows = []
    for r in time_to_discharge(course).itertuples():
        measure = "inpatient_days_median" if r.counted_from == "admission" else "inpatient_days_from_infusion_median"
        missing = f"; {r.n_missing} without an admission date left out" if r.n_missing else ""
        rows.append(dict(measure=measure, group="all", estimate=r.median_days, ci95_lower=r.ci95_lower,
                         ci95_upper=r.ci95_upper, n=r.n, unit="days",
                         method=with_reason(f"days from {r.counted_from} to discharge alive; "
                                            f"{TIME_TO_DISCHARGE_METHOD}; inf = not reached; "
                                            f"{r.n_discharged_alive} discharged alive, {r.n_died_in_hospital} died in "
                                            f"hospital, {r.n_censored} still in hospital{missing}",
                                            r.not_estimable_reason)))
    summary = inpatient_days_summary(course)
    s = summary[(summary["hospital_status"] == "discharged alive") & (summary["counted_from"] == "admission")].iloc[0]
    rows.append(dict(measure="inpatient_days_discharged_median", group="all", estimate=s["median_days"],
                     ci95_lower=s["q1_days"], ci95_upper=s["q3_days"], n=s["n"] - s["n_missing"], unit="days",
                     method=with_reason(
                         "secondary (conditions on discharge): observed days from admission to discharge among the "
                         f"subjects discharged alive; {_IQR_NOTE}; {counts['died in hospital']} died in hospital and "
                         f"{counts['in hospital at the cutoff']} still in hospital at the cutoff left out",
                         s["not_estimable_reason"])))
    h = hospital_free_days_summary(course).set_index("analysis")
    e, k = h.loc[HFD_ANALYSES[0]], h.loc[HFD_ANALYSES[1]]
    rows.append(dict(measure="hospital_free_days_median", group="all", day=horizon_days, estimate=e["median_days"],
                     ci95_lower=e["q1_days"], ci95_upper=e["q3_days"], n=e["n"], unit="days",
                     method=with_reason(
                         f"days alive and out of hospital to day {horizon_days} among the {e['n_subjects']} subjects "
                         f"infused at least {horizon_days} days before the cutoff (evaluable by calendar), deaths "
                         f"by day {horizon_days} scored 0 ({e['n_died_scored_0']}); {e['n_lost_to_follow_up']} of "
                         f"them lost to follow-up before day {horizon_days} (value unknown) left out; {_IQR_NOTE}",
                         e["not_estimable_reason"])))
    rows.append(dict(measure="hospital_free_days_known_median", group="all", day=horizon_days,
                     estimate=k["median_days"], ci95_lower=k["q1_days"], ci95_upper=k["q3_days"], n=k["n"], unit="days",
                     method=with_reason(
                         f"secondary (known so far: subjects whose day-{horizon_days} value is known at the cutoff; "
                         f"deaths count at once, survivors only once followed to day {horizon_days}, which pulls the "
                         f"median down at an interim cut): {k['n_died_scored_0']} deaths scored 0, "
                         f"{k['n_alive_followed']} alive; {k['n_lost_to_follow_up']} lost to follow-up and "
                         f"{k['n_not_yet_reached']} not yet at day {horizon_days} left out; {_IQR_NOTE}",
                         k["not_estimable_reason"])))
    d = discharge_at_days(course, days)
    rows += [dict(measure="discharged_alive_prop", group="all", day=r.time_days, estimate=r.cumulative_incidence_prop,
                  ci95_lower=r.ci95_lower, ci95_upper=r.ci95_upper, n=r.n, unit="proportion",
                  method=with_reason(f"death in hospital as competing event; {CIF_CI_METHOD}", r.not_estimable_reason))
             for r in d[d["outcome"] == "discharged alive"].itertuples()]
    rows += [dict(measure="subjects", group=status, estimate=n, n=len(course), unit="subjects",
                  method="hospital status at the cutoff") for status, n in counts.items()]
    return pd.DataFrame(rows)
