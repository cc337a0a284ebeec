"""Overall survival: sensitivity analyses shown beside the headline (issue 13, item 9).

The headline (:mod:`msc_analysis.endpoints.overall_survival`) censors every subject not known to
have died at the last day known alive. Two sensitivity analyses ask how much that and the dose
delivered matter; each is the same Kaplan-Meier estimate at the reported days on other data:

- **lost to follow-up counted as deaths** (:func:`lost_as_deaths`): every treated subject whose
  follow-up status at the cutoff is "lost to follow-up" (:func:`msc_analysis.derive.follow_up.follow_up`:
  alive at the last contact, last known alive before day 60 although day 60 has passed by the
  calendar) has the event at the last day known alive (day 0 when no date known alive), the
  worst case for the missing outcomes. Subjects still in follow-up (day 60 after the cutoff)
  stay censored: censoring handles follow-up not yet reached.
- **per protocol** (:func:`per_protocol`): the treated subjects whose delivered dose was within
  the tolerance of the target (``within_tolerance`` of
  :func:`msc_analysis.endpoints.dose_feasibility.dose_delivered`); a subject outside it, or with
  no dose record, is left out.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..derive.checks import require_columns
from ..stats.estimability import with_reason
from ..stats.survival import KM_CI_METHOD
from .overall_survival import OS_STATUSES, survival_at_days

__all__ = ["ANALYSES", "lost_as_deaths", "per_protocol", "sensitivity_at_days", "sensitivity_measures"]

#: The analyses of :func:`sensitivity_at_days`, in display order: key -> results measure.
ANALYSES = {"headline": "survival_prop", "lost_as_deaths": "survival_prop_lost_as_deaths",
            "per_protocol": "survival_prop_per_protocol"}
_LOST = "lost to follow-up"


def lost_as_deaths(times: pd.DataFrame) -> pd.DataFrame:
    """``times`` with every subject lost to follow-up at the cutoff counted as a death at the last contact.

    Parameters
    ----------
    times : pandas.DataFrame
        Output of :func:`~msc_analysis.endpoints.overall_survival.survival_times`
        (``time_days``, ``event``, ``status``, ``reason``, ``follow_up_status``).

    Returns
    -------
    pandas.DataFrame
        A copy of ``times`` (same rows and columns) where the subjects whose
        ``follow_up_status`` is "lost to follow-up" have ``event`` 1, ``status`` "died"
        (categorical :data:`~msc_analysis.endpoints.overall_survival.OS_STATUSES`) and
        ``reason`` "lost to follow-up, counted as a death at the last contact"; ``time_days``
        is unchanged (the last day known alive, 0 when none).

    Examples
    --------
    >>> t = pd.DataFrame({"time_days": [25.0, 40.0], "event": [0, 0], "status": "censored",
    ...     "reason": "alive at last contact before the cutoff",
    ...     "follow_up_status": ["lost to follow-up", "in follow-up"]})
    >>> lost_as_deaths(t)[["time_days", "event"]].values.tolist()
    [[25.0, 1.0], [40.0, 0.0]]
    """
    require_columns(times, ("time_days", "event", "status", "reason", "follow_up_status"), "times")
    lost = (times["follow_up_status"].astype(str) == _LOST).to_numpy()
    out = times.copy()
    out["event"] = np.where(lost, 1, times["event"].to_numpy(int))
    out["status"] = pd.Categorical(times["status"].astype(str).where(~lost, "died"), categories=OS_STATUSES)
    out["reason"] = times["reason"].where(~lost, "lost to follow-up, counted as a death at the last contact")
    return out


def per_protocol(times: pd.DataFrame, doses: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``times`` whose subject received a dose within the tolerance of the target.

    Parameters
    ----------
    times : pandas.DataFrame
        Output of :func:`~msc_analysis.endpoints.overall_survival.survival_times` (``subject_id``).
    doses : pandas.DataFrame
        ``subject_id``, ``within_tolerance`` (bool), e.g. from
        :func:`~msc_analysis.endpoints.dose_feasibility.dose_delivered`. A subject without a
        row, or with several rows not all within tolerance, is left out.

    Returns
    -------
    pandas.DataFrame
        The rows of ``times`` kept, same columns, index reset.

    Examples
    --------
    >>> t = pd.DataFrame({"subject_id": ["A", "B", "C"], "time_days": [10.0, 60.0, 60.0]})
    >>> d = pd.DataFrame({"subject_id": ["A", "B"], "within_tolerance": [True, False]})
    >>> per_protocol(t, d)["subject_id"].tolist()
    ['A']
    """
    require_columns(times, ("subject_id",), "times")
    require_columns(doses, ("subject_id", "within_tolerance"), "doses")
    within = doses["within_tolerance"].astype(bool).groupby(doses["subject_id"].astype(str)).all()
    keep = times["subject_id"].astype(str).map(within).fillna(False).astype(bool).to_numpy()
    return times[keep].reset_index(drop=True)


def _description(key: str, n_changed: int, tolerance) -> str:
    subjects = "subject" if n_changed == 1 else "subjects"
    if key == "headline":
        return "Headline: subjects lost to follow-up censored at their last contact"
    if key == "lost_as_deaths":
        return (f"Sensitivity: subjects lost to follow-up counted as deaths at their last contact "
                f"({n_changed} {subjects} lost to follow-up)")
    within = "within the tolerance" if tolerance is None else f"within {tolerance:g}% of the target"
    return f"Sensitivity: per protocol, dose {within} ({n_changed} {subjects} left out)"


def sensitivity_at_days(times: pd.DataFrame, doses: pd.DataFrame, days=None) -> pd.DataFrame:
    """Kaplan-Meier survival at ``days`` for the headline and each sensitivity analysis.

    Parameters
    ----------
    times : pandas.DataFrame
        Output of :func:`~msc_analysis.endpoints.overall_survival.survival_times`.
    doses : pandas.DataFrame
        ``subject_id``, ``within_tolerance`` (bool) and optionally ``tolerance_pct``, e.g.
        :func:`~msc_analysis.endpoints.dose_feasibility.dose_delivered`.
    days : sequence of float, optional
        None: the registered days (``definitions/trial.yaml``, days 30 and 60).

    Returns
    -------
    pandas.DataFrame
        ``analysis`` (a key of :data:`ANALYSES`), ``measure`` (its results measure),
        ``description`` (str, what was done and to how many subjects), ``n_changed`` (int:
        subjects counted as deaths, or left out), then the columns of
        :func:`~msc_analysis.endpoints.overall_survival.survival_at_days` (``group``, ``day``,
        ``n``, ``n_at_risk``, ``survival_prop``, ``ci95_lower``, ``ci95_upper``,
        ``not_estimable_reason``; "no subject in this analysis" when the per-protocol set is
        empty although subjects were treated).
    """
    tolerance = float(doses["tolerance_pct"].iloc[0]) if "tolerance_pct" in doses and len(doses) else None
    lost = int((times["follow_up_status"].astype(str) == _LOST).sum())
    kept = per_protocol(times, doses)
    frames = []
    for key, data, changed in (("headline", times, 0), ("lost_as_deaths", lost_as_deaths(times), lost),
                               ("per_protocol", kept, len(times) - len(kept))):
        at = survival_at_days(data, days)
        if len(times) and not len(data):
            at["not_estimable_reason"] = "no subject in this analysis"
        frames.append(at.assign(analysis=key, measure=ANALYSES[key], n_changed=changed,
                                description=_description(key, changed, tolerance)))
    out = pd.concat(frames, ignore_index=True)
    first = ["analysis", "measure", "description", "n_changed"]
    return out[first + [c for c in out.columns if c not in first]]


def sensitivity_measures(at: pd.DataFrame) -> pd.DataFrame:
    """The sensitivity rows of :func:`sensitivity_at_days` for
    :func:`~msc_analysis.report.results.result_rows` (the headline rows are left out: they come
    from :func:`~msc_analysis.endpoints.overall_survival.headline_measures`).

    Returns
    -------
    pandas.DataFrame
        ``measure`` (``survival_prop_lost_as_deaths``, ``survival_prop_per_protocol``),
        ``group``, ``day``, ``estimate``, ``ci95_lower``, ``ci95_upper``, ``n`` (subjects in
        that analysis), ``unit`` ("proportion"), ``method`` (the estimator and what the
        analysis did, with the reason of a missing estimate).
    """
    rows = at[at["analysis"] != "headline"]
    return pd.DataFrame([dict(measure=r.measure, group=r.group, day=r.day, estimate=r.survival_prop,
                              ci95_lower=r.ci95_lower, ci95_upper=r.ci95_upper, n=r.n, unit="proportion",
                              method=with_reason(f"{KM_CI_METHOD}; {r.description[len('Sensitivity: '):]}",
                                                 r.not_estimable_reason))
                         for r in rows.itertuples()],
                        columns=["measure", "group", "day", "estimate", "ci95_lower", "ci95_upper", "n", "unit",
                                 "method"])
