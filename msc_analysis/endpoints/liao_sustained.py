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
from ..derive.checks import require_columns
from ..derive.visits import subject_course
from ..stats.competing_risks import cumulative_incidence
from ..stats.estimability import NO_SUBJECT_INFUSED, no_data, reasons_at_days

__all__ = ["SUSTAINED_OUTCOMES", "usable_assessments", "sustained_low_score",
           "sustained_low_score_incidence"]

#: Event codes of the sustained-low-score endpoint (the ``event`` column).
SUSTAINED_OUTCOMES = {0: "censored", 1: "sustained low score", 2: "died first"}


def usable_assessments(scored: pd.DataFrame, include_incomplete: bool) -> pd.DataFrame:
    """The scored assessments a measure uses: all, or only complete ones (the default).

    An assessment without any vital sign recorded (``n_vital_signs`` 0, when the column is
    there) is never used, even with ``include_incomplete``: its total would be 0 (plus age
    points), a low score made of missing data.
    """
    require_columns(scored, ("subject_id", "measured_at", "days_since_infusion", "liao_total",
                             "liao_level", "incomplete"), "scored assessments")
    if "n_vital_signs" in scored:
        scored = scored[scored["n_vital_signs"] > 0]
    return scored if include_incomplete else scored[~scored["incomplete"].astype(bool)]


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
    if hold_tolerance_hours < 0 or hold_hours < hold_tolerance_hours:
        raise ValueError("need 0 <= hold_tolerance_hours <= hold_hours")
    frames = definitions.time_frames("liao_score")
    low_score_max = frames["low_score_max"] if low_score_max is None else low_score_max
    horizon_days = max(frames["report_days"]) if horizon_days is None else horizon_days
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, (int, np.integer)) or horizon_days < 1:
        raise ValueError(f"horizon_days must be a whole number of days >= 1, got {horizon_days!r}")
    course = subject_course(subjects)
    ids = course["subject_id"].astype(str)
    usable = usable_assessments(scored, include_incomplete)
    day = usable["days_since_infusion"]
    a = usable[(day >= 1).fillna(False).to_numpy(bool)
               & usable["subject_id"].astype(str).isin(set(ids)).to_numpy(bool)]
    a = pd.DataFrame({"sid": a["subject_id"].astype(str).to_numpy(), "at": a["measured_at"].to_numpy(),
                      "day": a["days_since_infusion"].astype("int64").to_numpy(),
                      "low": (a["liao_total"] <= low_score_max).to_numpy(bool),
                      "row": np.arange(len(a))}).sort_values(["sid", "at", "row"], kind="stable")
    new_run = (a["low"] != a["low"].shift()) | (a["sid"] != a["sid"].shift())
    a["run"] = new_run.cumsum()
    runs = a[a["low"]].groupby("run").agg(sid=("sid", "first"), start=("at", "first"), day=("day", "first"))
    need = pd.Timedelta(hours=hold_hours - hold_tolerance_hours)
    low = a[a["low"]].join(runs["start"], on="run")
    confirming = low[low["at"] - low["start"] >= need].groupby("run")["at"].first()
    runs = runs.join(confirming.rename("confirmed"), how="inner")
    first = runs[runs["day"] <= horizon_days].sort_values("start").drop_duplicates("sid").set_index("sid")
    last_day = a.groupby("sid")["day"].max().reindex(ids)

    hit = ids.isin(first.index).to_numpy()
    death, discharge = course["death_day"], course["discharge_day"]
    in_hospital_death = (death <= horizon_days) & (discharge.isna() | (discharge > death))
    died = ~hit & in_hospital_death.fillna(False).to_numpy(bool)
    event = np.where(hit, 1, np.where(died, 2, 0))
    censor = np.minimum(last_day.fillna(0).to_numpy(float), horizon_days)
    time = np.where(hit, first["day"].reindex(ids).to_numpy(float),
                    np.where(died, death.to_numpy(float, na_value=np.nan), censor))
    discharged = (event == 0) & (discharge <= horizon_days).fillna(False).to_numpy(bool)
    age = (scored.assign(sid=scored["subject_id"].astype(str)).groupby("sid")["age_points"].max()
           if "age_points" in scored else pd.Series(dtype="float64"))
    possible = (age.reindex(ids).fillna(0).to_numpy(float) <= low_score_max)
    return pd.DataFrame({
        "subject_id": course["subject_id"].to_numpy(), "time_days": time.astype("int64"),
        "event": event.astype("int64"), "outcome": [SUSTAINED_OUTCOMES[e] for e in event],
        "run_start_at": first["start"].reindex(ids).to_numpy(),
        "run_confirmed_at": first["confirmed"].reindex(ids).to_numpy(),
        "discharged_before_event": discharged, "low_score_possible": possible,
        "n_assessments_after_infusion": a.groupby("sid").size().reindex(ids).fillna(0).astype("int64").to_numpy()})


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
