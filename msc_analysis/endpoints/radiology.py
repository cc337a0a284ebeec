"""Radiological improvement on chest CT: severity score change and the radiologist's impression.

Population: treated subjects; day 0 is the infusion. The CT severity score (0-25: five lobes
scored 0-5) is handled like every longitudinal value, with the ``ct`` rows of
``definitions/baseline.yaml`` (imaging has dates only: a scan dated day 0 counts as baseline)
and ``definitions/visit_windows.csv`` (days 14, 28, 60 with wide windows).

The headline (:func:`improvement_from_baseline`) compares the severity score at each visit with
the **baseline** scan: improved = a decrease of at least :func:`improvement_min_decrease_points`
points (``definitions/trial.yaml``), or to 0; a death by the visit window's end counts as not improved; the population is the
subjects with a baseline score above 0 whose visit window closed by the cutoff (evaluable by
calendar); those alive without a scored scan at the visit are counted and left out.

The impression (improved, stable, worsened) compares a scan with the **previous** scan (a
secondary measure): :mod:`msc_analysis.endpoints.ct_impression`, whose functions this module
re-exports. At each visit the scan nearest the target day is read; a subject without a scan is
**not assessed**, never "stable"; a scan without a recorded impression is "impression not
recorded".
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import definitions
from ..derive.checks import require_columns
from ..derive.visit_summary import summarise_visits
from ..derive.visits import VISIT_STATUSES, family_rule, longitudinal, visit_windows
from ..report.longitudinal_tables import median_measures, worst_rank_measures
from ..stats.binomial import EXACT_CI_METHOD, exact_proportion
from ..stats.estimability import NO_SUBJECT_INFUSED, no_subject_evaluable, with_reason
from ..stats.paired import signed_rank_by_visit
from ..stats.worst_rank import worst_rank_by_visit
from .ct_impression import (FAMILY, IMPRESSION_CATEGORIES, IMPRESSIONS, NOT_ASSESSED, NOT_RECORDED, impression_by_visit,
                            impression_counts, impression_shift, improvement_proportions)
from .ct_impression import ct_scans as _scans

__all__ = ["FAMILY", "IMPRESSIONS", "NOT_RECORDED", "NOT_ASSESSED", "IMPRESSION_CATEGORIES", "DECIMALS",
           "FROM_BASELINE_OUTCOMES", "improvement_min_decrease_points",
           "ct_by_visit", "ct_summary", "ct_change_tests", "ct_worst_rank", "improvement_from_baseline",
           "improvement_from_baseline_by_subject",
           "impression_by_visit", "impression_counts", "impression_shift", "improvement_proportions",
           "headline_measures"]

#: Decimals of the medians and quartiles of the CT score and of its change on the page: the score is
#: recorded in whole points, and summaries carry one decimal more (a median of 4.5 is not rounded to 4;
#: the ``decimal1`` format of ``ct_score_change_median`` in ``definitions/measures.csv``).
DECIMALS = 1


def ct_by_visit(imaging: pd.DataFrame, subjects: pd.DataFrame, *, windows: pd.DataFrame | None = None,
                window_days_before: int | None = None, day0_values: str | None = None,
                cutoff_date=None) -> pd.DataFrame:
    """CT severity score of each treated subject at baseline and at each CT visit.

    Parameters
    ----------
    imaging : DataFrame
        ``subject_id``, ``performed_on`` (date), ``days_since_infusion``, ``severity_score``
        (0-25, may be missing), ``impression``; rows of another ``modality`` than CT are
        ignored.
    subjects : DataFrame
        The treated population: ``subject_id``, ``infused_on``, ``died_on``,
        ``discharged_on``, ``last_known_alive_on``.
    windows, window_days_before, day0_values
        Visit windows and baseline rule; ``None`` reads the ``ct`` rows of the definitions.
    cutoff_date : date-like, optional
        The data cutoff: needed for "lost to follow-up", :func:`improvement_from_baseline` and
        :func:`ct_worst_rank`.

    Returns
    -------
    DataFrame
        One row per subject for the baseline and each visit: ``subject_id``, ``visit``,
        ``target_day``, ``status``, ``days_since_infusion``, ``performed_on`` (of the scored
        scan used), ``ct_severity_score``, ``death_day``, ``discharge_day``, ``window_end_day``,
        ``evaluable_by_calendar``, ``has_baseline``,
        ``ct_severity_score_baseline``, ``ct_score_change`` (points, value - baseline),
        ``ct_score_change_pct`` (missing when the baseline is 0). Only scans with a score count.
    """
    rule = family_rule(FAMILY, windows, window_days_before, day0_values)
    long = longitudinal(_scans(imaging), subjects, value_column="ct_severity_score",
                        time_column="performed_on", cutoff_date=cutoff_date, **rule)
    return long.rename(columns={"value": "ct_severity_score", "baseline_value": "ct_severity_score_baseline",
                                "change": "ct_score_change", "change_pct": "ct_score_change_pct"})


def ct_summary(by_visit: pd.DataFrame) -> pd.DataFrame:
    """Subjects behind each visit; median and quartiles of the score (``ct_severity_score_*``)
    and of its change (``ct_score_change_*``), ``*_not_estimable_reason`` saying why a median is
    missing; see ``derive.visit_summary.summarise_visits``. Every CT visit is reported even with no subject
    (nobody infused yet), with zero counts."""
    return summarise_visits(by_visit, "ct_severity_score", "ct_score_change", visits=visit_windows(FAMILY))


def ct_change_tests(by_visit: pd.DataFrame) -> pd.DataFrame:
    """Wilcoxon signed-rank test of the score change at each visit (columns of
    ``stats.paired.signed_rank_by_visit``)."""
    return signed_rank_by_visit(by_visit, "ct_score_change")


def ct_worst_rank(by_visit: pd.DataFrame) -> pd.DataFrame:
    """Worst-rank composite of the CT score change at each visit (death worst, discharge alive without
    a scored scan best; subjects with a baseline whose window closed by the cutoff): columns of
    :func:`msc_analysis.stats.worst_rank.worst_rank_by_visit`. ``by_visit`` from :func:`ct_by_visit`
    with the cutoff."""
    return worst_rank_by_visit(by_visit, "ct_score_change", higher_is_worse=True, require_baseline=True,
                               visits=visit_windows(FAMILY))


_FROM_BASELINE_COLUMNS = ["visit", "target_day", "n_subjects", "n_not_evaluable", "n_no_baseline",
                          "n_baseline_zero", "n_population", "n_improved", "n_not_improved", "n_died",
                          "n_discharged_no_scan", "n_no_scan", "n_lost_to_follow_up", "n_not_reached",
                          "n_evaluable"]
#: Outcome of a subject at a CT visit for the headline (:func:`improvement_from_baseline_by_subject`),
#: in the order of the counts of :func:`improvement_from_baseline`.
FROM_BASELINE_OUTCOMES = ("not evaluable by calendar", "no baseline", "baseline zero", "improved", "not improved",
                          "died", "discharged, no scan", "no scan", "lost to follow-up", "follow-up not reached")
_OUTCOME_COUNTS = dict(zip(FROM_BASELINE_OUTCOMES, _FROM_BASELINE_COLUMNS[3:6] + _FROM_BASELINE_COLUMNS[7:14]))


def improvement_min_decrease_points() -> int:
    """The smallest decrease of the CT severity score from baseline that counts as improved
    (``time_frames.radiology.improvement_min_decrease_points`` of ``definitions/trial.yaml``).
    One point is a single lobe read one involvement band lower, within the disagreement between
    two readings of one scan; two points need two lobes, or one lobe two bands, to improve.

    >>> improvement_min_decrease_points()
    2
    """
    return int(definitions.time_frames("radiology")["improvement_min_decrease_points"])


def improvement_from_baseline_by_subject(by_visit: pd.DataFrame, *, min_decrease_points: float | None = None,
                                         by_calendar: bool = True) -> pd.DataFrame:
    """Each subject's outcome at each CT visit for the headline "improved from the baseline scan".

    Rules, in order: "not evaluable by calendar" (``by_calendar`` and the visit window ends after
    the cutoff); "no baseline" (no baseline score); "baseline zero" (nothing to improve); then, with
    a scored scan at the visit, "improved" (score <= baseline - ``min_decrease_points``, or 0) or
    "not improved"; "died" (death by the window's end: counted as not improved); alive without a
    scored scan, left out: "discharged, no scan", "no scan", "lost to follow-up", "follow-up not
    reached".

    Parameters
    ----------
    by_visit : DataFrame
        From :func:`ct_by_visit` (with the cutoff when ``by_calendar``): ``subject_id``, ``visit``,
        ``target_day``, ``status``, ``has_baseline``, ``ct_severity_score``,
        ``ct_severity_score_baseline``, ``evaluable_by_calendar``.
    min_decrease_points : float, optional
        None: :func:`improvement_min_decrease_points` (definitions).
    by_calendar : bool
        True (headline): only subjects whose visit window closed by the cutoff are in the population.

    Returns
    -------
    DataFrame
        One row per subject and visit after day 0: ``subject_id``, ``visit``, ``target_day``,
        ``outcome`` (categorical :data:`FROM_BASELINE_OUTCOMES`), ``evaluable`` (bool: improved,
        not improved or died, the denominator), ``improved`` (bool).
    """
    needed = ("subject_id", "visit", "target_day", "status", "has_baseline", "ct_severity_score",
              "ct_severity_score_baseline", *(("evaluable_by_calendar",) if by_calendar else ()))
    require_columns(by_visit, needed, "by_visit")
    points = improvement_min_decrease_points() if min_decrease_points is None else min_decrease_points
    g = by_visit[by_visit["target_day"] > 0]
    if by_calendar:
        passed = g["evaluable_by_calendar"].astype("boolean")
        if passed.isna().any():
            raise ValueError("evaluable_by_calendar is missing: derive the visits with the data cutoff")
        passed = passed.to_numpy(bool)
    else:
        passed = np.ones(len(g), bool)
    base = g["ct_severity_score_baseline"].astype("float64").to_numpy()
    has_base = g["has_baseline"].to_numpy(bool)
    status = g["status"].astype(str).to_numpy()
    score = g["ct_severity_score"].astype("float64").to_numpy()
    scanned = (status == VISIT_STATUSES[0]) & ~np.isnan(score)
    better = (base - score >= points) | (score == 0)
    outcome = np.select(
        [~passed, ~has_base, ~(base > 0), scanned & better, scanned, status == "died", status == "discharged",
         status == "lost to follow-up", status == "follow-up not reached"],
        list(FROM_BASELINE_OUTCOMES[:6]) + ["discharged, no scan", "lost to follow-up", "follow-up not reached"],
        default="no scan")
    return pd.DataFrame({"subject_id": g["subject_id"].to_numpy(), "visit": g["visit"].to_numpy(),
                         "target_day": g["target_day"].to_numpy(int),
                         "outcome": pd.Categorical(outcome, categories=FROM_BASELINE_OUTCOMES),
                         "evaluable": np.isin(outcome, ["improved", "not improved", "died"]),
                         "improved": outcome == "improved"})


def improvement_from_baseline(by_visit: pd.DataFrame, *, min_decrease_points: float | None = None,
                              by_calendar: bool = True) -> pd.DataFrame:
    """Proportion whose CT severity score improved from the baseline scan at each visit, exact 95 % CI:
    the counts of :func:`improvement_from_baseline_by_subject` (same parameters).

    Returns
    -------
    DataFrame
        One row per visit after day 0: ``visit``, ``target_day``, ``n_subjects``;
        ``n_not_evaluable`` (window open at the cutoff; 0 when not ``by_calendar``),
        ``n_no_baseline``, ``n_baseline_zero`` (no baseline score, or 0: nothing to improve; not
        in the population), ``n_population``; ``n_improved``, ``n_not_improved`` (scored scan),
        ``n_died`` (died by the window's end: not improved); left out, alive without a scored
        scan: ``n_discharged_no_scan``, ``n_no_scan`` (in hospital or not known),
        ``n_lost_to_follow_up``, ``n_not_reached`` (only when not ``by_calendar``);
        ``n_evaluable`` (improved + not improved + died: the denominator), ``improved_prop``,
        ``ci95_lower``, ``ci95_upper`` (Clopper-Pearson), ``not_estimable_reason`` ("" when
        estimated; nobody infused, nobody evaluable, or "no scored scan at this visit": deaths alone
        are not a proportion).

    Examples
    --------
    >>> b = pd.DataFrame({"subject_id": list("ABCDE"), "visit": "Day 28", "target_day": 28,
    ...     "status": ["measured", "measured", "died", "discharged", "measured"],
    ...     "evaluable_by_calendar": [True, True, True, True, False], "has_baseline": True,
    ...     "ct_severity_score": [10.0, 17.0, None, None, 3.0], "ct_severity_score_baseline": [18.0] * 5})
    >>> r = improvement_from_baseline(b)
    >>> r[["n_population", "n_improved", "n_not_improved", "n_died", "n_discharged_no_scan",
    ...    "n_evaluable"]].values.tolist()
    [[4, 1, 1, 1, 1, 3]]
    """
    per_subject = improvement_from_baseline_by_subject(by_visit, min_decrease_points=min_decrease_points,
                                                       by_calendar=by_calendar)
    visits = by_visit[by_visit["target_day"] > 0][["visit", "target_day"]].drop_duplicates()
    if visits.empty:
        visits = visit_windows(FAMILY)[["visit", "target_day"]]
    rows = []
    for visit, day in zip(visits["visit"], visits["target_day"]):
        g = per_subject[per_subject["target_day"] == day]
        counts = g["outcome"].value_counts().reindex(FROM_BASELINE_OUTCOMES, fill_value=0)
        row = {"visit": visit, "target_day": int(day), "n_subjects": len(g)}
        row |= {column: int(counts[o]) for o, column in _OUTCOME_COUNTS.items()}
        row["n_population"] = len(g) - row["n_not_evaluable"] - row["n_no_baseline"] - row["n_baseline_zero"]
        row["n_evaluable"] = int(g["evaluable"].sum())
        rows.append(row)
    out = pd.DataFrame(rows, columns=_FROM_BASELINE_COLUMNS)
    read = (out["n_improved"] + out["n_not_improved"]) > 0
    ci = exact_proportion(out["n_improved"].to_numpy(int), out["n_evaluable"].where(read, 0).to_numpy(int))
    reason = [NO_SUBJECT_INFUSED if n == 0 else no_subject_evaluable(d) if e == 0 else
              "" if r else "no scored scan at this visit"
              for n, e, r, d in zip(out["n_subjects"], out["n_evaluable"], read, out["target_day"])]
    return out.assign(improved_prop=ci["estimate_prop"].to_numpy(dtype=float),
                      ci95_lower=ci["ci95_lower"].to_numpy(dtype=float),
                      ci95_upper=ci["ci95_upper"].to_numpy(dtype=float), not_estimable_reason=reason)


def _proportion_rows(props: pd.DataFrame, measure: str, method: str) -> pd.DataFrame:
    reasons = props.get("not_estimable_reason", pd.Series("", index=props.index))
    return pd.DataFrame({"measure": measure, "group": "all", "day": props["target_day"].to_numpy(),
                         "estimate": props["improved_prop"].to_numpy(), "ci95_lower": props["ci95_lower"].to_numpy(),
                         "ci95_upper": props["ci95_upper"].to_numpy(), "n": props["n_evaluable"].to_numpy(),
                         "unit": "proportion", "method": [with_reason(method, r) for r in reasons]})


def headline_measures(summary: pd.DataFrame, proportions: pd.DataFrame, from_baseline: pd.DataFrame | None = None,
                      from_baseline_known: pd.DataFrame | None = None,
                      worst_rank: pd.DataFrame | None = None,
                      min_decrease_points: float | None = None,
                      proportions_by_calendar: bool = True) -> pd.DataFrame:
    """Results rows of the CT page.

    ``ct_improved_from_baseline_prop`` (the headline, from ``from_baseline`` =
    :func:`improvement_from_baseline`), ``ct_improved_from_baseline_known_prop`` (the same among
    the subjects known so far, ``by_calendar=False``), ``ct_score_change_median`` (observed, IQR in
    the CI columns), ``ct_improved_prop`` (impression against the previous scan, from
    ``proportions`` = :func:`improvement_proportions`), and with ``worst_rank``
    (:func:`ct_worst_rank`) ``ct_score_change_worst_rank_median`` and
    ``ct_score_change_worst_rank_died_prop``; exact CIs for the proportions.
    ``proportions_by_calendar`` says whether ``proportions`` was made with ``by_calendar=True``.

    Returns
    -------
    DataFrame
        ``measure``, ``group``, ``day``, ``estimate``, ``ci95_lower``, ``ci95_upper``, ``n``,
        ``unit``, ``method`` (for ``report.results.result_rows``).
    """
    if min_decrease_points is None:
        min_decrease_points = improvement_min_decrease_points()
    rule = (f"score at the visit's scored scan at least {min_decrease_points:g} points below the baseline scan's, "
            "or 0; deaths by the visit window's end counted as not improved; subjects with a baseline score above 0")
    frames = []
    if from_baseline is not None:
        frames.append(_proportion_rows(
            from_baseline, "ct_improved_from_baseline_prop",
            f"{rule}, whose visit window closed by the cutoff (evaluable by calendar); alive without a scored scan "
            f"at the visit left out and counted; n = evaluable; {EXACT_CI_METHOD}"))
    if from_baseline_known is not None:
        frames.append(_proportion_rows(
            from_baseline_known, "ct_improved_from_baseline_known_prop",
            f"known so far: {rule}, with a scored scan at the visit or a death by its window's end, whatever the "
            f"calendar; {EXACT_CI_METHOD}"))
    frames.append(median_measures(summary, "ct_score_change", measure="ct_score_change_median", unit="points",
                                  n_column="n_change", what="change in CT severity score (0-25) from baseline of "
                                  "treated subjects with both (observed: alive and scanned)", include_baseline=False))
    frames.append(_proportion_rows(
        proportions, "ct_improved_prop",
        "radiologist's impression 'improved' against the previous scan (not the baseline scan) at the visit's scan, "
        "among subjects with a read scan or who died by the window's end (counted as not improved)"
        + (", whose visit window closed by the cutoff" if proportions_by_calendar else "")
        + f"; not assessed, not recorded and lost to follow-up left out; {EXACT_CI_METHOD}"))
    if worst_rank is not None:
        frames.append(worst_rank_measures(worst_rank, measure="ct_score_change_worst_rank_median",
                                          died_measure="ct_score_change_worst_rank_died_prop", unit="points",
                                          what="change in CT severity score from baseline (points)"))
    return pd.concat(frames, ignore_index=True)
