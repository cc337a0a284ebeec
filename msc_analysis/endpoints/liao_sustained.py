"""Time to the first sustained low Liao (NEWS-C) score after the infusion, death competing.

The third pre-specified improvement measure of the Liao score (the other two, and the headline
rows of all three, are in :mod:`msc_analysis.endpoints.liao_improvement`). A sustained low
score is a run of consecutive assessments all at or below ``low_score_max`` lasting at least
``hold_hours``; death in hospital before it competes; the cumulative incidence comes from
:func:`msc_analysis.stats.competing_risks.cumulative_incidence` (Aalen-Johansen).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import definitions
from ..derive.checks import positions, require_columns, row_order
from ..derive.follow_up import follow_up
from ..derive.visits import subject_course
from ..stats.competing_risks import cumulative_incidence
from ..stats.estimability import NO_SUBJECT_INFUSED, no_data, reasons_at_days

__all__ = ["SUSTAINED_OUTCOMES", "STABLE_OUTCOMES", "usable_assessments", "cutoff_or_latest_date",
           "physiology_total", "sustained_low_score", "stable_or_discharged", "sustained_low_score_incidence"]

#: Event codes of the sustained-low-score endpoint (the ``event`` column).
SUSTAINED_OUTCOMES = {0: "censored", 1: "sustained low score", 2: "died first"}
#: Event codes of the headline "clinical stability or discharge alive" (:func:`stable_or_discharged`).
STABLE_OUTCOMES = {0: "censored", 1: "stable or discharged alive", 2: "died first"}


def usable_assessments(scored: pd.DataFrame, include_incomplete: bool) -> pd.DataFrame:
    """The scored assessments a measure uses: all, or only complete ones (the default).

    An assessment without any vital sign recorded (``n_vital_signs`` 0, when the column is
    there) is never used, even with ``include_incomplete``: its total would be 0 (plus age
    points), a low score made of missing data.
    """
    require_columns(scored, ("subject_id", "measured_at", "days_since_infusion", "liao_total",
                             "liao_level", "incomplete"), "scored assessments")
    keep = np.ones(len(scored), dtype=bool) if include_incomplete else ~scored["incomplete"].to_numpy(bool)
    if "n_vital_signs" in scored:
        keep &= scored["n_vital_signs"].to_numpy() > 0
    return scored if keep.all() else scored[keep]


def sustained_low_score(scored: pd.DataFrame, subjects: pd.DataFrame, *, low_score_max: int | None = None,
                        hold_hours: float = 24.0, hold_tolerance_hours: float = 2.0,
                        horizon_days: int | None = None, include_incomplete: bool = False) -> pd.DataFrame:
    """Time from the infusion to the first sustained low score, death competing.

    A **low-score run** is a series of consecutive post-baseline assessments (day 1 on) all
    with ``liao_total <= low_score_max``. It is **sustained** when its last assessment is at
    least ``hold_hours - hold_tolerance_hours`` after its first (assessment times drift by
    minutes from day to day; the tolerance keeps 08:40 then 08:05 the next day a 24 h hold).
    The event day is the day of the run's first assessment. Event codes:

    - 1 "sustained low score": a sustained run starting on or before ``horizon_days``;
    - 2 "died first": no such run, and the subject died in hospital (no discharge before the
      death) on or before ``horizon_days``; time = day of death;
    - 0 "censored": otherwise, at the day of the last post-baseline assessment (vital signs stop
      at discharge, so a subject discharged before a sustained low score, or dying after
      discharge, is censored there), or at ``horizon_days`` if later; day 0 without any.

    Parameters
    ----------
    scored : DataFrame
        From :func:`score_assessments`.
    subjects : DataFrame
        The treated population (columns of ``derive.visits.subject_course``).
    low_score_max : int, optional
        Highest total that counts as low; None: ``time_frames.liao_score.low_score_max`` of
        ``definitions/trial.yaml`` (2).
    hold_hours, hold_tolerance_hours : float, default 24 and 2
        How long the low score must hold, and the allowed shortfall of the last assessment.
    horizon_days : int, optional
        End of the observation for this endpoint; None: the last of
        ``time_frames.liao_score.report_days`` of ``definitions/trial.yaml`` (day 60).
    include_incomplete : bool, default False
        Use assessments with a missing vital sign (lower-bound totals). Left out, they neither
        break nor extend a run.

    Returns
    -------
    DataFrame
        One row per subject of ``subjects``: ``subject_id``, ``time_days`` (int),
        ``event`` (int 0/1/2), ``outcome`` (label of ``event``, :data:`SUSTAINED_OUTCOMES`),
        ``run_start_at``, ``run_confirmed_at`` (datetimes of the run's first assessment and
        of the first assessment completing the hold; missing unless ``event`` is 1),
        ``discharged_before_event`` (bool: censored at a discharge alive),
        ``low_score_possible`` (bool: false when age alone adds more than ``low_score_max``
        points, as with the default ``age_points=3`` at age 65 or more; missing age points
        count as 0), ``n_assessments_after_infusion`` (int: usable assessments from day 1 on,
        the data the endpoint rests on).
    """
    low_score_max, horizon_days = _check(low_score_max, hold_hours, hold_tolerance_hours, horizon_days)
    course = subject_course(subjects)
    ids = course["subject_id"].astype(str)
    first, last_day, n_after = _first_sustained_runs(usable_assessments(scored, include_incomplete), ids,
                                                     "liao_total", low_score_max, hold_hours,
                                                     hold_tolerance_hours, horizon_days)
    hit = first["day"].notna().to_numpy()
    death, discharge = course["death_day"], course["discharge_day"]
    in_hospital_death = (death <= horizon_days) & (discharge.isna() | (discharge > death))
    died = ~hit & in_hospital_death.fillna(False).to_numpy(bool)
    event = np.where(hit, 1, np.where(died, 2, 0))
    censor = np.minimum(last_day.fillna(0).to_numpy(float), horizon_days)
    time = np.where(hit, first["day"].to_numpy(float),
                    np.where(died, death.to_numpy(float, na_value=np.nan), censor))
    discharged = (event == 0) & (discharge <= horizon_days).fillna(False).to_numpy(bool)
    if "age_points" in scored:
        at = positions(scored["subject_id"], ids)
        age = scored["age_points"][at >= 0].groupby(at[at >= 0]).max().reindex(pd.RangeIndex(len(ids)))
    else:
        age = pd.Series(np.nan, index=pd.RangeIndex(len(ids)))
    possible = (age.fillna(0).to_numpy(float) <= low_score_max)
    return pd.DataFrame({
        "subject_id": course["subject_id"].to_numpy(), "time_days": time.astype("int64"),
        "event": event.astype("int64"), "outcome": [SUSTAINED_OUTCOMES[e] for e in event],
        "run_start_at": first["start"].to_numpy(),
        "run_confirmed_at": first["confirmed"].to_numpy(),
        "discharged_before_event": discharged, "low_score_possible": possible,
        "n_assessments_after_infusion": n_after.to_numpy()})


def cutoff_or_latest_date(subjects: pd.DataFrame, cutoff=None) -> pd.Timestamp:
    """The data cutoff; when None, the latest date recorded for the subjects (``infused_on``,
    ``died_on``, ``discharged_on``, ``last_known_alive_on``): a lower bound of the cutoff, so a day
    it shows as passed has passed (1970-01-01 when there is no date at all)."""
    if cutoff is not None:
        return pd.Timestamp(cutoff).normalize()
    dates = [pd.to_datetime(subjects[c]).max() for c in
             ("infused_on", "died_on", "discharged_on", "last_known_alive_on") if c in subjects]
    dates = [d for d in dates if not pd.isna(d)]
    return max(dates).normalize() if dates else pd.Timestamp(0)


def physiology_total(scored: pd.DataFrame) -> pd.Series:
    """The Liao total without the age item: the NEWS2 aggregate score of the seven vital signs
    (``liao_total - age_points``, missing age points counting 0).

    >>> physiology_total(pd.DataFrame({"liao_total": [5, 2], "age_points": pd.array([3, None], dtype="Int64")})).tolist()
    [2, 2]
    """
    if "physiology_total" in scored:
        return scored["physiology_total"]
    age = scored["age_points"] if "age_points" in scored else pd.Series(0, index=scored.index)
    return (scored["liao_total"] - pd.Series(age, index=scored.index).fillna(0)).astype("int64")


def stable_or_discharged(scored: pd.DataFrame, subjects: pd.DataFrame, cutoff=None, *,
                         low_score_max: int | None = None, hold_hours: float = 24.0,
                         hold_tolerance_hours: float = 2.0, horizon_days: int | None = None,
                         include_incomplete: bool = False) -> pd.DataFrame:
    """Time to clinical stability or discharge alive, whichever first, death competing (the headline).

    **Clinical stability** is a sustained low score (the runs of :func:`sustained_low_score`,
    same hold and tolerance) judged on the score **without the age item**
    (:func:`physiology_total`, the NEWS2 aggregate: ``<= low_score_max``), so that every subject
    can reach it whatever their age and ``age_points``. A **discharge alive** (a discharge date
    recorded, not after a death) is the same success: vital signs stop at discharge, and a patient
    sent home is no longer at risk of needing hospital care. Event codes:

    - 1 "stable or discharged alive": at the earlier of the start day of the first sustained
      age-free low run and the discharge day, when it is on or before ``horizon_days``
      (``first_event`` says which);
    - 2 "died first": death on or before ``horizon_days`` before either: time = day of death;
    - 0 "censored": alive in hospital at the end of follow-up, at the later of the last day known
      alive (``derive.follow_up``) and the last assessment, at most ``horizon_days``.

    Parameters
    ----------
    scored, subjects, low_score_max, hold_hours, hold_tolerance_hours, horizon_days, include_incomplete
        As in :func:`sustained_low_score`.
    cutoff : date-like, optional
        The data cutoff (caps the day known alive); None: :func:`cutoff_or_latest_date`.

    Returns
    -------
    DataFrame
        One row per subject: ``subject_id``, ``time_days`` (int), ``event`` (int 0/1/2),
        ``outcome`` (:data:`STABLE_OUTCOMES`), ``first_event`` ("low score held", "discharged
        alive" or "" unless ``event`` is 1), ``run_start_day`` (Int64: start of the first
        sustained age-free low run by the horizon, whether or not it came first),
        ``discharge_day`` (Int64), ``n_assessments_after_infusion`` (int).

    Examples
    --------
    >>> d = pd.to_datetime
    >>> s = pd.DataFrame({"subject_id": ["A", "B"], "infused_on": d(["2020-08-01"] * 2),
    ...     "died_on": d([None, "2020-08-06"]), "discharged_on": d(["2020-08-09", None]),
    ...     "last_known_alive_on": d(["2020-09-30", "2020-08-05"])})
    >>> v = pd.DataFrame({"subject_id": ["A", "A", "B"], "days_since_infusion": [2, 3, 2],
    ...     "measured_at": d(["2020-08-03 08:00", "2020-08-04 08:00", "2020-08-03 08:00"]),
    ...     "liao_total": [5, 5, 9], "age_points": [3, 3, 0], "liao_level": ["orange", "orange", "red"],
    ...     "incomplete": [False] * 3})
    >>> stable_or_discharged(v, s, "2020-10-30")[["time_days", "event", "first_event"]].values.tolist()
    [[2, 1, 'low score held'], [5, 2, '']]
    """
    low_score_max, horizon_days = _check(low_score_max, hold_hours, hold_tolerance_hours, horizon_days)
    follow = follow_up(subjects, cutoff_or_latest_date(subjects, cutoff))
    ids = follow["subject_id"].astype(str)
    usable = usable_assessments(scored, include_incomplete)
    usable = usable.assign(_physiology=physiology_total(usable))
    first, last_day, n_after = _first_sustained_runs(usable, ids, "_physiology", low_score_max, hold_hours,
                                                     hold_tolerance_hours, horizon_days)
    run = first["day"].to_numpy(float)
    death, discharge = follow["death_day"].to_numpy(float), follow["discharge_day"].to_numpy(float)
    discharge_alive = np.where((discharge <= horizon_days) & ~(death < discharge), discharge, np.nan)
    success = np.fmin(run, discharge_alive)
    hit = ~np.isnan(success)
    died = ~hit & (death <= horizon_days)
    censor = np.minimum(np.fmax(follow["follow_up_days"].to_numpy(float), last_day.to_numpy(float)), horizon_days)
    time = np.where(hit, success, np.where(died, death, censor))
    event = np.where(hit, 1, np.where(died, 2, 0))
    kind = np.where(~hit, "", np.where(run == success, "low score held", "discharged alive"))
    return pd.DataFrame({
        "subject_id": follow["subject_id"].to_numpy(), "time_days": time.astype("int64"),
        "event": event.astype("int64"), "outcome": [STABLE_OUTCOMES[e] for e in event],
        "first_event": kind.astype(object), "run_start_day": pd.array(run, dtype="Int64"),
        "discharge_day": pd.array(discharge, dtype="Int64"), "n_assessments_after_infusion": n_after.to_numpy()})


def _check(low_score_max, hold_hours, hold_tolerance_hours, horizon_days) -> tuple[int, int]:
    """The low-score threshold and horizon (definitions when None), after checking the hold."""
    if hold_tolerance_hours < 0 or hold_hours < hold_tolerance_hours:
        raise ValueError("need 0 <= hold_tolerance_hours <= hold_hours")
    frames = definitions.time_frames("liao_score")
    low_score_max = frames["low_score_max"] if low_score_max is None else low_score_max
    horizon_days = max(frames["report_days"]) if horizon_days is None else horizon_days
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, (int, np.integer)) or horizon_days < 1:
        raise ValueError(f"horizon_days must be a whole number of days >= 1, got {horizon_days!r}")
    return low_score_max, horizon_days


def _first_sustained_runs(usable: pd.DataFrame, ids: pd.Series, column: str, low_score_max: int,
                          hold_hours: float, hold_tolerance_hours: float, horizon_days: int):
    """First sustained run of ``column <= low_score_max`` of each subject starting by ``horizon_days``.

    Returns ``(first, last_day, n_after)``, each with one row per subject of ``ids`` (unique codes),
    in its order: ``first`` has ``start``, ``confirmed`` (datetimes) and ``day`` (float, day of
    ``start``), all missing without such a run; ``last_day`` (day of the last assessment from day
    1 on, NaN if none) and ``n_after`` (int, assessments from day 1 on).
    """
    at = positions(usable["subject_id"], ids)  # subjects by position in ``ids``: integers sort fast
    take = (usable["days_since_infusion"] >= 1).fillna(False).to_numpy(bool) & (at >= 0)
    sid, when = at[take], usable["measured_at"].to_numpy()[take]
    day = usable["days_since_infusion"].to_numpy(float, na_value=np.nan)[take].astype(np.int64)
    low = (usable[column] <= low_score_max).to_numpy(bool)[take]
    order = row_order(sid, when)  # by subject, then time, then row
    order = np.lexsort((when, sid)) if order is None else order
    sid, when, day, low = sid[order], when[order], day[order], low[order]
    n = len(ids)
    start = np.full(n, np.datetime64("NaT"), dtype=when.dtype)
    confirmed, first_day, last_day = start.copy(), np.full(n, np.nan), np.full(n, np.nan)
    if len(sid):
        new_run = np.r_[True, (low[1:] != low[:-1]) | (sid[1:] != sid[:-1])]
        run_start = np.flatnonzero(new_run)[np.cumsum(new_run) - 1]  # each row's run's first row
        need = pd.Timedelta(hours=hold_hours - hold_tolerance_hours).to_timedelta64()
        confirming = np.flatnonzero(low & (when - when[run_start] >= need))
        confirming = confirming[_firsts(run_start[confirming])]  # each run's first confirming row
        runs = run_start[confirming]  # the sustained runs, by subject, then time
        by_horizon = day[runs] <= horizon_days
        runs, confirming = runs[by_horizon], confirming[by_horizon]
        first_run = _firsts(sid[runs])  # each subject's earliest run
        subjects = sid[runs[first_run]]
        start[subjects], first_day[subjects] = when[runs[first_run]], day[runs[first_run]]
        confirmed[subjects] = when[confirming[first_run]]
        each = _firsts(sid)
        last_day[sid[each]] = np.maximum.reduceat(day, each)
    first = pd.DataFrame({"start": start, "day": first_day, "confirmed": confirmed})
    n_after = pd.Series(np.bincount(sid, minlength=n).astype("int64"))
    return first, pd.Series(last_day), n_after


def _firsts(ordered: np.ndarray) -> np.ndarray:
    """Positions of the first of each run of equal values in ``ordered`` (sorted)."""
    first = np.ones(len(ordered), dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    return np.flatnonzero(first)


def sustained_low_score_incidence(times: pd.DataFrame, days: Sequence[float] | None = None,
                                  *, cause: int = 1) -> pd.DataFrame:
    """Cumulative incidence of the first sustained low score (``cause=1``) or of death in
    hospital before it (``cause=2``), the other competing (Aalen-Johansen).

    ``times`` comes from :func:`sustained_low_score` (``time_days``, ``event`` and, if
    present, ``n_assessments_after_infusion``); ``days`` are the days to read the curve at
    (default: every distinct time). Returns the columns of
    :func:`msc_analysis.stats.competing_risks.cumulative_incidence`: ``time_days``,
    ``n_at_risk``, ``n_events``, ``n_competing``, ``n_censored``,
    ``cumulative_incidence_prop``, ``ci95_lower``, ``ci95_upper``, then
    ``not_estimable_reason``: "" when estimated; "no subject infused yet"; "nobody at risk at
    day N"; or "no data (no usable vital signs)" when no subject has a usable assessment after
    the infusion (e.g. every vital-sign value empty): the estimates are then missing, never
    0 %. Without ``days`` and with nothing to estimate, one row at day 0 with missing estimates.
    """
    require_columns(times, ("time_days", "event"), "times")
    n_assessed = times["n_assessments_after_infusion"] if "n_assessments_after_infusion" in times else None
    data_reason = (no_data("no usable vital signs")
                   if len(times) and n_assessed is not None and int(n_assessed.sum()) == 0 else "")
    reason = data_reason or ("" if len(times) else NO_SUBJECT_INFUSED)
    read_at = [0] if days is None and reason else (None if days is None else list(days))
    out = cumulative_incidence(times["time_days"].to_numpy(float), times["event"].to_numpy(int),
                               cause=cause, times=read_at)
    if data_reason:
        out[["cumulative_incidence_prop", "ci95_lower", "ci95_upper"]] = np.nan
    out["not_estimable_reason"] = reasons_at_days(out["cumulative_incidence_prop"], len(times), out["n_at_risk"],
                                                  out["time_days"], data_reason=data_reason)
    return out
